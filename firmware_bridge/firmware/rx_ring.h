/* Receive ring buffer between the UART receive interrupt (rx_ring_put) and the main loop
 * (rx_ring_take). Portable C99, header only so the interrupt inlines it (a call would save every
 * call-clobbered register and delay pulse edges); the unit-test probe compiles it with host gcc.
 * docs/protocol.md, "Link" and "Bad frames".
 *
 * Bytes are dropped only in whole frames, and counted:
 * - The main loop drops a frame unread when a newer frame has already arrived complete behind it
 *   (rx_ring_drop_superseded: it fell behind the wire). Dropping costs a fraction of decoding, so the
 *   main loop catches up and the frame it decodes is the newest. Frames whose type byte reads ESTOP
 *   or RELEASE are never dropped this way (RX_RING_KEEPS).
 * - When the ring is full anyway (the main loop stalled, e.g. on a real board's EEPROM write), the
 *   frame in progress is cut short by a 0x00 put in the last slot (kept free for it) and the rest of
 *   that frame, up to and including its own 0x00, is dropped: the decoder sees the cut frame end (it
 *   fails CRC or framing) and the next byte stored is the first byte of a frame.
 * Either way a truncated frame is never glued to the next one, however long the stream. */
#ifndef RX_RING_H
#define RX_RING_H

#include <stdint.h>

#include "proto.h"

#define RX_RING_SIZE 256 /* power of two, at most 256: two longest frames and more */
/* Frame types never dropped for a newer frame (the commands that stop the arm), read from the first
 * two wire bytes of a frame: a COBS code >= 2 and the type byte. */
#define RX_RING_KEEPS(code, type) ((code) >= 2 && ((type) == MSG_ESTOP || (type) == MSG_RELEASE))

typedef struct {
    volatile uint8_t buf[RX_RING_SIZE];
    volatile uint8_t head, tail; /* head: written by the interrupt only; tail: by the main loop only */
    volatile uint16_t overflow;  /* bytes lost to a full ring (u16, wraps); read it with interrupts off */
    volatile uint8_t ends_in;    /* frame ends stored (a 0x00 after a data byte), u8, wraps */
    uint8_t last_in, cut;        /* interrupt only: last byte stored; dropping the rest of a frame */
    uint8_t ends_out, last_out;  /* main loop only: frame ends taken; last byte taken */
    uint16_t skipped;            /* main loop only: bytes dropped unread (u16, wraps) */
} rx_ring_t;

static inline void rx_ring_store(rx_ring_t *r, uint8_t head, uint8_t b)
{
    r->buf[head] = b;
    r->head = (uint8_t)((head + 1) & (RX_RING_SIZE - 1));
    if (b == 0 && r->last_in != 0) r->ends_in++;
    r->last_in = b;
}

/* One received byte (interrupt side). A data byte needs two free slots (one stays free for a cut), a
 * 0x00 one. */
static inline void rx_ring_put(rx_ring_t *r, uint8_t b)
{
    if (r->cut) {
        if (b == 0) r->cut = 0; /* the dropped frame ended: the next byte starts a frame */
        r->overflow++;
        return;
    }
    uint8_t head = r->head;
    uint8_t room = (uint8_t)((r->tail - head - 1) & (RX_RING_SIZE - 1));
    if (room > 1 || (room == 1 && b == 0)) {
        rx_ring_store(r, head, b);
        return;
    }
    r->overflow++;
    if (b == 0) return; /* no room at all: the ring already ends with a 0x00, only an empty frame is lost */
    if (room == 1) rx_ring_store(r, head, 0); /* cut the frame in progress short */
    r->cut = 1;
}

static inline uint8_t rx_ring_empty(const rx_ring_t *r) { return r->tail == r->head; }

/* Bytes waiting. */
static inline uint8_t rx_ring_count(const rx_ring_t *r)
{
    return (uint8_t)((r->head - r->tail) & (RX_RING_SIZE - 1));
}

/* 1 if two frame ends wait: the frame at the tail (or held by the decoder, its 0x00 at the tail) and a
 * newer, complete one behind it. */
static inline uint8_t rx_ring_newer_frame(const rx_ring_t *r)
{
    return (uint8_t)(r->ends_in - r->ends_out) >= 2;
}

/* The oldest byte, taken; only when !rx_ring_empty(r). */
static inline uint8_t rx_ring_get(rx_ring_t *r)
{
    uint8_t tail = r->tail;
    uint8_t v = r->buf[tail];
    r->tail = (uint8_t)((tail + 1) & (RX_RING_SIZE - 1));
    if (v == 0 && r->last_out != 0) r->ends_out++;
    r->last_out = v;
    return v;
}

/* Drops the frame at the tail if a newer complete frame supersedes it (not ESTOP, RELEASE); call at a
 * frame start of the decoder. Returns 1 if it dropped one. About 10 cycles a byte, a fraction of
 * decoding. */
static inline uint8_t rx_ring_drop_superseded(rx_ring_t *r)
{
    uint8_t tail = r->tail;
    if (tail == r->head || !rx_ring_newer_frame(r)) return 0;
    uint8_t first = r->buf[tail];
    if (first == 0 || RX_RING_KEEPS(first, r->buf[(tail + 1) & (RX_RING_SIZE - 1)])) return 0;
    uint8_t start = tail;
    while (r->buf[tail] != 0) tail = (uint8_t)((tail + 1) & (RX_RING_SIZE - 1)); /* its end is there */
    tail = (uint8_t)((tail + 1) & (RX_RING_SIZE - 1));
    r->tail = tail;
    r->skipped = (uint16_t)(r->skipped + (uint8_t)((tail - start) & (RX_RING_SIZE - 1)));
    r->ends_out++;
    r->last_out = 0;
    return 1;
}

/* The next byte for the frame decoder into *b: 1, or 0 if none is waiting (main loop side). At a frame
 * start (at_frame_start: the decoder holds no partial frame) frames superseded by a newer complete one
 * are dropped first. */
static inline uint8_t rx_ring_take(rx_ring_t *r, uint8_t at_frame_start, uint8_t *b)
{
    if (at_frame_start)
        while (rx_ring_drop_superseded(r)) {}
    if (rx_ring_empty(r)) return 0;
    *b = rx_ring_get(r);
    return 1;
}

#endif
