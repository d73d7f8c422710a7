/*
 * Test module: fails the hook named by failer:hook (ndr_pull, pull,
 * dispatch, ndr_push, push) for calls of opnum failer:opnum, or answers
 * them itself with failer:hook = norelay (a fault failer:fault).
 * Built out of tree by test_modules.py, against <mapiproxy/module.h> only.
 */
#include <mapiproxy/module.h>

#include <stdlib.h>
#include <string.h>

struct cfg {
	char hook[16];
	long opnum;
	long fault;
};

static int init(struct mp_module_ctx *ctx)
{
	struct cfg *c = calloc(1, sizeof(*c));
	if (!c)
		return MP_MODULE_ERROR;
	strncpy(c->hook, mp_module_option(ctx, "hook", "pull"), sizeof(c->hook) - 1);
	if (mp_module_option_int(ctx, "opnum", -1, -1, 65535, &c->opnum) != MP_MODULE_OK ||
	    mp_module_option_int(ctx, "fault", 5, 0, 0x7fffffff, &c->fault) != MP_MODULE_OK) {
		free(c);
		return MP_MODULE_ERROR;
	}
	if (strcmp(c->hook, "refuse") == 0) {
		mp_module_error(ctx, "failer:hook = refuse: refusing to start, as asked");
		free(c);
		return MP_MODULE_ERROR;
	}
	mp_module_set_global(ctx, c);
	return MP_MODULE_OK;
}

static void fini(struct mp_module_ctx *ctx)
{
	free(mp_module_global(ctx));
}

static int hit(struct mp_call *call, const char *hook)
{
	struct cfg *c = mp_call_global(call);
	return c->opnum == mp_call_opnum(call) && strcmp(c->hook, hook) == 0;
}

static int ndr_pull(struct mp_call *call, struct mp_stub *stub)
{
	(void)stub;
	return hit(call, "ndr_pull") ? MP_MODULE_ERROR : MP_MODULE_OK;
}

static int pull(struct mp_call *call, void *request)
{
	(void)request;
	return hit(call, "pull") ? MP_MODULE_ERROR : MP_MODULE_OK;
}

static int dispatch(struct mp_call *call, void *request, struct mp_relay *relay)
{
	(void)request;
	if (hit(call, "norelay")) {
		struct cfg *c = mp_call_global(call);
		mp_call_set_fault(call, (uint32_t)c->fault);
		relay->norelay = true;
		return MP_MODULE_OK;
	}
	return hit(call, "dispatch") ? MP_MODULE_ERROR : MP_MODULE_OK;
}

static int ndr_push(struct mp_call *call, struct mp_stub *stub)
{
	(void)stub;
	return hit(call, "ndr_push") ? MP_MODULE_ERROR : MP_MODULE_OK;
}

static int push(struct mp_call *call, void *response)
{
	(void)response;
	return hit(call, "push") ? MP_MODULE_ERROR : MP_MODULE_OK;
}

MP_MODULE_EXPORT = {
	.abi = MP_MODULE_ABI,
	.name = "failer",
	.description = "test: fails one hook of one opnum",
	.endpoint = MP_ENDPOINT_NSPI,
	.init = init,
	.fini = fini,
	.ndr_pull = ndr_pull,
	.pull = pull,
	.dispatch = dispatch,
	.ndr_push = ndr_push,
	.push = push,
};
