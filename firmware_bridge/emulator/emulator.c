/* robokit firmware emulator: runs the real firmware .elf on a simulated ATmega328P (libsimavr),
 * UART0 on a pseudo-terminal (robokit's own pty bridge, pty_bridge.c), paced to the wall clock.
 *
 * stdout lines of its own (anything else is simavr chatter):
 *   PORT /dev/pts/N                       the pty to open, printed once at start
 *   PULSE <frame> <w0_us> .. <w5_us>      with --pulses: widths measured on PD2..PD7 during frame
 *   TIMING sim_s=.. wall_s=.. max_lag_ms=.. late_pct=.. dropped_ms=..   every 5 s and at exit: pacing
 *   LINK in=.. out=.. dropped=.. resets=..   with each TIMING line: bytes the pty bridge gave the UART
 *                                         (in) and the pty (out), UART bytes dropped because the client
 *                                         did not read, MCU resets the bridge survived
 *                                         (late_pct: share of 1 ms checks more than 1 ms behind)
 * The firmware writes its frame counter (low 24 bits) to GPIOR0..2 at each frame start; the write of
 * GPIOR2 closes the previous frame's PULSE line. Stops on SIGINT/SIGTERM, saving the EEPROM image.
 * SIGUSR1 resets the MCU as its reset pin would (a real Uno resets when DTR toggles): registers and
 * peripherals reset, SRAM and EEPROM kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "avr_eeprom.h"
#include "avr_ioport.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "pty_bridge.h"

#define N_SERVOS 6
#define SERVO_PIN0 2              /* PD2..PD7 */
#define ADDR_GPIOR0 (0x1E + 0x20) /* data-space addresses on the ATmega328P */
#define ADDR_GPIOR1 (0x2A + 0x20)
#define ADDR_GPIOR2 (0x2B + 0x20)
#define EEPROM_SIZE 1024
#define PTY_POLL_US 100           /* the pty bridge moves bytes every 100 simulated us */
#define MAX_LAG_S 0.005            /* starved of CPU longer than this, the simulated clock drops the rest */
#define BOOT_MS 10                /* run the firmware this long (UART set up) before printing PORT */

static volatile sig_atomic_t g_stop, g_reset;
static avr_t *g_avr;
static int g_pulses;
static uint32_t g_frame_lo;       /* last 24-bit marker */
static uint64_t g_frame;          /* unwrapped frame counter */
static int g_have_frame;
static avr_cycle_count_t g_rise[N_SERVOS];
static double g_width_us[N_SERVOS];

