/*
 * EMSMDB and AsyncEMSMDB call structures (MS-OXCRPC) and their NDR20 codecs.
 *
 * Interfaces:
 *   EMSMDB      a4f1db00-ca47-1067-b31f-00dd010662da v0.81
 *   AsyncEMSMDB 5261574a-4572-206e-b268-6b199213b4e4 v0.1
 *
 * Every call has one structure per direction. mp_mapi_decode() (call.h)
 * fills them; a module changes fields and mp_mapi_encode() writes the stub
 * back, with the referent IDs and padding bytes of the received stub, so an
 * unchanged structure encodes to the received bytes.
 *
 * Sources of the layouts:
 *  - MS-OXCRPC section 3 and Appendix A (full IDL): EcDoDisconnect (1),
 *    EcRRegisterPushNotification (4), EcDummyRpc (6), EcDoConnectEx (10),
 *    EcDoRpcExt2 (11), EcDoAsyncConnectEx (14), EcDoAsyncWaitEx. (Gromox's
 *    server reads and writes the same layouts.)
 *  - The opnums the specification calls "reserved" (0, 2, 3, 5, 7, 8, 9)
 *    were used by Exchange 5.5-2003 and Outlook up to 2003. Their layouts
 *    come from the IDLs of OpenChange (exchange.idl) and Wireshark (mapi.idl)
 *    and are marked "legacy" below. Wireshark's dissector reads 0, 1, 2 and 5
 *    (and 4's response) exactly as we do; 3, 7 and 8 (Wireshark's IDL) and 9
 *    (OpenChange's IDL) rest on one source each. A stub that does not fit is
 *    refused and relayed untouched.
 *  - Opnums 12, 13 and above 14 have no codec: the proxy relays them as they
 *    come (mp_emsmdb_codec() returns NULL).
 *
 * Field names are the IDL parameter names. An [out] or [in, out] pointer
 * parameter (pcbOut, pulFlags, ...) is stored as the value it points to.
 *
 * Count parameters tied to an array by size_is/length_is (cbIn, cbAuxIn,
 * *pcbOut in a response, *pcbAuxOut in a response, cbContext, ...) are not
 * separate fields: the decoder checks that they equal the array length (the
 * strict NDR consistency check MS-OXCRPC 3.1.4 asks of the RPC runtime) and
 * the encoder writes the array length. To change rgbIn, replace the
 * mp_emsmdb_buf and cbIn follows. Range limits are checked both ways:
 * *pcbOut <= 0x40000 (BIG_RANGE_ULONG), *pcbAuxOut <= 0x1008
 * (SMALL_RANGE_ULONG).
 *
 * All memory of a decoded structure is talloc'd under the structure.
 */
#ifndef MP_MAPI_EMSMDB_H
#define MP_MAPI_EMSMDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapi/call.h"
#include "ndr/ndr.h"
#include "util/cursor.h"
#include "util/printer.h"

/* Opnums of the EMSMDB interface. */
enum mp_emsmdb_opnum {
	MP_EMSMDB_DO_CONNECT = 0,		  /* legacy */
	MP_EMSMDB_DO_DISCONNECT = 1,
	MP_EMSMDB_DO_RPC = 2,			  /* legacy */
	MP_EMSMDB_GET_MORE_RPC = 3,		  /* legacy */
	MP_EMSMDB_REGISTER_PUSH_NOTIFICATION = 4,
	MP_EMSMDB_UNREGISTER_PUSH_NOTIFICATION = 5, /* legacy */
	MP_EMSMDB_DUMMY_RPC = 6,
	MP_EMSMDB_GET_DC_NAME = 7,		  /* legacy */
	MP_EMSMDB_NET_GET_DC_NAME = 8,		  /* legacy */
	MP_EMSMDB_DO_RPC_EXT = 9,		  /* legacy */
	MP_EMSMDB_DO_CONNECT_EX = 10,
	MP_EMSMDB_DO_RPC_EXT2 = 11,
	MP_EMSMDB_DO_ASYNC_CONNECT_EX = 14,
};

/* Opnum of the AsyncEMSMDB interface. */
enum mp_asyncemsmdb_opnum {
	MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX = 0,
};

