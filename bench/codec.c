/*
 * mp-codec-bench: how fast the ExchangeRPC codecs take a realistic
 * EcDoRpcExt2 exchange apart and put it back, stage by stage, in one run.
 *
 * The mix (generated here, fixed seed):
 *   table  request: RopSetColumns (6 columns) + RopQueryRows (50 rows);
 *          response: both answers, 50 rows of a contents table (UTF-16
 *          subject and sender, FILETIME, size, flags, Boolean), rgbOut
 *          compressed with LZ77 as Exchange sends it;
 *   stream request: RopReadStream of 16 KiB; response: 16 KiB of message
 *          text, compressed.
 * Stages, each on the same calls:
 *   ndr          NDR decode of request + response and NDR encode back
 *   rops         ndr + RPC_HEADER_EXT parse (LZ77 decompression) + ROP
 *                decode of both buffers with session state (what the dump
 *                and ROP-level modules need)
 *   rops+encode  rops + ROP buffers, chains and stubs encoded back
 *   dump-text    rops + the text tree the dump writes to the log
 * Every stage is checked once to give back the input bytes before it is
 * timed. "wire MB/s" counts stub bytes on the wire (request + response),
 * "ROP MB/s" the ROP buffers they carry once decompressed, per second of the
 * thread's CPU time.
 *
 *   mp-codec-bench [seconds-per-stage]   (default 0.3)
 */
#include "mapi/call.h"
#include "mapi/lz77.h"
#include "mapi/mapi_print.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <time.h>

#define ROWS 50
#define STREAM_BYTES 16384

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void put_utf16(struct mp_wbuf *b, const char *s)
{
	for (; *s; s++)
		mp_wb_u16(b, (uint8_t)*s);
	mp_wb_u16(b, 0);
}

static const uint32_t columns[] = {
	0x0037001F, /* PidTagSubject */
	0x0E060040, /* PidTagMessageDeliveryTime */
	0x0E080003, /* PidTagMessageSize */
	0x0C1A001F, /* PidTagSenderName */
	0x0E070003, /* PidTagMessageFlags */
	0x0E1B000B, /* PidTagHasAttachments */
};
#define NCOLS (sizeof(columns) / sizeof(columns[0]))

/* RopSize + ROPs + handle table, from the ROPs in `rops`. */
static void rop_buffer(struct mp_wbuf *out, const struct mp_wbuf *rops, unsigned handles)
{
	mp_wb_u16(out, (uint16_t)(2 + rops->len));
	mp_wb_bytes(out, rops->data, rops->len);
	for (unsigned i = 0; i < handles; i++)
		mp_wb_u32(out, 0x100 + i);
}

static void table_rops(struct mp_wbuf *req, struct mp_wbuf *rsp)
{
	/* RopSetColumns: table at handle index 1. */
	mp_wb_u8(req, 0x12), mp_wb_u8(req, 0), mp_wb_u8(req, 1), mp_wb_u8(req, 0);
	mp_wb_u16(req, NCOLS);
	for (size_t i = 0; i < NCOLS; i++)
		mp_wb_u32(req, columns[i]);
	/* RopQueryRows: forward, up to ROWS rows. */
	mp_wb_u8(req, 0x15), mp_wb_u8(req, 0), mp_wb_u8(req, 1), mp_wb_u8(req, 0);
	mp_wb_u8(req, 1), mp_wb_u16(req, ROWS);

	mp_wb_u8(rsp, 0x12), mp_wb_u8(rsp, 1), mp_wb_u32(rsp, 0), mp_wb_u8(rsp, 0);
	mp_wb_u8(rsp, 0x15), mp_wb_u8(rsp, 1), mp_wb_u32(rsp, 0);
	mp_wb_u8(rsp, 2); /* Origin: BOOKMARK_END */
	mp_wb_u16(rsp, ROWS);
	static const char *const senders[] = {"Alice Martin", "Bob Durand", "Carol Smith",
					      "Dave Okafor"};
	static const char *const topics[] = {"quarterly report", "lunch on Friday",
					     "build failure", "contract draft", "holiday plan"};
	for (unsigned r = 0; r < ROWS; r++) {
		char subject[96];
		snprintf(subject, sizeof(subject), "%s%s #%u", r % 3 ? "Re: " : "",
			 topics[rnd() % 5], rnd() % 1000);
		mp_wb_u8(rsp, 0); /* StandardPropertyRow */
		put_utf16(rsp, subject);
		uint64_t ft = 0x01D9000000000000ull + ((uint64_t)rnd() << 20);
		mp_wb_u32(rsp, (uint32_t)ft), mp_wb_u32(rsp, (uint32_t)(ft >> 32));
		mp_wb_u32(rsp, 2000 + rnd() % 90000);
		put_utf16(rsp, senders[rnd() % 4]);
		mp_wb_u32(rsp, rnd() % 2 ? 1 : 0);
		mp_wb_u8(rsp, rnd() % 4 == 0);
	}
}

