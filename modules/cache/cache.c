/*
 * cache — serve message and attachment streams from a local cache, after
 * OpenChange MAPIProxy's mpm_cache (docs/modules/cache.md):
 *
 *	dcerpc_mapiproxy:modules = cache
 *	mpm_cache:path     = /var/cache/mapiproxy
 *	mpm_cache:ahead    = false      ; true on a proxy next to the server
 *	mpm_cache:sync     = false      ; true on a proxy next to the clients
 *	mpm_cache:sync_cmd = /usr/bin/rsync -z proxy@remote:__FILE__ __FILE__
 *
 * Scenario 1: the first time a session reads a stream (RopOpenStream,
 * RopReadStream...) the data the server returns is copied into the cache;
 * later sessions that open the same stream (the server still decides: every
 * RopOpen* goes to it) have their reads answered here, without the server.
 * Scenario 2: the proxy next to the server reads a stream ahead at the first
 * RopReadStream and caches it; the proxy next to the clients runs sync_cmd
 * to copy that file and plays it back.
 *
 * Hooks (EMSMDB EcDoRpc, EcDoRpcExt, EcDoRpcExt2 only): pull reads the
 * request ROP buffer and prepares an answer or the buffer to relay (with
 * realigning seeks), dispatch gives the answer (norelay), push reads the
 * response, and read-ahead calls fetch a message's change stamp or the rest
 * of a stream.
 */
#include "cache.h"

#include "mapi/emsmdb.h"
#include "mapi/rpc_ext.h"
#include "util/cursor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <talloc.h>
#include <unistd.h>

#define OP_EC_DO_RPC 2
#define OP_EC_DO_RPC_EXT 9
#define OP_EC_DO_RPC_EXT2 11

/* ---- options ----------------------------------------------------------- */

static void index_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mp_module_log(level, "%s", msg);
}

static int mode_option(struct mp_module_ctx *ctx, const char *name, const char *def, unsigned *out)
{
	const char *v = mp_module_option(ctx, name, def);
	char *end;
	errno = 0;
	unsigned long m = strtoul(v, &end, 8);
	if (errno || end == v || *end || m > 0777) {
		mp_module_error(ctx, "mpm_cache:%s: expected an octal mode such as %s, found '%s'",
		                name, def, v);
		return MP_MODULE_ERROR;
	}
	*out = (unsigned)m;
	return MP_MODULE_OK;
}

static void global_free(struct cache_global *g)
{
	if (!g)
		return;
	cache_index_close(g->ix);
	cache_sync_argv_free(g->conf.sync_argv);
	free(g);
}

static int cache_init(struct mp_module_ctx *ctx)
{
	struct cache_global *g = calloc(1, sizeof(*g));
	if (!g) {
		mp_module_error(ctx, "out of memory");
		return MP_MODULE_ERROR;
	}
	struct cache_conf *c = &g->conf;
	struct cache_index_conf ic = {0};
	long timeout = 0;
	uint64_t chunk = 0, sync_min = 0;
	const char *path = mp_module_option(ctx, "path", "");
	if (!path[0]) {
		mp_module_error(ctx, "mpm_cache:path is not set: give the directory that holds the "
		                     "cache (made with mpm_cache:dir mode when missing)");
		goto fail;
	}
	if (mp_module_option_bool(ctx, "ahead", false, &c->ahead) != MP_MODULE_OK ||
	    mp_module_option_bool(ctx, "sync", false, &c->sync) != MP_MODULE_OK ||
	    mp_module_option_bool(ctx, "verify", true, &c->verify) != MP_MODULE_OK ||
	    mp_module_option_size(ctx, "sync_min", 500000, &sync_min) != MP_MODULE_OK ||
	    mp_module_option_size(ctx, "min size", 32768, &c->min_size) != MP_MODULE_OK ||
	    mp_module_option_int(ctx, "sync timeout", 300, 1, 86400, &timeout) != MP_MODULE_OK ||
	    mp_module_option_size(ctx, "max size", 1ull << 30, &ic.max_size) != MP_MODULE_OK ||
	    mp_module_option_size(ctx, "index size", 64ull << 20, &ic.map_size) != MP_MODULE_OK ||
	    mp_module_option_size(ctx, "ahead chunk", 0x7000, &chunk) != MP_MODULE_OK ||
	    mode_option(ctx, "file mode", "0600", &ic.file_mode) != MP_MODULE_OK ||
	    mode_option(ctx, "dir mode", "0700", &ic.dir_mode) != MP_MODULE_OK)
		goto fail;
	c->sync_min = sync_min;
	c->sync_timeout = (unsigned)timeout;
	if (chunk < 512 || chunk > 0x7F00) {
		mp_module_error(ctx,
		                "mpm_cache:ahead chunk: %llu bytes; give 512 to 32512 (one "
		                "RopReadStream answer must fit a 32 KiB buffer)",
		                (unsigned long long)chunk);
		goto fail;
	}
	c->ahead_chunk = (uint32_t)chunk;
	if (ic.map_size < (1u << 20)) {
		mp_module_error(ctx, "mpm_cache:index size: at least 1M");
		goto fail;
	}
	if (c->ahead && c->sync) {
		mp_module_error(ctx, "mpm_cache:ahead and mpm_cache:sync exclude each other: ahead "
		                     "is for the proxy next to the server, sync for the one next "
		                     "to the clients");
		goto fail;
	}
	if (c->sync) {
		char err[300] = "";
		const char *cmd = mp_module_option(ctx, "sync_cmd", "");
		if (!cmd[0]) {
			mp_module_error(ctx, "mpm_cache:sync = true needs mpm_cache:sync_cmd, the "
			                     "command that copies __FILE__ from the other proxy");
			goto fail;
		}
		if (!(c->sync_argv = cache_sync_parse(cmd, err, sizeof(err)))) {
			mp_module_error(ctx, "%s", err);
			goto fail;
		}
		/* The end of a command is watched through its pidfd. */
		int fd = pidfd_open(getpid(), 0);
		if (fd < 0) {
			mp_module_error(ctx,
			                "mpm_cache:sync needs pidfd_open (Linux 5.3 or later): "
			                "%s",
			                strerror(errno));
			goto fail;
		}
		close(fd);
	}
	ic.log = index_log;
	char err[600] = "";
	if (cache_index_open(path, &ic, &g->ix, err, sizeof(err)) != CACHE_OK) {
		mp_module_error(ctx, "mpm_cache:path %s: %s", path, err);
		goto fail;
	}
	mp_module_set_global(ctx, g);
	mp_module_log(MP_MODULE_LOG_INFO, "cache in %s%s%s, up to %llu bytes", path,
	              c->ahead ? ", reading streams ahead" : "",
	              c->sync ? ", syncing big streams with sync_cmd" : "",
	              (unsigned long long)ic.max_size);
	return MP_MODULE_OK;
fail:
	global_free(g);
	return MP_MODULE_ERROR;
}

