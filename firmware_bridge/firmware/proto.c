/* Serial protocol codec; see proto.h and docs/protocol.md. */
#include "proto.h"
#include "robot_defaults.h"

#ifdef __AVR__
#include <avr/pgmspace.h>
#else /* the host probe: the same table, in RAM */
#define PROGMEM
#define pgm_read_word(p) (*(p))
#endif

/* CRC-16/CCITT-FALSE (poly 0x1021, MSB first, init 0xFFFF) by table: crc_table[i] is the register
 * after shifting i << 8 through it. About 15 cycles a byte on the AVR, against about 90 bit by bit;
 * the firmware runs it over every byte it sends and receives. (The host probe runs the same table
 * against the CRC vectors.) */
static const uint16_t crc_table[256] PROGMEM = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
    0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
    0x1231, 0x0210, 0x3273, 0x2252, 0x52B5, 0x4294, 0x72F7, 0x62D6,
    0x9339, 0x8318, 0xB37B, 0xA35A, 0xD3BD, 0xC39C, 0xF3FF, 0xE3DE,
    0x2462, 0x3443, 0x0420, 0x1401, 0x64E6, 0x74C7, 0x44A4, 0x5485,
    0xA56A, 0xB54B, 0x8528, 0x9509, 0xE5EE, 0xF5CF, 0xC5AC, 0xD58D,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76D7, 0x66F6, 0x5695, 0x46B4,
    0xB75B, 0xA77A, 0x9719, 0x8738, 0xF7DF, 0xE7FE, 0xD79D, 0xC7BC,
    0x48C4, 0x58E5, 0x6886, 0x78A7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xC9CC, 0xD9ED, 0xE98E, 0xF9AF, 0x8948, 0x9969, 0xA90A, 0xB92B,
    0x5AF5, 0x4AD4, 0x7AB7, 0x6A96, 0x1A71, 0x0A50, 0x3A33, 0x2A12,
    0xDBFD, 0xCBDC, 0xFBBF, 0xEB9E, 0x9B79, 0x8B58, 0xBB3B, 0xAB1A,
    0x6CA6, 0x7C87, 0x4CE4, 0x5CC5, 0x2C22, 0x3C03, 0x0C60, 0x1C41,
    0xEDAE, 0xFD8F, 0xCDEC, 0xDDCD, 0xAD2A, 0xBD0B, 0x8D68, 0x9D49,
    0x7E97, 0x6EB6, 0x5ED5, 0x4EF4, 0x3E13, 0x2E32, 0x1E51, 0x0E70,
    0xFF9F, 0xEFBE, 0xDFDD, 0xCFFC, 0xBF1B, 0xAF3A, 0x9F59, 0x8F78,
    0x9188, 0x81A9, 0xB1CA, 0xA1EB, 0xD10C, 0xC12D, 0xF14E, 0xE16F,
    0x1080, 0x00A1, 0x30C2, 0x20E3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83B9, 0x9398, 0xA3FB, 0xB3DA, 0xC33D, 0xD31C, 0xE37F, 0xF35E,
    0x02B1, 0x1290, 0x22F3, 0x32D2, 0x4235, 0x5214, 0x6277, 0x7256,
    0xB5EA, 0xA5CB, 0x95A8, 0x8589, 0xF56E, 0xE54F, 0xD52C, 0xC50D,
    0x34E2, 0x24C3, 0x14A0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xA7DB, 0xB7FA, 0x8799, 0x97B8, 0xE75F, 0xF77E, 0xC71D, 0xD73C,
    0x26D3, 0x36F2, 0x0691, 0x16B0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xD94C, 0xC96D, 0xF90E, 0xE92F, 0x99C8, 0x89E9, 0xB98A, 0xA9AB,
    0x5844, 0x4865, 0x7806, 0x6827, 0x18C0, 0x08E1, 0x3882, 0x28A3,
    0xCB7D, 0xDB5C, 0xEB3F, 0xFB1E, 0x8BF9, 0x9BD8, 0xABBB, 0xBB9A,
    0x4A75, 0x5A54, 0x6A37, 0x7A16, 0x0AF1, 0x1AD0, 0x2AB3, 0x3A92,
    0xFD2E, 0xED0F, 0xDD6C, 0xCD4D, 0xBDAA, 0xAD8B, 0x9DE8, 0x8DC9,
    0x7C26, 0x6C07, 0x5C64, 0x4C45, 0x3CA2, 0x2C83, 0x1CE0, 0x0CC1,
    0xEF1F, 0xFF3E, 0xCF5D, 0xDF7C, 0xAF9B, 0xBFBA, 0x8FD9, 0x9FF8,
    0x6E17, 0x7E36, 0x4E55, 0x5E74, 0x2E93, 0x3EB2, 0x0ED1, 0x1EF0,
};