static void stream_rops(struct mp_wbuf *req, struct mp_wbuf *rsp)
{
	/* RopReadStream: stream at index 2, ByteCount 16 KiB. */
	mp_wb_u8(req, 0x2C), mp_wb_u8(req, 0), mp_wb_u8(req, 2);
	mp_wb_u16(req, STREAM_BYTES);
	static const char *const words[] = {"the", "meeting", "is", "moved", "to", "Thursday",
					    "please", "review", "attached", "numbers", "and",
					    "regards", "project", "before", "deadline"};
	mp_wb_u8(rsp, 0x2C), mp_wb_u8(rsp, 2), mp_wb_u32(rsp, 0);
	mp_wb_u16(rsp, STREAM_BYTES);
	size_t n = 0;
	while (n < STREAM_BYTES) {
		const char *w = words[rnd() % 15];
		for (; *w && n < STREAM_BYTES; w++, n++)
			mp_wb_u8(rsp, (uint8_t)*w);
		if (n < STREAM_BYTES)
			mp_wb_u8(rsp, rnd() % 9 ? ' ' : '\n'), n++;
	}
}

/* RPC_HEADER_EXT (Last; compressed when asked) around one ROP buffer. */
static void ext_buffer(struct mp_wbuf *out, const struct mp_wbuf *payload, bool compress)
{
	uint8_t *z = malloc(mp_lz77_compress_bound(payload->len));
	ssize_t zn = compress ? mp_lz77_compress(payload->data, payload->len, z,
						  mp_lz77_compress_bound(payload->len))
			      : -1;
	bool packed = zn > 0 && (size_t)zn < payload->len;
	mp_wb_u16(out, 0);
	mp_wb_u16(out, (uint16_t)(0x0004 | (packed ? 0x0001 : 0)));
	mp_wb_u16(out, (uint16_t)(packed ? (size_t)zn : payload->len));
	mp_wb_u16(out, (uint16_t)payload->len);
	if (packed)
		mp_wb_bytes(out, z, (size_t)zn);
	else
		mp_wb_bytes(out, payload->data, payload->len);
	free(z);
}

static void ndr_u32(struct mp_wbuf *b, uint32_t v)
{
	mp_wb_align(b, 4);
	mp_wb_u32(b, v);
}

struct pair {
	struct mp_wbuf req, rsp;
	size_t rop_bytes; /* ROP buffers before compression, both ways */
};

