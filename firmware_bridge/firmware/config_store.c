/* The arm configuration store; see config_store.h. */
#include "config_store.h"

#include <avr/eeprom.h>

#include "robot_defaults.h"

#define EE_MAGIC 0x4B52u /* "RK" */

void config_defaults(arm_config_t *c)
{
    static const int16_t lo[] = DEFAULT_LOWER, hi[] = DEFAULT_UPPER, home[] = DEFAULT_HOME;
    static const uint16_t step[] = DEFAULT_MAX_STEP, zero[] = DEFAULT_PULSE_ZERO;
    static const int32_t gain[] = DEFAULT_GAIN_Q16;
    c->watchdog_timeout_ms = DEFAULT_WATCHDOG_TIMEOUT_MS;
    c->watchdog_action = DEFAULT_WATCHDOG_ACTION;
    c->n = N_JOINTS;
    for (uint8_t i = 0; i < N_JOINTS; i++) {
        joint_config_t *j = &c->joint[i];
        j->lower = lo[i];
        j->upper = hi[i];
        j->home = home[i];
        j->max_step = step[i];
        j->pulse_zero = zero[i];
        j->gain_q16 = gain[i];
    }
}

uint8_t config_load_eeprom(arm_config_t *c)
{
    arm_config_t e;
    uint16_t magic = eeprom_read_word((const uint16_t *)0);
    eeprom_read_block(&e, (const void *)2, sizeof e);
    uint16_t crc = eeprom_read_word((const uint16_t *)(2 + sizeof e));
    if (magic != EE_MAGIC || crc16((const uint8_t *)&e, sizeof e) != crc || proto_check_config(&e, N_JOINTS))
        return 0;
    *c = e;
    return 1;
}

void config_save_eeprom(const arm_config_t *c)
{
    eeprom_update_word((uint16_t *)0, EE_MAGIC);
    eeprom_update_block(c, (void *)2, sizeof *c);
    eeprom_update_word((uint16_t *)(2 + sizeof *c), crc16((const uint8_t *)c, sizeof *c));
}
