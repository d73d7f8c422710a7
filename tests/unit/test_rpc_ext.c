/*
 * Unit tests: mapi/rpc_ext (RPC_HEADER_EXT chains of MS-OXCRPC 2.2.2.1).
 *
 * The rgbIn of MS-OXCRPC 4.3 ("Receive Packed ROP Responses from the
 * Server": Version 0, Flags Last, Size = SizeActual = 0x0152, cbIn 0x15A,
 * RopSize 0x0142) parsed with its field values and re-encoded byte for
 * byte; obfuscation checked against a hand XOR; compressed and obfuscated
 * segments (compress, then XOR, as 3.1.4.1.1.1.1 orders) built from
 * hand-assembled wire bytes and from our builder; chains over 32 KB as
 * packed responses arrive; decoded buffers re-encode to the same bytes,
 * also after one segment's payload was replaced; every limit; malformed
 * headers, sizes and compressed data refused; every truncation and random
 * mutation handled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mapi/lz77.h"
#include "mapi/rpc_ext.h"
#include "util/status.h"

#include <stdlib.h>
#include <string.h>
#include <talloc.h>

static uint32_t rng_state = 777;

static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void put_hdr(uint8_t *p, uint16_t version, uint16_t flags, uint16_t size, uint16_t actual)
{
	p[0] = (uint8_t)version;
	p[1] = (uint8_t)(version >> 8);
	p[2] = (uint8_t)flags;
	p[3] = (uint8_t)(flags >> 8);
	p[4] = (uint8_t)size;
	p[5] = (uint8_t)(size >> 8);
	p[6] = (uint8_t)actual;
	p[7] = (uint8_t)(actual >> 8);
}

/* parse -> build must give the same bytes. */
static void assert_rebuilds(struct mp_rpc_ext *ext, const uint8_t *buf, size_t len)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_rpc_ext_build(ext, &wb), MP_OK);
	assert_int_equal(wb.len, len);
	assert_memory_equal(wb.data, buf, len);
	mp_wb_free(&wb);
}

static struct mp_rpc_ext *parse_ok(void *mem, const uint8_t *buf, size_t len,
                                   const struct mp_rpc_ext_limits *lim)
{
	struct mp_rpc_ext *ext = NULL;
	const char *why = NULL;
	int ret = mp_rpc_ext_parse(mem, buf, len, lim, &ext, &why);
	if (ret != MP_OK)
		fail_msg("parse failed: %s (%s)", mp_status_name(ret), why ? why : "?");
	return ext;
}

static int parse_err(const uint8_t *buf, size_t len, const struct mp_rpc_ext_limits *lim)
{
	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = (void *)1;
	const char *why = NULL;
	int ret = mp_rpc_ext_parse(mem, buf, len, lim, &ext, &why);
	assert_true(ret < 0);
	assert_null(ext);
	assert_non_null(why);
	talloc_free(mem);
	return ret;
}

/* ---- MS-OXCRPC 4.3 rgbIn -------------------------------------------------- */

