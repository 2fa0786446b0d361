/* Host-side probe of the protocol and motion modules, for the unit tests (host gcc, not the AVR).
 * Reads one command per stdin line, prints one result line; see tests/firmware_bridge/test_c_protocol.py.
 *   crc HEX | cobs_enc HEX | cobs_dec HEX | rx HEX | encode TYPE SEQ HEX
 *   state FRAME FLAGS N SP.. TG.. RX_OK BAD_CRC BAD_FRAME BAD_MSG RX_OVERFLOW
 *   info FLAGS WD_MS WD_ACTION N (LOWER UPPER HOME STEP ZERO GAIN)xN | config HEX (for N_JOINTS joints)
 *   joints N HEX | wd_frames TIMEOUT_MS
 *   step SP TG MAX | pulse Q ZERO GAIN | clamp Q LOWER UPPER
 *   ring_put HEX (receive interrupt) | ring_take N (main loop: up to N bytes into the decoder; prints
 *   the frames decoded, `FRAME type seq` or bad_crc/bad_frame, ';'-separated) | ring_stats (overflow
 *   skipped waiting) | ring_reset: the receive ring (rx_ring.h) and a decoder behind it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "motion.h"
#include "proto.h"
#include "robot_defaults.h"
#include "rx_ring.h"

static uint8_t buf[1024], out[1024];
static rx_ring_t ring;
static proto_rx_t ring_rx;

static int parse_hex(const char *s, uint8_t *dst)
{
    int n = 0;
    while (s[0] && s[1] && s[0] != '\n') {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1) break;
        dst[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static void print_hex(const uint8_t *p, int n)
{
    for (int i = 0; i < n; i++) printf("%02x", p[i]);
}

static char *tok(void) { return strtok(NULL, " \n"); }
static long num(void) { char *t = tok(); return t ? strtol(t, NULL, 0) : 0; }

int main(void)
{
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char *cmd = strtok(line, " \n");
        if (!cmd) { printf("\n"); continue; }
        if (!strcmp(cmd, "crc")) {
            char *h = tok();
            int n = h ? parse_hex(h, buf) : 0;
            printf("%04x", crc16(buf, (uint8_t)n));
        } else if (!strcmp(cmd, "cobs_enc")) {
            char *h = tok();
            int n = h ? parse_hex(h, buf) : 0;
            print_hex(out, cobs_encode(buf, (uint16_t)n, out));
        } else if (!strcmp(cmd, "cobs_dec")) {
            char *h = tok();
            int n = h ? parse_hex(h, buf) : 0;
            int16_t r = cobs_decode(buf, (uint16_t)n, out);
            if (r < 0) printf("ERR");
            else print_hex(out, r);
        } else if (!strcmp(cmd, "rx")) {
            static proto_rx_t rx;
            static proto_frame_t f;
            memset(&rx, 0, sizeof rx);
            int n = parse_hex(tok(), buf), first = 1;
            for (int i = 0; i < n; i++) {
                int8_t r = proto_rx_byte(&rx, buf[i], &f);
                if (r == PROTO_NONE) continue;
                printf(first ? "" : ";");
                first = 0;
                if (r == PROTO_FRAME) {
                    printf("FRAME %d %d ", f.type, f.seq);
                    print_hex(f.payload, f.len);
                } else {
                    printf(r == PROTO_BAD_CRC ? "bad_crc" : "bad_frame");
                }
            }
        } else if (!strcmp(cmd, "encode")) {
            uint8_t type = (uint8_t)num(), seq = (uint8_t)num();
            char *h = tok();
            int n = h ? parse_hex(h, buf) : 0;
            print_hex(out, proto_encode(type, seq, buf, (uint8_t)n, out));
        } else if (!strcmp(cmd, "state")) {
            arm_state_t s;
            s.frame = (uint32_t)num();
            s.flags = (uint8_t)num();
            s.n = (uint8_t)num();
            for (int i = 0; i < s.n; i++) s.setpoint[i] = (int16_t)num();
            for (int i = 0; i < s.n; i++) s.target[i] = (int16_t)num();
            s.rx_ok = (uint16_t)num();
            s.bad_crc = (uint16_t)num();
            s.bad_frame = (uint16_t)num();
            s.bad_msg = (uint16_t)num();
            s.rx_overflow = (uint16_t)num();
            print_hex(out, proto_pack_state(&s, out));
        } else if (!strcmp(cmd, "info")) {
            arm_config_t c;
            uint8_t flags = (uint8_t)num();
            c.watchdog_timeout_ms = (uint16_t)num();
            c.watchdog_action = (uint8_t)num();
            c.n = (uint8_t)num();
            for (int i = 0; i < c.n; i++) {
                joint_config_t *j = &c.joint[i];
                j->lower = (int16_t)num();
                j->upper = (int16_t)num();
                j->home = (int16_t)num();
                j->max_step = (uint16_t)num();
                j->pulse_zero = (uint16_t)num();
                j->gain_q16 = (int32_t)num();
            }
            print_hex(out, proto_pack_info(&c, flags, out));
        } else if (!strcmp(cmd, "config")) {
            arm_config_t c;
            int n = parse_hex(tok(), buf);
            uint8_t err = proto_unpack_config(buf, (uint8_t)n, N_JOINTS, &c);
            if (err) {
                printf("ERR %d", err);
            } else {
                printf("OK %d %d %d", c.watchdog_timeout_ms, c.watchdog_action, c.n);
                for (int i = 0; i < c.n; i++) {
                    joint_config_t *j = &c.joint[i];
                    printf(" %d %d %d %d %d %ld", j->lower, j->upper, j->home, j->max_step, j->pulse_zero,
                           (long)j->gain_q16);
                }
            }
        } else if (!strcmp(cmd, "wd_frames")) {
            printf("%u", proto_watchdog_frames((uint16_t)num()));
        } else if (!strcmp(cmd, "joints")) {
            int16_t q[PROTO_MAX_JOINTS];
            uint8_t nj = (uint8_t)num();
            char *h = tok();
            int n = h ? parse_hex(h, buf) : 0;
            if (proto_unpack_joints(buf, (uint8_t)n, nj, q)) printf("ERR");
            else {
                printf("OK");
                for (int i = 0; i < nj; i++) printf(" %d", q[i]);
            }
        } else if (!strcmp(cmd, "step")) {
            int16_t sp = (int16_t)num(), tg = (int16_t)num();
            printf("%d", motion_step(sp, tg, (uint16_t)num()));
        } else if (!strcmp(cmd, "pulse")) {
            joint_config_t j = {0};
            int16_t q = (int16_t)num();
            j.pulse_zero = (uint16_t)num();
            j.gain_q16 = (int32_t)num();
            printf("%u", motion_pulse_ticks(q, &j));
        } else if (!strcmp(cmd, "clamp")) {
            joint_config_t j = {0};
            uint8_t clamped = 0;
            int16_t q = (int16_t)num();
            j.lower = (int16_t)num();
            j.upper = (int16_t)num();
            int16_t r = motion_clamp(q, &j, &clamped);
            printf("%d %d", r, clamped);
        } else if (!strcmp(cmd, "ring_reset")) {
            memset(&ring, 0, sizeof ring);
            memset(&ring_rx, 0, sizeof ring_rx);
        } else if (!strcmp(cmd, "ring_put")) {
            char *h = tok();
            int n = h ? parse_hex(h, buf) : 0;
            for (int i = 0; i < n; i++) rx_ring_put(&ring, buf[i]);
        } else if (!strcmp(cmd, "ring_take")) {
            static proto_frame_t f;
            long n = num();
            int first = 1;
            uint8_t b;
            while (n-- > 0 && rx_ring_take(&ring, ring_rx.len == 0 && !ring_rx.overflow, &b)) {
                int8_t r = proto_rx_byte(&ring_rx, b, &f);
                if (r == PROTO_NONE) continue;
                printf(first ? "" : ";");
                first = 0;
                if (r == PROTO_FRAME) printf("FRAME %d %d", f.type, f.seq);
                else printf(r == PROTO_BAD_CRC ? "bad_crc" : "bad_frame");
            }
        } else if (!strcmp(cmd, "ring_stats")) {
            printf("%u %u %u", ring.overflow, ring.skipped, rx_ring_count(&ring));
        } else {
            printf("?");
        }
        printf("\n");
        fflush(stdout);
    }
    return 0;
}
