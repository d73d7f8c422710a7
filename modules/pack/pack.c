/*
 * pack — carry EMSMDB ROP buffers packed and compressed between two
 * mapiproxy hops (after the original MAPIProxy's mpm_pack).
 *
 *	client --native-- hop A (pack) ==packed== hop B (pack, lasthop) --native-- server
 *
 * Hop A (lasthop = false) packs ROP request buffers of EcDoRpcExt2,
 * EcDoRpcExt and EcDoRpc into proxypack carriers (proxypack.h): the ROPs
 * listed in `opnums` move into the blob with their offsets, and with a
 * `compression` the whole buffer goes in, compressed. Hop B restores the
 * request byte for byte before the server sees it. A packed request also
 * says which algorithms hop A restores; from then on hop B packs the ROP
 * response buffers of that session that shrink, and hop A restores them
 * before the client sees them. A session's first request always goes
 * packed (it carries that offer); later ones only when they shrink.
 *
 *	[global]
 *		dcerpc_mapiproxy:modules = pack
 *		mpm_pack:lasthop     = false        (hop A; true on hop B)
 *		mpm_pack:compression = zstd         (none | zstd | lz4)
 *		mpm_pack:level       = 0            (the algorithm's default)
 *		mpm_pack:opnums      = 0x70, 0x75   (RopIds to extract, hex)
 *		mpm_pack:verify      = no           (re-read each blob before sending it)
 *		mpm_pack:force       = no           (pack even what does not shrink)
 *
 * Fail-safe rules: a hop only restores what the peer marked (RopId 0xA5,
 * magic, version); a lasthop relays native requests untouched and answers
 * natively a session whose requests were never packed; a first hop takes
 * packed responses only in sessions where it offered to restore them; a
 * blob that does not restore exactly (CRC) fails that call with a fault,
 * and nothing packed reaches the server or the client.
 *
 * Put pack last in hop A's module list and first in hop B's, so that the
 * other modules of both hops see native buffers (docs/modules/pack.md).
 */
#include <mapiproxy/module.h>

#include "mapi/call.h"
#include "mapi/emsmdb.h"
#include "mapi/rpc_ext.h"
#include "pack/pack_compress.h"
#include "pack/proxypack.h"
#include "util/cursor.h"
#include "util/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

/* rpc_s_call_failed: what a peer sees for a call whose blob is refused. */
#define PACK_FAULT 0x000006beu

struct pack_global {
	bool lasthop;
	bool verify;
	bool force; /* pack what does not shrink too (tests, measurements) */
	enum pack_algo algo;
	int level;
	bool extract[256];
	size_t n_extract;
};

enum pack_event { PACKED_REQ, RESTORED_REQ, PACKED_RSP, RESTORED_RSP, REFUSED, PACK_EVENTS };

/* Per session and in total: events, and the bytes of the ROP buffer
 * fields (rgbIn / rgbOut / rgb as they travel) on the native leg and
 * between the hops, over every ROP call. */
struct pack_stats {
	unsigned long calls;
	unsigned long n[PACK_EVENTS];
	uint64_t native_req, hop_req, native_rsp, hop_rsp;
};

/* Per session (one client association, paired with one upstream one). */
struct pack_session {
	struct pack_stats st;
	/* Hop A: a packed request told the next hop which algorithms we
	 * restore; from then on requests that do not shrink go native. */
	bool advertised;
	/* Hop B: what the previous hop said it restores (0: nothing yet, so
	 * responses stay native). */
	uint8_t peer_accept;
};

/* Per call, from the request to its response. */
struct pack_call {
	bool passed;     /* a middle hop relayed a packed request as it was */
	const char *bad; /* hop B: why the packed request was refused */
};

static struct pack_stats totals;

/* ---- configuration ---- */

static int parse_opnums(struct mp_module_ctx *ctx, struct pack_global *g, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy) {
		mp_module_error(ctx, "out of memory");
		return MP_MODULE_ERROR;
	}
	int rc = MP_MODULE_OK;
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		/* Hexadecimal with or without 0x, as the original read them. */
		char *end;
		errno = 0;
		long v = strtol(t, &end, 16);
		if (errno || *end || v <= 0 || v >= 0xff || v == PROXYPACK_ROPID) {
			mp_module_error(ctx,
			                "opnums: '%s' is not a RopId (hex 0x01..0xfe, not 0xa5): "
			                "write e.g. opnums = 0x70, 0x75",
			                t);
			rc = MP_MODULE_ERROR;
			break;
		}
		if (g->extract[v]) {
			mp_module_error(ctx, "opnums: 0x%02lx is listed twice", v);
			rc = MP_MODULE_ERROR;
			break;
		}
		g->extract[v] = true;
		g->n_extract++;
	}
	free(copy);
	return rc;
}

