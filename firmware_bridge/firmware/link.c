/* The serial link; see link.h. */
#include "link.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>

#include "rx_ring.h"

#ifndef BAUD
#define BAUD 1000000UL
#endif

link_reply_t link_next;
static rx_ring_t ring;
static proto_rx_t rx;
static uint8_t raw[PROTO_MAX_RAW], wire[PROTO_MAX_WIRE]; /* the reply, built in raw, sent from wire */
static uint16_t n_bad_crc, n_bad_frame;
static uint8_t kept; /* the frame link_poll returned last is one rx_ring never drops (ESTOP, RELEASE) */

ISR(USART_RX_vect) { rx_ring_put(&ring, UDR0); }

void link_init(void)
{
    UCSR0A = _BV(U2X0);
    UBRR0 = (uint16_t)(F_CPU / (8UL * BAUD) - 1); /* 1 at 1 Mbaud: exact */
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
}

uint8_t link_poll(proto_frame_t *f)
{
    for (;;) {
        wdt_reset(); /* a continuous stream of bytes is progress, not a hang */
        uint8_t b;
        if (!rx_ring_take(&ring, rx.len == 0 && !rx.overflow, &b)) return 0;
        int8_t r = proto_rx_byte(&rx, b, f);
        if (r == PROTO_FRAME) {
            kept = f->type == MSG_ESTOP || f->type == MSG_RELEASE;
            return 1;
        }
        if (r == PROTO_BAD_FRAME) n_bad_frame++;
        else if (r == PROTO_BAD_CRC) n_bad_crc++;
    }
}

uint8_t link_send(void)
{
    if (!link_next.type) return 0;
    if (kept && ring.ends_in != ring.ends_out) { /* a newer request is complete: it gets the reply */
        link_next.type = 0;
        return 0;
    }
    raw[0] = link_next.type;
    raw[1] = link_next.seq;
    uint8_t n = proto_encode_raw(raw, link_build_payload(&link_next, raw + 2), wire);
    link_next.type = 0;
    for (uint8_t i = 0; i < n; i++) {
        while (!(UCSR0A & _BV(UDRE0))) {}
        UDR0 = wire[i];
    }
    return 1;
}

uint8_t link_rx_waiting(void) { return !rx_ring_empty(&ring); }

void link_counters(arm_state_t *s)
{
    s->bad_crc = n_bad_crc;
    s->bad_frame = n_bad_frame;
    uint8_t sreg = SREG;
    cli();
    uint16_t lost = ring.overflow;
    SREG = sreg;
    s->rx_overflow = (uint16_t)(lost + ring.skipped);
}