/* Range limits of MS-OXCRPC's IDL. */
#define MP_EMSMDB_BIG_RANGE 0x40000u  /* BIG_RANGE_ULONG: rgbOut, *pcbOut */
#define MP_EMSMDB_SMALL_RANGE 0x1008u /* SMALL_RANGE_ULONG: rgbAuxOut, *pcbAuxOut */

/* pulFlags of EcDoRpcExt2 (MS-OXCRPC 3.1.4.2). */
#define MP_EMSMDB_RPC_NO_COMPRESSION 0x00000001u
#define MP_EMSMDB_RPC_NO_XOR_MAGIC 0x00000002u
#define MP_EMSMDB_RPC_CHAIN 0x00000004u
/* pulFlagsOut of EcDoAsyncWaitEx (MS-OXCRPC 3.3.4.1). */
#define MP_EMSMDB_NOTIFICATION_PENDING 0x00000001u

/*
 * A byte array of the stub (rgbIn, rgbOut, rgbAuxIn, rgbContext, ...).
 *
 * `data` holds `len` bytes (talloc'd; may be NULL only when len is 0).
 * `max_count` matters only for conformant-varying arrays ([out] rgbOut,
 * rgbAuxOut, ...), whose NDR form carries a maximum count besides the
 * length: 0 means "equal to len" (what OpenChange and Gromox write);
 * a larger value is kept and written back; a value below len (a buffer grown
 * by a module) is written as len. Conformant arrays ([in] rgbIn, ...) carry
 * only one count and ignore max_count.
 */
struct mp_emsmdb_buf {
	uint8_t *data;
	uint32_t len;
	uint32_t max_count;
};

/* Points `buf` at `len` bytes (not copied) with max_count "equal to len". */
void mp_emsmdb_buf_set(struct mp_emsmdb_buf *buf, uint8_t *data, uint32_t len);

/* ---- EcDoConnect (0, legacy) and EcDoConnectEx (10) -------------------- */

/*
 * Both opnums use these two structures. EcDoConnect's stub simply lacks the
 * auxiliary buffers: its request ends after pulTimeStamp and its response
 * after pulTimeStamp (then the return value), so rgbAuxIn, pcbAuxOut and
 * rgbAuxOut stay empty/zero for opnum 0 and are not encoded.
 *
 * EcDoConnect's second version array is [in, out] rgwClientVersion in the
 * legacy IDLs; it occupies the place of EcDoConnectEx's rgwBestVersion and is
 * stored there, so that one field rewrites the version the server reports in
 * both replies.
 */
struct mp_emsmdb_connect_ex_req {
	char *szUserDN;		 /* [in, string] ANSI; never NULL */
	uint32_t szUserDN_max;	 /* its NDR max_count; 0 = strlen + 1 */
	uint32_t ulFlags;
	uint32_t ulConMod;
	uint32_t cbLimit;
	uint32_t ulCpid;
	uint32_t ulLcidString;
	uint32_t ulLcidSort;
	uint32_t ulIcxrLink;
	uint16_t usFCanConvertCodePages;
	uint16_t rgwClientVersion[3];
	uint32_t pulTimeStamp;
	struct mp_emsmdb_buf rgbAuxIn; /* EcDoConnectEx only; cbAuxIn = len */
	uint32_t pcbAuxOut;	       /* EcDoConnectEx only; <= 0x1008 */
};

struct mp_emsmdb_connect_ex_resp {
	struct mp_ndr_handle pcxh; /* CXH */
	uint32_t pcmsPollsMax;
	uint32_t pcRetry;
	uint32_t pcmsRetryDelay;
	uint16_t picxr;
	char *szDNPrefix;	/* [out, string] unique: NULL when absent */
	uint32_t szDNPrefix_max; /* 0 = strlen + 1 */
	char *szDisplayName;
	uint32_t szDisplayName_max;
	uint16_t rgwServerVersion[3];
	uint16_t rgwBestVersion[3];
	uint32_t pulTimeStamp;
	struct mp_emsmdb_buf rgbAuxOut; /* EcDoConnectEx only; *pcbAuxOut = len */
	uint32_t result;
};

/* ---- EcDoDisconnect (1) ------------------------------------------------ */

