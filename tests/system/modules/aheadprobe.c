/*
 * Test module: for calls of opnum aheadprobe:opnum, reads ahead
 * aheadprobe:count times by sending the client's request again, and logs
 * each read-ahead response. Built out of tree by test_modules.py.
 */
#include <mapiproxy/module.h>

static long want_opnum = -1, want_count = 0;

static int init(struct mp_module_ctx *ctx)
{
	if (mp_module_option_int(ctx, "opnum", -1, -1, 65535, &want_opnum) != MP_MODULE_OK ||
	    mp_module_option_int(ctx, "count", 3, 0, 100000, &want_count) != MP_MODULE_OK)
		return MP_MODULE_ERROR;
	return MP_MODULE_OK;
}

static int dispatch(struct mp_call *call, void *request, struct mp_relay *relay)
{
	(void)request;
	if (mp_call_opnum(call) != want_opnum)
		return MP_MODULE_OK;
	if (!mp_call_is_ahead(call)) {
		relay->ahead = true; /* ask to be called again after the response */
		return MP_MODULE_OK;
	}
	/* A read-ahead call: its request starts as the client's. */
	long *n = (long *)mp_session_private(mp_call_session(call));
	if (*n >= want_count) {
		relay->ahead = false;
		*n = 0;
		return MP_MODULE_OK;
	}
	(*n)++;
	struct mp_stub st;
	if (mp_call_stub(call, MP_REQUEST, &st) != MP_MODULE_OK ||
	    mp_call_set_request(call, st.data, st.len) != MP_MODULE_OK)
		return MP_MODULE_ERROR;
	relay->ahead = true;
	return MP_MODULE_OK;
}

static int push(struct mp_call *call, void *response)
{
	(void)response;
	if (!mp_call_is_ahead(call))
		return MP_MODULE_OK;
	struct mp_stub st;
	mp_call_stub(call, MP_RESPONSE, &st);
	mp_module_log(MP_MODULE_LOG_INFO, "read-ahead response of %s: %zu bytes",
		      mp_call_name(call), st.len);
	return MP_MODULE_OK;
}

static void unbind(struct mp_session *s)
{
	*mp_session_private(s) = 0; /* a counter, not a pointer: nothing to free */
}

MP_MODULE_EXPORT = {
	.abi = MP_MODULE_ABI,
	.name = "aheadprobe",
	.description = "test: reads ahead by repeating a call",
	.endpoint = MP_ENDPOINT_NSPI,
	.init = init,
	.dispatch = dispatch,
	.push = push,
	.unbind = unbind,
};
