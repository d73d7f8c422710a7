/*
 * TCP stream reassembly for mapidump: segments in capture order in, each
 * connection's two byte streams out, in sequence order, once.
 *
 * - Retransmitted and overlapping bytes are delivered once (the first copy
 *   wins; later copies of delivered bytes are dropped).
 * - Segments ahead of the next expected byte wait in a per-direction queue
 *   (copied, bounded by bytes and segments). When a queue is full, when the
 *   connection ends, or at the end of the capture, the missing bytes are
 *   given up: a GAP event says how many, and delivery goes on after them.
 * - A payload cut by the snap length is delivered as far as captured, then
 *   a GAP for the rest.
 * - A capture that starts in the middle of a connection starts each
 *   direction at its first segment seen.
 * - Who is the client: the sender of a SYN (or the receiver of a SYN+ACK);
 *   without a handshake, the side talking to a port the caller called a
 *   server port; else the side with the higher port. A consumer that knows
 *   better (a DCE/RPC bind seen in the other direction) swaps the roles.
 * - Connections are found by hash; at most max_conns are tracked and the
 *   least recently active one is ended ("evicted") to make room.
 *
 * Events go to one callback, in the order the capture implies. A consumer
 * may ignore a connection (its bytes are dropped from then on).
 */
#ifndef MP_CAPTURE_TCP_REASM_H
#define MP_CAPTURE_TCP_REASM_H

#include "capture/pcap_source.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum mp_tcp_dir {
	MP_TCP_C2S = 0, /* client to server */
	MP_TCP_S2C = 1,
};

/* A tracked connection; the consumer reads these fields and owns `user`. */
struct mp_tcp_conn {
	uint64_t id; /* 1, 2, ... in order of first appearance */
	struct mp_cap_addr cli, srv;
	uint16_t cli_port, srv_port;
	bool handshake; /* the SYN was seen: the roles are certain */
	struct timespec first_ts;
	void *user;
};

enum mp_tcp_event_type {
	MP_TCP_EV_OPEN,  /* first segment of a new connection (no data yet) */
	MP_TCP_EV_DATA,  /* data[0..len) are the next bytes of direction dir */
	MP_TCP_EV_GAP,   /* gap bytes of direction dir were never captured */
	MP_TCP_EV_CLOSE, /* the connection ends (why); no event follows for it */
};

struct mp_tcp_event {
	enum mp_tcp_event_type type;
	enum mp_tcp_dir dir;
	const uint8_t *data;
	size_t len;
	uint64_t gap;
	struct timespec ts; /* capture time of the segment that carried the bytes */
	uint64_t frame;
	const char *why; /* CLOSE: "fin", "rst", "end of capture", "evicted" */
};

/* Called for every event; c stays valid until CLOSE returns. */
typedef void (*mp_tcp_event_fn)(void *arg, struct mp_tcp_conn *c, const struct mp_tcp_event *ev);

struct mp_tcp_limits {
	size_t max_conns;        /* tracked at once (0: 4096) */
	size_t max_queue_bytes;  /* out-of-order bytes held per direction (0: 1 MiB) */
	size_t max_queue_segs;   /* out-of-order segments held per direction (0: 1024) */
	size_t max_total_queued; /* out-of-order bytes held in all (0: 64 MiB) */
};

struct mp_tcp_reasm;

/* server_ports: ports that mark the server side when no SYN was seen
 * (copied; may be NULL). NULL on allocation failure. */
struct mp_tcp_reasm *mp_tcp_reasm_new(const struct mp_tcp_limits *lim, const uint16_t *server_ports,
                                      size_t n_ports, mp_tcp_event_fn fn, void *arg);

/* Feed one segment (in capture order). */
void mp_tcp_reasm_add(struct mp_tcp_reasm *r, const struct mp_tcp_seg *seg);

/* Stop following c: its queued bytes are freed and its later bytes dropped
 * (it still gets its CLOSE). Call from the callback or outside it. */
void mp_tcp_conn_ignore(struct mp_tcp_reasm *r, struct mp_tcp_conn *c);

/* Swap client and server of c (and the directions of its state). */
void mp_tcp_conn_swap(struct mp_tcp_reasm *r, struct mp_tcp_conn *c);

/* End of capture: deliver what is queued (with gaps) and close everything. */
void mp_tcp_reasm_finish(struct mp_tcp_reasm *r);

struct mp_tcp_stats {
	uint64_t conns;         /* connections seen */
	uint64_t retransmitted; /* payload bytes dropped as already delivered */
	uint64_t gap_bytes;     /* bytes given up as missing */
	uint64_t gaps;          /* GAP events */
	uint64_t out_of_order;  /* segments that had to wait */
	uint64_t evicted;       /* connections ended to make room */
};

void mp_tcp_reasm_get_stats(const struct mp_tcp_reasm *r, struct mp_tcp_stats *out);

/* Frees everything without delivering (call finish first for a clean end). */
void mp_tcp_reasm_free(struct mp_tcp_reasm *r);

#endif
