/* robokit's pty bridge; see pty_bridge.h. Written for robokit against simavr's public UART IRQ
 * interface (avr_uart.h): UART_IRQ_INPUT, UART_IRQ_OUTPUT, UART_IRQ_OUT_XON, UART_IRQ_OUT_XOFF. */
#define _GNU_SOURCE
#include "pty_bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_uart.h"
#include "sim_cycle_timers.h"
#include "sim_io.h"
#include "sim_irq.h"

/* XON: the UART's input FIFO has room (simavr raises it whenever the FIFO is empty). */
static void on_xon(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)value;
    ((pty_bridge_t *)param)->xoff = 0;
}

/* XOFF carries a level: 1 when the FIFO is full (or the receiver is off), 0 when it has drained. */
static void on_xoff(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    ((pty_bridge_t *)param)->xoff = value != 0;
}

/* A byte the firmware sends. When the client does not read and the buffer is full, bytes are dropped
 * in whole frames, as the firmware's receive ring does (firmware/rx_ring.h): the frame in progress is
 * cut short by a 0x00 in the last slot, kept free for it, and its rest, up to its own 0x00, is dropped.
 * So the client's decoder sees one bad frame and every later reply whole, never a reply glued to the
 * head of a lost one. */
static void on_output(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    pty_bridge_t *b = param;
    uint8_t v = (uint8_t)value;
    if (b->out_cut) {
        if (v == 0) b->out_cut = 0;
        b->out_dropped++;
        return;
    }
    size_t room = sizeof b->out - b->out_len;
    if (room > 1 || (room == 1 && v == 0)) {
        b->out[b->out_len++] = v;
        return;
    }
    b->out_dropped++;
    if (v == 0) return; /* no room at all: the buffer already ends with a 0x00 */
    if (room == 1) b->out[b->out_len++] = 0;
    b->out_cut = 1;
}

/* 1 if no client has the slave side open (POLLHUP), 0 otherwise. */
static int no_client(const pty_bridge_t *b)
{
    struct pollfd p = {.fd = b->fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLHUP);
}

static void flush_output(pty_bridge_t *b)
{
    if (!b->out_len) return;
    ssize_t n = write(b->fd, b->out, b->out_len);
    if (n > 0) {
        b->bytes_out += (uint64_t)n;
        memmove(b->out, b->out + n, b->out_len - (size_t)n);
        b->out_len -= (size_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        b->out_len = 0; /* the pty is gone */
    }
    if (b->out_len && no_client(b)) b->out_len = 0; /* nobody listening: the bytes are lost on the line */
}

/* Give buffered host bytes to the UART while its FIFO has room; read more from the pty only when
 * the buffer is empty, so unread bytes stay in the kernel (back-pressure to the writer). */
static void feed_input(pty_bridge_t *b)
{
    for (;;) {
        while (!b->xoff && b->in_pos < b->in_len) {
            b->bytes_in++;
            avr_raise_irq(b->input, b->in[b->in_pos++]); /* may raise XOFF: that byte is accepted */
        }
        if (b->xoff || b->in_pos < b->in_len) return;
        ssize_t n = read(b->fd, b->in, sizeof b->in);
        if (n <= 0) return; /* EAGAIN: nothing waiting; EIO: no client has the pty open */
        b->in_len = (size_t)n;
        b->in_pos = 0;
    }
}

void pty_bridge_poll(pty_bridge_t *b)
{
    feed_input(b);
    flush_output(b);
}

/* The cycle timer also bounds the MCU's sleep to one poll period, so host bytes are not held up
 * while the firmware sleeps between its 20 ms frames. */
static avr_cycle_count_t poll_timer(struct avr_t *avr, avr_cycle_count_t when, void *param)
{
    pty_bridge_t *b = param;
    b->last_poll = avr->cycle;
    pty_bridge_poll(b);
    return when + b->poll_cycles;
}

static void arm(pty_bridge_t *b)
{
    uint32_t flags = 0; /* no console echo of UART output, no real sleeping while the firmware polls */
    avr_ioctl(b->avr, AVR_IOCTL_UART_SET_FLAGS(b->uart), &flags);
    b->last_poll = b->avr->cycle;
    avr_cycle_timer_register(b->avr, b->poll_cycles, poll_timer, b);
}

void pty_bridge_check(pty_bridge_t *b)
{
    if (b->avr->cycle - b->last_poll > 4 * b->poll_cycles) {
        b->resets++;
        arm(b);
    }
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

void pty_bridge_wait(pty_bridge_t *b, double timeout_s)
{
    if (timeout_s <= 0) return;
    if (b->xoff || b->in_pos < b->in_len) { /* the UART cannot take more now: plain sleep */
        sleep_s(timeout_s);
        return;
    }
    struct pollfd p = {.fd = b->fd, .events = POLLIN};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec ts = {(time_t)timeout_s, (long)((timeout_s - (time_t)timeout_s) * 1e9)};
    int r = ppoll(&p, 1, &ts, NULL);
    if (r > 0 && (p.revents & POLLHUP)) { /* no client: poll returns at once, so sleep the rest */
        clock_gettime(CLOCK_MONOTONIC, &t1);
        sleep_s(timeout_s - ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9));
    }
}

int pty_bridge_open(pty_bridge_t *b, avr_t *avr, char uart, uint32_t poll_us)
{
    memset(b, 0, sizeof *b);
    b->fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (b->fd < 0) return -1;
    struct termios t;
    const char *name;
    if (grantpt(b->fd) || unlockpt(b->fd) || !(name = ptsname(b->fd)) || tcgetattr(b->fd, &t)) goto fail;
    cfmakeraw(&t); /* no echo, no line editing, no CR/LF translation: bytes pass unchanged */
    if (tcsetattr(b->fd, TCSANOW, &t)) goto fail;
    snprintf(b->path, sizeof b->path, "%s", name);

    uint32_t ctl = AVR_IOCTL_UART_GETIRQ(uart);
    b->input = avr_io_getirq(avr, ctl, UART_IRQ_INPUT);
    struct avr_irq_t *out = avr_io_getirq(avr, ctl, UART_IRQ_OUTPUT);
    struct avr_irq_t *xon = avr_io_getirq(avr, ctl, UART_IRQ_OUT_XON);
    struct avr_irq_t *xoff = avr_io_getirq(avr, ctl, UART_IRQ_OUT_XOFF);
    if (!b->input || !out || !xon || !xoff) {
        errno = ENODEV;
        goto fail;
    }
    avr_irq_register_notify(out, on_output, b);
    avr_irq_register_notify(xon, on_xon, b);
    avr_irq_register_notify(xoff, on_xoff, b);
    b->avr = avr;
    b->uart = uart;
    b->poll_cycles = (avr_cycle_count_t)avr->frequency / 1000000u * (poll_us ? poll_us : 1);
    arm(b);
    return 0;
fail:
    close(b->fd);
    b->fd = -1;
    return -1;
}