static void on_signal(int sig)
{
    if (sig == SIGUSR1) g_reset = 1;
    else g_stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_pin(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    int i = (int)(intptr_t)param;
    if (value) {
        g_rise[i] = g_avr->cycle;
    } else if (g_rise[i]) {
        g_width_us[i] = (double)(g_avr->cycle - g_rise[i]) * 1e6 / g_avr->frequency;
        g_rise[i] = 0;
    }
}

static void on_frame_marker(struct avr_t *avr, avr_io_addr_t addr, uint8_t v, void *param)
{
    (void)param;
    avr->data[addr] = v;
    uint32_t lo = avr->data[ADDR_GPIOR0] | (avr->data[ADDR_GPIOR1] << 8) | ((uint32_t)v << 16);
    if (g_pulses && g_have_frame) {
        printf("PULSE %llu", (unsigned long long)g_frame);
        for (int i = 0; i < N_SERVOS; i++) printf(" %.4f", g_width_us[i]);
        printf("\n");
    }
    if (lo < g_frame_lo && g_frame_lo < 0xFFFF00u) g_frame = lo; /* MCU reset: its counter restarted */
    else g_frame += (lo - g_frame_lo) & 0xFFFFFFu;                 /* 24-bit marker wrapped, or ran on */
    g_frame_lo = lo;
    g_have_frame = 1;
    memset(g_width_us, 0, sizeof g_width_us);
}

/* Pacing is done in the main loop, so simulated sleep costs no wall time here. */
static void sleep_nothing(avr_t *avr, avr_cycle_count_t howLong) { (void)avr; (void)howLong; }

/* simavr's EEPROM ioctls return -1 even on success and, in some versions, refuse a full-size copy;
 * a GET with ee = NULL hands out a pointer to the EEPROM array instead, which works everywhere. */
static uint8_t *eeprom_ptr(avr_t *avr)
{
    avr_eeprom_desc_t d = {.ee = NULL, .offset = 0, .size = 1};
    avr_ioctl(avr, AVR_IOCTL_EEPROM_GET, &d);
    return d.ee;
}

static int eeprom_load(avr_t *avr, const char *path)
{
    uint8_t *ee = eeprom_ptr(avr);
    if (!ee) return -1;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : -1;
    uint8_t buf[EEPROM_SIZE + 1];
    size_t n = fread(buf, 1, sizeof buf, f); /* exactly EEPROM_SIZE bytes, or an empty (new) file */
    fclose(f);
    if (n == EEPROM_SIZE) memcpy(ee, buf, EEPROM_SIZE);
    return n == EEPROM_SIZE || n == 0 ? 0 : -1;
}

static int eeprom_get(avr_t *avr, uint8_t *buf)
{
    uint8_t *ee = eeprom_ptr(avr);
    if (!ee) return -1;
    memcpy(buf, ee, EEPROM_SIZE);
    return 0;
}

static void eeprom_save(const char *path, const uint8_t *buf)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(buf, 1, EEPROM_SIZE, f) != EEPROM_SIZE) {
        fprintf(stderr, "emulator: cannot write %s\n", tmp);
        if (f) fclose(f);
        return;
    }
    fclose(f);
    rename(tmp, path);
}

static void print_link(const pty_bridge_t *b)
{
    printf("LINK in=%llu out=%llu dropped=%llu resets=%u\n", (unsigned long long)b->bytes_in,
           (unsigned long long)b->bytes_out, (unsigned long long)b->out_dropped, b->resets);
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s FIRMWARE.elf [--eeprom FILE] [--pulses] [--no-realtime] [--mcu NAME] [--freq HZ]\n",
            argv0);
}