static void test_spec_43_rgbin(void **state)
{
	/* RPC_HEADER_EXT 0x0000 / 0x0004 / 0x0152 / 0x0152, then RopSize
	 * 0x0142, 320 bytes of ROPs, 16 bytes of handle table: cbIn 0x15A. */
	uint8_t buf[0x15a];
	put_hdr(buf, 0x0000, 0x0004, 0x0152, 0x0152);
	buf[8] = 0x42;
	buf[9] = 0x01;
	for (size_t i = 10; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = parse_ok(mem, buf, sizeof(buf), NULL);
	assert_int_equal(ext->count, 1);
	struct mp_rpc_ext_seg *s = &ext->segs[0];
	assert_int_equal(s->version, 0);
	assert_int_equal(s->flags, MP_RHE_LAST);
	assert_int_equal(s->size, 0x152);
	assert_int_equal(s->size_actual, 0x152);
	assert_int_equal(ext->total, 0x152);
	assert_int_equal(ext->trailing_len, 0);
	/* Plain payload: no copy, the ROP buffer starts with RopSize. */
	assert_ptr_equal(s->payload, buf + 8);
	assert_int_equal(s->payload[0] | s->payload[1] << 8, 0x142);
	assert_rebuilds(ext, buf, sizeof(buf));
	talloc_free(mem);
}

/* ---- obfuscation and compression ----------------------------------------- */

static void test_xor_magic(void **state)
{
	static const char text[] = "RopLogon: Inbox, Outbox, Sent Items";
	size_t n = sizeof(text) - 1;
	uint8_t buf[8 + sizeof(text)];
	put_hdr(buf, 0, MP_RHE_XORMAGIC | MP_RHE_LAST, (uint16_t)n, (uint16_t)n);
	for (size_t i = 0; i < n; i++)
		buf[8 + i] = (uint8_t)text[i] ^ 0xa5;

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = parse_ok(mem, buf, 8 + n, NULL);
	assert_int_equal(ext->count, 1);
	assert_memory_equal(ext->segs[0].payload, text, n);
	assert_ptr_equal(ext->segs[0].wire, buf + 8);
	assert_rebuilds(ext, buf, 8 + n);

	/* mp_rpc_ext_xor is its own inverse, whatever the length. */
	uint8_t b[37];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)i;
	mp_rpc_ext_xor(b, sizeof(b));
	assert_int_equal(b[0], 0xa5);
	assert_int_equal(b[36], 36 ^ 0xa5);
	mp_rpc_ext_xor(b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], i);
	talloc_free(mem);
}

static void test_compressed_and_obfuscated_wire(void **state)
{
	/* "abc" x 100 compressed as in MS-XCA 3.1, then XORed: the receiver
	 * reverts the XOR first and then decompresses. */
	static const uint8_t z[] = {0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63,
	                            0x17, 0x00, 0x0f, 0xff, 0x26, 0x01};
	uint8_t buf[8 + sizeof(z)];
	put_hdr(buf, 0, MP_RHE_COMPRESSED | MP_RHE_XORMAGIC | MP_RHE_LAST, sizeof(z), 300);
	for (size_t i = 0; i < sizeof(z); i++)
		buf[8 + i] = z[i] ^ 0xa5;

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = parse_ok(mem, buf, sizeof(buf), NULL);
	assert_int_equal(ext->segs[0].size, sizeof(z));
	assert_int_equal(ext->segs[0].size_actual, 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(ext->segs[0].payload[i], "abc"[i % 3]);
	assert_rebuilds(ext, buf, sizeof(buf));

	/* The same bytes without the XOR flag are garbage to the decoder. */
	put_hdr(buf, 0, MP_RHE_COMPRESSED | MP_RHE_LAST, sizeof(z), 300);
	assert_int_equal(parse_err(buf, sizeof(buf), NULL), MP_ERR_PARSE);
	talloc_free(mem);
}

static void test_build_compresses_then_xors(void **state)
{
	uint8_t payload[4000];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t) "PR_SUBJECT_W PR_DISPLAY_NAME_W "[i % 31];

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
	assert_non_null(
	    mp_rpc_ext_add(ext, MP_RHE_COMPRESSED | MP_RHE_XORMAGIC, payload, sizeof(payload)));
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_rpc_ext_build(ext, &wb), MP_OK);

	/* Header: flags kept (Last added), Size < SizeActual. */
	assert_int_equal(wb.data[2] | wb.data[3] << 8,
	                 MP_RHE_COMPRESSED | MP_RHE_XORMAGIC | MP_RHE_LAST);
	size_t size = wb.data[4] | (size_t)wb.data[5] << 8;
	assert_int_equal(wb.data[6] | wb.data[7] << 8, sizeof(payload));
	assert_true(size < 200);
	assert_int_equal(wb.len, 8 + size);
	/* Un-XOR by hand, decompress by hand. */
	uint8_t z[200], out[4000];
	for (size_t i = 0; i < size; i++)
		z[i] = wb.data[8 + i] ^ 0xa5;
	assert_int_equal(mp_lz77_decompress(z, size, out, sizeof(out)), sizeof(payload));
	assert_memory_equal(out, payload, sizeof(payload));

	/* And our parser agrees, and re-encodes the same bytes. */
	struct mp_rpc_ext *back = parse_ok(mem, wb.data, wb.len, NULL);
	assert_memory_equal(back->segs[0].payload, payload, sizeof(payload));
	assert_rebuilds(back, wb.data, wb.len);
	mp_wb_free(&wb);
	talloc_free(mem);
}