static int pack_init(struct mp_module_ctx *ctx)
{
	struct pack_global *g = calloc(1, sizeof(*g));
	if (!g) {
		mp_module_error(ctx, "out of memory");
		return MP_MODULE_ERROR;
	}
	long level = 0;
	const char *algo = mp_module_option(ctx, "compression", "none");
	const char *why;
	if (mp_module_option_bool(ctx, "lasthop", true, &g->lasthop) != MP_MODULE_OK ||
	    mp_module_option_bool(ctx, "verify", false, &g->verify) != MP_MODULE_OK ||
	    mp_module_option_bool(ctx, "force", false, &g->force) != MP_MODULE_OK ||
	    mp_module_option_int(ctx, "level", 0, -1000000, 1000000, &level) != MP_MODULE_OK ||
	    parse_opnums(ctx, g, mp_module_option(ctx, "opnums", "")) != MP_MODULE_OK)
		goto fail;
	if (!pack_algo_parse(algo, &g->algo)) {
		mp_module_error(ctx, "compression = %s: write none, zstd or lz4", algo);
		goto fail;
	}
	if (!pack_algo_available(g->algo)) {
		mp_module_error(ctx, "compression = %s: this build has no %s library; use %s", algo,
		                algo, pack_algo_available(PACK_ALGO_ZSTD) ? "zstd" : "none");
		goto fail;
	}
	if ((why = pack_level_check(g->algo, level))) {
		mp_module_error(ctx, "level = %ld %s", level, why);
		goto fail;
	}
	g->level = (int)level;
	mp_module_set_global(ctx, g);
	mp_module_log(MP_MODULE_LOG_INFO, "%s, compression %s level %d, %zu RopIds extracted%s%s",
	              g->lasthop ? "last hop: restores requests, packs responses"
	                         : "first hop: packs requests, restores responses",
	              pack_algo_name(g->algo), g->level, g->n_extract,
	              g->verify ? ", verify on" : "", g->force ? ", force on" : "");
	return MP_MODULE_OK;
fail:
	free(g);
	return MP_MODULE_ERROR;
}

static void log_stats(const char *who, const struct pack_stats *st);

static void pack_fini(struct mp_module_ctx *ctx)
{
	log_stats("fini", &totals);
	pack_compress_release();
	free(mp_module_global(ctx));
}

/* ---- the ROP buffer field of a call ---- */

struct field {
	struct mp_emsmdb_buf *buf;
	bool legacy; /* EcDoRpc: one XOR-obfuscated buffer, no RPC_HEADER_EXT */
	size_t max_len;
};

static bool rop_field(struct mp_call *call, enum mp_dir dir, void *body, struct field *f)
{
	struct mp_emsmdb_ext_bufs b;
	enum mp_call_dir d = dir == MP_REQUEST ? MP_CALL_REQUEST : MP_CALL_RESPONSE;
	if (!body || strcmp(mp_call_endpoint(call), MP_ENDPOINT_EMSMDB) != 0 ||
	    !mp_emsmdb_ext_buffers(mp_call_opnum(call), d, body, &b) || !b.rop)
		return false;
	f->buf = b.rop;
	f->legacy = b.legacy;
	f->max_len = MP_RPC_EXT_MAX_ROP_BUF;
	if (b.legacy && dir == MP_REQUEST)
		f->max_len = ((struct mp_emsmdb_rpc_req *)body)->usSize; /* rgb's size_is */
	else if (b.legacy)
		f->max_len = 0xffff;
	return f->buf->len > 0;
}

