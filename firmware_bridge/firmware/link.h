/* The serial link (docs/protocol.md, "Link"): UART0 at BAUD. Received bytes go from the receive
 * interrupt into a ring (rx_ring.h) and from there, in the main loop, into the frame decoder; replies
 * are sent from the main loop, waiting for the UART (a STATE takes about 0.5 ms), while the bytes
 * arriving meanwhile wait in the ring.
 *
 * Requests are handled one at a time, in order. A request that has a newer request complete behind
 * it by the time the main loop gets to it is dropped unread (rx_ring.h); ESTOP and RELEASE are always
 * executed, but not answered in that case. So a host sending faster than the replies can go out (a
 * PING is 6 bytes, its STATE 46) gets replies as fast as the firmware can send them, to its newest
 * requests, and the next request after a flood is answered within about one reply. */
#ifndef LINK_H
#define LINK_H

#include <stdint.h>

#include "proto.h"

/* A reply, built when it is sent (link_build_payload), so a STATE shows the state as it leaves. */
typedef struct {
    uint8_t type, seq; /* MSG_INFO, MSG_STATE or MSG_ERROR; type 0: nothing to send */
    uint8_t flags;     /* STATE: flags of the command added to the state's (REJECTED, CLAMPED);
                          ERROR: the request type */
    uint8_t taken;     /* STATE: 1 if `state` was taken with the command, 0 to take it when sent */
    uint8_t code;      /* ERROR: the error code */
    arm_state_t state;
} link_reply_t;

/* The reply to send next: the main loop fills it (type last), link_send sends it. */
extern link_reply_t link_next;

/* Set up UART0 (8N1, U2X, receive interrupt). */
void link_init(void);
/* Feeds received bytes to the frame decoder (dropping frames that a newer one has superseded).
 * Returns 1 with *f filled when a frame with a good CRC is complete, 0 when no byte is waiting. */
uint8_t link_poll(proto_frame_t *f);
/* Sends link_next if it holds a reply, waiting for the UART; returns 1 if it sent one. (The reply to
 * an ESTOP or RELEASE with a newer request complete behind it is dropped instead.) */
uint8_t link_send(void);
/* 1 while received bytes wait (call with interrupts off before sleeping). */
uint8_t link_rx_waiting(void);
/* The link's counters into s: bad_crc, bad_frame, rx_overflow (ring full + frames dropped unread). */
void link_counters(arm_state_t *s);

/* Provided by main.c: the payload of reply r into payload, returns its length. */
uint8_t link_build_payload(const link_reply_t *r, uint8_t *payload);

#endif