static void make_pair(struct pair *p, void (*rops)(struct mp_wbuf *, struct mp_wbuf *),
		      unsigned handles)
{
	struct mp_wbuf rq, rs, bq, bs, eq, es;
	mp_wb_init(&rq), mp_wb_init(&rs), mp_wb_init(&bq), mp_wb_init(&bs);
	mp_wb_init(&eq), mp_wb_init(&es);
	rops(&rq, &rs);
	rop_buffer(&bq, &rq, handles);
	rop_buffer(&bs, &rs, handles);
	p->rop_bytes = bq.len + bs.len;
	ext_buffer(&eq, &bq, false);
	ext_buffer(&es, &bs, true);
	static const uint8_t cxh[20] = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	mp_wb_init(&p->req);
	mp_wb_bytes(&p->req, cxh, 20);
	ndr_u32(&p->req, 0);                        /* pulFlags */
	ndr_u32(&p->req, (uint32_t)eq.len);         /* rgbIn conformance */
	mp_wb_bytes(&p->req, eq.data, eq.len);
	ndr_u32(&p->req, (uint32_t)eq.len);         /* cbIn */
	ndr_u32(&p->req, 0x40000);                  /* pcbOut */
	ndr_u32(&p->req, 0);                        /* rgbAuxIn */
	ndr_u32(&p->req, 0);                        /* cbAuxIn */
	ndr_u32(&p->req, 0x1008);                   /* pcbAuxOut */

	mp_wb_init(&p->rsp);
	mp_wb_bytes(&p->rsp, cxh, 20);
	ndr_u32(&p->rsp, 0);
	ndr_u32(&p->rsp, (uint32_t)es.len), ndr_u32(&p->rsp, 0), ndr_u32(&p->rsp, (uint32_t)es.len);
	mp_wb_bytes(&p->rsp, es.data, es.len);
	ndr_u32(&p->rsp, (uint32_t)es.len);         /* pcbOut */
	ndr_u32(&p->rsp, 0), ndr_u32(&p->rsp, 0), ndr_u32(&p->rsp, 0); /* rgbAuxOut */
	ndr_u32(&p->rsp, 0);                        /* pcbAuxOut */
	ndr_u32(&p->rsp, 7);                        /* pulTransTime */
	ndr_u32(&p->rsp, 0);                        /* result */
	mp_wb_free(&rq), mp_wb_free(&rs), mp_wb_free(&bq), mp_wb_free(&bs);
	mp_wb_free(&eq), mp_wb_free(&es);
}

enum stage { S_NDR, S_ROPS, S_ROPS_ENCODE, S_DUMP, S_COUNT };
static const char *const stage_names[S_COUNT] = {"ndr", "rops", "rops+encode", "dump-text"};

/* Encode a view's ROP buffers into a new chain and stub; true if the stub
 * comes back identical. */
static bool encode_view(void *mem, const struct mp_mapi_view *v, const struct mp_wbuf *orig)
{
	if (v->rop_ext) {
		for (size_t i = 0; i < v->n_bufs; i++) {
			struct mp_wbuf b;
			mp_wb_init(&b);
			bool ok = mp_rop_buf_encode(v->bufs[i], &b) == MP_OK &&
				  b.len == v->rop_ext->segs[i].size_actual &&
				  memcmp(b.data, v->rop_ext->segs[i].payload, b.len) == 0;
			mp_wb_free(&b);
			if (!ok)
				return false;
		}
		struct mp_wbuf e;
		mp_wb_init(&e);
		bool ok = mp_rpc_ext_build(v->rop_ext, &e) == MP_OK;
		mp_wb_free(&e);
		if (!ok)
			return false;
	}
	struct mp_wbuf s;
	mp_wb_init(&s);
	bool ok = mp_mapi_encode(v->call, &s) && s.len == orig->len &&
		  memcmp(s.data, orig->data, s.len) == 0;
	mp_wb_free(&s);
	return ok;
}