int main(int argc, char **argv)
{
    const char *elf = NULL, *eeprom = NULL, *mcu = "atmega328p";
    uint32_t freq = 16000000;
    int realtime = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--eeprom") && i + 1 < argc) eeprom = argv[++i];
        else if (!strcmp(argv[i], "--pulses")) g_pulses = 1;
        else if (!strcmp(argv[i], "--no-realtime")) realtime = 0;
        else if (!strcmp(argv[i], "--mcu") && i + 1 < argc) mcu = argv[++i];
        else if (!strcmp(argv[i], "--freq") && i + 1 < argc) freq = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !elf) elf = argv[i];
        else { usage(argv[0]); return 2; }
    }
    if (!elf || freq < 1000000u || freq > 64000000u) { usage(argv[0]); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);

    elf_firmware_t fw;
    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(elf, &fw) != 0) { fprintf(stderr, "emulator: cannot read %s\n", elf); return 1; }
    strncpy(fw.mmcu, mcu, sizeof fw.mmcu - 1);
    fw.frequency = freq;
    avr_t *avr = g_avr = avr_make_mcu_by_name(fw.mmcu);
    if (!avr) { fprintf(stderr, "emulator: unknown MCU %s\n", fw.mmcu); return 1; }
    avr_init(avr);
    avr_load_firmware(avr, &fw);
    avr->sleep = sleep_nothing;
    if (eeprom && eeprom_load(avr, eeprom) < 0) { /* never overwrite a file that is not an EEPROM image */
        fprintf(stderr, "emulator: cannot load EEPROM %s (not a %d-byte image?)\n", eeprom, EEPROM_SIZE);
        return 2;
    }

    for (int i = 0; i < N_SERVOS; i++)
        avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), SERVO_PIN0 + i), on_pin,
                                (void *)(intptr_t)i);
    avr_register_io_write(avr, ADDR_GPIOR2, on_frame_marker, NULL);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    static pty_bridge_t pty;
    if (pty_bridge_open(&pty, avr, '0', PTY_POLL_US) < 0) {
        fprintf(stderr, "emulator: cannot open a pseudo-terminal: %s\n", strerror(errno));
        return 1;
    }
    while (avr->cycle < (avr_cycle_count_t)freq / 1000 * BOOT_MS) {
        int st = avr_run(avr);
        pty_bridge_check(&pty);
        if (st == cpu_Done || st == cpu_Crashed) {
            fprintf(stderr, "emulator: MCU stopped during boot (state %d)\n", st);
            return 1;
        }
    }
    printf("PORT %s\n", pty.path);
    fflush(stdout);

    uint8_t ee_saved[EEPROM_SIZE], ee_now[EEPROM_SIZE];
    if (eeprom) eeprom_get(avr, ee_saved);
    const avr_cycle_count_t check_cycles = freq / 1000; /* pace every simulated ms */
    avr_cycle_count_t next_check = avr->cycle + check_cycles;
    double t0 = now_s() - (double)avr->cycle / freq, next_ee = t0 + 0.5, next_timing = t0 + 5.0, max_lag = 0.0;
    /* Pacing base: wall time at simulated time 0. When the emulator was starved of CPU (a loaded host), it
     * does not race to catch up: a burst of simulated time with no host bytes in it would trip the
     * firmware's watchdog, which a real MCU, never paused, would not. Lag beyond MAX_LAG_S is dropped
     * (the simulated clock falls behind the wall clock by that much, counted in dropped_ms). */
    double t_pace = t0, dropped = 0.0;
    unsigned long long checks = 0, late = 0; /* paced checks, and those more than 1 ms behind */
    int rc = 0;
    while (!g_stop) {
        if (g_reset) {
            g_reset = 0;
            avr_reset(avr);
        }
        int st = avr_run(avr);
        pty_bridge_check(&pty);
        if (st == cpu_Done || st == cpu_Crashed) {
            fprintf(stderr, "emulator: MCU stopped (state %d)\n", st);
            rc = 1;
            break;
        }
        if (avr->cycle < next_check) continue;
        next_check = avr->cycle + check_cycles;
        double sim_s = (double)avr->cycle / freq, wall = now_s(), wall_s = wall - t0;
        if (realtime) {
            double ahead = sim_s - (wall - t_pace);
            checks++;
            if (ahead < -0.001) late++;
            if (ahead > 0.0002) {
                pty_bridge_wait(&pty, ahead); /* wakes early when host bytes arrive */
            } else {
                if (-ahead > max_lag) max_lag = -ahead;
                if (-ahead > MAX_LAG_S) { /* drop the lag instead of bursting through it */
                    dropped += -ahead - MAX_LAG_S;
                    t_pace = wall - sim_s - MAX_LAG_S;
                }
            }
        }
        if (eeprom && wall > next_ee) {
            next_ee = wall + 0.5;
            if (eeprom_get(avr, ee_now) == 0 && memcmp(ee_now, ee_saved, EEPROM_SIZE)) {
                memcpy(ee_saved, ee_now, EEPROM_SIZE);
                eeprom_save(eeprom, ee_saved);
            }
        }
        if (wall > next_timing) {
            next_timing = wall + 5.0;
            printf("TIMING sim_s=%.3f wall_s=%.3f max_lag_ms=%.3f late_pct=%.3f dropped_ms=%.3f\n", sim_s, wall_s,
                   max_lag * 1e3, checks ? 100.0 * late / checks : 0.0, dropped * 1e3);
            print_link(&pty);
        }
    }
    if (eeprom && eeprom_get(avr, ee_now) == 0) eeprom_save(eeprom, ee_now);
    printf("TIMING sim_s=%.3f wall_s=%.3f max_lag_ms=%.3f late_pct=%.3f dropped_ms=%.3f\n",
           (double)avr->cycle / freq, now_s() - t0, max_lag * 1e3, checks ? 100.0 * late / checks : 0.0,
           dropped * 1e3);
    print_link(&pty);
    fflush(stdout);
    return rc;
}