static void cache_fini(struct mp_module_ctx *ctx)
{
	struct cache_global *g = mp_module_global(ctx);
	if (!g)
		return;
	cache_sync_shutdown(g);
	mp_module_log(MP_MODULE_LOG_INFO,
	              "%llu bytes in %llu ROPs served from the cache; %llu streams cached, %llu "
	              "synced (%llu failed), %llu invalidations",
	              (unsigned long long)g->served_bytes, (unsigned long long)g->served_rops,
	              (unsigned long long)g->captured, (unsigned long long)g->syncs_done,
	              (unsigned long long)g->syncs_failed, (unsigned long long)g->invalidations);
	global_free(g);
}

/* ---- calls ------------------------------------------------------------- */

static bool rop_call(struct mp_call *call)
{
	uint16_t op = mp_call_opnum(call);
	return op == OP_EC_DO_RPC || op == OP_EC_DO_RPC_EXT || op == OP_EC_DO_RPC_EXT2;
}

static struct cache_sess *session(struct mp_call *call)
{
	struct mp_session *ms = mp_call_session(call);
	struct cache_sess **s = (struct cache_sess **)mp_session_private(ms);
	if (!*s)
		*s = cache_sess_new(mp_session_number(ms));
	return *s;
}

/* Room for the ROPs of the response to `request`. */
static size_t response_budget(uint16_t op, const void *request)
{
	size_t max;
	if (op == OP_EC_DO_RPC_EXT2)
		max = ((const struct mp_emsmdb_rpc_ext2_req *)request)->pcbOut;
	else if (op == OP_EC_DO_RPC_EXT)
		max = ((const struct mp_emsmdb_rpc_ext_req *)request)->pcbOut;
	else
		return ((const struct mp_emsmdb_rpc_req *)request)->usSize;
	max = max > MP_RHE_SIZE ? max - MP_RHE_SIZE : 0; /* one RPC_HEADER_EXT */
	return max > 0x8000 ? 0x8000 : max;              /* one payload */
}

