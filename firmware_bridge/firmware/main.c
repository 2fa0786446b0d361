/* robokit arm firmware for the ATmega328P (16 MHz), avr-libc only; protocol in docs/protocol.md.
 *
 * Hardware: UART0 at 1 Mbaud (link.c: receive interrupt into a ring, frames decoded and answered one
 * at a time in the main loop); Timer1 CTC at 0.5 us ticks,
 * COMPA every 20 ms = servo frame (motion model, watchdog), COMPB walks the 6 pulses one after another
 * on PD2..PD7. The frame counter is mirrored into GPIOR0..2 (low 24 bits) for the emulator. */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#include "config_store.h"
#include "link.h"
#include "motion.h"
#include "proto.h"
#include "robot_defaults.h"

#define FRAME_TICKS 40000u    /* 20 ms at 0.5 us */
#define PULSE_START_TICKS 400 /* first pulse starts 200 us into the frame */
#define EDGE_DELAY_TICKS 20   /* 10 us: longer than any interrupt latency (see TIMER1_COMPB_vect) */
#define SERVO_SHIFT 2         /* joint i on PD(2 + i) */
#define SERVO_MASK (((1u << N_JOINTS) - 1) << SERVO_SHIFT)

/* --- state shared with interrupts. Setpoints and targets are written only by the frame interrupt;
 * main writes single bytes (flags), u16s with interrupts off, and the mailboxes below.
 * Motion invariant: setpoints move only in the frame interrupt, by motion_step (at most max_step per
 * frame), and only while pulses are on. No command sets them directly: ENABLE, CLEAR, RELEASE,
 * ESTOP, CONFIG and the watchdog change targets or flags, never setpoints (docs/protocol.md,
 * "States"). --- */
static arm_config_t cfg;
static volatile uint32_t g_frame;
static volatile int16_t g_setpoint[N_JOINTS], g_target[N_JOINTS];
static volatile uint8_t g_enabled, g_held, g_wd_tripped, g_estop;
static volatile uint16_t g_silent_frames;
static uint16_t g_wd_frames; /* silent frames that trip the watchdog: proto_watchdog_frames(timeout) */

/* The setpoints survive a reset that keeps RAM (AVR watchdog, external/DTR reset) so the next ENABLE
 * starts from where the servos were driven last. Each value is stored with its complement: a power-on
 * leaves random RAM, which fails the check; a reset in the middle of an update leaves each joint
 * either its old or its new value, both valid. */
static struct {
    uint16_t magic;
    int16_t q[N_JOINTS], not_q[N_JOINTS];
} g_keep __attribute__((section(".noinit")));
/* Mailbox from main to the frame interrupt: main never writes setpoints/targets itself, so it needs
 * no long interrupts-off sections (those would delay pulse edges). */
static volatile uint8_t g_enable_pending, g_targets_pending;
static volatile int16_t g_enable_q[N_JOINTS], g_targets_q[N_JOINTS];
static uint8_t g_config_eeprom;
static uint16_t n_rx_ok, n_bad_msg;

static uint16_t edge[N_JOINTS + 1];
static uint8_t edge_bits[N_JOINTS + 1];
static volatile uint8_t edge_ch;

#define KEEP_MAGIC 0x5053u /* "SP" */

/* Called when a frame's pulse train ends: every servo has been pulsed with these setpoints. A reset
 * in the middle of the next train resumes at most one step back. About 5 us. */
static void keep_setpoints(void)
{
    for (uint8_t i = 0; i < N_JOINTS; i++) {
        int16_t q = g_setpoint[i];
        g_keep.q[i] = q;
        g_keep.not_q[i] = (int16_t)~q;
    }
    g_keep.magic = KEEP_MAGIC;
}

/* Boot setpoints: the kept ones if they are intact, else the home pose. */
static void restore_setpoints(void)
{
    uint8_t ok = g_keep.magic == KEEP_MAGIC;
    for (uint8_t i = 0; i < N_JOINTS; i++) ok &= g_keep.q[i] == (int16_t)~g_keep.not_q[i];
    for (uint8_t i = 0; i < N_JOINTS; i++) g_setpoint[i] = g_target[i] = ok ? g_keep.q[i] : cfg.joint[i].home;
}

