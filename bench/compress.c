/*
 * mp-compress-bench: LZ77+DIRECT2 (MS-OXCRPC) against zlib and zstd on the
 * same data, in one run, side by side.
 *
 * The data is generated here (fixed seed, so every run sees the same bytes):
 *   rop   ROP response payloads as EcDoRpcExt2 carries them: RopQueryRows
 *         rows of a contents table (entry IDs sharing a store prefix,
 *         UTF-16 subjects and sender names from small vocabularies,
 *         FILETIMEs, sizes, flags) and FastTransfer-style property lists
 *         with a tag before every value;
 *   text  message bodies: words drawn with a Zipf-like skew, lines, quoted
 *         replies, signatures.
 * Each codec compresses and decompresses the data in 32 KiB chunks, the
 * largest payload of one RPC_HEADER_EXT segment, with its context reused.
 * Every codec's output is checked against the input before it is timed.
 *
 *   mp-compress-bench [seconds-per-measurement]   (default 0.15)
 *
 * Prints one plain table: codec, data set, ratio (input/output), compress
 * and decompress MB/s (MB = 10^6 bytes of uncompressed data per second of
 * the thread's CPU time).
 */
#include "mapi/lz77.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK 0x8000
#define DATA_SIZE (2u << 20)

/* ---- data ------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	size_t room = b->len < b->cap ? b->cap - b->len : 0;
	if (n > room)
		n = room; /* never grows n: the compiler sees the copy stays in `p` */
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put8(struct buf *b, uint8_t v)
{
	put(b, &v, 1);
}

static void put16(struct buf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
	put(b, t, 2);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, (uint16_t)v);
	put16(b, (uint16_t)(v >> 16));
}