/* The restored ROP buffers of the field. */
static int read_bufs(void *mem, const struct field *f, enum mp_dir dir, struct proxypack_bufs *out,
                     const char **why)
{
	if (f->legacy) {
		uint8_t *clear = talloc_memdup(mem, f->buf->data, f->buf->len);
		out->segs = talloc_zero(mem, struct proxypack_seg);
		if (!clear || !out->segs)
			return MP_ERR_NOMEM;
		mp_rpc_ext_xor(clear, f->buf->len);
		*out->segs = (struct proxypack_seg){0, clear, f->buf->len};
		out->count = 1;
		return MP_OK;
	}
	struct mp_rpc_ext_limits lim;
	mp_rpc_ext_limits_init(&lim, dir == MP_REQUEST ? MP_RPC_EXT_RGBIN : MP_RPC_EXT_RGBOUT);
	struct mp_rpc_ext *ext = NULL;
	int rc = mp_rpc_ext_parse(mem, f->buf->data, f->buf->len, &lim, &ext, why);
	if (rc != MP_OK)
		return rc;
	out->segs = talloc_zero_array(mem, struct proxypack_seg, ext->count);
	if (!out->segs)
		return MP_ERR_NOMEM;
	for (size_t i = 0; i < ext->count; i++)
		out->segs[i] = (struct proxypack_seg){ext->segs[i].flags, ext->segs[i].payload,
		                                      ext->segs[i].size_actual};
	out->count = ext->count;
	return MP_OK;
}

/* The field's bytes for `bufs`: carriers (exact = false: no compression,
 * no obfuscation, Last on the last) or restored native buffers (exact:
 * their own flags, so they are compressed and obfuscated as they came). */
static int build_field(void *mem, const struct field *f, const struct proxypack_bufs *bufs,
                       bool exact, uint8_t **data, size_t *len)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	if (f->legacy) {
		mp_wb_bytes(&out, bufs->segs[0].data, bufs->segs[0].len);
		if (!out.bad)
			mp_rpc_ext_xor(out.data, out.len);
	} else {
		struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
		if (!ext)
			return MP_ERR_NOMEM;
		for (size_t i = 0; i < bufs->count; i++) {
			uint16_t fl = exact ? bufs->segs[i].flags : 0;
			if (!mp_rpc_ext_add(ext, (uint16_t)(fl & ~MP_RHE_LAST), bufs->segs[i].data,
			                    bufs->segs[i].len)) {
				talloc_free(ext);
				return MP_ERR_NOMEM;
			}
		}
		int rc = mp_rpc_ext_build(ext, &out);
		talloc_free(ext);
		if (rc != MP_OK) {
			mp_wb_free(&out);
			return rc;
		}
	}
	if (out.bad || out.len > f->max_len) {
		int rc = out.bad ? MP_ERR_NOMEM : MP_ERR_LIMIT;
		mp_wb_free(&out);
		return rc;
	}
	*data = talloc_memdup(mem, out.data, out.len ? out.len : 1);
	*len = out.len;
	mp_wb_free(&out);
	return *data ? MP_OK : MP_ERR_NOMEM;
}

static void set_field(struct mp_call *call, enum mp_dir dir, const struct field *f, uint8_t *data,
                      size_t len)
{
	/* Keep a varying array's maximum count (EcDoRpcExt2's rgbOut carries
	 * the client's pcbOut) when it still holds the new length. */
	uint32_t max = f->buf->max_count;
	mp_emsmdb_buf_set(f->buf, data, (uint32_t)len);
	if (max >= len)
		f->buf->max_count = max;
	mp_call_changed(call, dir);
}

/* Restored buffers go to a peer that parses RPC_HEADER_EXT chains: the
 * Last flag on the last segment only. */
static bool chain_ok(const struct field *f, const struct proxypack_bufs *b)
{
	if (f->legacy)
		return b->count == 1;
	for (size_t i = 0; i < b->count; i++)
		if (!(b->segs[i].flags & MP_RHE_LAST) != (i + 1 < b->count))
			return false;
	return true;
}

static struct pack_session *session(struct mp_call *call)
{
	struct pack_session **ps =
	    (struct pack_session **)mp_session_private(mp_call_session(call));
	if (!*ps)
		*ps = calloc(1, sizeof(**ps));
	return *ps;
}

static struct pack_call *call_state(struct mp_call *call)
{
	struct pack_call **pc = (struct pack_call **)mp_call_private(call);
	if (!*pc)
		*pc = talloc_zero(mp_call_mem(call), struct pack_call);
	return *pc;
}

static void count(struct mp_call *call, bool request, size_t native, size_t hop)
{
	struct pack_session *ps = session(call);
	struct pack_stats *sets[2] = {ps ? &ps->st : NULL, &totals};
	for (int i = 0; i < 2; i++) {
		if (!sets[i])
			continue;
		if (request) {
			sets[i]->calls++;
			sets[i]->native_req += native;
			sets[i]->hop_req += hop;
		} else {
			sets[i]->native_rsp += native;
			sets[i]->hop_rsp += hop;
		}
	}
}