/* The whole response stub around our ROP buffer, as the server would. */
static int answer_call(struct mp_call *call, const void *request, const uint8_t *rops, size_t len)
{
	uint16_t op = mp_call_opnum(call);
	void *mem = mp_call_mem(call);
	struct mp_wbuf stub, wire;
	mp_wb_init(&stub);
	mp_wb_init(&wire);
	bool ok = false;
	if (op == OP_EC_DO_RPC) {
		const struct mp_emsmdb_rpc_req *rq = request;
		struct mp_emsmdb_rpc_resp rs = {.pcxh = rq->pcxh};
		uint8_t *x = talloc_memdup(mem, rops, len);
		if (x) {
			mp_rpc_ext_xor(x, len);
			mp_emsmdb_buf_set(&rs.rgb, x, (uint32_t)len);
			rs.rgb.max_count = rq->usSize;
			ok = mp_emsmdb_push(op, MP_CALL_RESPONSE, &rs, &stub);
		}
	} else {
		uint32_t flags = op == OP_EC_DO_RPC_EXT2
		                     ? ((const struct mp_emsmdb_rpc_ext2_req *)request)->pulFlags
		                     : ((const struct mp_emsmdb_rpc_ext_req *)request)->pulFlags;
		uint16_t rhe = MP_RHE_LAST;
		if (!(flags & MP_EMSMDB_RPC_NO_COMPRESSION))
			rhe |= MP_RHE_COMPRESSED;
		if (!(flags & MP_EMSMDB_RPC_NO_XOR_MAGIC))
			rhe |= MP_RHE_XORMAGIC;
		struct mp_rpc_ext *ext = mp_rpc_ext_new(mem);
		ok = ext && mp_rpc_ext_add(ext, rhe, rops, len) &&
		     mp_rpc_ext_build(ext, &wire) == 0 && !wire.bad;
		if (ok && op == OP_EC_DO_RPC_EXT2) {
			const struct mp_emsmdb_rpc_ext2_req *rq = request;
			struct mp_emsmdb_rpc_ext2_resp rs = {.pcxh = rq->pcxh};
			mp_emsmdb_buf_set(&rs.rgbOut, wire.data, (uint32_t)wire.len);
			ok = wire.len <= rq->pcbOut &&
			     mp_emsmdb_push(op, MP_CALL_RESPONSE, &rs, &stub);
		} else if (ok) {
			const struct mp_emsmdb_rpc_ext_req *rq = request;
			struct mp_emsmdb_rpc_ext_resp rs = {.pcxh = rq->pcxh};
			mp_emsmdb_buf_set(&rs.rgbOut, wire.data, (uint32_t)wire.len);
			ok = wire.len <= rq->pcbOut &&
			     mp_emsmdb_push(op, MP_CALL_RESPONSE, &rs, &stub);
		}
	}
	int rc =
	    ok && !stub.bad ? mp_call_set_response(call, stub.data, stub.len) : MP_MODULE_ERROR;
	mp_wb_free(&stub);
	mp_wb_free(&wire);
	return rc;
}

/* A read-ahead call: the next task of the session, if any. */
static int ahead_dispatch(struct cache_global *g, struct cache_sess *s, struct mp_call *call,
                          struct mp_relay *relay)
{
	relay->ahead = false;
	while (s->n_tasks) {
		struct cache_task t = s->tasks[0];
		memmove(s->tasks, s->tasks + 1, (s->n_tasks - 1) * sizeof(s->tasks[0]));
		s->n_tasks--;
		uint8_t *buf;
		size_t len;
		if (!cache_rops_task_request(g, s, mp_call_mem(call), &t, &buf, &len))
			continue;
		struct cache_call *cc = mp_call_alloc(call, sizeof(*cc));
		if (!cc || mp_call_set_rop_buffer(call, MP_REQUEST, buf, len) != MP_MODULE_OK)
			return MP_MODULE_ERROR;
		cc->req = buf;
		cc->req_len = len;
		cc->task = t;
		*mp_call_private(call) = cc;
		relay->ahead = true;
		return MP_MODULE_OK;
	}
	return MP_MODULE_OK;
}

/* The request, read before later modules change it (pack packs in its
 * pull hook): invalidations, then an answer for dispatch to give, or the
 * buffer to relay with its realigning seeks. */
