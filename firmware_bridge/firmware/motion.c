/* Servo motion model and calibration; see motion.h. */
#include "motion.h"

int16_t motion_step(int16_t setpoint, int16_t target, uint16_t max_step)
{
    int32_t d = (int32_t)target - setpoint;
    if (d > (int32_t)max_step) d = max_step;
    else if (d < -(int32_t)max_step) d = -(int32_t)max_step;
    return (int16_t)(setpoint + d);
}

uint16_t motion_pulse_ticks(int16_t q, const joint_config_t *j)
{
    int32_t t = (int32_t)j->pulse_zero + (((int32_t)q * j->gain_q16 + 32768) >> 16);
    if (t < PULSE_MIN_TICKS) t = PULSE_MIN_TICKS;
    if (t > PULSE_MAX_TICKS) t = PULSE_MAX_TICKS;
    return (uint16_t)t;
}

int16_t motion_clamp(int16_t q, const joint_config_t *j, uint8_t *clamped)
{
    if (q < j->lower) { *clamped = 1; return j->lower; }
    if (q > j->upper) { *clamped = 1; return j->upper; }
    return q;
}
