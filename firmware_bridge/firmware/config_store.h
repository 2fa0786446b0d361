/* The arm configuration: compiled-in defaults (robot_defaults.h) and the EEPROM copy. */
#ifndef CONFIG_STORE_H
#define CONFIG_STORE_H

#include <stdint.h>

#include "proto.h"

/* The compiled-in defaults into c. */
void config_defaults(arm_config_t *c);
/* The EEPROM copy into c if it is intact and passes CONFIG's checks (proto_check_config); returns 1
 * if it did, 0 (c unchanged) if not: bad magic or CRC, or e.g. an older image with watchdog 0. */
uint8_t config_load_eeprom(arm_config_t *c);
/* Store c in EEPROM: magic:u16 | arm_config_t | crc16 over the config (unchanged bytes not rewritten). */
void config_save_eeprom(const arm_config_t *c);

#endif