/* One servo frame. Non-blocking so the UART receive interrupt is never held up. */
ISR(TIMER1_COMPA_vect, ISR_NOBLOCK)
{
    uint32_t f = g_frame + 1;
    g_frame = f;
    GPIOR0 = (uint8_t)f;
    GPIOR1 = (uint8_t)(f >> 8);
    GPIOR2 = (uint8_t)(f >> 16); /* written last: the emulator's frame marker */
    if (g_enable_pending) { /* the pose is a target: setpoints slew there from where they are */
        for (uint8_t i = 0; i < N_JOINTS; i++) g_target[i] = g_enable_q[i];
        g_held = 0;
        g_silent_frames = 0;
        g_enabled = 1;
        g_enable_pending = 0;
    }
    if (g_targets_pending) {
        if (g_enabled && !g_held)
            for (uint8_t i = 0; i < N_JOINTS; i++) g_target[i] = g_targets_q[i];
        g_targets_pending = 0;
    }
    if (!g_enabled) return;
    if (!g_wd_tripped) { /* always on: CONFIG accepts only WATCHDOG_MIN_MS..WATCHDOG_MAX_MS */
        if (g_silent_frames < 0xFFFFu) g_silent_frames++; /* trips at g_wd_frames <= 3000, far below */
        if (g_silent_frames >= g_wd_frames) {
            g_wd_tripped = 1;
            if (cfg.watchdog_action == WATCHDOG_RELEASE) {
                g_enabled = 0;
                return;
            }
            g_held = 1;
            for (uint8_t i = 0; i < N_JOINTS; i++) g_target[i] = g_setpoint[i];
        }
    }
    uint16_t t = PULSE_START_TICKS;
    for (uint8_t i = 0; i < N_JOINTS; i++) {
        if (!g_held) g_setpoint[i] = motion_step(g_setpoint[i], g_target[i], cfg.joint[i].max_step);
        edge[i] = t;
        edge_bits[i] = (uint8_t)(1u << (SERVO_SHIFT + i));
        t += motion_pulse_ticks(g_setpoint[i], &cfg.joint[i]);
    }
    edge[N_JOINTS] = t;
    edge_bits[N_JOINTS] = 0;
    edge_ch = 0;
    OCR1B = edge[0];
    TIFR1 = _BV(OCF1B);
    TIMSK1 |= _BV(OCIE1B);
}

/* Pulse edges. The interrupt may start a few us late (another interrupt was running), so it waits
 * for a fixed EDGE_DELAY_TICKS after the scheduled time before writing the port: every edge then has
 * the same delay and the widths are exact to about one timer tick (0.5 us).
 * A frame's pulse train, once started, always completes (at most 15.2 ms): RELEASE, ESTOP and a
 * watchdog RELEASE stop the pulses from the next frame on. So every servo gets a whole pulse of the
 * setpoints this frame stepped to, and a setpoint never advances without its pulse (cutting the
 * train would leave later joints a step behind their setpoints, and the next ENABLE would skip it). */
ISR(TIMER1_COMPB_vect)
{
    uint8_t ch = edge_ch;
    uint16_t at = edge[ch] + EDGE_DELAY_TICKS;
    uint8_t port = (uint8_t)((PORTD & ~SERVO_MASK) | edge_bits[ch]);
    while ((int16_t)(TCNT1 - at) < 0) {}
    PORTD = port;
    if (ch >= N_JOINTS) {
        PORTD &= (uint8_t)~SERVO_MASK;
        TIMSK1 &= (uint8_t)~_BV(OCIE1B);
        keep_setpoints();
        return;
    }
    OCR1B = edge[ch + 1];
    edge_ch = (uint8_t)(ch + 1);
}

static uint32_t frame_now(void)
{
    cli();
    uint32_t f = g_frame;
    sei();
    return f;
}

/* STATE of the current frame into s. With commit (&g_enable_pending or &g_targets_pending), the
 * mailbox is armed in the same frame the snapshot shows, so the command takes effect exactly at
 * frame + 1. Copies run with interrupts on (long interrupts-off sections would delay pulse edges);
 * the copy is retried if a frame interrupt ran meanwhile. */
