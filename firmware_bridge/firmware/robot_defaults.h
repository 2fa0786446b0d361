/* Generated from the servo_arm RobotSpec by `robokit dev gen-defaults`. Do not edit. */
/* Units: angles 1e-4 rad, max step 1e-4 rad per 20 ms frame, pulse 0.5 us ticks, gain Q16.16. */
#ifndef ROBOT_DEFAULTS_H
#define ROBOT_DEFAULTS_H

#define ROBOT_NAME "servo_arm"
#define N_JOINTS 6
/* joints: base_yaw, shoulder, elbow, wrist_pitch, wrist_roll, gripper */
#define FW_VERSION_MAJOR 1
#define FW_VERSION_MINOR 0
#define FW_VERSION_PATCH 0
#define DEFAULT_WATCHDOG_TIMEOUT_MS 500
#define DEFAULT_WATCHDOG_ACTION 0
#define DEFAULT_LOWER {-15708, -15708, -15708, -15708, -15708, 0}
#define DEFAULT_UPPER {15708, 15708, 15708, 15708, 15708, 10000}
#define DEFAULT_HOME {0, 0, 14000, 9000, 0, 0}
#define DEFAULT_MAX_STEP {600, 600, 600, 600, 600, 600}
#define DEFAULT_PULSE_ZERO {3000, 3000, 3000, 3000, 3000, 3000}
#define DEFAULT_GAIN_Q16 {8344, 8344, 8344, 8344, 8344, 8344}

#endif
