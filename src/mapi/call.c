#include "mapi/call.h"

#include <string.h>
#include <talloc.h>

const struct mp_call_codec *mp_call_codec(enum mp_mapi_iface iface, uint16_t opnum)
{
	switch (iface) {
	case MP_MAPI_EMSMDB:
		return mp_emsmdb_codec(opnum);
	case MP_MAPI_ASYNCEMSMDB:
		return mp_asyncemsmdb_codec(opnum);
	case MP_MAPI_NSPI:
		return mp_nspi_codec(opnum);
	case MP_MAPI_RFR:
		return mp_rfr_codec(opnum);
	default:
		return NULL;
	}
}

const char *mp_mapi_iface_name(enum mp_mapi_iface iface)
{
	static const char *const names[MP_MAPI_IFACE_COUNT] = {
		[MP_MAPI_EMSMDB] = "EMSMDB",
		[MP_MAPI_ASYNCEMSMDB] = "AsyncEMSMDB",
		[MP_MAPI_NSPI] = "NSPI",
		[MP_MAPI_RFR] = "RFR",
	};
	return (unsigned)iface < MP_MAPI_IFACE_COUNT ? names[iface] : "?";
}

struct mp_mapi_call *mp_mapi_decode(void *mem, enum mp_mapi_iface iface, uint16_t opnum,
				    enum mp_call_dir dir, const uint8_t *stub, size_t len,
				    const char **why)
{
	const struct mp_call_codec *codec = mp_call_codec(iface, opnum);
	if (!codec || !codec->pull[dir]) {
		*why = "unknown opnum";
		return NULL;
	}
	struct mp_mapi_call *call = talloc_zero(mem, struct mp_mapi_call);
	void *body = call ? talloc_zero_size(call, codec->size[dir] ? codec->size[dir] : 1) : NULL;
	if (!body) {
		talloc_free(call);
		*why = "out of memory";
		return NULL;
	}
	call->iface = iface;
	call->opnum = opnum;
	call->dir = dir;
	call->codec = codec;
	call->body = body;

	struct mp_ndr_pull pull;
	mp_ndr_pull_init(&pull, stub, len, body);
	codec->pull[dir](&pull, body);
	if (!mp_ndr_pull_ok(&pull)) {
		*why = pull.error ? pull.error : "malformed stub";
		talloc_free(call);
		return NULL;
	}
	if (!mp_ndr_pull_at_end(&pull)) {
		*why = "trailing bytes after the decoded stub";
		talloc_free(call);
		return NULL;
	}
	call->refs = mp_ndr_pull_take_refs(&pull, call);
	return call;
}

bool mp_call_codec_push(const struct mp_call_codec *codec, enum mp_call_dir dir, const void *body,
			const struct mp_ndr_refs *replay, struct mp_wbuf *out)
{
	if (!codec || (unsigned)dir >= 2 || !codec->push[dir] || (!body && codec->size[dir]))
		return false;
	struct mp_ndr_push push;
	mp_ndr_push_init(&push, replay);
	codec->push[dir](&push, body);
	bool ok = mp_ndr_push_ok(&push);
	if (ok)
		mp_wb_bytes(out, push.wb.data, push.wb.len);
	mp_ndr_push_free(&push);
	return ok && !out->bad;
}

bool mp_mapi_encode(const struct mp_mapi_call *call, struct mp_wbuf *out)
{
	return mp_call_codec_push(call->codec, call->dir, call->body, &call->refs, out);
}

void mp_mapi_print(struct mp_printer *p, const struct mp_mapi_call *call)
{
	mp_pr_begin(p, call->codec->name);
	mp_pr_str(p, "interface", mp_mapi_iface_name(call->iface));
	mp_pr_uint(p, "opnum", call->opnum);
	mp_pr_str(p, "direction", call->dir == MP_CALL_REQUEST ? "request" : "response");
	if (call->codec->print[call->dir])
		call->codec->print[call->dir](p, call->body);
	mp_pr_end(p);
}