static void snapshot(arm_state_t *s, uint8_t extra_flags, volatile uint8_t *commit)
{
    s->n = N_JOINTS;
    for (;;) {
        s->frame = frame_now();
        uint8_t en = g_enable_pending || commit == &g_enable_pending;
        uint8_t tg = g_targets_pending || commit == &g_targets_pending;
        for (uint8_t i = 0; i < N_JOINTS; i++) {
            s->setpoint[i] = g_setpoint[i];
            s->target[i] = tg ? g_targets_q[i] : en ? g_enable_q[i] : g_target[i];
        }
        s->flags = (uint8_t)(extra_flags | (g_enabled || en ? FLAG_ENABLED : 0) |
                             (g_wd_tripped ? FLAG_WATCHDOG_TRIPPED : 0) | (g_estop ? FLAG_ESTOP_LATCHED : 0) |
                             (g_config_eeprom ? FLAG_CONFIG_EEPROM : 0));
        cli();
        if (g_frame == s->frame) {
            if (commit) *commit = 1;
            sei();
            break;
        }
        sei();
    }
    s->rx_ok = n_rx_ok;
    s->bad_msg = n_bad_msg;
    link_counters(s);
}

/* The reply to the request being handled (link.h); the main loop sends it next. */
static void reply(uint8_t type, uint8_t seq, uint8_t flags, uint8_t taken)
{
    link_next.seq = seq;
    link_next.flags = flags;
    link_next.taken = taken;
    link_next.type = type;
}

/* STATE taken when it is sent (a PING's reply shows the state when it leaves). */
static void reply_state(uint8_t seq, uint8_t flags) { reply(MSG_STATE, seq, flags, 0); }

/* STATE taken now, arming the command's mailbox in the frame it shows. */
static void reply_commit(uint8_t seq, uint8_t flags, volatile uint8_t *commit)
{
    snapshot(&link_next.state, flags, commit);
    reply(MSG_STATE, seq, flags, 1);
}

static void reply_error(uint8_t seq, uint8_t code, uint8_t request_type)
{
    link_next.code = code;
    reply(MSG_ERROR, seq, request_type, 0);
}

uint8_t link_build_payload(const link_reply_t *r, uint8_t *payload)
{
    if (r->type == MSG_INFO) return proto_pack_info(&cfg, g_config_eeprom ? 1 : 0, payload);
    if (r->type == MSG_ERROR) {
        payload[0] = r->code;
        payload[1] = r->flags;
        return 2;
    }
    if (r->taken) return proto_pack_state(&r->state, payload);
    arm_state_t s;
    snapshot(&s, r->flags, 0);
    return proto_pack_state(&s, payload);
}

/* Fill a mailbox for the frame interrupt; reply_commit() arms it. Clearing the flag first makes the
 * copy safe: the interrupt ignores a mailbox whose flag is clear. */
static void fill(volatile uint8_t *pending, volatile int16_t *dst, const int16_t *q)
{
    *pending = 0;
    for (uint8_t i = 0; i < N_JOINTS; i++) dst[i] = q[i];
}

static void reply_info(uint8_t seq) { reply(MSG_INFO, seq, 0, 0); }

static uint8_t clamp_joints(int16_t *q)
{
    uint8_t clamped = 0;
    for (uint8_t i = 0; i < N_JOINTS; i++) q[i] = motion_clamp(q[i], &cfg.joint[i], &clamped);
    return clamped ? FLAG_CLAMPED : 0;
}