static inline uint16_t crc_step(uint16_t crc, uint8_t byte)
{
    return (uint16_t)((crc << 8) ^ pgm_read_word(&crc_table[(uint8_t)(crc >> 8) ^ byte]));
}

uint16_t crc16_update(uint16_t crc, uint8_t byte) { return crc_step(crc, byte); }

uint16_t crc16(const uint8_t *data, uint8_t len)
{
    uint16_t crc = 0xFFFF;
    while (len--) crc = crc_step(crc, *data++);
    return crc;
}

uint16_t cobs_encode(const uint8_t *in, uint16_t len, uint8_t *out)
{
    const uint8_t *end = in + len;
    uint8_t *code_at = out, *o = out + 1; /* pointers, not 16-bit indices: twice as fast on the AVR */
    uint8_t code = 1;
    while (in < end) {
        uint8_t b = *in++;
        if (b != 0) {
            *o++ = b;
            if (++code != 0xFF) continue;
        }
        *code_at = code; /* a 0x00, or 254 bytes without one: the block ends */
        code_at = o++;
        code = 1;
    }
    *code_at = code;
    return (uint16_t)(o - out);
}

int16_t cobs_decode(const uint8_t *in, uint16_t len, uint8_t *out)
{
    uint16_t i = 0, o = 0;
    while (i < len) {
        uint8_t code = in[i];
        uint16_t end = i + code;
        if (code == 0 || end > len) return -1;
        for (uint16_t k = i + 1; k < end; k++) {
            if (in[k] == 0) return -1;
            out[o++] = in[k];
        }
        i = end;
        if (code != 0xFF && i < len) out[o++] = 0;
    }
    return (int16_t)o;
}

uint8_t proto_encode_raw(uint8_t *raw, uint8_t len, uint8_t *out)
{
    if (len > PROTO_MAX_PAYLOAD) len = PROTO_MAX_PAYLOAD;
    uint16_t crc = crc16(raw, (uint8_t)(len + 2));
    raw[len + 2] = (uint8_t)crc;
    raw[len + 3] = (uint8_t)(crc >> 8);
    uint8_t n = (uint8_t)cobs_encode(raw, (uint16_t)(len + 4), out);
    out[n++] = 0;
    return n;
}

uint8_t proto_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len, uint8_t *out)
{
    uint8_t raw[PROTO_MAX_RAW];
    if (len > PROTO_MAX_PAYLOAD) len = PROTO_MAX_PAYLOAD;
    raw[0] = type;
    raw[1] = seq;
    for (uint8_t i = 0; i < len; i++) raw[2 + i] = payload[i];
    return proto_encode_raw(raw, len, out);
}

