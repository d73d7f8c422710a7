/*
 * Unit tests: capture/tcp_reasm (TCP stream reassembly of mapidump).
 *
 * Segments are built by hand and fed in capture order; a recorder keeps
 * what the consumer sees per connection (bytes per direction, gaps,
 * close reason). What a reader of a capture relies on:
 *   - each byte of each direction once and in order, whatever the capture
 *     order (reordering, retransmission, partial overlap, wrap of the
 *     sequence space);
 *   - missing bytes reported as a gap of the right size, at the right
 *     place, and delivery going on after it (queue limits, snap length,
 *     end of capture, RST);
 *   - client and server told apart (SYN, listed ports, port heuristic),
 *     and swapped on request;
 *   - connections separated by ports and by a new SYN on old ports; at
 *     most max_conns at once; ignored ones stay silent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capture/tcp_reasm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- recorder ------------------------------------------------------------ */

#define MAX_REC 8
#define REC_BYTES 8192

struct rec_conn {
	uint64_t id;
	struct mp_tcp_conn *c;
	int opens, closes;
	const char *close_why;
	uint8_t data[2][REC_BYTES];
	size_t len[2];
	uint64_t gaps[2][8];
	size_t gap_at[2][8]; /* bytes delivered before each gap */
	size_t n_gaps[2];
	uint16_t cli_port, srv_port;
	struct mp_cap_addr cli;
};

struct rec {
	struct rec_conn conns[MAX_REC];
	size_t n;
	struct mp_tcp_reasm *r;
	uint64_t ignore_id; /* ignore this connection at its first data */
	uint64_t swap_id;   /* swap this connection at its first data */
	size_t events;
};