static int cache_pull(struct mp_call *call, void *request)
{
	struct cache_global *g = mp_call_global(call);
	if (!rop_call(call) || mp_call_is_ahead(call))
		return MP_MODULE_OK;
	struct cache_sess *s = session(call);
	if (!s)
		return MP_MODULE_ERROR;
	const uint8_t *buf;
	size_t len;
	if (!request || mp_call_rop_buffer_count(call, MP_REQUEST) != 1 ||
	    mp_call_rop_buffer(call, MP_REQUEST, 0, &buf, &len) != MP_MODULE_OK)
		return MP_MODULE_OK; /* nothing we can read: relayed as it is */
	void *mem = mp_call_mem(call);
	uint16_t op = mp_call_opnum(call);
	uint8_t *relayed;
	size_t relayed_len, n_seeks;
	struct cache_call *cc = mp_call_alloc(call, sizeof(*cc));
	if (!cc)
		return MP_MODULE_ERROR;
	*mp_call_private(call) = cc;
	if (cache_rops_request(g, s, mem, buf, len, response_budget(op, request), &cc->answer,
	                       &relayed, &relayed_len, &n_seeks) != 0)
		return MP_MODULE_ERROR;
	if (cc->answer)
		return MP_MODULE_OK;
	if (relayed) {
		/* Our seeks' answers are taken out on the way back: no chained
		 * extra buffers. The structure is stale after the new buffer. */
		if (op == OP_EC_DO_RPC_EXT2)
			((struct mp_emsmdb_rpc_ext2_req *)request)->pulFlags &=
			    ~MP_EMSMDB_RPC_CHAIN;
		else if (op == OP_EC_DO_RPC_EXT)
			((struct mp_emsmdb_rpc_ext_req *)request)->pulFlags &= ~MP_EMSMDB_RPC_CHAIN;
		mp_call_changed(call, MP_REQUEST);
		if (mp_call_set_rop_buffer(call, MP_REQUEST, relayed, relayed_len) != MP_MODULE_OK)
			return MP_MODULE_ERROR;
		cc->req = relayed;
		cc->req_len = relayed_len;
		cc->n_seeks = n_seeks;
	} else {
		cc->req = talloc_memdup(mem, buf, len ? len : 1);
		cc->req_len = len;
		if (!cc->req)
			return MP_MODULE_ERROR;
	}
	return MP_MODULE_OK;
}

/* Give the answer pull made (norelay), or read ahead. */
static int cache_dispatch(struct mp_call *call, void *request, struct mp_relay *relay)
{
	struct cache_global *g = mp_call_global(call);
	if (!rop_call(call))
		return MP_MODULE_OK;
	struct cache_sess *s = session(call);
	if (!s)
		return MP_MODULE_ERROR;
	if (mp_call_is_ahead(call))
		return ahead_dispatch(g, s, call, relay);
	struct cache_call *cc = *mp_call_private(call);
	if (!cc || !cc->answer || !request)
		return MP_MODULE_OK;
	if (answer_call(call, request, cc->answer->buf, cc->answer->len) != MP_MODULE_OK)
		return MP_MODULE_ERROR;
	cache_rops_answer_given(g, s, cc->answer);
	cc->answered = true;
	relay->norelay = true;
	return MP_MODULE_OK;
}

static int cache_push(struct mp_call *call, void *response)
{
	(void)response;
	struct cache_global *g = mp_call_global(call);
	struct cache_call *cc = *mp_call_private(call);
	if (!rop_call(call) || !cc || cc->answered || !cc->req)
		return MP_MODULE_OK;
	struct cache_sess *s = session(call);
	if (!s)
		return MP_MODULE_ERROR;
	struct mp_session *ms = mp_call_session(call);
	void *mem = mp_call_mem(call);
	const uint8_t *rsp = NULL;
	size_t len = 0, n = mp_call_rop_buffer_count(call, MP_RESPONSE);
	if (n >= 1 && mp_call_rop_buffer(call, MP_RESPONSE, 0, &rsp, &len) != MP_MODULE_OK)
		rsp = NULL;
	if (mp_call_is_ahead(call)) {
		cache_rops_task_response(g, s, ms, mem, &cc->task, cc->req, cc->req_len,
		                         n == 1 ? rsp : NULL, len);
		return MP_MODULE_OK;
	}
	cache_rops_response(g, s, ms, mem, cc->req, cc->req_len, rsp, len, n != 1 || !rsp);
	if (cc->n_seeks) {
		uint8_t *out;
		size_t out_len;
		if (n != 1 || !rsp ||
		    !cache_rops_strip_seeks(mem, rsp, len, cc->n_seeks, &out, &out_len)) {
			mp_module_log(
			    MP_MODULE_LOG_ERROR,
			    "session %llu: the answers to the %zu seek(s) the cache added "
			    "are not where they should be; failing the call rather than "
			    "showing them to the client",
			    (unsigned long long)s->id, cc->n_seeks);
			return MP_MODULE_ERROR;
		}
		if (mp_call_set_rop_buffer(call, MP_RESPONSE, out, out_len) != MP_MODULE_OK)
			return MP_MODULE_ERROR;
	}
	if (s->n_tasks)
		mp_call_ahead(call); /* a stamp to fetch or a stream to read ahead */
	return MP_MODULE_OK;
}

static void cache_unbind(struct mp_session *ms)
{
	struct cache_sess **s = (struct cache_sess **)mp_session_private(ms);
	cache_sess_free(NULL, *s);
	*s = NULL;
}

MP_MODULE_EXPORT = {
    .abi = MP_MODULE_ABI,
    .name = "cache",
    .description = "cache message and attachment streams; read ahead, sync between proxies",
    .endpoint = MP_ENDPOINT_EMSMDB,
    .init = cache_init,
    .fini = cache_fini,
    .pull = cache_pull,
    .dispatch = cache_dispatch,
    .push = cache_push,
    .unbind = cache_unbind,
};