static void test_incompressible_drops_flag(void **state)
{
	uint8_t payload[500];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rnd();

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
	struct mp_rpc_ext_seg *s = mp_rpc_ext_add(ext, MP_RHE_COMPRESSED, payload, sizeof(payload));
	assert_non_null(s);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_rpc_ext_build(ext, &wb), MP_OK);
	/* Size must be below SizeActual when compressed: stored plain. */
	assert_int_equal(s->flags, MP_RHE_LAST);
	assert_int_equal(wb.data[2] | wb.data[3] << 8, MP_RHE_LAST);
	assert_int_equal(wb.len, 8 + sizeof(payload));
	assert_memory_equal(wb.data + 8, payload, sizeof(payload));
	mp_wb_free(&wb);
	talloc_free(mem);
}

/* ---- chains ---------------------------------------------------------------- */

static void test_chain_over_32k(void **state)
{
	/* A packed response: three segments of 0x8000, 0x8000 and 0x1234
	 * restored bytes, each with its own flags, Last on the third. */
	static const uint16_t flags[3] = {MP_RHE_COMPRESSED | MP_RHE_XORMAGIC, MP_RHE_XORMAGIC,
	                                  MP_RHE_COMPRESSED};
	static const size_t sizes[3] = {0x8000, 0x8000, 0x1234};
	uint8_t *payload[3];

	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
	for (int k = 0; k < 3; k++) {
		payload[k] = malloc(sizes[k]);
		for (size_t i = 0; i < sizes[k]; i++)
			payload[k][i] =
			    i % 97 < 60 ? (uint8_t) "RopQueryRows "[i % 13] : (uint8_t)rnd();
		assert_non_null(mp_rpc_ext_add(ext, flags[k], payload[k], sizes[k]));
	}
	/* Last moved along as segments were added. */
	assert_int_equal(ext->segs[0].flags, flags[0]);
	assert_int_equal(ext->segs[2].flags, flags[2] | MP_RHE_LAST);
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_rpc_ext_build(ext, &wb), MP_OK);

	struct mp_rpc_ext *back = parse_ok(mem, wb.data, wb.len, NULL);
	assert_int_equal(back->count, 3);
	assert_int_equal(back->total, 0x8000 + 0x8000 + 0x1234);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(back->segs[k].size_actual, sizes[k]);
		assert_int_equal(back->segs[k].flags & ~MP_RHE_LAST, flags[k]);
		assert_memory_equal(back->segs[k].payload, payload[k], sizes[k]);
	}
	assert_true(back->segs[0].size < 0x8000);
	assert_int_equal(back->segs[1].size, 0x8000);
	assert_rebuilds(back, wb.data, wb.len);

	size_t jlen = 0;
	uint8_t *all = mp_rpc_ext_join(mem, back, &jlen);
	assert_int_equal(jlen, back->total);
	assert_memory_equal(all, payload[0], 0x8000);
	assert_memory_equal(all + 0x10000, payload[2], 0x1234);

	/* Replace the middle payload: the other two keep their exact bytes. */
	assert_int_equal(mp_rpc_ext_seg_set_payload(back, &back->segs[1], "hello", 5), MP_OK);
	assert_null(back->segs[1].wire);
	struct mp_wbuf wb2;
	mp_wb_init(&wb2);
	assert_int_equal(mp_rpc_ext_build(back, &wb2), MP_OK);
	size_t first = 8 + back->segs[0].size;
	assert_memory_equal(wb2.data, wb.data, first);
	assert_int_equal(wb2.data[first + 4], 5);
	assert_memory_equal(wb2.data + first + 8, "\xcd\xc0\xc9\xc9\xca", 5); /* XORed */
	size_t tail = 8 + back->segs[2].size;
	assert_memory_equal(wb2.data + wb2.len - tail, wb.data + wb.len - tail, tail);
	struct mp_rpc_ext *again = parse_ok(mem, wb2.data, wb2.len, NULL);
	assert_int_equal(again->total, 0x8000 + 5 + 0x1234);
	assert_memory_equal(again->segs[1].payload, "hello", 5);

	mp_wb_free(&wb);
	mp_wb_free(&wb2);
	for (int k = 0; k < 3; k++)
		free(payload[k]);
	talloc_free(mem);
}

