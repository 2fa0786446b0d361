/* Serial protocol codec; see proto.h and docs/protocol.md. */
#include "proto.h"
#include "robot_defaults.h"

uint16_t crc16_update(uint16_t crc, uint8_t byte)
{
    /* CRC-16/CCITT-FALSE byte step (poly 0x1021, MSB first), branch-free. */
    crc = (uint16_t)((crc >> 8) | (crc << 8));
    crc ^= byte;
    crc ^= (uint8_t)(crc & 0xFF) >> 4;
    crc ^= (uint16_t)(crc << 12);
    crc ^= (uint16_t)((crc & 0xFF) << 5);
    return crc;
}

uint16_t crc16(const uint8_t *data, uint8_t len)
{
    uint16_t crc = 0xFFFF;
    for (uint8_t i = 0; i < len; i++) crc = crc16_update(crc, data[i]);
    return crc;
}

uint16_t cobs_encode(const uint8_t *in, uint16_t len, uint8_t *out)
{
    uint16_t code_idx = 0, o = 1;
    uint8_t code = 1;
    for (uint16_t i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_idx] = code;
            code_idx = o++;
            code = 1;
        } else {
            out[o++] = in[i];
            if (++code == 0xFF) {
                out[code_idx] = code;
                code_idx = o++;
                code = 1;
            }
        }
    }
    out[code_idx] = code;
    return o;
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

uint8_t proto_encode(uint8_t type, uint8_t seq, const uint8_t *payload, uint8_t len, uint8_t *out)
{
    uint8_t raw[PROTO_MAX_RAW];
    if (len > PROTO_MAX_PAYLOAD) len = PROTO_MAX_PAYLOAD;
    raw[0] = type;
    raw[1] = seq;
    for (uint8_t i = 0; i < len; i++) raw[2 + i] = payload[i];
    uint16_t crc = crc16(raw, (uint8_t)(len + 2));
    raw[len + 2] = (uint8_t)crc;
    raw[len + 3] = (uint8_t)(crc >> 8);
    uint8_t n = (uint8_t)cobs_encode(raw, (uint16_t)(len + 4), out);
    out[n++] = 0;
    return n;
}

int8_t proto_rx_byte(proto_rx_t *rx, uint8_t byte, proto_frame_t *frame)
{
    if (byte != 0) {
        if (rx->len < PROTO_MAX_WIRE) rx->buf[rx->len++] = byte;
        else rx->overflow = 1;
        return PROTO_NONE;
    }
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
    if (len < 4 || p[3] != n_joints || n_joints > PROTO_MAX_JOINTS || len != 4 + PROTO_JOINT_BYTES * n_joints)
        return ERR_BAD_CONFIG;
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
