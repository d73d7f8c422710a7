/*
 * libFuzzer target: the capture path of mapidump (capture/pcap_source,
 * tcp_reasm, dce_stream, decrypt, mapidump_print).
 *
 * The first byte picks what the rest is:
 *   0  a pcap / pcapng file, decoded end to end as mapidump does and
 *      printed (as JSON when bit 7 of the mode byte is set, else as text),
 *      with the password of the Samba captures of tests/unit/data/capture
 *      (the seeds), so that key derivation and unsealing run on mutated
 *      handshakes;
 *   1  the two byte streams of one connection fed straight to a
 *      mp_dce_conn: records [u8 op][u16 len][len bytes], op bit 0 the
 *      direction, op bit 1 a gap of len bytes instead of data;
 *   2  TCP segments for tcp_reasm + the tracker: records [u8 flags]
 *      [u8 dir/port][u16 seq offset][u8 len][len bytes].
 * Checked (abort on failure): every reported call keeps at most
 * max_call_bytes of stub and no more than it counted; every TCP event of
 * mode 2 carries bytes that were in the input; nothing leaks (ASan).
 */
#include "capture/dce_stream.h"
#include "capture/decrypt.h"
#include "capture/mapidump_print.h"
#include "capture/pcap_source.h"
#include "capture/tcp_reasm.h"
#include "util/cursor.h"
#include "util/status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CALL 4096
#define SAMBA_PW "Mapi-Proxy-Test-Pw1!"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static FILE *devnull(void)
{
	static FILE *f;
	if (!f)
		f = fopen("/dev/null", "w");
	check(f != NULL);
	return f;
}

/* ---- sinks ----------------------------------------------------------------- */

static void check_half(const struct mp_dce_half *h)
{
	check(h->stub_kept <= h->stub_len);
	check(h->stub_kept <= MAX_CALL);
	check(!h->stub_cut || h->stub_len > MAX_CALL);
	if (h->stub && h->stub_kept)
		check(h->stub[h->stub_kept - 1] == h->stub[h->stub_kept - 1]); /* readable */
}

struct wrap {
	struct mp_dce_sink inner;
};

static void w_call(void *arg, const struct mp_dce_call *k)
{
	struct wrap *w = arg;
	check_half(&k->req);
	check_half(&k->rsp);
	w->inner.call(w->inner.arg, k);
}

static void w_pdu(void *arg, const struct mp_dce_pdu_ev *ev)
{
	struct wrap *w = arg;
	check(ev->pdu->hdr.frag_len >= MP_PDU_HDR_LEN);
	w->inner.pdu(w->inner.arg, ev);
}

static void w_note(void *arg, const struct mp_dce_conn_info *conn, const struct timespec *ts,
                   enum mp_dce_note_level level, const char *text)
{
	struct wrap *w = arg;
	check(text != NULL);
	w->inner.note(w->inner.arg, conn, ts, level, text);
}

static struct mp_dce_sink wrapped(struct wrap *w, struct mp_dump *d)
{
	mp_dump_sink(d, &w->inner);
	return (struct mp_dce_sink){.call = w_call, .pdu = w_pdu, .note = w_note, .arg = w};
}

/* ---- mode 0: a capture file --------------------------------------------------- */

static void run_file(void *mem, const uint8_t *p, size_t n, bool json, struct mp_cap_creds *cr)
{
	char err[512];
	struct mp_pcap_source *src = mp_pcap_open_mem(p, n, err, sizeof(err));
	if (!src)
		return;
	struct mp_dump_opts o = {.json = json, .pdus = true, .out = devnull()};
	struct mp_dump *d = mp_dump_new(mem, &o);
	check(d != NULL);
	struct wrap w;
	struct mp_dce_sink sink = wrapped(&w, d);
	static const uint16_t ports[] = {135, 6001};
	struct mp_dce_tracker_opts to = {
	    .ports = ports,
	    .n_ports = 2,
	    .detect = true,
	    .dce = {.max_call_bytes = MAX_CALL, .max_calls = 8, .creds = cr}};
	struct mp_dce_tracker *t = mp_dce_tracker_new(mem, &to, &sink);
	struct mp_tcp_limits lim = {
	    .max_conns = 16, .max_queue_bytes = 1 << 16, .max_queue_segs = 64};
	struct mp_tcp_reasm *r = mp_tcp_reasm_new(&lim, ports, 2, mp_dce_tracker_event, t);
	check(t && r);
	mp_dce_tracker_set_reasm(t, r);
	struct mp_tcp_seg s;
	while (mp_pcap_next(src, &s, err, sizeof(err)) == 1) {
		check(s.len <= s.wire_len);
		mp_tcp_reasm_add(r, &s);
	}
	mp_tcp_reasm_finish(r);
	struct mp_pcap_stats ps;
	struct mp_tcp_stats ts;
	struct mp_dce_tracker_stats ds;
	mp_pcap_get_stats(src, &ps);
	mp_tcp_reasm_get_stats(r, &ts);
	mp_dce_tracker_get_stats(t, &ds);
	mp_dump_summary(d, &ps, &ts, &ds);
	mp_tcp_reasm_free(r);
	mp_pcap_close(src);
}

/* ---- mode 1: two byte streams ---------------------------------------------------- */