static void test_trailing_bytes_kept(void **state)
{
	uint8_t buf[8 + 3 + 5];
	put_hdr(buf, 0, MP_RHE_LAST, 3, 3);
	memcpy(buf + 8, "abc", 3);
	memcpy(buf + 11, "\x01\x02\x03\x04\x05", 5);
	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = parse_ok(mem, buf, sizeof(buf), NULL);
	assert_int_equal(ext->trailing_len, 5);
	assert_ptr_equal(ext->trailing, buf + 11);
	assert_rebuilds(ext, buf, sizeof(buf));
	talloc_free(mem);
}

static void test_empty_payload_segment(void **state)
{
	/* A zero-length segment in the middle of a chain is well-formed,
	 * obfuscated or not (there is nothing to XOR). */
	uint8_t buf[8 + 8 + 2];
	put_hdr(buf, 0, MP_RHE_XORMAGIC, 0, 0);
	put_hdr(buf + 8, 0, MP_RHE_XORMAGIC | MP_RHE_LAST, 2, 2);
	buf[16] = 'o' ^ 0xa5;
	buf[17] = 'k' ^ 0xa5;
	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = parse_ok(mem, buf, sizeof(buf), NULL);
	assert_int_equal(ext->count, 2);
	assert_int_equal(ext->segs[0].size_actual, 0);
	assert_memory_equal(ext->segs[1].payload, "ok", 2);
	assert_rebuilds(ext, buf, sizeof(buf));
	talloc_free(mem);
}

/* ---- limits ---------------------------------------------------------------- */

