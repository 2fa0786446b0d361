/* The servo motion model of robokit/core/servo.py in fixed point, and the calibration to pulse ticks.
 * Units: angles 1e-4 rad, max_step 1e-4 rad per 20 ms frame, pulses 0.5 us ticks, gain Q16.16. */
#ifndef MOTION_H
#define MOTION_H

#include <stdint.h>
#include "proto.h"

#define PULSE_MIN_TICKS 1000 /* 500 us */
#define PULSE_MAX_TICKS 5000 /* 2500 us */

/* One frame: setpoint moves toward target by at most max_step, then stops on it. */
int16_t motion_step(int16_t setpoint, int16_t target, uint16_t max_step);
/* Pulse width (0.5 us ticks) for setpoint q, clamped to 500..2500 us. */
uint16_t motion_pulse_ticks(int16_t q, const joint_config_t *j);
/* Clamp q into [lower, upper]; sets *clamped to 1 if it changed. */
int16_t motion_clamp(int16_t q, const joint_config_t *j, uint8_t *clamped);

#endif
