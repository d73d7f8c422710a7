/*
 * dummy — the sample module: a template for writing your own.
 *
 * It changes nothing. Each hook logs one line (at info level) naming the
 * call, so you can watch the order hooks run in:
 *
 *	[global]
 *		dcerpc_mapiproxy:modules = dummy
 *		dummy:tag = first          (optional: a word added to each line)
 *
 * Copy this file, rename the descriptor's name, keep the hooks you need and
 * delete the others (NULL hooks cost nothing). It uses only
 * <mapiproxy/module.h>, so it builds out of tree:
 *
 *	cc -shared -fPIC $(pkg-config --cflags mapiproxy-module) -o dummy.so dummy.c
 *
 * docs/modules.md walks through it.
 */
#include <mapiproxy/module.h>

#include <stdlib.h>
#include <string.h>

/* Global state: made once in init(), freed in fini(). */
struct dummy_global {
	char tag[64];
	unsigned long calls; /* calls seen, over all sessions */
};

/* Per-session state: made on the session's first call, freed in unbind(). */
struct dummy_session {
	unsigned long calls;
};

static int dummy_init(struct mp_module_ctx *ctx)
{
	struct dummy_global *g = calloc(1, sizeof(*g));
	if (!g) {
		mp_module_error(ctx, "out of memory");
		return MP_MODULE_ERROR;
	}
	/* "dummy:tag" (or "mpm_dummy:tag") from the configuration. */
	const char *tag = mp_module_option(ctx, "tag", "");
	strncpy(g->tag, tag, sizeof(g->tag) - 1);
	mp_module_set_global(ctx, g);
	mp_module_log(MP_MODULE_LOG_INFO, "init%s%s", g->tag[0] ? " tag=" : "", g->tag);
	return MP_MODULE_OK;
}

static void dummy_fini(struct mp_module_ctx *ctx)
{
	struct dummy_global *g = mp_module_global(ctx);
	mp_module_log(MP_MODULE_LOG_INFO, "fini after %lu calls", g ? g->calls : 0);
	free(g);
}

/* One line per hook: "module dummy: [tag] session 3 call 7 EcDoRpcExt2: pull". */
static void trace(struct mp_call *call, const char *hook, size_t bytes)
{
	struct dummy_global *g = mp_call_global(call);
	mp_module_log(MP_MODULE_LOG_INFO, "%s%s%ssession %llu call %u %s %s%s: %s (%zu bytes)",
		      g->tag[0] ? "[" : "", g->tag, g->tag[0] ? "] " : "",
		      (unsigned long long)mp_session_number(mp_call_session(call)), mp_call_id(call),
		      mp_call_endpoint(call), mp_call_name(call),
		      mp_call_is_ahead(call) ? " (read-ahead)" : "", hook, bytes);
}

static int dummy_ndr_pull(struct mp_call *call, struct mp_stub *stub)
{
	struct dummy_global *g = mp_call_global(call);
	g->calls++;
	/* Per-session state lives behind mp_session_private(). */
	struct mp_session *s = mp_call_session(call);
	struct dummy_session **ds = (struct dummy_session **)mp_session_private(s);
	if (!*ds && !(*ds = calloc(1, sizeof(**ds))))
		return MP_MODULE_ERROR; /* the call gets a fault; the session goes on */
	(*ds)->calls++;
	trace(call, "ndr_pull", stub->len);
	return MP_MODULE_OK;
}

static int dummy_pull(struct mp_call *call, void *request)
{
	/* `request` is the decoded structure (NULL for interfaces without a
	 * codec). A module that edits it calls mp_call_changed(). */
	(void)request;
	struct mp_stub st;
	mp_call_stub(call, MP_REQUEST, &st);
	trace(call, "pull", st.len);
	return MP_MODULE_OK;
}

static int dummy_dispatch(struct mp_call *call, void *request, struct mp_relay *relay)
{
	/* Set relay->norelay (after mp_call_set_response) to answer here, or
	 * relay->ahead to be asked again once the response is in. */
	(void)request;
	(void)relay;
	trace(call, "dispatch", 0);
	return MP_MODULE_OK;
}

static int dummy_ndr_push(struct mp_call *call, struct mp_stub *stub)
{
	trace(call, "ndr_push", stub->len);
	return MP_MODULE_OK;
}

static int dummy_push(struct mp_call *call, void *response)
{
	(void)response;
	struct mp_stub st;
	mp_call_stub(call, MP_RESPONSE, &st);
	trace(call, "push", st.len);
	return MP_MODULE_OK;
}

static void dummy_unbind(struct mp_session *s)
{
	struct dummy_session **ds = (struct dummy_session **)mp_session_private(s);
	mp_module_log(MP_MODULE_LOG_INFO, "unbind session %llu after %lu calls",
		      (unsigned long long)mp_session_number(s), *ds ? (*ds)->calls : 0);
	free(*ds);
	*ds = NULL;
}

MP_MODULE_EXPORT = {
	.abi = MP_MODULE_ABI,
	.name = "dummy",
	.description = "sample module: logs every hook, changes nothing",
	.endpoint = MP_ENDPOINT_ANY,
	.init = dummy_init,
	.fini = dummy_fini,
	.ndr_pull = dummy_ndr_pull,
	.pull = dummy_pull,
	.dispatch = dummy_dispatch,
	.ndr_push = dummy_ndr_push,
	.push = dummy_push,
	.unbind = dummy_unbind,
};