static void test_limits(void **state)
{
	struct mp_rpc_ext_limits lim;

	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBOUT);
	assert_int_equal(lim.max_buf, 0x40000);
	assert_int_equal(lim.max_payload, 0x8000);
	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBAUXIN);
	assert_int_equal(lim.max_buf, 0x1008);

	/* rgbOut over 0x40000 bytes. */
	size_t big = 0x40001;
	uint8_t *b = calloc(1, big);
	assert_int_equal(parse_err(b, big, NULL), MP_ERR_LIMIT);
	/* An aux buffer over 0x1008. */
	uint8_t aux[0x1010];
	put_hdr(aux, 0, MP_RHE_LAST, 0x1008, 0x1008);
	assert_int_equal(parse_err(aux, sizeof(aux), &lim), MP_ERR_LIMIT);
	free(b);

	/* A segment restoring to more than 32 KB. */
	uint8_t seg[8 + 0x8001];
	put_hdr(seg, 0, MP_RHE_LAST, 0x8001, 0x8001);
	memset(seg + 8, 'x', 0x8001);
	assert_int_equal(parse_err(seg, sizeof(seg), NULL), MP_ERR_LIMIT);
	/* ... accepted when the caller raises the limit. */
	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBOUT);
	lim.max_payload = 0xffff;
	void *mem = talloc_new(NULL);
	parse_ok(mem, seg, sizeof(seg), &lim);

	/* A tiny compressed segment claiming a large restored size, many
	 * times: the total is capped before anything is allocated. */
	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBOUT);
	lim.max_total = 0x10000;
	uint8_t chain[3 * 14];
	static const uint8_t zrun[] = {0x7f, 0xff, 0xff, 0xff}; /* decodes nowhere near */
	for (int k = 0; k < 3; k++) {
		put_hdr(chain + 14 * k, 0, MP_RHE_COMPRESSED | (k == 2 ? MP_RHE_LAST : 0), 6,
		        0x8000);
		memcpy(chain + 14 * k + 8, zrun, 4);
		chain[14 * k + 12] = 'x';
		chain[14 * k + 13] = 0;
	}
	assert_int_equal(parse_err(chain, sizeof(chain), &lim), MP_ERR_LIMIT);

	/* Too many segments. */
	mp_rpc_ext_limits_init(&lim, MP_RPC_EXT_RGBOUT);
	lim.max_segments = 2;
	uint8_t three[24];
	put_hdr(three, 0, 0, 0, 0);
	put_hdr(three + 8, 0, 0, 0, 0);
	put_hdr(three + 16, 0, MP_RHE_LAST, 0, 0);
	assert_int_equal(parse_err(three, sizeof(three), &lim), MP_ERR_LIMIT);
	lim.max_segments = 3;
	parse_ok(mem, three, sizeof(three), &lim);
	talloc_free(mem);
}

/* ---- malformed ------------------------------------------------------------- */

static void test_malformed_refused(void **state)
{
	uint8_t buf[64] = {0};

	/* Empty buffer, 5 bytes, no Last flag. */
	assert_int_equal(parse_err(buf, 0, NULL), MP_ERR_PARSE);
	put_hdr(buf, 0, MP_RHE_LAST, 0, 0);
	assert_int_equal(parse_err(buf, 5, NULL), MP_ERR_PARSE);
	put_hdr(buf, 0, 0, 2, 2);
	assert_int_equal(parse_err(buf, 10, NULL), MP_ERR_PARSE);
	/* Version 1. */
	put_hdr(buf, 1, MP_RHE_LAST, 0, 0);
	assert_int_equal(parse_err(buf, 8, NULL), MP_ERR_UNSUPPORTED);
	/* Size beyond the buffer. */
	put_hdr(buf, 0, MP_RHE_LAST, 20, 20);
	assert_int_equal(parse_err(buf, 8 + 19, NULL), MP_ERR_PARSE);
	/* Not compressed but Size != SizeActual. */
	put_hdr(buf, 0, MP_RHE_LAST, 4, 5);
	assert_int_equal(parse_err(buf, 12, NULL), MP_ERR_PARSE);
	/* Compressed but Size >= SizeActual. */
	put_hdr(buf, 0, MP_RHE_COMPRESSED | MP_RHE_LAST, 6, 6);
	assert_int_equal(parse_err(buf, 14, NULL), MP_ERR_PARSE);

	/* Compressed data that restores to less, or more, than SizeActual,
	 * or is corrupt. */
	static const uint8_t z[] = {0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63,
	                            0x17, 0x00, 0x0f, 0xff, 0x26, 0x01};
	put_hdr(buf, 0, MP_RHE_COMPRESSED | MP_RHE_LAST, sizeof(z), 301);
	memcpy(buf + 8, z, sizeof(z));
	assert_int_equal(parse_err(buf, 8 + sizeof(z), NULL), MP_ERR_PARSE);
	put_hdr(buf, 0, MP_RHE_COMPRESSED | MP_RHE_LAST, sizeof(z), 299);
	assert_int_equal(parse_err(buf, 8 + sizeof(z), NULL), MP_ERR_PARSE);
	put_hdr(buf, 0, MP_RHE_COMPRESSED | MP_RHE_LAST, sizeof(z), 300);
	buf[8 + 7] = 0x1f; /* offset 4 after 3 bytes */
	assert_int_equal(parse_err(buf, 8 + sizeof(z), NULL), MP_ERR_PARSE);
}