static struct rec_conn *rec_find(struct rec *rc, uint64_t id)
{
	for (size_t i = 0; i < rc->n; i++)
		if (rc->conns[i].id == id)
			return &rc->conns[i];
	assert_true(rc->n < MAX_REC);
	struct rec_conn *x = &rc->conns[rc->n++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	return x;
}

static void on_event(void *arg, struct mp_tcp_conn *c, const struct mp_tcp_event *ev)
{
	struct rec *rc = arg;
	struct rec_conn *x = rec_find(rc, c->id);
	rc->events++;
	x->c = c;
	x->cli_port = c->cli_port;
	x->srv_port = c->srv_port;
	x->cli = c->cli;
	switch (ev->type) {
	case MP_TCP_EV_OPEN:
		x->opens++;
		break;
	case MP_TCP_EV_DATA:
		assert_true(ev->len > 0);
		assert_true(x->len[ev->dir] + ev->len <= REC_BYTES);
		memcpy(x->data[ev->dir] + x->len[ev->dir], ev->data, ev->len);
		x->len[ev->dir] += ev->len;
		if (rc->ignore_id == c->id)
			mp_tcp_conn_ignore(rc->r, c);
		if (rc->swap_id == c->id) {
			rc->swap_id = 0;
			mp_tcp_conn_swap(rc->r, c);
		}
		break;
	case MP_TCP_EV_GAP:
		assert_true(ev->gap > 0);
		assert_true(x->n_gaps[ev->dir] < 8);
		x->gap_at[ev->dir][x->n_gaps[ev->dir]] = x->len[ev->dir];
		x->gaps[ev->dir][x->n_gaps[ev->dir]++] = ev->gap;
		break;
	case MP_TCP_EV_CLOSE:
		x->closes++;
		x->close_why = ev->why;
		x->c = NULL;
		break;
	}
}

static void rec_init(struct rec *rc, const struct mp_tcp_limits *lim, const uint16_t *ports,
                     size_t n_ports)
{
	memset(rc, 0, sizeof(*rc));
	rc->r = mp_tcp_reasm_new(lim, ports, n_ports, on_event, rc);
	assert_non_null(rc->r);
}

/* ---- segments ------------------------------------------------------------ */

#define CLI_PORT 40000
#define SRV_PORT 135

static uint8_t pattern[4][REC_BYTES]; /* per direction (and spare) byte patterns */

static void fill_patterns(void)
{
	for (int d = 0; d < 4; d++)
		for (size_t i = 0; i < REC_BYTES; i++)
			pattern[d][i] = (uint8_t)(i * 7 + d * 31 + (i >> 8));
}

/* A segment of direction dir (0 = from client) carrying pattern bytes
 * [off, off+len) of the stream that starts at isn+1. */
static struct mp_tcp_seg seg(int dir, uint32_t isn, size_t off, size_t len, uint8_t flags)
{
	struct mp_tcp_seg s;
	memset(&s, 0, sizeof(s));
	s.src.family = s.dst.family = 4;
	uint8_t cli[4] = {127, 0, 0, 1}, srv[4] = {127, 0, 0, 2};
	memcpy(s.src.a, dir ? srv : cli, 4);
	memcpy(s.dst.a, dir ? cli : srv, 4);
	s.sport = dir ? SRV_PORT : CLI_PORT;
	s.dport = dir ? CLI_PORT : SRV_PORT;
	s.seq = isn + 1 + (uint32_t)off;
	s.flags = flags | MP_TCP_ACK;
	s.payload = pattern[dir] + off;
	s.len = s.wire_len = len;
	return s;
}

static struct mp_tcp_seg syn(int dir, uint32_t isn)
{
	struct mp_tcp_seg s = seg(dir, isn, 0, 0, MP_TCP_SYN);
	s.seq = isn;
	if (!dir)
		s.flags = MP_TCP_SYN;
	return s;
}

static void add(struct rec *rc, struct mp_tcp_seg s)
{
	mp_tcp_reasm_add(rc->r, &s);
}

static void handshake(struct rec *rc, uint32_t ci, uint32_t si)
{
	add(rc, syn(0, ci));
	add(rc, syn(1, si));
	add(rc, seg(0, ci, 0, 0, 0));
}

/* ---- tests --------------------------------------------------------------- */

static void test_in_order_both_directions(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	handshake(&rc, 1000, 5000);
	add(&rc, seg(0, 1000, 0, 100, MP_TCP_PSH));
	add(&rc, seg(1, 5000, 0, 300, MP_TCP_PSH));
	add(&rc, seg(0, 1000, 100, 50, MP_TCP_PSH));
	add(&rc, seg(0, 1000, 150, 0, MP_TCP_FIN));
	add(&rc, seg(1, 5000, 300, 0, MP_TCP_FIN));
	assert_int_equal(rc.n, 1);
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->opens, 1);
	assert_int_equal(x->cli_port, CLI_PORT);
	assert_int_equal(x->srv_port, SRV_PORT);
	assert_int_equal(x->len[0], 150);
	assert_int_equal(x->len[1], 300);
	assert_memory_equal(x->data[0], pattern[0], 150);
	assert_memory_equal(x->data[1], pattern[1], 300);
	assert_int_equal(x->n_gaps[0] + x->n_gaps[1], 0);
	/* Closed when both FINs are in, not at the end of the capture. */
	assert_int_equal(x->closes, 1);
	assert_string_equal(x->close_why, "fin");
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(x->closes, 1);
	mp_tcp_reasm_free(rc.r);
}

static void test_retransmission_and_overlap_once(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	handshake(&rc, 7, 9);
	add(&rc, seg(0, 7, 0, 100, 0));
	add(&rc, seg(0, 7, 0, 100, 0));  /* exact retransmission */
	add(&rc, seg(0, 7, 50, 100, 0)); /* overlaps 50, brings 50 new */
	add(&rc, seg(0, 7, 20, 30, 0));  /* entirely old */
	add(&rc, seg(0, 7, 150, 10, 0));
	mp_tcp_reasm_finish(rc.r);
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->len[0], 160);
	assert_memory_equal(x->data[0], pattern[0], 160);
	assert_int_equal(x->n_gaps[0], 0);
	struct mp_tcp_stats st;
	mp_tcp_reasm_get_stats(rc.r, &st);
	assert_int_equal(st.retransmitted, 100 + 50 + 30);
	assert_string_equal(x->close_why, "end of capture");
	mp_tcp_reasm_free(rc.r);
}

static void test_out_of_order_delivered_in_order(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	handshake(&rc, 100, 200);
	add(&rc, seg(0, 100, 200, 100, 0));
	add(&rc, seg(0, 100, 100, 100, 0));
	assert_int_equal(rc.conns[0].len[0], 0); /* waiting for the first 100 */
	add(&rc, seg(0, 100, 0, 100, 0));
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->len[0], 300);
	assert_memory_equal(x->data[0], pattern[0], 300);
	/* A queued segment overlapping one queued before it. */
	add(&rc, seg(0, 100, 350, 100, 0));
	add(&rc, seg(0, 100, 320, 60, 0));
	add(&rc, seg(0, 100, 300, 20, 0));
	assert_int_equal(x->len[0], 450);
	assert_memory_equal(x->data[0], pattern[0], 450);
	struct mp_tcp_stats st;
	mp_tcp_reasm_get_stats(rc.r, &st);
	assert_int_equal(st.out_of_order, 4);
	assert_int_equal(st.gaps, 0);
	mp_tcp_reasm_finish(rc.r);
	mp_tcp_reasm_free(rc.r);
}

