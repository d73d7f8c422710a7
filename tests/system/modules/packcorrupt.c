/*
 * packcorrupt — a test module that damages one proxypack blob, so the
 * tests can watch the pack hop on the other side refuse it.
 *
 *	packcorrupt:direction = request | response
 *	packcorrupt:call      = N        (from the Nth ROP call the proxy sees, 1)
 *	packcorrupt:byte      = K        (offset in the blob: 16 = CRC, 4 = version)
 *
 * It flips the bits of blob byte K in the first ROP buffer of the chosen
 * direction that is a carrier (first RopId 0xA5), from call N on, once.
 * Listed after pack on the first hop (requests) or before pack on the last
 * hop (responses: response hooks run in reverse). Public header only.
 */
#include <mapiproxy/module.h>

#include <stdlib.h>
#include <string.h>

struct corrupt {
	bool response;
	long call, byte;
	long calls; /* ROP requests seen, over all sessions */
	bool done;
};

static int corrupt_init(struct mp_module_ctx *ctx)
{
	struct corrupt *c = calloc(1, sizeof(*c));
	if (!c)
		return MP_MODULE_ERROR;
	c->response = strcmp(mp_module_option(ctx, "direction", "request"), "response") == 0;
	if (mp_module_option_int(ctx, "call", 1, 1, 1000000, &c->call) != MP_MODULE_OK ||
	    mp_module_option_int(ctx, "byte", 16, 0, 65535, &c->byte) != MP_MODULE_OK) {
		free(c);
		return MP_MODULE_ERROR;
	}
	mp_module_set_global(ctx, c);
	return MP_MODULE_OK;
}

static void corrupt_fini(struct mp_module_ctx *ctx)
{
	free(mp_module_global(ctx));
}

static int damage(struct mp_call *call, enum mp_dir dir)
{
	struct corrupt *c = mp_call_global(call);
	if (mp_call_rop_buffer_count(call, dir) == 0)
		return MP_MODULE_OK;
	if (dir == MP_REQUEST)
		c->calls++;
	if (c->done || c->calls < c->call || (dir == MP_RESPONSE) != c->response)
		return MP_MODULE_OK;
	const uint8_t *data;
	size_t len;
	if (mp_call_rop_buffer(call, dir, 0, &data, &len) != MP_MODULE_OK)
		return MP_MODULE_ERROR;
	size_t at = 7 + (size_t)c->byte; /* RopSize, RopId, LogonId, index, cb */
	if (len <= at || data[2] != 0xA5)
		return MP_MODULE_OK;
	uint8_t *copy = mp_call_alloc(call, len);
	if (!copy)
		return MP_MODULE_ERROR;
	memcpy(copy, data, len);
	copy[at] ^= 0xff;
	c->done = true;
	mp_module_log(MP_MODULE_LOG_INFO, "damaged blob byte %ld of the %s of ROP call %ld",
	              c->byte, dir == MP_REQUEST ? "request" : "response", c->calls);
	return mp_call_set_rop_buffer(call, dir, copy, len);
}

static int corrupt_pull(struct mp_call *call, void *request)
{
	(void)request;
	return damage(call, MP_REQUEST);
}

static int corrupt_push(struct mp_call *call, void *response)
{
	(void)response;
	return damage(call, MP_RESPONSE);
}

MP_MODULE_EXPORT = {
    .abi = MP_MODULE_ABI,
    .name = "packcorrupt",
    .description = "test: damages one proxypack blob",
    .endpoint = MP_ENDPOINT_EMSMDB,
    .init = corrupt_init,
    .fini = corrupt_fini,
    .pull = corrupt_pull,
    .push = corrupt_push,
};