struct mp_emsmdb_disconnect_req {
	struct mp_ndr_handle pcxh;
};

struct mp_emsmdb_disconnect_resp {
	struct mp_ndr_handle pcxh; /* zeroed by the server on success */
	uint32_t result;
};

/* ---- EcDoRpc (2, legacy) and EcGetMoreRpc (3, legacy) ------------------ */

/*
 * One buffer travels both ways: [in, out, size_is(usSize),
 * length_is(*pusLength)] rgb, [in, out] *pusLength, [in] usSize. The request
 * carries usSize as the buffer's maximum count; rgb.len is *pusLength. The
 * payload of EcDoRpc is XOR-0xA5 obfuscated ROP data; it is kept as bytes.
 */
struct mp_emsmdb_rpc_req {
	struct mp_ndr_handle pcxh;
	struct mp_emsmdb_buf rgb; /* max_count unused: usSize is the maximum */
	uint16_t usSize;	  /* >= rgb.len */
};

struct mp_emsmdb_rpc_resp {
	struct mp_ndr_handle pcxh;
	struct mp_emsmdb_buf rgb; /* max_count: usSize echoed (0 = len); len <= 0xffff */
	uint32_t result;
};

/* ---- EcRRegisterPushNotification (4) ----------------------------------- */

struct mp_emsmdb_register_push_req {
	struct mp_ndr_handle pcxh;
	uint32_t iRpc;
	struct mp_emsmdb_buf rgbContext;	 /* cbContext (u16) = len */
	uint32_t grbitAdviseBits;
	struct mp_emsmdb_buf rgbCallbackAddress; /* cbCallbackAddress (u16) = len */
};

struct mp_emsmdb_register_push_resp {
	struct mp_ndr_handle pcxh;
	uint32_t hNotification;
	uint32_t result;
};

/* ---- EcRUnregisterPushNotification (5, legacy) ------------------------- */

struct mp_emsmdb_unregister_push_req {
	struct mp_ndr_handle pcxh;
	uint32_t iRpc;
	uint32_t hNotification;
};

/* Response: struct mp_emsmdb_disconnect_resp (handle + return value). */

/* ---- EcDummyRpc (6) ---------------------------------------------------- */

/* The request stub is empty (size 0, no structure). */
struct mp_emsmdb_result_resp {
	uint32_t result;
};

/* ---- EcRGetDCName (7, legacy) and EcRNetGetDCName (8, legacy) ---------- */

/* EcRGetDCName has pcxh; EcRNetGetDCName has none and leaves it zero. */
struct mp_emsmdb_dc_name_req {
	struct mp_ndr_handle pcxh;
	char *szDomainName; /* [in, string] */
	uint32_t szDomainName_max;
};

struct mp_emsmdb_dc_name_resp {
	struct mp_ndr_handle pcxh;
	uint8_t rgchDomainController[16];
	uint32_t result;
};

/* ---- EcDoRpcExt (9, legacy) -------------------------------------------- */

/*
 * As in OpenChange's exchange.idl: rgbIn + cbIn and rgbOut + *pcbOut as in
 * EcDoRpcExt2, and an [in, out] buffer Reserved0 sized by [in, out]
 * *Reserved1 (conformant-varying both ways; Reserved1 = Reserved0.len).
 */
struct mp_emsmdb_rpc_ext_req {
	struct mp_ndr_handle pcxh;
	uint32_t pulFlags;
	struct mp_emsmdb_buf rgbIn; /* cbIn = len */
	uint32_t pcbOut;	    /* <= 0x40000 */
	struct mp_emsmdb_buf Reserved0;
};

struct mp_emsmdb_rpc_ext_resp {
	struct mp_ndr_handle pcxh;
	uint32_t pulFlags;
	struct mp_emsmdb_buf rgbOut; /* *pcbOut = len <= 0x40000 */
	struct mp_emsmdb_buf Reserved0;
	uint32_t pulTransTime;
	uint32_t result;
};

/* ---- EcDoRpcExt2 (11) -------------------------------------------------- */