static void test_missing_segment_is_a_gap_at_the_end(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	handshake(&rc, 1, 2);
	add(&rc, seg(0, 1, 0, 100, 0));
	add(&rc, seg(0, 1, 180, 40, 0)); /* 80 bytes never captured */
	add(&rc, seg(0, 1, 220, 30, 0));
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->len[0], 100);
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(x->n_gaps[0], 1);
	assert_int_equal(x->gaps[0][0], 80);
	assert_int_equal(x->gap_at[0][0], 100);
	assert_int_equal(x->len[0], 170);
	assert_memory_equal(x->data[0], pattern[0], 100);
	assert_memory_equal(x->data[0] + 100, pattern[0] + 180, 70);
	assert_int_equal(x->closes, 1);
	mp_tcp_reasm_free(rc.r);
}

static void test_queue_limit_gives_up_early(void **state)
{
	struct rec rc;
	struct mp_tcp_limits lim = {.max_queue_segs = 2};
	rec_init(&rc, &lim, NULL, 0);
	handshake(&rc, 1, 2);
	add(&rc, seg(0, 1, 0, 10, 0));
	add(&rc, seg(0, 1, 20, 10, 0)); /* 10 missing before it */
	add(&rc, seg(0, 1, 30, 10, 0));
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->n_gaps[0], 0);
	add(&rc, seg(0, 1, 40, 10, 0)); /* third queued: over the limit */
	assert_int_equal(x->n_gaps[0], 1);
	assert_int_equal(x->gaps[0][0], 10);
	assert_int_equal(x->len[0], 40);
	assert_memory_equal(x->data[0] + 10, pattern[0] + 20, 30);
	/* The late segment is now old news. */
	add(&rc, seg(0, 1, 10, 10, 0));
	assert_int_equal(x->len[0], 40);
	mp_tcp_reasm_finish(rc.r);
	mp_tcp_reasm_free(rc.r);
}

static void test_queue_byte_limit(void **state)
{
	struct rec rc;
	struct mp_tcp_limits lim = {.max_queue_bytes = 100};
	rec_init(&rc, &lim, NULL, 0);
	handshake(&rc, 1, 2);
	add(&rc, seg(0, 1, 50, 60, 0));
	add(&rc, seg(0, 1, 110, 60, 0)); /* 120 queued > 100 */
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->n_gaps[0], 1);
	assert_int_equal(x->gaps[0][0], 50);
	assert_int_equal(x->len[0], 120);
	mp_tcp_reasm_finish(rc.r);
	mp_tcp_reasm_free(rc.r);
}

static void test_snaplen_cut_payload(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	handshake(&rc, 1, 2);
	struct mp_tcp_seg s = seg(0, 1, 0, 40, 0);
	s.wire_len = 100; /* 60 bytes were not captured */
	add(&rc, s);
	add(&rc, seg(0, 1, 100, 20, 0));
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->n_gaps[0], 1);
	assert_int_equal(x->gaps[0][0], 60);
	assert_int_equal(x->gap_at[0][0], 40);
	assert_int_equal(x->len[0], 60);
	assert_memory_equal(x->data[0] + 40, pattern[0] + 100, 20);
	mp_tcp_reasm_finish(rc.r);
	mp_tcp_reasm_free(rc.r);
}

static void test_sequence_wraparound(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	uint32_t isn = 0xffffffa0u;
	handshake(&rc, isn, 3);
	for (size_t off = 0; off < 400; off += 50)
		add(&rc, seg(0, isn, off, 50, 0));
	/* and out of order across the wrap */
	add(&rc, seg(0, isn, 450, 50, 0));
	add(&rc, seg(0, isn, 400, 50, 0));
	mp_tcp_reasm_finish(rc.r);
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->len[0], 500);
	assert_memory_equal(x->data[0], pattern[0], 500);
	assert_int_equal(x->n_gaps[0], 0);
	mp_tcp_reasm_free(rc.r);
}

