/* Serial protocol codec (docs/protocol.md): CRC-16/CCITT-FALSE, COBS, frames, payload layouts.
 * Portable C99: compiled into the AVR firmware and, with the host gcc, into the unit-test probe. */
#ifndef PROTO_H
#define PROTO_H

#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_MAX_RAW 128                   /* type + seq + payload + crc */
#define PROTO_MAX_PAYLOAD (PROTO_MAX_RAW - 4)
#define PROTO_MAX_WIRE (PROTO_MAX_RAW + 2)  /* COBS overhead + 0x00 delimiter */
#define PROTO_MAX_JOINTS 8

enum {
    MSG_HELLO = 0x01, MSG_PING = 0x02, MSG_ENABLE = 0x03, MSG_TARGETS = 0x04,
    MSG_RELEASE = 0x05, MSG_ESTOP = 0x06, MSG_CLEAR = 0x07, MSG_CONFIG = 0x08,
    MSG_INFO = 0x81, MSG_STATE = 0x82, MSG_ERROR = 0x83
};
enum {
    FLAG_ENABLED = 1 << 0, FLAG_WATCHDOG_TRIPPED = 1 << 1, FLAG_ESTOP_LATCHED = 1 << 2,
    FLAG_REJECTED = 1 << 3, FLAG_CLAMPED = 1 << 4, FLAG_CONFIG_EEPROM = 1 << 5
};
enum {
    ERR_UNKNOWN_TYPE = 1, ERR_BAD_LENGTH = 2, ERR_ESTOP_LATCHED = 3, ERR_WATCHDOG_TRIPPED = 4,
    ERR_NOT_RELEASED = 5, ERR_BAD_CONFIG = 6
};
enum { WATCHDOG_HOLD = 0, WATCHDOG_RELEASE = 1 };
/* Valid communication watchdog timeouts (ms). The watchdog is always on: CONFIG outside this range
 * is refused (BAD_CONFIG). Python twins: protocol.WATCHDOG_MIN_MS / WATCHDOG_MAX_MS (a test checks). */
#define WATCHDOG_MIN_MS 100
#define WATCHDOG_MAX_MS 60000
#define FRAME_PERIOD_MS 20
/* Valid calibration and speed per joint; CONFIG (and the EEPROM image at boot) outside is refused
 * (BAD_CONFIG). Python twins of the same names in protocol.py (a test checks).
 * gain_q16: Q16.16 ticks (0.5 us) per 1e-4 rad, 100..4000 us/rad in magnitude (the sign is the
 * direction; 0 would leave the servo still while STATE reports motion).
 * pulse_zero: 0.5 us ticks, 500..2500 us (the pulse range). max_step: 1e-4 rad per frame, 1..5000
 * (at most 25 rad/s: faster is no slewing at all). */
#define GAIN_Q16_MIN 1311L
#define GAIN_Q16_MAX 52429L
#define PULSE_ZERO_MIN_TICKS 1000
#define PULSE_ZERO_MAX_TICKS 5000
#define MAX_STEP_MAX 5000

/* Result of feeding one byte to the receiver. */
enum { PROTO_NONE = 0, PROTO_FRAME = 1, PROTO_BAD_FRAME = -1, PROTO_BAD_CRC = -2 };

typedef struct {
    uint8_t type, seq, len;                 /* len: payload bytes */
    uint8_t payload[PROTO_MAX_PAYLOAD];
} proto_frame_t;

typedef struct {
    uint8_t buf[PROTO_MAX_WIRE];
    uint8_t len;
    uint8_t overflow;
} proto_rx_t;

/* One joint's configuration, in wire units (1e-4 rad, 1e-4 rad/frame, 0.5 us ticks, Q16.16). */
typedef struct {
    int16_t lower, upper, home;
    uint16_t max_step, pulse_zero;
    int32_t gain_q16;
} joint_config_t;

#define PROTO_JOINT_BYTES 14

typedef struct {
    uint16_t watchdog_timeout_ms;
    uint8_t watchdog_action;
    uint8_t n;
    joint_config_t joint[PROTO_MAX_JOINTS];
} arm_config_t;

typedef struct {
    uint32_t frame;
    uint8_t flags, n;
    int16_t setpoint[PROTO_MAX_JOINTS], target[PROTO_MAX_JOINTS];
    uint16_t rx_ok, bad_crc, bad_frame, bad_msg, rx_overflow;
} arm_state_t;

uint16_t crc16_update(uint16_t crc, uint8_t byte);
uint16_t crc16(const uint8_t *data, uint8_t len);

/* COBS: encode len bytes into out (no delimiter); returns encoded length. */
uint16_t cobs_encode(const uint8_t *in, uint16_t len, uint8_t *out);
/* COBS: decode; returns decoded length or -1 if malformed. out may equal in. */
int16_t cobs_decode(const uint8_t *in, uint16_t len, uint8_t *out);

/* Wire bytes (COBS + 0x00) of a frame into out (PROTO_MAX_WIRE bytes); returns their count. */
uint8_t proto_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len, uint8_t *out);
/* The same from a raw frame built in place: raw holds type, seq and len payload bytes, and room
 * (PROTO_MAX_RAW bytes) for the CRC, which is appended there. */
uint8_t proto_encode_raw(uint8_t *raw, uint8_t len, uint8_t *out);
/* The 0x00 that ends a frame: decode what rx holds; PROTO_FRAME with *frame CRC-checked, or an error. */
int8_t proto_rx_end(proto_rx_t *rx, proto_frame_t *frame);
/* Feed one received byte; on PROTO_FRAME *frame holds a CRC-checked frame. Inline: the firmware runs
 * it for every byte it receives. */
static inline int8_t proto_rx_byte(proto_rx_t *rx, uint8_t byte, proto_frame_t *frame)
{
    if (byte == 0) return proto_rx_end(rx, frame);
    if (rx->len < PROTO_MAX_WIRE) rx->buf[rx->len++] = byte;
    else rx->overflow = 1;
    return PROTO_NONE;
}

/* Payload layouts; pack functions return the payload length. */
uint8_t proto_pack_state(const arm_state_t *s, uint8_t *out);
uint8_t proto_pack_info(const arm_config_t *c, uint8_t flags, uint8_t *out);
/* CONFIG payload -> config; returns 0 on success, ERR_BAD_LENGTH if len != 4 + 14 * n_joints, or
 * ERR_BAD_CONFIG (another joint count or proto_check_config's checks). */
uint8_t proto_unpack_config(const uint8_t *p, uint8_t len, uint8_t n_joints, arm_config_t *c);
/* 0 if c is a valid configuration for n_joints joints (docs/protocol.md, CONFIG), else ERR_BAD_CONFIG.
 * The firmware applies it to CONFIG requests and to the EEPROM image at boot. */
uint8_t proto_check_config(const arm_config_t *c, uint8_t n_joints);
/* Silent frames after which the watchdog trips: ceil(timeout_ms / 20), 5..3000 for valid timeouts. */
uint16_t proto_watchdog_frames(uint16_t timeout_ms);
/* n x i16 payload -> values; returns 0 or ERR_BAD_LENGTH if len != 2 * n. */
uint8_t proto_unpack_joints(const uint8_t *p, uint8_t len, uint8_t n, int16_t *out);

#endif