struct mp_emsmdb_rpc_ext2_req {
	struct mp_ndr_handle pcxh;
	uint32_t pulFlags;
	struct mp_emsmdb_buf rgbIn;    /* cbIn = len */
	uint32_t pcbOut;	       /* room for rgbOut, <= 0x40000 */
	struct mp_emsmdb_buf rgbAuxIn; /* cbAuxIn = len */
	uint32_t pcbAuxOut;	       /* room for rgbAuxOut, <= 0x1008 */
};

struct mp_emsmdb_rpc_ext2_resp {
	struct mp_ndr_handle pcxh;
	uint32_t pulFlags;
	struct mp_emsmdb_buf rgbOut;	/* *pcbOut = len <= 0x40000 */
	struct mp_emsmdb_buf rgbAuxOut; /* *pcbAuxOut = len <= 0x1008 */
	uint32_t pulTransTime;
	uint32_t result;
};

/* ---- EcDoAsyncConnectEx (14) ------------------------------------------- */

struct mp_emsmdb_async_connect_ex_req {
	struct mp_ndr_handle cxh; /* [in] CXH */
};

struct mp_emsmdb_async_connect_ex_resp {
	struct mp_ndr_handle pacxh; /* [out, ref] ACXH */
	uint32_t result;
};

/* ---- AsyncEMSMDB EcDoAsyncWaitEx (0) ----------------------------------- */

struct mp_asyncemsmdb_wait_ex_req {
	struct mp_ndr_handle acxh;
	uint32_t ulFlagsIn;
};

struct mp_asyncemsmdb_wait_ex_resp {
	uint32_t pulFlagsOut;
	uint32_t result;
};

/* ---- Building stubs from scratch -------------------------------------- */

/*
 * Encode a structure of (opnum, direction) that was filled in by hand (no
 * decoded call behind it): referent IDs are counted like Samba, padding is
 * zero. Appends the stub to `out` (initialised by the caller). Returns false
 * when the opnum has no codec, or the structure cannot be encoded (a NULL
 * string that must be present, a buffer with data NULL but len > 0, a length
 * beyond its range or its u16 count field, ...); `out` is then unchanged.
 */
bool mp_emsmdb_push(uint16_t opnum, enum mp_call_dir dir, const void *body, struct mp_wbuf *out);
bool mp_asyncemsmdb_push(uint16_t opnum, enum mp_call_dir dir, const void *body,
			 struct mp_wbuf *out);

/* Size of the structure of (opnum, direction), 0 when none. */
size_t mp_emsmdb_body_size(uint16_t opnum, enum mp_call_dir dir);

/* ---- The extended buffers of a call ------------------------------------ */

/*
 * Where a decoded EMSMDB structure (`body` of opnum/direction) keeps the
 * buffers that the RPC_HEADER_EXT / AUX / ROP layers decode:
 *   rop     EcDoRpcExt2 and EcDoRpcExt rgbIn / rgbOut, or, with `legacy`
 *           set, EcDoRpc / EcGetMoreRpc rgb (XOR 0xA5, no RPC_HEADER_EXT);
 *   aux     EcDoRpcExt2 and EcDoConnectEx rgbAuxIn / rgbAuxOut.
 * Absent buffers are NULL. Returns false for calls that carry neither.
 * Replacing the buffer a pointer designates (mp_emsmdb_buf_set) is how a
 * module rewrites it; the count parameters follow on encoding.
 */
struct mp_emsmdb_ext_bufs {
	struct mp_emsmdb_buf *rop;
	struct mp_emsmdb_buf *aux;
	bool legacy;
};
bool mp_emsmdb_ext_buffers(uint16_t opnum, enum mp_call_dir dir, void *body,
			   struct mp_emsmdb_ext_bufs *out);

/* ---- Shared with the other ExchangeRPC codecs --------------------------- */

/* A context handle as { attributes, uuid } (printer tree). */
void mp_emsmdb_print_handle(struct mp_printer *p, const char *name,
			    const struct mp_ndr_handle *h);
/* A call's return value, with its ecXXX / RPC status name (names.h). */
void mp_emsmdb_print_result(struct mp_printer *p, uint32_t result);
/* A handle whose attributes and uuid are all zero (closed / none). */
bool mp_emsmdb_handle_is_null(const struct mp_ndr_handle *h);

#endif