static void test_roles_without_handshake(void **state)
{
	/* Listed port: the side talking to it is the client, even if the
	   server speaks first in the capture. */
	uint16_t ports[] = {SRV_PORT};
	struct rec rc;
	rec_init(&rc, NULL, ports, 1);
	add(&rc, seg(1, 50, 0, 10, 0));
	add(&rc, seg(0, 60, 0, 20, 0));
	mp_tcp_reasm_finish(rc.r);
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->srv_port, SRV_PORT);
	assert_int_equal(x->cli_port, CLI_PORT);
	assert_int_equal(x->len[0], 20);
	assert_int_equal(x->len[1], 10);
	mp_tcp_reasm_free(rc.r);

	/* No list: the higher port is the client's. */
	rec_init(&rc, NULL, NULL, 0);
	add(&rc, seg(1, 50, 0, 10, 0));
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(rc.conns[0].srv_port, SRV_PORT);
	assert_int_equal(rc.conns[0].len[1], 10);
	mp_tcp_reasm_free(rc.r);
}

static void test_swap_from_the_callback(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	rc.swap_id = 1;
	add(&rc, seg(0, 60, 0, 20, 0)); /* delivered as c2s, then swapped */
	add(&rc, seg(0, 60, 20, 5, 0));
	add(&rc, seg(1, 50, 0, 10, 0));
	mp_tcp_reasm_finish(rc.r);
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->cli_port, SRV_PORT); /* the roles are now the other way */
	assert_int_equal(x->srv_port, CLI_PORT);
	assert_int_equal(x->len[0],
	                 20 + 10); /* first event before the swap, then the "new client" */
	assert_int_equal(x->len[1], 5);
	mp_tcp_reasm_free(rc.r);
}

static void test_rst_flushes_and_closes(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	handshake(&rc, 1, 2);
	add(&rc, seg(0, 1, 0, 10, 0));
	add(&rc, seg(0, 1, 30, 10, 0));
	add(&rc, seg(1, 2, 0, 0, MP_TCP_RST));
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->closes, 1);
	assert_string_equal(x->close_why, "rst");
	assert_int_equal(x->n_gaps[0], 1);
	assert_int_equal(x->gaps[0][0], 20);
	assert_int_equal(x->len[0], 20);
	/* Stragglers after the end do not reopen it. */
	add(&rc, seg(0, 1, 40, 10, 0));
	assert_int_equal(rc.n, 1);
	assert_int_equal(x->len[0], 20);
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(x->closes, 1);
	mp_tcp_reasm_free(rc.r);
}

static void test_new_syn_on_old_ports(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	handshake(&rc, 1000, 2000);
	add(&rc, seg(0, 1000, 0, 10, 0));
	handshake(&rc, 90000, 91000); /* same ports, another ISN, no FIN seen */
	add(&rc, seg(0, 90000, 0, 7, 0));
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(rc.n, 2);
	assert_string_equal(rc.conns[0].close_why, "new connection on the same ports");
	assert_int_equal(rc.conns[0].len[0], 10);
	assert_int_equal(rc.conns[1].len[0], 7);
	assert_memory_equal(rc.conns[1].data[0], pattern[0], 7);
	mp_tcp_reasm_free(rc.r);
	/* A retransmitted SYN is not a new connection. */
	rec_init(&rc, NULL, NULL, 0);
	add(&rc, syn(0, 5));
	add(&rc, syn(0, 5));
	add(&rc, syn(1, 8));
	add(&rc, seg(0, 5, 0, 3, 0));
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(rc.n, 1);
	assert_int_equal(rc.conns[0].len[0], 3);
	mp_tcp_reasm_free(rc.r);
}

static void test_eviction_bounds_connections(void **state)
{
	struct rec rc;
	struct mp_tcp_limits lim = {.max_conns = 2};
	rec_init(&rc, &lim, NULL, 0);
	for (int i = 0; i < 3; i++) {
		struct mp_tcp_seg s = seg(0, 10, 0, 5, 0);
		s.sport = (uint16_t)(41000 + i);
		add(&rc, s);
	}
	assert_int_equal(rc.n, 3);
	assert_int_equal(rc.conns[0].closes, 1);
	assert_string_equal(rc.conns[0].close_why, "evicted");
	assert_int_equal(rc.conns[1].closes, 0);
	struct mp_tcp_stats st;
	mp_tcp_reasm_get_stats(rc.r, &st);
	assert_int_equal(st.evicted, 1);
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(rc.conns[1].closes, 1);
	assert_int_equal(rc.conns[2].closes, 1);
	mp_tcp_reasm_free(rc.r);
}