static void put64(struct buf *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

static void put_utf16z(struct buf *b, const char *s)
{
	for (; *s; s++)
		put16(b, (uint8_t)*s);
	put16(b, 0);
}

static const char *subjects[] = {
    "Weekly status report",     "RE: Budget review Q3",
    "FW: Travel itinerary",     "Meeting notes - architecture",
    "Lunch on Friday?",         "RE: RE: Customer escalation #4411",
    "Invitation: Project sync", "Accepted: Project sync",
    "Your order has shipped",   "Out of office",
    "Draft: proposal v2",       "[External] Invoice 2024-118",
};
static const char *senders[] = {
    "Jane Doe",     "John Smith", "Microsoft Outlook", "Contoso Support",
    "Alice Martin", "Bob Nguyen", "Human Resources",   "Carol Schmidt",
};
static const char *words[] = {
    "the",  "of",       "and",      "to",       "a",      "in",       "for",      "is",
    "on",   "that",     "by",       "this",     "with",   "you",      "it",       "not",
    "or",   "be",       "are",      "from",     "at",     "as",       "your",     "all",
    "have", "meeting",  "project",  "please",   "review", "attached", "thanks",   "regards",
    "team", "schedule", "budget",   "customer", "update", "server",   "mailbox",  "folder",
    "week", "report",   "deadline", "Monday",   "Friday", "question", "document", "proposal",
};

/* A RopQueryRows-like payload: RopSize, one response, rows, handle table. */
static void gen_query_rows(struct buf *b, uint64_t *globcnt, uint64_t *ft)
{
	static const uint8_t store_uid[16] = {0x1f, 0x3c, 0x4e, 0x12, 0x9a, 0x3b, 0x41, 0x45,
	                                      0x8d, 0x3b, 0x3d, 0x41, 0x71, 0x23, 0x9e, 0x57};
	size_t start = b->len;
	put16(b, 0);   /* RopSize, patched below */
	put8(b, 0x15); /* RopQueryRows */
	put8(b, 0);    /* InputHandleIndex */
	put32(b, 0);   /* ReturnValue */
	put8(b, 2);    /* Origin */
	unsigned rows = 20 + rnd() % 30;
	put16(b, (uint16_t)rows);
	for (unsigned r = 0; r < rows && b->len + 400 < b->cap; r++) {
		put8(b, 0); /* StandardPropertyRow */
		/* PidTagEntryId: 70-byte message entry ID. */
		put16(b, 70);
		put32(b, 0);
		put(b, store_uid, 16);
		put16(b, 0x0007);
		put(b, store_uid, 16);
		put16(b, 0x0001);
		put32(b, 0x00000003);
		put(b, store_uid, 16);
		put64(b, ++*globcnt << 16);
		put16(b, 0);
		/* PidTagSubject_W, PidTagSenderName_W */
		put_utf16z(b, subjects[rnd() % 12]);
		put_utf16z(b, senders[rnd() % 8]);
		/* PidTagMessageDeliveryTime, PidTagMessageSize, flags, importance */
		*ft -= 600000000ull * (1 + rnd() % 600);
		put64(b, *ft);
		put32(b, 2000 + rnd() % 60000);
		put32(b, rnd() % 4 ? 0x1 : 0x0);
		put32(b, 1);
		put8(b, (uint8_t)(rnd() % 5 == 0));
	}
	put32(b, 0x00000012); /* ServerObjectHandleTable */
	size_t ropsize = b->len - start - 4;
	b->p[start] = (uint8_t)ropsize;
	b->p[start + 1] = (uint8_t)(ropsize >> 8);
}

/* A FastTransfer-like stream: a tag before every value. */
static void gen_fast_transfer(struct buf *b, uint64_t *ft)
{
	unsigned msgs = 5 + rnd() % 10;
	for (unsigned m = 0; m < msgs && b->len + 1200 < b->cap; m++) {
		put32(b, 0x400C0003); /* StartMessage */
		put32(b, 0x0037001F); /* PidTagSubject_W */
		put32(b, 0);
		put_utf16z(b, subjects[rnd() % 12]);
		put32(b, 0x0C1A001F); /* PidTagSenderName_W */
		put32(b, 0);
		put_utf16z(b, senders[rnd() % 8]);
		put32(b, 0x0E060040); /* PidTagMessageDeliveryTime */
		*ft -= 600000000ull * (1 + rnd() % 600);
		put64(b, *ft);
		put32(b, 0x0E080003); /* PidTagMessageSize */
		put32(b, 2000 + rnd() % 60000);
		put32(b, 0x1000001F); /* PidTagBody_W */
		unsigned nw = 20 + rnd() % 80;
		size_t at = b->len;
		put32(b, 0);
		for (unsigned w = 0; w < nw; w++) {
			const char *s = words[(rnd() % 48) * (rnd() % 48) / 48];
			for (; *s; s++)
				put16(b, (uint8_t)*s);
			put16(b, ' ');
		}
		uint32_t n = (uint32_t)(b->len - at - 4);
		memcpy(b->p + at, &n, 4);
		put32(b, 0x40100003); /* EndMessage */
	}
}

static void gen_rop(struct buf *b)
{
	uint64_t globcnt = 0x1000, ft = 133500000000000000ull;
	while (b->len + 2000 < b->cap) {
		if (rnd() % 3)
			gen_query_rows(b, &globcnt, &ft);
		else
			gen_fast_transfer(b, &ft);
	}
	while (b->len < b->cap)
		put8(b, 0);
}

static void put_word_text(struct buf *b, unsigned n)
{
	for (unsigned w = 0; w < n; w++) {
		const char *s = words[(rnd() % 48) * (rnd() % 48) / 48];
		put(b, s, strlen(s));
		put8(b, w % 14 == 13 ? '\n' : ' ');
	}
}

static void gen_text(struct buf *b)
{
	static const char sig[] = "\r\n--\r\nJane Doe | Contoso Ltd. | +1 555 0100\r\n"
	                          "This message may contain confidential information.\r\n";
	while (b->len < b->cap) {
		put(b, "Hello team,\r\n\r\n", 15);
		put_word_text(b, 40 + rnd() % 200);
		put(b, sig, sizeof(sig) - 1);
		if (rnd() % 2) {
			put(b, "\r\n> ", 4);
			put_word_text(b, 30 + rnd() % 60);
		}
	}
}

/* ---- codecs ---------------------------------------------------------------- */

struct codec {
	const char *name;
	int level;
	/* Both return the output size, or 0 on failure. */
	size_t (*compress)(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out,
	                   size_t cap);
	size_t (*decompress)(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out,
	                     size_t cap);
};

static size_t lz_c(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	ssize_t r = mp_lz77_compress(in, n, out, cap);
	return r > 0 ? (size_t)r : 0;
}

static size_t lz_d(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	ssize_t r = mp_lz77_decompress(in, n, out, cap);
	return r > 0 ? (size_t)r : 0;
}

static size_t zl_c(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	uLongf len = cap;
	return compress2(out, &len, in, n, c->level) == Z_OK ? len : 0;
}

static size_t zl_d(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	uLongf len = cap;
	return uncompress(out, &len, in, n) == Z_OK ? len : 0;
}

static ZSTD_CCtx *zcctx;
static ZSTD_DCtx *zdctx;

static size_t zs_c(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t r = ZSTD_compressCCtx(zcctx, out, cap, in, n, c->level);
	return ZSTD_isError(r) ? 0 : r;
}

static size_t zs_d(const struct codec *c, const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t r = ZSTD_decompressDCtx(zdctx, out, cap, in, n);
	return ZSTD_isError(r) ? 0 : r;
}

static const struct codec codecs[] = {
    {"lz77+direct2", 0, lz_c, lz_d}, {"zlib -1", 1, zl_c, zl_d}, {"zlib -6", 6, zl_c, zl_d},
    {"zstd -1", 1, zs_c, zs_d},      {"zstd -3", 3, zs_c, zs_d},
};

/* ---- measurement ----------------------------------------------------------- */

/* CPU time of this thread: on shared cores it varies far less than wall
 * time, and a codec's cost is what a proxy pays per call. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct packed {
	uint8_t *data; /* compressed chunks, one after another */
	size_t *off;   /* chunk i at data + off[i], size off[i+1] - off[i] */
	size_t chunks;
};