/* One exchange through a stage; false if anything did not decode or round-trip. */
static bool run_stage(enum stage st, const struct pair *p, struct mp_mapi_state *state,
		      size_t *printed)
{
	void *mem = talloc_new(NULL);
	const char *why;
	bool ok = true;
	struct mp_mapi_call *rq = mp_mapi_decode(mem, MP_MAPI_EMSMDB, 11, MP_CALL_REQUEST,
						 p->req.data, p->req.len, &why);
	struct mp_mapi_call *rs = mp_mapi_decode(mem, MP_MAPI_EMSMDB, 11, MP_CALL_RESPONSE,
						 p->rsp.data, p->rsp.len, &why);
	if (!rq || !rs) {
		talloc_free(mem);
		return false;
	}
	if (st == S_NDR) {
		struct mp_wbuf a, b;
		mp_wb_init(&a), mp_wb_init(&b);
		ok = mp_mapi_encode(rq, &a) && mp_mapi_encode(rs, &b) && a.len == p->req.len &&
		     b.len == p->rsp.len;
		mp_wb_free(&a), mp_wb_free(&b);
		talloc_free(mem);
		return ok;
	}
	struct mp_mapi_view *vq = mp_mapi_view_new(mem, rq, NULL, state, true);
	struct mp_mapi_view *vs = mp_mapi_view_new(mem, rs, vq, state, true);
	ok = vq && vs && vq->n_bufs == 1 && vs->n_bufs == 1 && !vq->rop_why && !vs->rop_why;
	if (ok && st == S_ROPS_ENCODE)
		ok = encode_view(mem, vq, &p->req) && encode_view(mem, vs, &p->rsp);
	if (ok && st == S_DUMP) {
		struct mp_printer *pr = mp_printer_new(MP_PRINT_TEXT);
		mp_mapi_view_print(pr, vq);
		mp_mapi_view_print(pr, vs);
		size_t n;
		mp_printer_output(pr, &n);
		*printed += n;
		mp_printer_free(pr);
	}
	mp_mapi_state_update(state, vq, vs);
	talloc_free(mem);
	return ok;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.3;
	if (secs <= 0 || secs > 60) {
		fprintf(stderr, "usage: mp-codec-bench [seconds-per-stage (0-60]]\n");
		return 2;
	}
	struct pair pairs[2];
	make_pair(&pairs[0], table_rops, 2);
	make_pair(&pairs[1], stream_rops, 3);
	size_t wire = 0, rop = 0;
	for (int i = 0; i < 2; i++) {
		wire += pairs[i].req.len + pairs[i].rsp.len;
		rop += pairs[i].rop_bytes;
	}

	printf("mix: 2 EcDoRpcExt2 exchanges (%u-row contents table; %u-byte stream read): "
	       "%zu stub bytes on the wire, %zu bytes of ROP buffers, per round\n", ROWS,
	       STREAM_BYTES, wire, rop);
	printf("%-12s %12s %10s %10s %12s\n", "stage", "exchanges/s", "wire MB/s", "ROP MB/s",
	       "us/exchange");
	for (int st = 0; st < S_COUNT; st++) {
		struct mp_mapi_state *state = mp_mapi_state_new(NULL);
		size_t printed = 0;
		for (int i = 0; i < 2; i++) {
			if (!run_stage(st, &pairs[i], state, &printed)) {
				fprintf(stderr, "mp-codec-bench: stage %s failed its check on "
						"exchange %d\n", stage_names[st], i);
				return 1;
			}
		}
		unsigned long rounds = 0;
		double t0 = cpu_now(), t;
		do {
			for (int k = 0; k < 16; k++, rounds++)
				for (int i = 0; i < 2; i++)
					run_stage(st, &pairs[i], state, &printed);
			t = cpu_now() - t0;
		} while (t < secs);
		double ex = rounds * 2.0;
		printf("%-12s %12.0f %10.1f %10.1f %12.2f\n", stage_names[st], ex / t,
		       rounds * (double)wire / t / 1e6, rounds * (double)rop / t / 1e6,
		       t / ex * 1e6);
		talloc_free(state);
	}
	for (int i = 0; i < 2; i++) {
		mp_wb_free(&pairs[i].req);
		mp_wb_free(&pairs[i].rsp);
	}
	return 0;
}