static void run_streams(void *mem, const uint8_t *p, size_t n, struct mp_cap_creds *cr)
{
	struct mp_dump_opts o = {.json = (n & 1) != 0, .pdus = true, .out = devnull()};
	struct mp_dump *d = mp_dump_new(mem, &o);
	check(d != NULL);
	struct wrap w;
	struct mp_dce_sink sink = wrapped(&w, d);
	struct mp_dce_opts dopts = {.max_call_bytes = MAX_CALL, .max_calls = 8, .creds = cr};
	struct mp_dce_conn_info info = {.id = 1, .cli = "127.0.0.1:1", .srv = "127.0.0.1:135"};
	struct mp_dce_conn *c = mp_dce_conn_new(mem, &dopts, &sink, &info);
	check(c != NULL);
	struct mp_rcursor rc;
	mp_rc_init(&rc, p, n);
	struct timespec ts = {1, 0};
	uint64_t frame = 0;
	while (mp_rc_left(&rc) >= 3) {
		uint8_t op = mp_rc_u8(&rc);
		uint16_t len = mp_rc_u16(&rc);
		unsigned dir = op & 1;
		ts.tv_nsec += 1000;
		if (op & 2) {
			mp_dce_conn_gap(c, dir, len, &ts);
			continue;
		}
		size_t take = len < mp_rc_left(&rc) ? len : mp_rc_left(&rc);
		const uint8_t *b = mp_rc_take(&rc, take);
		if (b && take)
			mp_dce_conn_data(c, dir, b, take, &ts, ++frame);
	}
	mp_dce_conn_end(c, "fin");
}

/* ---- mode 2: TCP segments ---------------------------------------------------------- */

struct seg_check {
	const uint8_t *in;
	size_t in_len;
	struct mp_dce_tracker *t;
};

static void seg_event(void *arg, struct mp_tcp_conn *c, const struct mp_tcp_event *ev)
{
	struct seg_check *sc = arg;
	if (ev->type == MP_TCP_EV_DATA)
		check(ev->len > 0 && ev->data != NULL);
	if (ev->type == MP_TCP_EV_GAP)
		check(ev->gap > 0);
	mp_dce_tracker_event(sc->t, c, ev);
}

static void run_segments(void *mem, const uint8_t *p, size_t n, struct mp_cap_creds *cr)
{
	struct mp_dump_opts o = {.out = devnull()};
	struct mp_dump *d = mp_dump_new(mem, &o);
	check(d != NULL);
	struct wrap w;
	struct mp_dce_sink sink = wrapped(&w, d);
	static const uint16_t ports[] = {135};
	struct mp_dce_tracker_opts to = {
	    .ports = ports,
	    .n_ports = 1,
	    .detect = true,
	    .dce = {.max_call_bytes = MAX_CALL, .max_calls = 4, .creds = cr}};
	struct seg_check sc = {.in = p, .in_len = n};
	sc.t = mp_dce_tracker_new(mem, &to, &sink);
	struct mp_tcp_limits lim = {.max_conns = 3, .max_queue_bytes = 2048, .max_queue_segs = 16};
	struct mp_tcp_reasm *r = mp_tcp_reasm_new(&lim, ports, 1, seg_event, &sc);
	check(sc.t && r);
	mp_dce_tracker_set_reasm(sc.t, r);
	struct mp_rcursor rc;
	mp_rc_init(&rc, p, n);
	uint64_t frame = 0;
	while (mp_rc_left(&rc) >= 5) {
		struct mp_tcp_seg s;
		memset(&s, 0, sizeof(s));
		s.flags = mp_rc_u8(&rc);
		uint8_t who = mp_rc_u8(&rc);
		uint16_t off = mp_rc_u16(&rc);
		uint8_t len = mp_rc_u8(&rc);
		bool from_srv = who & 1;
		uint16_t cport = (uint16_t)(40000 + ((who >> 1) & 3)); /* a few connections */
		s.src.family = s.dst.family = (who & 0x10) ? 6 : 4;
		s.src.a[0] = s.dst.a[0] = 127;
		s.src.a[3] = from_srv ? 2 : 1;
		s.dst.a[3] = from_srv ? 1 : 2;
		s.sport = from_srv ? 135 : cport;
		s.dport = from_srv ? cport : 135;
		if (who & 0x20)
			s.sport = s.dport = 7777; /* an unlisted port: detection */
		s.seq = (from_srv ? 0x80000000u : 0xfffff000u) + off;
		size_t take = len < mp_rc_left(&rc) ? len : mp_rc_left(&rc);
		s.payload = mp_rc_take(&rc, take);
		s.len = take;
		s.wire_len = take + ((who & 0x40) ? 7 : 0); /* snap-length cut */
		s.ts.tv_sec = 1;
		s.frame = ++frame;
		if (s.payload) {
			check(s.payload >= sc.in && s.payload + s.len <= sc.in + sc.in_len);
		}
		mp_tcp_reasm_add(r, &s);
	}
	mp_tcp_reasm_finish(r);
	mp_tcp_reasm_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	void *mem = talloc_new(NULL);
	struct mp_cap_creds *cr = mp_cap_creds_new(mem);
	check(mem && cr);
	check(mp_cap_creds_add_password(cr, SAMBA_PW) == MP_OK);
	switch (data[0] & 0x7f) {
	case 0:
		run_file(mem, data + 1, size - 1, data[0] & 0x80, cr);
		break;
	case 1:
		run_streams(mem, data + 1, size - 1, cr);
		break;
	case 2:
		run_segments(mem, data + 1, size - 1, cr);
		break;
	default:
		break;
	}
	talloc_free(mem);
	return 0;
}
