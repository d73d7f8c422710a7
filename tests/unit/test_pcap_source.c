/*
 * Unit tests: capture/pcap_source (frames -> TCP segments, libpcap files).
 *
 * Frames are built here byte by byte for every link type mapidump reads
 * (Ethernet with and without 802.1Q tags, Linux cooked v1 and v2, BSD
 * loopback in both byte orders, raw IP), over IPv4 and IPv6 (with
 * extension headers). Checked: the segment's addresses, ports, sequence
 * numbers, flags and payload; Ethernet padding is not payload; a payload
 * cut by the snap length keeps its wire length; IP fragments, other
 * protocols, truncated and self-contradicting headers are told apart; no
 * cut of a frame at any length reads out of bounds. Then whole files in
 * memory: classic pcap (microsecond and nanosecond magic) and pcapng, a
 * file cut in the middle of a record, an unsupported link type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capture/pcap_source.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- frame builder -------------------------------------------------------- */

struct buf {
	uint8_t b[2048];
	size_t n;
};

static void put(struct buf *f, const void *p, size_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put8(struct buf *f, uint8_t v)
{
	put(f, &v, 1);
}

static void put16be(struct buf *f, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(f, b, 2);
}

static void put32be(struct buf *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(f, b, 4);
}

static void put32le(struct buf *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(f, b, 4);
}

static const uint8_t payload[] = "\x05\x00\x0b\x03\x10\x00\x00\x00 a DCE/RPC bind, sort of";
#define PAYLOAD_LEN (sizeof(payload) - 1)

/* TCP header with 12 bytes of options (data offset 8), then the payload. */
static void tcp(struct buf *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                uint8_t flags, const uint8_t *pl, size_t n)
{
	put16be(f, sport);
	put16be(f, dport);
	put32be(f, seq);
	put32be(f, ack);
	put8(f, 8 << 4);
	put8(f, flags);
	put16be(f, 65535);
	put16be(f, 0); /* checksum: not checked */
	put16be(f, 0);
	uint8_t opts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
	put(f, opts, sizeof(opts));
	put(f, pl, n);
}

static void ipv4(struct buf *f, uint8_t proto, uint16_t frag, size_t l4_len)
{
	put8(f, 0x45);
	put8(f, 0);
	put16be(f, (uint16_t)(20 + l4_len));
	put16be(f, 0x1234);
	put16be(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16be(f, 0);
	uint8_t src[4] = {127, 0, 0, 1}, dst[4] = {10, 20, 30, 40};
	put(f, src, 4);
	put(f, dst, 4);
}

#define TCP_LEN (32 + PAYLOAD_LEN)

static void ipv4_tcp(struct buf *f)
{
	ipv4(f, 6, 0x4000 /* DF */, TCP_LEN);
	tcp(f, 41000, 135, 0x01020304, 0x0a0b0c0d, MP_TCP_ACK | MP_TCP_PSH, payload, PAYLOAD_LEN);
}

/* IPv6 fixed header; `ext` bytes of extension headers follow, then TCP. */
static void ipv6(struct buf *f, uint8_t next, size_t plen)
{
	put32be(f, 0x60000000);
	put16be(f, (uint16_t)plen);
	put8(f, next);
	put8(f, 64);
	uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, dst[16] = {[15] = 1};
	put(f, src, 16);
	put(f, dst, 16);
}

static void ipv6_tcp(struct buf *f)
{
	ipv6(f, 6, TCP_LEN);
	tcp(f, 41000, 6001, 7, 8, MP_TCP_ACK, payload, PAYLOAD_LEN);
}

static void ether(struct buf *f, uint16_t type)
{
	uint8_t macs[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
	put(f, macs, 12);
	put16be(f, type);
}

static void check_v4_seg(const struct mp_tcp_seg *s)
{
	assert_int_equal(s->src.family, 4);
	assert_memory_equal(s->src.a, ((uint8_t[]){127, 0, 0, 1}), 4);
	assert_memory_equal(s->dst.a, ((uint8_t[]){10, 20, 30, 40}), 4);
	assert_int_equal(s->sport, 41000);
	assert_int_equal(s->dport, 135);
	assert_int_equal(s->seq, 0x01020304);
	assert_int_equal(s->ack, 0x0a0b0c0d);
	assert_int_equal(s->flags, MP_TCP_ACK | MP_TCP_PSH);
	assert_int_equal(s->len, PAYLOAD_LEN);
	assert_int_equal(s->wire_len, PAYLOAD_LEN);
	assert_memory_equal(s->payload, payload, PAYLOAD_LEN);
}

static void check_v6_seg(const struct mp_tcp_seg *s)
{
	assert_int_equal(s->src.family, 6);
	assert_int_equal(s->src.a[0], 0x20);
	assert_int_equal(s->src.a[15], 1);
	assert_int_equal(s->dst.a[15], 1);
	assert_int_equal(s->sport, 41000);
	assert_int_equal(s->dport, 6001);
	assert_int_equal(s->seq, 7);
	assert_int_equal(s->len, PAYLOAD_LEN);
	assert_memory_equal(s->payload, payload, PAYLOAD_LEN);
}

static enum mp_frame_verdict decode(int dlt, const struct buf *f, struct mp_tcp_seg *s)
{
	return mp_cap_frame_decode(dlt, f->b, f->n, f->n, s);
}

/* ---- link layers ---------------------------------------------------------- */

static void test_ethernet_ipv4(void **state)
{
	struct buf f = {0};
	ether(&f, 0x0800);
	ipv4_tcp(&f);
	/* Ethernet pads short frames: the IP total length says where it ends. */
	uint8_t pad[6] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
	put(&f, pad, sizeof(pad));
	struct mp_tcp_seg s;
	assert_int_equal(decode(DLT_EN10MB, &f, &s), MP_FRAME_TCP);
	check_v4_seg(&s);
}

static void test_ethernet_vlan_tags(void **state)
{
	struct buf f = {0};
	ether(&f, 0x88a8); /* 802.1ad outer tag */
	put16be(&f, 100);
	put16be(&f, 0x8100); /* 802.1Q inner tag */
	put16be(&f, 200);
	put16be(&f, 0x86dd);
	ipv6_tcp(&f);
	struct mp_tcp_seg s;
	assert_int_equal(decode(DLT_EN10MB, &f, &s), MP_FRAME_TCP);
	check_v6_seg(&s);
}

static void test_linux_cooked_v1_v2(void **state)
{
	struct buf f = {0};
	put16be(&f, 0);   /* packet type: to us */
	put16be(&f, 772); /* ARPHRD_LOOPBACK */
	put16be(&f, 6);
	uint8_t addr[8] = {0};
	put(&f, addr, 8);
	put16be(&f, 0x0800);
	ipv4_tcp(&f);
	struct mp_tcp_seg s;
	assert_int_equal(decode(DLT_LINUX_SLL, &f, &s), MP_FRAME_TCP);
	check_v4_seg(&s);

	struct buf g = {0};
	put16be(&g, 0x86dd); /* protocol first */
	put16be(&g, 0);
	put32be(&g, 1); /* ifindex */
	put16be(&g, 772);
	put8(&g, 0);
	put8(&g, 6);
	put(&g, addr, 8);
	ipv6_tcp(&g);
	assert_int_equal(decode(DLT_LINUX_SLL2, &g, &s), MP_FRAME_TCP);
	check_v6_seg(&s);
	/* A cooked frame of another protocol. */
	g.b[0] = 0x08;
	g.b[1] = 0x06; /* ARP */
	assert_int_equal(decode(DLT_LINUX_SLL2, &g, &s), MP_FRAME_NOT_TCP);
}

static void test_bsd_loopback_both_orders(void **state)
{
	struct mp_tcp_seg s;
	struct buf f = {0};
	put32le(&f, 2); /* AF_INET, written on a little-endian host */
	ipv4_tcp(&f);
	assert_int_equal(decode(DLT_NULL, &f, &s), MP_FRAME_TCP);
	check_v4_seg(&s);
	static const uint32_t inet6[] = {10, 24, 28, 30};
	for (size_t i = 0; i < 4; i++) {
		struct buf g = {0};
		put32be(&g, inet6[i]); /* big-endian writer (or DLT_LOOP) */
		ipv6_tcp(&g);
		assert_int_equal(decode(DLT_NULL, &g, &s), MP_FRAME_TCP);
		check_v6_seg(&s);
		assert_int_equal(decode(DLT_LOOP, &g, &s), MP_FRAME_TCP);
	}
	struct buf h = {0};
	put32le(&h, 7); /* not an IP family */
	ipv4_tcp(&h);
	assert_int_equal(decode(DLT_NULL, &h, &s), MP_FRAME_NOT_TCP);
}

static void test_raw_ip(void **state)
{
	struct mp_tcp_seg s;
	struct buf f = {0};
	ipv4_tcp(&f);
	assert_int_equal(decode(DLT_RAW, &f, &s), MP_FRAME_TCP);
	check_v4_seg(&s);
	struct buf g = {0};
	ipv6_tcp(&g);
	assert_int_equal(decode(DLT_RAW, &g, &s), MP_FRAME_TCP);
	check_v6_seg(&s);
	assert_int_equal(decode(DLT_IPV6, &g, &s), MP_FRAME_TCP);
	assert_int_equal(decode(147 /* USER0 */, &g, &s), MP_FRAME_UNKNOWN_LINK);
}

/* ---- IP ------------------------------------------------------------------- */

static void test_ipv6_extension_headers(void **state)
{
	struct mp_tcp_seg s;
	struct buf f = {0};
	ipv6(&f, 0, 8 + 16 + TCP_LEN);
	/* hop-by-hop (8 bytes) -> destination options (16 bytes) -> TCP */
	put8(&f, 60);
	put8(&f, 0);
	uint8_t padn[6] = {1, 4, 0, 0, 0, 0};
	put(&f, padn, 6);
	put8(&f, 6);
	put8(&f, 1);
	uint8_t padn2[14] = {1, 12};
	put(&f, padn2, 14);
	tcp(&f, 41000, 6001, 7, 8, MP_TCP_ACK, payload, PAYLOAD_LEN);
	assert_int_equal(decode(DLT_RAW, &f, &s), MP_FRAME_TCP);
	check_v6_seg(&s);

	/* A fragment header: not reassembled. */
	struct buf g = {0};
	ipv6(&g, 44, 8 + TCP_LEN);
	put8(&g, 6);
	put8(&g, 0);
	put16be(&g, 1); /* offset 0, more fragments */
	put32be(&g, 99);
	tcp(&g, 41000, 6001, 7, 8, MP_TCP_ACK, payload, PAYLOAD_LEN);
	assert_int_equal(decode(DLT_RAW, &g, &s), MP_FRAME_IP_FRAGMENT);

	/* An extension header that claims more than the packet holds. */
	f.b[40 + 1] = 200;
	assert_int_equal(decode(DLT_RAW, &f, &s), MP_FRAME_MALFORMED);
}

static void test_ipv4_fragments_and_other_protocols(void **state)
{
	struct mp_tcp_seg s;
	struct buf f = {0};
	ipv4(&f, 6, 0x2000 /* MF */, TCP_LEN);
	tcp(&f, 1, 2, 3, 4, 0, payload, PAYLOAD_LEN);
	assert_int_equal(decode(DLT_RAW, &f, &s), MP_FRAME_IP_FRAGMENT);
	f.b[6] = 0x00;
	f.b[7] = 0x10; /* a later fragment: offset 16 */
	assert_int_equal(decode(DLT_RAW, &f, &s), MP_FRAME_IP_FRAGMENT);
	struct buf u = {0};
	ipv4(&u, 17, 0, 8);
	put32be(&u, 0x00350035);
	put32be(&u, 0x00080000);
	assert_int_equal(decode(DLT_RAW, &u, &s), MP_FRAME_NOT_TCP);
	struct buf a = {0};
	ether(&a, 0x0806);
	put32be(&a, 0x00010800);
	assert_int_equal(decode(DLT_EN10MB, &a, &s), MP_FRAME_NOT_TCP);
	struct buf l = {0};
	ether(&l, 0x0040); /* an 802.3 length, LLC follows */
	put32be(&l, 0xaaaa0300);
	assert_int_equal(decode(DLT_EN10MB, &l, &s), MP_FRAME_NOT_TCP);
}

static void test_ipv4_total_length_zero_uses_frame(void **state)
{
	/* Captured on the sender with segmentation offload. */
	struct mp_tcp_seg s;
	struct buf f = {0};
	ipv4_tcp(&f);
	f.b[2] = f.b[3] = 0;
	assert_int_equal(decode(DLT_RAW, &f, &s), MP_FRAME_TCP);
	check_v4_seg(&s);
}

static void test_malformed_headers(void **state)
{
	struct mp_tcp_seg s;
	struct buf f = {0};
	ipv4_tcp(&f);
	struct buf g = f;
	g.b[0] = 0x44; /* IHL 4 */
	assert_int_equal(decode(DLT_RAW, &g, &s), MP_FRAME_MALFORMED);
	g = f;
	g.b[2] = 0x7f; /* total length beyond the frame */
	assert_int_equal(decode(DLT_RAW, &g, &s), MP_FRAME_MALFORMED);
	g = f;
	g.b[20 + 12] = 4 << 4; /* TCP data offset 4 */
	assert_int_equal(decode(DLT_RAW, &g, &s), MP_FRAME_MALFORMED);
	g = f;
	g.b[2] = 0;
	g.b[3] = 20 + 40;       /* a 40-byte segment (the rest is padding) ... */
	g.b[20 + 12] = 15 << 4; /* ... with a 60-byte TCP header */
	assert_int_equal(decode(DLT_RAW, &g, &s), MP_FRAME_MALFORMED);
	g = f;
	g.b[0] = 0x35; /* version 3 */
	assert_int_equal(decode(DLT_RAW, &g, &s), MP_FRAME_NOT_TCP);
	struct buf h = {0};
	ether(&h, 0x0800);
	ipv4_tcp(&h);
	h.b[14] = 0x65; /* says IPv4 on the link, version 6 inside */
	assert_int_equal(decode(DLT_EN10MB, &h, &s), MP_FRAME_MALFORMED);
}

static void test_snap_length_cuts(void **state)
{
	struct mp_tcp_seg s;
	struct buf f = {0};
	ether(&f, 0x0800);
	ipv4_tcp(&f);
	size_t hdrs = 14 + 20 + 32;
	/* Cut inside the payload: a segment that knows what it misses. */
	assert_int_equal(mp_cap_frame_decode(DLT_EN10MB, f.b, hdrs + 5, f.n, &s), MP_FRAME_TCP);
	assert_int_equal(s.len, 5);
	assert_int_equal(s.wire_len, PAYLOAD_LEN);
	assert_memory_equal(s.payload, payload, 5);
	/* Cut inside the headers: skipped as truncated. */
	assert_int_equal(mp_cap_frame_decode(DLT_EN10MB, f.b, hdrs - 1, f.n, &s),
	                 MP_FRAME_TRUNCATED);
	assert_int_equal(mp_cap_frame_decode(DLT_EN10MB, f.b, 20, f.n, &s), MP_FRAME_TRUNCATED);
	assert_int_equal(mp_cap_frame_decode(DLT_EN10MB, f.b, 3, f.n, &s), MP_FRAME_TRUNCATED);
}

/* Every cut of every kind of frame: bounded reads (the sanitizers watch),
 * and a verdict that never claims more payload than was captured. */
static void test_every_cut_stays_in_bounds(void **state)
{
	struct buf frames[4] = {0};
	int dlts[4] = {DLT_EN10MB, DLT_LINUX_SLL2, DLT_NULL, DLT_RAW};
	ether(&frames[0], 0x86dd);
	ipv6_tcp(&frames[0]);
	put16be(&frames[1], 0x0800);
	uint8_t z[18] = {0};
	put(&frames[1], z, 18);
	ipv4_tcp(&frames[1]);
	put32le(&frames[2], 30);
	ipv6_tcp(&frames[2]);
	ipv4_tcp(&frames[3]);
	for (int k = 0; k < 4; k++) {
		for (size_t cut = 0; cut <= frames[k].n; cut++) {
			/* an exact-size heap copy, so that ASan sees any overread */
			uint8_t *copy = malloc(cut ? cut : 1);
			assert_non_null(copy);
			memcpy(copy, frames[k].b, cut);
			struct mp_tcp_seg s;
			enum mp_frame_verdict v =
			    mp_cap_frame_decode(dlts[k], copy, cut, frames[k].n, &s);
			if (v == MP_FRAME_TCP) {
				assert_true(s.payload >= copy);
				assert_true(s.payload + s.len <= copy + cut);
				assert_true(s.len <= s.wire_len);
				assert_int_equal(s.wire_len, PAYLOAD_LEN);
			}
			if (cut == frames[k].n)
				assert_int_equal(v, MP_FRAME_TCP);
			free(copy);
		}
	}
}

/* ---- files ---------------------------------------------------------------- */

struct file {
	uint8_t b[8192];
	size_t n;
};

static void fput(struct file *f, const void *p, size_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void fput32(struct file *f, uint32_t v)
{
	fput(f, &v, 4); /* host order: pcap files are written in the writer's order */
}

static void fput16(struct file *f, uint16_t v)
{
	fput(f, &v, 2);
}

static void pcap_header(struct file *f, uint32_t magic, uint32_t dlt)
{
	fput32(f, magic);
	fput16(f, 2);
	fput16(f, 4);
	fput32(f, 0);
	fput32(f, 0);
	fput32(f, 65535);
	fput32(f, dlt);
}

static void pcap_record(struct file *f, uint32_t sec, uint32_t frac, const struct buf *fr)
{
	fput32(f, sec);
	fput32(f, frac);
	fput32(f, (uint32_t)fr->n);
	fput32(f, (uint32_t)fr->n);
	fput(f, fr->b, fr->n);
}

static void test_pcap_file_micro_and_nano(void **state)
{
	struct buf fr = {0};
	ether(&fr, 0x0800);
	ipv4_tcp(&fr);
	struct buf arp = {0};
	ether(&arp, 0x0806);
	put32be(&arp, 1);

	uint32_t magics[2] = {0xa1b2c3d4, 0xa1b23c4d};
	uint32_t fracs[2] = {123456, 123456789};
	for (int m = 0; m < 2; m++) {
		struct file f = {0};
		pcap_header(&f, magics[m], 1 /* LINKTYPE_ETHERNET */);
		pcap_record(&f, 1700000000, fracs[m], &fr);
		pcap_record(&f, 1700000001, 0, &arp);
		pcap_record(&f, 1700000002, 0, &fr);
		char err[256];
		struct mp_pcap_source *src = mp_pcap_open_mem(f.b, f.n, err, sizeof(err));
		assert_non_null(src);
		struct mp_tcp_seg s;
		assert_int_equal(mp_pcap_next(src, &s, err, sizeof(err)), 1);
		check_v4_seg(&s);
		assert_int_equal(s.frame, 1);
		assert_int_equal(s.ts.tv_sec, 1700000000);
		assert_int_equal(s.ts.tv_nsec, m == 0 ? 123456000 : 123456789);
		assert_int_equal(mp_pcap_next(src, &s, err, sizeof(err)), 1);
		assert_int_equal(s.frame, 3); /* the ARP frame was skipped */
		assert_int_equal(mp_pcap_next(src, &s, err, sizeof(err)), 0);
		struct mp_pcap_stats st;
		mp_pcap_get_stats(src, &st);
		assert_int_equal(st.frames, 3);
		assert_int_equal(st.tcp, 2);
		assert_int_equal(st.not_tcp, 1);
		assert_int_equal(st.dlt, DLT_EN10MB);
		mp_pcap_close(src);
	}
}

static void pad4(struct file *f)
{
	while (f->n % 4)
		fput(f, "\0", 1);
}

static void test_pcapng_file(void **state)
{
	struct buf fr = {0};
	put16be(&fr, 0x86dd);
	uint8_t z[18] = {0};
	put(&fr, z, 18);
	ipv6_tcp(&fr);
	struct file f = {0};
	/* Section header block */
	fput32(&f, 0x0a0d0d0a);
	fput32(&f, 28);
	fput32(&f, 0x1a2b3c4d);
	fput16(&f, 1);
	fput16(&f, 0);
	fput32(&f, 0xffffffff);
	fput32(&f, 0xffffffff);
	fput32(&f, 28);
	/* Interface description block: LINKTYPE_LINUX_SLL2 (276) */
	fput32(&f, 1);
	fput32(&f, 20);
	fput16(&f, 276);
	fput16(&f, 0);
	fput32(&f, 262144);
	fput32(&f, 20);
	/* Enhanced packet block, microsecond timestamps (the default) */
	size_t start = f.n;
	size_t padded = (fr.n + 3) & ~(size_t)3;
	uint32_t len = (uint32_t)(32 + padded);
	fput32(&f, 6);
	fput32(&f, len);
	fput32(&f, 0);
	uint64_t ts = 1700000000ull * 1000000 + 250000;
	fput32(&f, (uint32_t)(ts >> 32));
	fput32(&f, (uint32_t)ts);
	fput32(&f, (uint32_t)fr.n);
	fput32(&f, (uint32_t)fr.n);
	fput(&f, fr.b, fr.n);
	pad4(&f);
	fput32(&f, len);
	assert_int_equal(f.n - start, len);

	char err[256];
	struct mp_pcap_source *src = mp_pcap_open_mem(f.b, f.n, err, sizeof(err));
	assert_non_null(src);
	struct mp_tcp_seg s;
	assert_int_equal(mp_pcap_next(src, &s, err, sizeof(err)), 1);
	check_v6_seg(&s);
	assert_int_equal(s.ts.tv_sec, 1700000000);
	assert_int_equal(s.ts.tv_nsec, 250000000);
	assert_int_equal(mp_pcap_next(src, &s, err, sizeof(err)), 0);
	mp_pcap_close(src);
}

static void test_truncated_file_reports_the_end(void **state)
{
	struct buf fr = {0};
	ipv4_tcp(&fr);
	struct file f = {0};
	pcap_header(&f, 0xa1b2c3d4, 101 /* LINKTYPE_RAW */);
	pcap_record(&f, 1, 0, &fr);
	pcap_record(&f, 2, 0, &fr);
	f.n -= 10; /* the second record is cut */
	char err[256] = "";
	struct mp_pcap_source *src = mp_pcap_open_mem(f.b, f.n, err, sizeof(err));
	assert_non_null(src);
	struct mp_tcp_seg s;
	assert_int_equal(mp_pcap_next(src, &s, err, sizeof(err)), 1);
	check_v4_seg(&s);
	assert_int_equal(mp_pcap_next(src, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "after frame 1"));
	mp_pcap_close(src);
}

static void test_open_errors_say_why(void **state)
{
	char err[512];
	struct file f = {0};
	pcap_header(&f, 0xa1b2c3d4, 147 /* LINKTYPE_USER0 */);
	assert_null(mp_pcap_open_mem(f.b, f.n, err, sizeof(err)));
	assert_non_null(strstr(err, "not supported"));
	assert_non_null(strstr(err, "Ethernet"));
	assert_null(mp_pcap_open_mem((const uint8_t *)"hello", 5, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read"));
	assert_null(mp_pcap_open_mem(NULL, 0, err, sizeof(err)));
	assert_null(mp_pcap_open("/nonexistent/dir/x.pcap", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/dir/x.pcap"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ethernet_ipv4),
	    cmocka_unit_test(test_ethernet_vlan_tags),
	    cmocka_unit_test(test_linux_cooked_v1_v2),
	    cmocka_unit_test(test_bsd_loopback_both_orders),
	    cmocka_unit_test(test_raw_ip),
	    cmocka_unit_test(test_ipv6_extension_headers),
	    cmocka_unit_test(test_ipv4_fragments_and_other_protocols),
	    cmocka_unit_test(test_ipv4_total_length_zero_uses_frame),
	    cmocka_unit_test(test_malformed_headers),
	    cmocka_unit_test(test_snap_length_cuts),
	    cmocka_unit_test(test_every_cut_stays_in_bounds),
	    cmocka_unit_test(test_pcap_file_micro_and_nano),
	    cmocka_unit_test(test_pcapng_file),
	    cmocka_unit_test(test_truncated_file_reports_the_end),
	    cmocka_unit_test(test_open_errors_say_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
