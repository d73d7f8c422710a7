/*
 * One entry point for every ExchangeRPC call codec: decode a request or
 * response stub of (interface, opnum) into a C structure, encode it back
 * byte-exact, print it.
 *
 * Each interface (emsmdb.c, asyncemsmdb.c, nspi.c, rfr.c) provides a table
 * of struct mp_call_codec indexed by opnum; call.c dispatches. A stub that
 * fails to decode, or an opnum without a codec, is relayed untouched by the
 * proxy: decoding is for understanding, never a reason to drop traffic.
 */
#ifndef MP_MAPI_CALL_H
#define MP_MAPI_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ndr/ndr.h"
#include "util/printer.h"

enum mp_mapi_iface {
	MP_MAPI_EMSMDB,		/* a4f1db00-ca47-1067-b31f-00dd010662da v0.81 */
	MP_MAPI_ASYNCEMSMDB,	/* 5261574a-4572-206e-b268-6b199213b4e4 v0.1 */
	MP_MAPI_NSPI,		/* f5cc5a18-4264-101a-8c59-08002b2f8426 v56.0 */
	MP_MAPI_RFR,		/* 1544f5e0-613c-11d1-93df-00c04fd7bd09 v1.0 */
	MP_MAPI_IFACE_COUNT,
};

enum mp_call_dir {
	MP_CALL_REQUEST,
	MP_CALL_RESPONSE,
};

/* Codec of one opnum. `pull` fills a zeroed structure of `size` bytes whose
 * memory hangs off pull->mem; `push` appends the stub; `print` describes the
 * structure with the tree printer (redacting secrets). Index 0 = request,
 * 1 = response (enum mp_call_dir). */
struct mp_call_codec {
	const char *name; /* "EcDoConnectEx", "NspiGetProps", ... */
	size_t size[2];
	void (*pull[2])(struct mp_ndr_pull *pull, void *body);
	void (*push[2])(struct mp_ndr_push *push, const void *body);
	void (*print[2])(struct mp_printer *p, const void *body);
};

/* Per-interface tables: codec for `opnum`, or NULL when unknown. */
const struct mp_call_codec *mp_emsmdb_codec(uint16_t opnum);
const struct mp_call_codec *mp_asyncemsmdb_codec(uint16_t opnum);
const struct mp_call_codec *mp_nspi_codec(uint16_t opnum);
const struct mp_call_codec *mp_rfr_codec(uint16_t opnum);

const struct mp_call_codec *mp_call_codec(enum mp_mapi_iface iface, uint16_t opnum);
const char *mp_mapi_iface_name(enum mp_mapi_iface iface); /* "EMSMDB", ... */

/* A decoded call. Everything, including `body`, is talloc'd under the call. */
struct mp_mapi_call {
	enum mp_mapi_iface iface;
	uint16_t opnum;
	enum mp_call_dir dir;
	const struct mp_call_codec *codec;
	void *body;
	struct mp_ndr_refs refs; /* referent IDs as received, for byte-exact push */
};

/*
 * Decode a whole stub. Returns a talloc'd call under `mem`, or NULL with
 * *why set to a static reason ("unknown opnum", "stub too short",
 * "trailing bytes", ...). Trailing bytes after a complete decode are an
 * error: the codec did not understand everything.
 */
struct mp_mapi_call *mp_mapi_decode(void *mem, enum mp_mapi_iface iface, uint16_t opnum,
				    enum mp_call_dir dir, const uint8_t *stub, size_t len,
				    const char **why);
/* Encode into `out` (initialised by the caller); false on failure. */
bool mp_mapi_encode(const struct mp_mapi_call *call, struct mp_wbuf *out);
/* Encode a structure with one codec: with `replay` (may be NULL) the referent
 * IDs and padding of a decoded call, without them Samba's counting and zero
 * padding (a call built from scratch). Appends to `out`; false when the
 * codec has no push for `dir`, body is NULL where one is needed, or the
 * structure cannot be encoded (then `out` is unchanged). The per-interface
 * mp_*_push() functions are this with their codec. */
bool mp_call_codec_push(const struct mp_call_codec *codec, enum mp_call_dir dir, const void *body,
			const struct mp_ndr_refs *replay, struct mp_wbuf *out);
/* "EMSMDB EcDoConnectEx request" header plus the body. */
void mp_mapi_print(struct mp_printer *p, const struct mp_mapi_call *call);

#endif