static void bump(struct mp_call *call, enum pack_event e)
{
	struct pack_session *ps = session(call);
	if (ps)
		ps->st.n[e]++;
	totals.n[e]++;
}

/* One line with the figures, at unbind and at exit. */
static void log_stats(const char *who, const struct pack_stats *st)
{
	mp_module_log(MP_MODULE_LOG_INFO,
	              "%s: %lu ROP calls; requests packed %lu restored %lu: native %llu bytes, "
	              "between hops %llu; responses packed %lu restored %lu: native %llu bytes, "
	              "between hops %llu; refused %lu",
	              who, st->calls, st->n[PACKED_REQ], st->n[RESTORED_REQ],
	              (unsigned long long)st->native_req, (unsigned long long)st->hop_req,
	              st->n[PACKED_RSP], st->n[RESTORED_RSP], (unsigned long long)st->native_rsp,
	              (unsigned long long)st->hop_rsp, st->n[REFUSED]);
}

static void log_call(struct mp_call *call, const char *what, const struct proxypack_info *in,
                     size_t native, size_t hop)
{
	if (!mp_module_log_enabled(MP_MODULE_LOG_DEBUG))
		return;
	mp_module_log(MP_MODULE_LOG_DEBUG,
	              "session %llu call %u %s: %s: native %zu bytes, between hops %zu (%s, blob "
	              "%zu, %zu ROPs extracted), crc %08x",
	              (unsigned long long)mp_session_number(mp_call_session(call)),
	              mp_call_id(call), mp_call_name(call), what, native, hop,
	              pack_algo_name(in->algo), in->blob_len, in->extracted, in->crc);
}

/* Verify option: read our own carriers back before they leave. */
static bool verify_pack(void *mem, const struct proxypack_bufs *native,
                        const struct proxypack_bufs *carrier, enum proxypack_kind kind)
{
	struct proxypack_bufs back;
	struct proxypack_info info;
	const char *why = NULL;
	if (proxypack_unpack(mem, carrier, kind, PROXYPACK_MAX_BODY, &back, &info, &why) != MP_OK) {
		mp_module_log(MP_MODULE_LOG_ERROR, "verify: own blob does not restore: %s", why);
		return false;
	}
	bool same = back.count == native->count;
	for (size_t i = 0; same && i < back.count; i++)
		same = back.segs[i].flags == native->segs[i].flags &&
		       back.segs[i].len == native->segs[i].len &&
		       memcmp(back.segs[i].data, native->segs[i].data, back.segs[i].len) == 0;
	if (!same)
		mp_module_log(MP_MODULE_LOG_ERROR, "verify: own blob restores to other bytes");
	return same;
}

/*
 * Pack `native` into the field. MP_OK (packed), MP_DECLINED (left native:
 * nothing to pack, or not smaller when `only_smaller`), MP_ERR_NOMEM.
 */
static int pack_field(struct mp_call *call, enum mp_dir dir, const struct field *f,
                      const struct proxypack_bufs *native, bool only_smaller, size_t *hop_len)
{
	struct pack_global *g = mp_call_global(call);
	void *mem = mp_call_mem(call);
	size_t room = f->legacy ? f->max_len : MP_RPC_EXT_MAX_PAYLOAD;
	struct proxypack_opts o = {
	    .kind = dir == MP_REQUEST ? PROXYPACK_REQUEST : PROXYPACK_RESPONSE,
	    .algo = g->algo,
	    .level = g->level,
	    .accept = pack_algo_mask(),
	    .extract = dir == MP_REQUEST && g->n_extract ? g->extract : NULL,
	    .max_payload = room > 0xffff ? 0xffff : room,
	    .max_fragments = f->legacy ? 1 : MP_RPC_EXT_MAX_ROP_BUF / (MP_RHE_SIZE + room),
	};
	struct proxypack_bufs carrier;
	struct proxypack_info info;
	int rc = proxypack_pack(mem, native, &o, &carrier, &info);
	if (rc == MP_ERR_NOMEM)
		return rc;
	if (rc != MP_OK)
		return MP_DECLINED; /* nothing listed, or too big: native it is */
	if (g->verify && !verify_pack(mem, native, &carrier, o.kind))
		return MP_DECLINED;
	uint8_t *data;
	size_t len;
	rc = build_field(mem, f, &carrier, false, &data, &len);
	if (rc == MP_ERR_NOMEM)
		return rc;
	if (rc != MP_OK || (only_smaller && !g->force && len >= f->buf->len))
		return MP_DECLINED;
	log_call(call, dir == MP_REQUEST ? "request packed" : "response packed", &info, f->buf->len,
	         len);
	*hop_len = len;
	set_field(call, dir, f, data, len);
	return MP_OK;
}