static int compress_all(const struct codec *c, const struct buf *in, struct packed *pk, size_t slot)
{
	size_t o = 0;
	for (size_t i = 0; i < pk->chunks; i++) {
		size_t n = in->len - i * CHUNK < CHUNK ? in->len - i * CHUNK : CHUNK;
		size_t z = c->compress(c, in->p + i * CHUNK, n, pk->data + o, slot);
		if (!z)
			return -1;
		pk->off[i] = o;
		o += z;
	}
	pk->off[pk->chunks] = o;
	return 0;
}

static int decompress_all(const struct codec *c, const struct packed *pk, uint8_t *out,
                          size_t total)
{
	for (size_t i = 0; i < pk->chunks; i++) {
		size_t n = total - i * CHUNK < CHUNK ? total - i * CHUNK : CHUNK;
		if (c->decompress(c, pk->data + pk->off[i], pk->off[i + 1] - pk->off[i],
		                  out + i * CHUNK, n) != n)
			return -1;
	}
	return 0;
}

static int measure(const struct codec *c, const char *set, const struct buf *in, double secs)
{
	size_t chunks = (in->len + CHUNK - 1) / CHUNK;
	size_t slot = CHUNK + CHUNK / 8 + 1024; /* above every codec's bound for 32 KiB */
	struct packed pk = {malloc(chunks * slot), malloc((chunks + 1) * sizeof(size_t)), chunks};
	uint8_t *back = malloc(in->len);
	if (!pk.data || !pk.off || !back)
		return -1;

	/* Correctness first. */
	if (compress_all(c, in, &pk, slot) || decompress_all(c, &pk, back, in->len) ||
	    memcmp(back, in->p, in->len) != 0) {
		fprintf(stderr, "%s: round trip failed on %s\n", c->name, set);
		return -1;
	}
	double ratio = (double)in->len / (double)pk.off[chunks];

	unsigned reps = 0;
	double t0 = now(), t;
	do {
		compress_all(c, in, &pk, slot);
		reps++;
	} while ((t = now() - t0) < secs);
	double cmbs = (double)in->len * reps / t / 1e6;

	reps = 0;
	t0 = now();
	do {
		decompress_all(c, &pk, back, in->len);
		reps++;
	} while ((t = now() - t0) < secs);
	double dmbs = (double)in->len * reps / t / 1e6;

	printf("%-14s %-5s %7.3f %12.1f %12.1f\n", c->name, set, ratio, cmbs, dmbs);
	free(pk.data);
	free(pk.off);
	free(back);
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.15;
	if (secs <= 0 || secs > 10) {
		fprintf(stderr, "usage: %s [seconds-per-measurement (0..10]]\n", argv[0]);
		return 2;
	}
	struct buf rop = {malloc(DATA_SIZE), 0, DATA_SIZE};
	struct buf text = {malloc(DATA_SIZE), 0, DATA_SIZE};
	zcctx = ZSTD_createCCtx();
	zdctx = ZSTD_createDCtx();
	if (!rop.p || !text.p || !zcctx || !zdctx)
		return 1;
	gen_rop(&rop);
	gen_text(&text);

	printf("LZ77+DIRECT2 vs zlib vs zstd: %u KiB per data set, %u KiB chunks\n",
	       DATA_SIZE >> 10, CHUNK >> 10);
	printf("%-14s %-5s %7s %12s %12s\n", "codec", "data", "ratio", "comp MB/s", "decomp MB/s");
	int status = 0;
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		status |= measure(&codecs[i], "rop", &rop, secs);
		status |= measure(&codecs[i], "text", &text, secs);
	}
	ZSTD_freeCCtx(zcctx);
	ZSTD_freeDCtx(zdctx);
	free(rop.p);
	free(text.p);
	return status ? 1 : 0;
}