static void test_truncation_and_mutation(void **state)
{
	/* A two-segment chain; every prefix is refused; random edits give a
	 * documented error or a chain that re-encodes to the edited bytes. */
	uint8_t p1[700], p2[300];
	for (size_t i = 0; i < sizeof(p1); i++)
		p1[i] = (uint8_t) "OpenFolder GetHierarchyTable "[i % 29];
	for (size_t i = 0; i < sizeof(p2); i++)
		p2[i] = (uint8_t)rnd();
	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
	mp_rpc_ext_add(ext, MP_RHE_COMPRESSED | MP_RHE_XORMAGIC, p1, sizeof(p1));
	mp_rpc_ext_add(ext, MP_RHE_XORMAGIC, p2, sizeof(p2));
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_rpc_ext_build(ext, &wb), MP_OK);

	for (size_t cut = 0; cut < wb.len; cut++)
		assert_int_equal(parse_err(wb.data, cut, NULL), MP_ERR_PARSE);

	uint8_t *m = malloc(wb.len);
	for (int round = 0; round < 2000; round++) {
		memcpy(m, wb.data, wb.len);
		int edits = 1 + (int)(rnd() % 3);
		for (int e = 0; e < edits; e++)
			m[rnd() % wb.len] ^= (uint8_t)(1u << (rnd() % 8));
		void *t = talloc_new(NULL);
		struct mp_rpc_ext *x = NULL;
		int ret = mp_rpc_ext_parse(t, m, wb.len, NULL, &x, NULL);
		assert_true(ret == MP_OK || ret == MP_ERR_PARSE || ret == MP_ERR_UNSUPPORTED ||
		            ret == MP_ERR_LIMIT);
		if (ret == MP_OK)
			assert_rebuilds(x, m, wb.len);
		talloc_free(t);
	}
	free(m);
	mp_wb_free(&wb);
	talloc_free(mem);
}

/* ---- print ----------------------------------------------------------------- */

static void test_print(void **state)
{
	static const uint8_t z[] = {0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63,
	                            0x17, 0x00, 0x0f, 0xff, 0x26, 0x01};
	uint8_t buf[8 + sizeof(z)];
	put_hdr(buf, 0, MP_RHE_COMPRESSED | MP_RHE_LAST, sizeof(z), 300);
	memcpy(buf + 8, z, sizeof(z));
	void *mem = talloc_new(NULL);
	struct mp_rpc_ext *ext = parse_ok(mem, buf, sizeof(buf), NULL);

	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_rpc_ext_print(p, "rgbOut", ext);
	const char *t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "rgbOut: [1]"));
	assert_non_null(strstr(t, "Flags: 0x0005 (Compressed|Last)"));
	assert_non_null(strstr(t, "Size: 13"));
	assert_non_null(strstr(t, "SizeActual: 300"));
	assert_non_null(strstr(t, "Payload: 616263616263"));
	mp_printer_free(p);

	p = mp_printer_new(MP_PRINT_JSON);
	mp_rpc_ext_print(p, "rgbOut", ext);
	t = mp_printer_output(p, NULL);
	assert_non_null(strstr(t, "\"SizeActual\":300"));
	assert_false(mp_printer_failed(p));
	mp_printer_free(p);
	talloc_free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_43_rgbin),
	    cmocka_unit_test(test_xor_magic),
	    cmocka_unit_test(test_compressed_and_obfuscated_wire),
	    cmocka_unit_test(test_build_compresses_then_xors),
	    cmocka_unit_test(test_incompressible_drops_flag),
	    cmocka_unit_test(test_chain_over_32k),
	    cmocka_unit_test(test_trailing_bytes_kept),
	    cmocka_unit_test(test_empty_payload_segment),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_malformed_refused),
	    cmocka_unit_test(test_truncation_and_mutation),
	    cmocka_unit_test(test_print),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