/*
 * Restore the native buffers from the carriers in the field. MP_OK, or an
 * error with *why (the call must then fail: nothing half-restored leaves).
 */
static int unpack_field(struct mp_call *call, enum mp_dir dir, const struct field *f,
                        const struct proxypack_bufs *carrier, struct proxypack_info *info,
                        size_t *native_len, const char **why)
{
	void *mem = mp_call_mem(call);
	struct proxypack_bufs native;
	enum proxypack_kind kind = dir == MP_REQUEST ? PROXYPACK_REQUEST : PROXYPACK_RESPONSE;
	int rc = proxypack_unpack(mem, carrier, kind, PROXYPACK_MAX_BODY, &native, info, why);
	if (rc != MP_OK)
		return rc;
	if (!chain_ok(f, &native)) {
		*why = "restored RPC_HEADER_EXT flags are not a chain (Last flag misplaced)";
		return MP_ERR_PARSE;
	}
	uint8_t *data;
	size_t len;
	rc = build_field(mem, f, &native, true, &data, &len);
	if (rc != MP_OK) {
		*why = rc == MP_ERR_LIMIT ? "restored buffer over the protocol maximum"
		                          : "cannot rebuild the native buffer";
		return rc;
	}
	log_call(call, dir == MP_REQUEST ? "request restored" : "response restored", info, len,
	         f->buf->len);
	*native_len = len;
	set_field(call, dir, f, data, len);
	return MP_OK;
}

static void refuse(struct mp_call *call, const char *what, const char *why)
{
	bump(call, REFUSED);
	mp_module_log(MP_MODULE_LOG_WARN, "session %llu call %u %s: %s: %s; failing this call",
	              (unsigned long long)mp_session_number(mp_call_session(call)),
	              mp_call_id(call), mp_call_name(call), what, why ? why : "?");
}

/* ---- hooks ---- */

static int pack_pull(struct mp_call *call, void *request)
{
	struct pack_global *g = mp_call_global(call);
	struct field f;
	if (!rop_field(call, MP_REQUEST, request, &f))
		return MP_MODULE_OK;
	void *mem = mp_call_mem(call);
	struct proxypack_bufs bufs;
	const char *why = NULL;
	size_t wire = f.buf->len;
	int rc = read_bufs(mem, &f, MP_REQUEST, &bufs, &why);
	if (rc == MP_ERR_NOMEM)
		return MP_MODULE_ERROR;
	if (rc != MP_OK) { /* not a buffer we can read: the server judges it */
		count(call, true, wire, wire);
		return MP_MODULE_OK;
	}
	bool carrier = proxypack_is_carrier(bufs.segs[0].data, bufs.segs[0].len);
	struct pack_call *pc = call_state(call);
	struct pack_session *ps = session(call);
	if (!pc || !ps)
		return MP_MODULE_ERROR;

	if (g->lasthop) {
		if (!carrier) { /* a native client: relay untouched */
			count(call, true, wire, wire);
			return MP_MODULE_OK;
		}
		struct proxypack_info info;
		size_t native = 0;
		rc = unpack_field(call, MP_REQUEST, &f, &bufs, &info, &native, &why);
		if (rc != MP_OK) {
			/* Answered with a fault in dispatch: with `module errors =
			 * relay` an error here would send the blob on. */
			pc->bad = rc == MP_ERR_NOMEM ? "out of memory restoring the blob"
			          : why              ? why
			                             : "malformed proxypack blob";
			refuse(call, "packed request from the peer refused", pc->bad);
			return MP_MODULE_OK;
		}
		ps->peer_accept = info.accept;
		bump(call, RESTORED_REQ);
		count(call, true, native, wire);
		return MP_MODULE_OK;
	}

	if (carrier) { /* a middle hop: already packed upstream of us */
		pc->passed = true;
		count(call, true, wire, wire);
		return MP_MODULE_OK;
	}
	/* The session's first request goes packed whatever its size: it
	 * tells the next hop we restore packed responses. After that only
	 * what shrinks is packed (compat mode packs what is listed). */
	size_t hop = wire;
	bool only_smaller = ps->advertised && g->algo != PACK_ALGO_NONE;
	rc = pack_field(call, MP_REQUEST, &f, &bufs, only_smaller, &hop);
	if (rc == MP_OK) { /* else native, out of memory too: packing is optional */
		ps->advertised = true;
		bump(call, PACKED_REQ);
	}
	count(call, true, wire, hop);
	return MP_MODULE_OK;
}