static void test_ignored_connection_is_silent(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	rc.ignore_id = 1;
	handshake(&rc, 1, 2);
	add(&rc, seg(0, 1, 0, 10, 0));
	add(&rc, seg(0, 1, 30, 10, 0)); /* would be queued */
	add(&rc, seg(1, 2, 0, 10, 0));
	add(&rc, seg(0, 1, 10, 20, 0));
	size_t ev = rc.events;
	mp_tcp_reasm_finish(rc.r);
	struct rec_conn *x = &rc.conns[0];
	assert_int_equal(x->len[0], 10);
	assert_int_equal(x->len[1], 0);
	assert_int_equal(x->n_gaps[0], 0);
	assert_int_equal(rc.events, ev + 1); /* only the CLOSE */
	assert_int_equal(x->closes, 1);
	mp_tcp_reasm_free(rc.r);
}

static void test_pure_acks_open_nothing(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	add(&rc, seg(0, 1, 0, 0, 0));
	add(&rc, seg(0, 1, 0, 0, MP_TCP_FIN));
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(rc.n, 0);
	mp_tcp_reasm_free(rc.r);
}

static void test_ipv6_and_ipv4_are_different_connections(void **state)
{
	struct rec rc;
	rec_init(&rc, NULL, NULL, 0);
	struct mp_tcp_seg a = seg(0, 1, 0, 5, 0);
	struct mp_tcp_seg b = a;
	b.src.family = b.dst.family = 6;
	memset(b.src.a, 0, 16);
	memset(b.dst.a, 0, 16);
	b.src.a[15] = 1;
	b.dst.a[15] = 1;
	add(&rc, a);
	add(&rc, b);
	mp_tcp_reasm_finish(rc.r);
	assert_int_equal(rc.n, 2);
	char s[MP_CAP_ADDR_STR_LEN];
	mp_cap_endpoint_str(&rc.conns[1].cli, rc.conns[1].cli_port, s, sizeof(s));
	assert_string_equal(s, "[::1]:40000");
	mp_cap_endpoint_str(&rc.conns[0].cli, rc.conns[0].cli_port, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1:40000");
	mp_tcp_reasm_free(rc.r);
}

static void test_endpoint_strings(void **state)
{
	struct mp_cap_addr a = {.family = 6};
	char s[MP_CAP_ADDR_STR_LEN];
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
	memcpy(a.a, v6, 16);
	mp_cap_endpoint_str(&a, 6001, s, sizeof(s));
	assert_string_equal(s, "[2001:db8::1:0:0:1]:6001");
	memset(a.a, 0, 16);
	mp_cap_endpoint_str(&a, 1, s, sizeof(s));
	assert_string_equal(s, "[::]:1");
	struct mp_cap_addr b = {.family = 4, .a = {10, 1, 2, 3}};
	mp_cap_endpoint_str(&b, 135, s, sizeof(s));
	assert_string_equal(s, "10.1.2.3:135");
	mp_cap_endpoint_str(&b, 135, s, 4);
	assert_string_equal(s, "10.");
}

int main(void)
{
	fill_patterns();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order_both_directions),
	    cmocka_unit_test(test_retransmission_and_overlap_once),
	    cmocka_unit_test(test_out_of_order_delivered_in_order),
	    cmocka_unit_test(test_missing_segment_is_a_gap_at_the_end),
	    cmocka_unit_test(test_queue_limit_gives_up_early),
	    cmocka_unit_test(test_queue_byte_limit),
	    cmocka_unit_test(test_snaplen_cut_payload),
	    cmocka_unit_test(test_sequence_wraparound),
	    cmocka_unit_test(test_roles_without_handshake),
	    cmocka_unit_test(test_swap_from_the_callback),
	    cmocka_unit_test(test_rst_flushes_and_closes),
	    cmocka_unit_test(test_new_syn_on_old_ports),
	    cmocka_unit_test(test_eviction_bounds_connections),
	    cmocka_unit_test(test_ignored_connection_is_silent),
	    cmocka_unit_test(test_pure_acks_open_nothing),
	    cmocka_unit_test(test_ipv6_and_ipv4_are_different_connections),
	    cmocka_unit_test(test_endpoint_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
