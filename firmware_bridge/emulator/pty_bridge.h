/* robokit's pty bridge: one simulated AVR UART <-> a pseudo-terminal, without loss.
 *
 * Host -> MCU: bytes are read from the pty master only while the UART's input FIFO has room
 * (simavr's UART_IRQ_OUT_XOFF / UART_IRQ_OUT_XON); until then they stay in the kernel's pty buffer,
 * so a writer on the pty side gets back-pressure (its write blocks or times out) and no byte is
 * ever dropped, whatever the length of a burst.
 * MCU -> host: bytes the firmware transmits are written to the pty; while no client has the pty
 * open they are discarded (a serial line with nobody listening), and when a client does not read,
 * at most PTY_BRIDGE_OUT_SIZE bytes wait here; newer ones are dropped in whole frames and counted.
 * Everything runs on the simulator's thread (no locks, no threads). An MCU reset (e.g. the AVR
 * watchdog) cancels simavr's cycle timers and resets the UART's flags: pty_bridge_check() notices and
 * re-arms the bridge, so the link survives a firmware reset. */
#ifndef PTY_BRIDGE_H
#define PTY_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include "sim_avr.h"

#define PTY_BRIDGE_IN_SIZE 64
#define PTY_BRIDGE_OUT_SIZE 4096

typedef struct {
    int fd;                   /* pty master, non-blocking */
    char path[128];           /* slave path, e.g. /dev/pts/3 */
    struct avr_irq_t *input;  /* UART_IRQ_INPUT of the simulated UART */
    int xoff;                 /* the UART's input FIFO is full: feed nothing until XON */
    uint8_t in[PTY_BRIDGE_IN_SIZE];
    size_t in_len, in_pos;    /* bytes read from the pty and not yet given to the UART */
    uint8_t out[PTY_BRIDGE_OUT_SIZE];
    size_t out_len;           /* bytes from the UART not yet written to the pty */
    int out_cut;              /* dropping the rest of a frame that did not fit in out */
    uint64_t bytes_in, bytes_out, out_dropped;
    avr_t *avr;
    char uart;
    avr_cycle_count_t poll_cycles, last_poll; /* poll period; cycle of the last poll */
    uint32_t resets;                          /* times the bridge was re-armed after an MCU reset */
} pty_bridge_t;

/* Open a pty in raw mode and attach it to UART `uart` ('0', '1', ...); polls itself every
 * `poll_us` simulated microseconds. Returns 0, or -1 with errno set. */
int pty_bridge_open(pty_bridge_t *b, avr_t *avr, char uart, uint32_t poll_us);
/* Move bytes both ways now (also called by the bridge's own cycle timer). */
void pty_bridge_poll(pty_bridge_t *b);
/* Call from the run loop (cheap): re-arms the bridge if an MCU reset cancelled its cycle timer. */
void pty_bridge_check(pty_bridge_t *b);
/* Sleep up to timeout_s of wall time, waking early when host bytes arrive that the UART can take
 * (the pacer calls this instead of sleeping, so a request is not held up by pacing). */
void pty_bridge_wait(pty_bridge_t *b, double timeout_s);

#endif