static int pack_dispatch(struct mp_call *call, void *request, struct mp_relay *relay)
{
	(void)request;
	struct pack_call **pc = (struct pack_call **)mp_call_private(call);
	if (*pc && (*pc)->bad) {
		mp_call_set_fault(call, PACK_FAULT);
		relay->norelay = true;
	}
	return MP_MODULE_OK;
}

static int pack_push(struct mp_call *call, void *response)
{
	struct pack_global *g = mp_call_global(call);
	struct pack_call *pc = *(struct pack_call **)mp_call_private(call);
	struct pack_session *ps = session(call);
	struct field f;
	if (!rop_field(call, MP_RESPONSE, response, &f))
		return MP_MODULE_OK;
	void *mem = mp_call_mem(call);
	struct proxypack_bufs bufs;
	const char *why = NULL;
	size_t wire = f.buf->len;
	int rc = read_bufs(mem, &f, MP_RESPONSE, &bufs, &why);
	if (rc == MP_ERR_NOMEM && !g->lasthop) { /* it may be a carrier: never relay it */
		mp_call_set_fault(call, PACK_FAULT);
		refuse(call, "response unread", "out of memory");
		return MP_MODULE_OK;
	}
	if (rc != MP_OK) { /* unreadable: nothing of ours, the peer judges it */
		count(call, false, wire, wire);
		return MP_MODULE_OK;
	}
	bool carrier = proxypack_is_carrier(bufs.segs[0].data, bufs.segs[0].len);

	if (g->lasthop) {
		size_t hop = wire;
		if (ps && !carrier && g->algo != PACK_ALGO_NONE &&
		    (ps->peer_accept & (1u << g->algo))) {
			rc = pack_field(call, MP_RESPONSE, &f, &bufs, true, &hop);
			if (rc == MP_OK) /* else native */
				bump(call, PACKED_RSP);
		}
		count(call, false, wire, hop);
		return MP_MODULE_OK;
	}

	if (!carrier || (pc && pc->passed)) { /* native, or a middle hop's */
		count(call, false, wire, wire);
		return MP_MODULE_OK;
	}
	if (!ps || !ps->advertised) {
		/* Packed, though we never said we restore anything: the
		 * client must not see it. */
		mp_call_set_fault(call, PACK_FAULT);
		refuse(call, "packed response in a session that never asked for one",
		       "the next hop misbehaves");
		return MP_MODULE_OK;
	}
	struct proxypack_info info;
	size_t native = 0;
	rc = unpack_field(call, MP_RESPONSE, &f, &bufs, &info, &native, &why);
	if (rc != MP_OK) {
		/* A fault, not an error: `module errors = relay` would hand
		 * the carrier to the client. */
		mp_call_set_fault(call, PACK_FAULT);
		refuse(call, "packed response from the peer refused",
		       rc == MP_ERR_NOMEM ? "out of memory" : why);
		return MP_MODULE_OK;
	}
	bump(call, RESTORED_RSP);
	count(call, false, native, wire);
	return MP_MODULE_OK;
}

static void pack_unbind(struct mp_session *s)
{
	struct pack_session **ps = (struct pack_session **)mp_session_private(s);
	if (*ps && (*ps)->st.calls) {
		char who[48];
		snprintf(who, sizeof(who), "session %llu",
		         (unsigned long long)mp_session_number(s));
		log_stats(who, &(*ps)->st);
	}
	free(*ps);
	*ps = NULL;
}

MP_MODULE_EXPORT = {
    .abi = MP_MODULE_ABI,
    .name = "pack",
    .description = "pack and compress ROP buffers between two mapiproxy hops",
    .endpoint = MP_ENDPOINT_EMSMDB,
    .init = pack_init,
    .fini = pack_fini,
    .pull = pack_pull,
    .dispatch = pack_dispatch,
    .push = pack_push,
    .unbind = pack_unbind,
};