int8_t proto_rx_end(proto_rx_t *rx, proto_frame_t *frame)
{
    uint8_t len = rx->len, overflow = rx->overflow;
    rx->len = 0;
    rx->overflow = 0;
    if (len == 0 && !overflow) return PROTO_NONE; /* idle delimiter */
    if (overflow) return PROTO_BAD_FRAME;
    int16_t n = cobs_decode(rx->buf, len, rx->buf); /* in place: output never outruns input */
    if (n < 4 || n > PROTO_MAX_RAW) return PROTO_BAD_FRAME;
    uint16_t crc = (uint16_t)(rx->buf[n - 2] | (rx->buf[n - 1] << 8));
    if (crc16(rx->buf, (uint8_t)(n - 2)) != crc) return PROTO_BAD_CRC;
    frame->type = rx->buf[0];
    frame->seq = rx->buf[1];
    frame->len = (uint8_t)(n - 4);
    for (uint8_t i = 0; i < frame->len; i++) frame->payload[i] = rx->buf[2 + i];
    return PROTO_FRAME;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    return put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint32_t get32(const uint8_t *p) { return get16(p) | ((uint32_t)get16(p + 2) << 16); }

uint8_t proto_pack_state(const arm_state_t *s, uint8_t *out)
{
    uint8_t *p = put32(out, s->frame);
    *p++ = s->flags;
    *p++ = s->n;
    for (uint8_t i = 0; i < s->n; i++) p = put16(p, (uint16_t)s->setpoint[i]);
    for (uint8_t i = 0; i < s->n; i++) p = put16(p, (uint16_t)s->target[i]);
    p = put16(p, s->rx_ok);
    p = put16(p, s->bad_crc);
    p = put16(p, s->bad_frame);
    p = put16(p, s->bad_msg);
    p = put16(p, s->rx_overflow);
    return (uint8_t)(p - out);
}

static uint8_t *put_joint(uint8_t *p, const joint_config_t *j)
{
    p = put16(p, (uint16_t)j->lower);
    p = put16(p, (uint16_t)j->upper);
    p = put16(p, (uint16_t)j->home);
    p = put16(p, j->max_step);
    p = put16(p, j->pulse_zero);
    return put32(p, (uint32_t)j->gain_q16);
}

uint8_t proto_pack_info(const arm_config_t *c, uint8_t flags, uint8_t *out)
{
    uint8_t *p = out;
    *p++ = PROTO_VERSION;
    *p++ = FW_VERSION_MAJOR;
    *p++ = FW_VERSION_MINOR;
    *p++ = FW_VERSION_PATCH;
    *p++ = c->n;
    *p++ = flags;
    p = put16(p, FRAME_PERIOD_MS * 1000u);
    p = put16(p, c->watchdog_timeout_ms);
    *p++ = c->watchdog_action;
    for (uint8_t i = 0; i < c->n; i++) p = put_joint(p, &c->joint[i]);
    return (uint8_t)(p - out);
}

uint8_t proto_check_config(const arm_config_t *c, uint8_t n_joints)
{
    if (c->n != n_joints || n_joints > PROTO_MAX_JOINTS || c->watchdog_action > WATCHDOG_RELEASE)
        return ERR_BAD_CONFIG;
    if (c->watchdog_timeout_ms < WATCHDOG_MIN_MS || c->watchdog_timeout_ms > WATCHDOG_MAX_MS) return ERR_BAD_CONFIG;
    for (uint8_t i = 0; i < c->n; i++) {
        const joint_config_t *j = &c->joint[i];
        if (j->lower < -31416 || j->upper > 31416 || j->lower >= j->upper) return ERR_BAD_CONFIG;
        if (j->home < j->lower || j->home > j->upper) return ERR_BAD_CONFIG;
        if (j->max_step == 0 || j->max_step > MAX_STEP_MAX) return ERR_BAD_CONFIG;
        if (j->pulse_zero < PULSE_ZERO_MIN_TICKS || j->pulse_zero > PULSE_ZERO_MAX_TICKS) return ERR_BAD_CONFIG;
        /* magnitude without negating (INT32_MIN has none): -MAX..-MIN or MIN..MAX */
        if (j->gain_q16 < -GAIN_Q16_MAX || j->gain_q16 > GAIN_Q16_MAX ||
            (j->gain_q16 > -GAIN_Q16_MIN && j->gain_q16 < GAIN_Q16_MIN))
            return ERR_BAD_CONFIG;
    }
    return 0;
}

uint16_t proto_watchdog_frames(uint16_t timeout_ms)
{
    return (uint16_t)((timeout_ms + (FRAME_PERIOD_MS - 1)) / FRAME_PERIOD_MS);
}

uint8_t proto_unpack_config(const uint8_t *p, uint8_t len, uint8_t n_joints, arm_config_t *c)
{
    if (len != 4 + PROTO_JOINT_BYTES * n_joints) return ERR_BAD_LENGTH; /* malformed, like any message */
    if (p[3] != n_joints || n_joints > PROTO_MAX_JOINTS) return ERR_BAD_CONFIG;
    c->watchdog_timeout_ms = get16(p);
    c->watchdog_action = p[2];
    c->n = p[3];
    p += 4;
    for (uint8_t i = 0; i < c->n; i++, p += PROTO_JOINT_BYTES) {
        joint_config_t *j = &c->joint[i];
        j->lower = (int16_t)get16(p);
        j->upper = (int16_t)get16(p + 2);
        j->home = (int16_t)get16(p + 4);
        j->max_step = get16(p + 6);
        j->pulse_zero = get16(p + 8);
        j->gain_q16 = (int32_t)get32(p + 10);
    }
    return proto_check_config(c, n_joints);
}

uint8_t proto_unpack_joints(const uint8_t *p, uint8_t len, uint8_t n, int16_t *out)
{
    if (len != 2 * n) return ERR_BAD_LENGTH;
    for (uint8_t i = 0; i < n; i++) out[i] = (int16_t)get16(p + 2 * i);
    return 0;
}