static void handle(const proto_frame_t *f)
{
    int16_t q[N_JOINTS];
    uint8_t empty = f->len == 0;
    switch (f->type) {
    case MSG_HELLO: case MSG_PING: case MSG_RELEASE: case MSG_ESTOP: case MSG_CLEAR:
        if (!empty) goto bad_length;
        break;
    case MSG_ENABLE: case MSG_TARGETS:
        if (proto_unpack_joints(f->payload, f->len, N_JOINTS, q)) goto bad_length;
        break;
    case MSG_CONFIG: /* the length only; the content is checked once the arm is known released */
        if (f->len != 4 + PROTO_JOINT_BYTES * N_JOINTS) goto bad_length;
        break;
    default:
        n_bad_msg++;
        reply_error(f->seq, ERR_UNKNOWN_TYPE, f->type);
        return;
    }
    n_rx_ok++;
    cli();
    g_silent_frames = 0;
    sei();
    switch (f->type) {
    case MSG_HELLO:
        reply_info(f->seq);
        return;
    case MSG_PING:
        reply_state(f->seq, 0);
        return;
    case MSG_ENABLE: { /* released or enabled alike: the pose becomes the target (slewed to) */
        if (g_estop) { reply_error(f->seq, ERR_ESTOP_LATCHED, f->type); return; }
        if (g_wd_tripped) { reply_error(f->seq, ERR_WATCHDOG_TRIPPED, f->type); return; }
        uint8_t flags = clamp_joints(q);
        g_targets_pending = 0;
        fill(&g_enable_pending, g_enable_q, q);
        reply_commit(f->seq, flags, &g_enable_pending);
        return;
    }
    case MSG_TARGETS: {
        if (!(g_enabled || g_enable_pending) || g_estop || g_wd_tripped) {
            reply_state(f->seq, FLAG_REJECTED);
            return;
        }
        uint8_t flags = clamp_joints(q);
        fill(&g_targets_pending, g_targets_q, q);
        reply_commit(f->seq, flags, &g_targets_pending);
        return;
    }
    case MSG_RELEASE:
        g_enable_pending = g_targets_pending = 0;
        g_enabled = 0;
        reply_state(f->seq, 0);
        return;
    case MSG_ESTOP:
        g_enable_pending = g_targets_pending = 0;
        g_estop = 1;
        g_enabled = 0;
        reply_state(f->seq, 0);
        return;
    case MSG_CLEAR:
        g_estop = 0;
        g_held = 0; /* targets equal the held setpoints, so the arm keeps still */
        g_wd_tripped = 0;
        cli();
        g_silent_frames = 0;
        sei();
        reply_state(f->seq, 0);
        return;
    case MSG_CONFIG: {
        static arm_config_t c;
        if (g_enabled || g_enable_pending) { reply_error(f->seq, ERR_NOT_RELEASED, f->type); return; }
        uint8_t err = proto_unpack_config(f->payload, f->len, N_JOINTS, &c);
        if (err) { reply_error(f->seq, err, f->type); return; }
        cfg = c; /* setpoints stay: released, so nothing moves; ENABLE starts from them */
        g_wd_frames = proto_watchdog_frames(cfg.watchdog_timeout_ms);
        config_save_eeprom(&cfg);
        g_config_eeprom = 1;
        reply_info(f->seq);
        return;
    }
    }
    return;
bad_length:
    n_bad_msg++;
    reply_error(f->seq, ERR_BAD_LENGTH, f->type);
}

int main(void)
{
    MCUSR = 0;
    wdt_disable();
    config_defaults(&cfg);
    g_config_eeprom = config_load_eeprom(&cfg);
    g_wd_frames = proto_watchdog_frames(cfg.watchdog_timeout_ms);
    restore_setpoints();

    /* INT0/INT1 stay disabled; edge mode only stops simavr from polling their low-level trigger on
     * PD2/PD3 (servo pins) every cycle, which would make the emulator ~10x slower. */
    EICRA = _BV(ISC00) | _BV(ISC10);
    PORTD &= (uint8_t)~SERVO_MASK; /* boot released: servo pins low */
    DDRD |= SERVO_MASK;

    link_init();

    TCCR1A = 0;
    OCR1A = FRAME_TICKS - 1;
    TCCR1B = _BV(WGM12) | _BV(CS11); /* CTC on OCR1A, clk/8 = 0.5 us */
    TIMSK1 = _BV(OCIE1A);

    set_sleep_mode(SLEEP_MODE_IDLE);
    wdt_enable(WDTO_1S);
    sei();

    static proto_frame_t frame;
    for (;;) {
        wdt_reset();
        if (link_send()) continue; /* the reply to the request just handled */
        if (link_poll(&frame)) {
            handle(&frame);
            continue;
        }
        cli();
        if (!link_rx_waiting()) {
            sleep_enable();
            sei(); /* the instruction after sei runs before any interrupt: no lost wake-up */
            sleep_cpu();
            sleep_disable();
        }
        sei();
    }
}
