/*
 * EMSMDB call codecs (MS-OXCRPC): NDR20 pull, push and print of every opnum
 * with a known layout. See emsmdb.h for the structures and where each layout
 * comes from.
 *
 * NDR reminders for these stubs (C706 14, MS-RPCE 2.2.5):
 *  - a top-level [ref] pointer ([out] unsigned long *x, the CXH *) has no
 *    wire form: the value follows directly;
 *  - a context handle is 20 bytes: attributes (u32) + UUID;
 *  - [size_is(n)] unsigned char a[] is max_count (u32) + n bytes;
 *  - [size_is(m), length_is(n)] adds offset (u32, always 0) and actual_count
 *    (u32) after max_count;
 *  - [string] char * is max_count, offset, actual_count, characters with the
 *    NUL; [out, string] char ** is a unique pointer (referent ID) first;
 *  - every u16/u32 is aligned to its size from the start of the stub, so a
 *    byte array is followed by up to 3 padding bytes (ndr.c keeps them).
 */
#include "mapi/emsmdb.h"
#include "mapi/names.h"

#include <string.h>
#include <talloc.h>

/* ------------------------------------------------------------------ */
/* Shared helpers                                                      */
/* ------------------------------------------------------------------ */

void mp_emsmdb_buf_set(struct mp_emsmdb_buf *buf, uint8_t *data, uint32_t len)
{
	buf->data = data;
	buf->len = len;
	buf->max_count = 0;
}

bool mp_emsmdb_handle_is_null(const struct mp_ndr_handle *h)
{
	static const uint8_t zero[16];
	return h->attributes == 0 && memcmp(h->uuid, zero, sizeof(zero)) == 0;
}

void mp_emsmdb_print_handle(struct mp_printer *p, const char *name,
			    const struct mp_ndr_handle *h)
{
	mp_pr_begin(p, name);
	mp_pr_hex(p, "attributes", h->attributes, 8);
	mp_pr_guid(p, "uuid", h->uuid);
	mp_pr_end(p);
}

static void push_fail(struct mp_ndr_push *push)
{
	push->wb.bad = true;
}

/* [size_is(n)] unsigned char a[]: the conformance, then the bytes. The count
 * is checked against the bytes left before anything is allocated. */
static void pull_conformant(struct mp_ndr_pull *pull, struct mp_emsmdb_buf *buf)
{
	uint32_t n = mp_ndr_pull_count(pull, 1);
	buf->data = n ? mp_ndr_pull_bytes_dup(pull, n) : NULL;
	buf->len = mp_ndr_pull_ok(pull) ? n : 0;
	buf->max_count = 0;
}

static void push_conformant(struct mp_ndr_push *push, const struct mp_emsmdb_buf *buf)
{
	if (buf->len && !buf->data) {
		push_fail(push);
		return;
	}
	mp_ndr_push_u32(push, buf->len);
	mp_ndr_push_bytes(push, buf->data, buf->len);
}

/* [size_is(m), length_is(n)]: max_count, offset, actual_count, the bytes. */
static void pull_varying(struct mp_ndr_pull *pull, struct mp_emsmdb_buf *buf)
{
	uint32_t max = mp_ndr_pull_count(pull, 0);
	uint32_t offset = mp_ndr_pull_u32(pull);
	uint32_t actual = mp_ndr_pull_count(pull, 1);
	buf->data = NULL;
	buf->len = 0;
	buf->max_count = 0;
	if (!mp_ndr_pull_ok(pull))
		return;
	if (offset != 0) {
		mp_ndr_pull_fail(pull, "varying array offset is not zero");
		return;
	}
	if (actual > max) {
		mp_ndr_pull_fail(pull, "varying array longer than its maximum count");
		return;
	}
	buf->data = actual ? mp_ndr_pull_bytes_dup(pull, actual) : NULL;
	if (!mp_ndr_pull_ok(pull))
		return;
	buf->len = actual;
	buf->max_count = max == actual ? 0 : max;
}

static void push_varying(struct mp_ndr_push *push, const struct mp_emsmdb_buf *buf)
{
	if (buf->len && !buf->data) {
		push_fail(push);
		return;
	}
	mp_ndr_push_u32(push, buf->max_count > buf->len ? buf->max_count : buf->len);
	mp_ndr_push_u32(push, 0);
	mp_ndr_push_u32(push, buf->len);
	mp_ndr_push_bytes(push, buf->data, buf->len);
}

/* A u32 count parameter that the IDL ties to an array's length. */
static void pull_count_of(struct mp_ndr_pull *pull, uint32_t len, const char *why)
{
	uint32_t v = mp_ndr_pull_u32(pull);
	if (mp_ndr_pull_ok(pull) && v != len)
		mp_ndr_pull_fail(pull, why);
}

/* A u16 count parameter (cbContext, *pusLength) tied to an array. */
static void pull_count16_of(struct mp_ndr_pull *pull, uint32_t len, const char *why)
{
	uint16_t v = mp_ndr_pull_u16(pull);
	if (mp_ndr_pull_ok(pull) && v != len)
		mp_ndr_pull_fail(pull, why);
}

static void push_count16(struct mp_ndr_push *push, uint32_t len)
{
	if (len > UINT16_MAX) {
		push_fail(push);
		return;
	}
	mp_ndr_push_u16(push, (uint16_t)len);
}

/* A [range(0, max)] value (BIG_RANGE_ULONG / SMALL_RANGE_ULONG). */
static uint32_t pull_ranged(struct mp_ndr_pull *pull, uint32_t max, const char *why)
{
	uint32_t v = mp_ndr_pull_u32(pull);
	if (mp_ndr_pull_ok(pull) && v > max)
		mp_ndr_pull_fail(pull, why);
	return v;
}

static void push_ranged(struct mp_ndr_push *push, uint32_t v, uint32_t max)
{
	if (v > max) {
		push_fail(push);
		return;
	}
	mp_ndr_push_u32(push, v);
}

/* [string] unsigned char *: the characters, and the max_count when it is not
 * the plain strlen + 1 (0 otherwise). */
static char *pull_string(struct mp_ndr_pull *pull, uint32_t *max)
{
	uint32_t m = 0;
	char *s = mp_ndr_pull_string8(pull, &m);
	*max = s && m != strlen(s) + 1 ? m : 0;
	return s;
}

static void push_string(struct mp_ndr_push *push, const char *s, uint32_t max)
{
	if (!s) {
		push_fail(push);
		return;
	}
	mp_ndr_push_string8(push, s, max);
}

/* [out, string] unsigned char **: a unique pointer, then the string. */
static char *pull_unique_string(struct mp_ndr_pull *pull, uint32_t *max)
{
	*max = 0;
	if (!mp_ndr_pull_ptr(pull))
		return NULL;
	return pull_string(pull, max);
}

static void push_unique_string(struct mp_ndr_push *push, const char *s, uint32_t max)
{
	mp_ndr_push_ptr(push, s != NULL);
	if (s)
		mp_ndr_push_string8(push, s, max);
}

static void pull_words(struct mp_ndr_pull *pull, uint16_t w[3])
{
	for (int i = 0; i < 3; i++)
		w[i] = mp_ndr_pull_u16(pull);
}

static void push_words(struct mp_ndr_push *push, const uint16_t w[3])
{
	for (int i = 0; i < 3; i++)
		mp_ndr_push_u16(push, w[i]);
}

static void print_words(struct mp_printer *p, const char *name, const uint16_t w[3])
{
	mp_pr_begin_array(p, name, 3);
	for (int i = 0; i < 3; i++)
		mp_pr_hex(p, NULL, w[i], 4);
	mp_pr_end_array(p);
}

/*
 * The extended buffers (rgbIn, rgbOut, rgbAuxIn, rgbAuxOut) and the legacy
 * EcDoRpc buffer are printed here as what they are at the NDR level: bytes
 * (cut by the printer in text mode) with their length.
 *
 * HOOK: their content - RPC_HEADER_EXT chains, LZ77/DIRECT2, XOR 0xA5
 * (rpc_ext.h), AUX blocks (aux.h) and ROPs (rop.h), which need per-session
 * state - is printed by mapi_print.c (mp_mapi_print_call) after this NDR
 * level; it finds the buffers of any call with mp_emsmdb_ext_buffers().
 * `kind` says what a buffer holds, for a stateless decoder plugged in here.
 */
enum buf_kind {
	BUF_ROP_IN,
	BUF_ROP_OUT,
	BUF_AUX_IN,
	BUF_AUX_OUT,
	BUF_LEGACY_ROP, /* EcDoRpc / EcGetMoreRpc: XOR-obfuscated, no header */
	BUF_OPAQUE,	/* rgbContext, rgbCallbackAddress, Reserved0 */
};

static void print_buf(struct mp_printer *p, const char *name, const char *count_name,
		      enum buf_kind kind, const struct mp_emsmdb_buf *buf)
{
	(void)kind;
	mp_pr_uint(p, count_name, buf->len);
	if (buf->max_count)
		mp_pr_uint(p, "max_count", buf->max_count);
	mp_pr_bytes(p, name, buf->data, buf->len);
}

/* The return value: "ecNone (0x00000000)" in text, "ecNone" in JSON. */
void mp_emsmdb_print_result(struct mp_printer *p, uint32_t result)
{
	mp_pr_enum(p, "result", result, 8, mp_error_name(result));
}

static const struct mp_flag_name rpc_flag_names[] = {
	{MP_EMSMDB_RPC_NO_COMPRESSION, "NoCompression"},
	{MP_EMSMDB_RPC_NO_XOR_MAGIC, "NoXorMagic"},
	{MP_EMSMDB_RPC_CHAIN, "Chain"},
	{0, NULL},
};

/* ------------------------------------------------------------------ */
/* EcDoConnect (0) and EcDoConnectEx (10)                              */
/* ------------------------------------------------------------------ */

static void pull_connect_req(struct mp_ndr_pull *pull, struct mp_emsmdb_connect_ex_req *r,
			     bool ex)
{
	r->szUserDN = pull_string(pull, &r->szUserDN_max);
	r->ulFlags = mp_ndr_pull_u32(pull);
	r->ulConMod = mp_ndr_pull_u32(pull);
	r->cbLimit = mp_ndr_pull_u32(pull);
	r->ulCpid = mp_ndr_pull_u32(pull);
	r->ulLcidString = mp_ndr_pull_u32(pull);
	r->ulLcidSort = mp_ndr_pull_u32(pull);
	r->ulIcxrLink = mp_ndr_pull_u32(pull);
	r->usFCanConvertCodePages = mp_ndr_pull_u16(pull);
	pull_words(pull, r->rgwClientVersion);
	r->pulTimeStamp = mp_ndr_pull_u32(pull);
	if (!ex)
		return;
	pull_conformant(pull, &r->rgbAuxIn);
	pull_count_of(pull, r->rgbAuxIn.len, "cbAuxIn differs from the rgbAuxIn size");
	r->pcbAuxOut = pull_ranged(pull, MP_EMSMDB_SMALL_RANGE, "pcbAuxOut above 0x1008");
}

static void push_connect_req(struct mp_ndr_push *push, const struct mp_emsmdb_connect_ex_req *r,
			     bool ex)
{
	push_string(push, r->szUserDN, r->szUserDN_max);
	mp_ndr_push_u32(push, r->ulFlags);
	mp_ndr_push_u32(push, r->ulConMod);
	mp_ndr_push_u32(push, r->cbLimit);
	mp_ndr_push_u32(push, r->ulCpid);
	mp_ndr_push_u32(push, r->ulLcidString);
	mp_ndr_push_u32(push, r->ulLcidSort);
	mp_ndr_push_u32(push, r->ulIcxrLink);
	mp_ndr_push_u16(push, r->usFCanConvertCodePages);
	push_words(push, r->rgwClientVersion);
	mp_ndr_push_u32(push, r->pulTimeStamp);
	if (!ex)
		return;
	push_conformant(push, &r->rgbAuxIn);
	mp_ndr_push_u32(push, r->rgbAuxIn.len);
	push_ranged(push, r->pcbAuxOut, MP_EMSMDB_SMALL_RANGE);
}

static void print_connect_req(struct mp_printer *p, const struct mp_emsmdb_connect_ex_req *r,
			      bool ex)
{
	mp_pr_str(p, "szUserDN", r->szUserDN);
	mp_pr_hex(p, "ulFlags", r->ulFlags, 8);
	mp_pr_hex(p, "ulConMod", r->ulConMod, 8);
	mp_pr_uint(p, "cbLimit", r->cbLimit);
	mp_pr_uint(p, "ulCpid", r->ulCpid);
	mp_pr_hex(p, "ulLcidString", r->ulLcidString, 8);
	mp_pr_hex(p, "ulLcidSort", r->ulLcidSort, 8);
	mp_pr_hex(p, "ulIcxrLink", r->ulIcxrLink, 8);
	mp_pr_uint(p, "usFCanConvertCodePages", r->usFCanConvertCodePages);
	print_words(p, "rgwClientVersion", r->rgwClientVersion);
	mp_pr_uint(p, "pulTimeStamp", r->pulTimeStamp);
	if (!ex)
		return;
	print_buf(p, "rgbAuxIn", "cbAuxIn", BUF_AUX_IN, &r->rgbAuxIn);
	mp_pr_hex(p, "pcbAuxOut", r->pcbAuxOut, 8);
}

static void pull_connect_resp(struct mp_ndr_pull *pull, struct mp_emsmdb_connect_ex_resp *r,
			      bool ex)
{
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->pcmsPollsMax = mp_ndr_pull_u32(pull);
	r->pcRetry = mp_ndr_pull_u32(pull);
	r->pcmsRetryDelay = mp_ndr_pull_u32(pull);
	r->picxr = mp_ndr_pull_u16(pull);
	r->szDNPrefix = pull_unique_string(pull, &r->szDNPrefix_max);
	r->szDisplayName = pull_unique_string(pull, &r->szDisplayName_max);
	pull_words(pull, r->rgwServerVersion);
	pull_words(pull, r->rgwBestVersion);
	r->pulTimeStamp = mp_ndr_pull_u32(pull);
	if (ex) {
		pull_varying(pull, &r->rgbAuxOut);
		pull_count_of(pull, r->rgbAuxOut.len, "pcbAuxOut differs from the rgbAuxOut length");
		if (mp_ndr_pull_ok(pull) && r->rgbAuxOut.len > MP_EMSMDB_SMALL_RANGE)
			mp_ndr_pull_fail(pull, "pcbAuxOut above 0x1008");
	}
	r->result = mp_ndr_pull_u32(pull);
}

static void push_connect_resp(struct mp_ndr_push *push,
			      const struct mp_emsmdb_connect_ex_resp *r, bool ex)
{
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->pcmsPollsMax);
	mp_ndr_push_u32(push, r->pcRetry);
	mp_ndr_push_u32(push, r->pcmsRetryDelay);
	mp_ndr_push_u16(push, r->picxr);
	push_unique_string(push, r->szDNPrefix, r->szDNPrefix_max);
	push_unique_string(push, r->szDisplayName, r->szDisplayName_max);
	push_words(push, r->rgwServerVersion);
	push_words(push, r->rgwBestVersion);
	mp_ndr_push_u32(push, r->pulTimeStamp);
	if (ex) {
		if (r->rgbAuxOut.len > MP_EMSMDB_SMALL_RANGE)
			push_fail(push);
		push_varying(push, &r->rgbAuxOut);
		mp_ndr_push_u32(push, r->rgbAuxOut.len);
	}
	mp_ndr_push_u32(push, r->result);
}

static void print_connect_resp(struct mp_printer *p, const struct mp_emsmdb_connect_ex_resp *r,
			       bool ex)
{
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_uint(p, "pcmsPollsMax", r->pcmsPollsMax);
	mp_pr_uint(p, "pcRetry", r->pcRetry);
	mp_pr_uint(p, "pcmsRetryDelay", r->pcmsRetryDelay);
	mp_pr_uint(p, "picxr", r->picxr);
	mp_pr_str(p, "szDNPrefix", r->szDNPrefix);
	mp_pr_str(p, "szDisplayName", r->szDisplayName);
	print_words(p, "rgwServerVersion", r->rgwServerVersion);
	print_words(p, "rgwBestVersion", r->rgwBestVersion);
	mp_pr_uint(p, "pulTimeStamp", r->pulTimeStamp);
	if (ex)
		print_buf(p, "rgbAuxOut", "pcbAuxOut", BUF_AUX_OUT, &r->rgbAuxOut);
	mp_emsmdb_print_result(p, r->result);
}

static void pull_connect0_req(struct mp_ndr_pull *pull, void *body)
{
	pull_connect_req(pull, body, false);
}
static void push_connect0_req(struct mp_ndr_push *push, const void *body)
{
	push_connect_req(push, body, false);
}
static void print_connect0_req(struct mp_printer *p, const void *body)
{
	print_connect_req(p, body, false);
}
static void pull_connect0_resp(struct mp_ndr_pull *pull, void *body)
{
	pull_connect_resp(pull, body, false);
}
static void push_connect0_resp(struct mp_ndr_push *push, const void *body)
{
	push_connect_resp(push, body, false);
}
static void print_connect0_resp(struct mp_printer *p, const void *body)
{
	print_connect_resp(p, body, false);
}

static void pull_connect_ex_req(struct mp_ndr_pull *pull, void *body)
{
	pull_connect_req(pull, body, true);
}
static void push_connect_ex_req(struct mp_ndr_push *push, const void *body)
{
	push_connect_req(push, body, true);
}
static void print_connect_ex_req(struct mp_printer *p, const void *body)
{
	print_connect_req(p, body, true);
}
static void pull_connect_ex_resp(struct mp_ndr_pull *pull, void *body)
{
	pull_connect_resp(pull, body, true);
}
static void push_connect_ex_resp(struct mp_ndr_push *push, const void *body)
{
	push_connect_resp(push, body, true);
}
static void print_connect_ex_resp(struct mp_printer *p, const void *body)
{
	print_connect_resp(p, body, true);
}

/* ------------------------------------------------------------------ */
/* EcDoDisconnect (1), and the handle + result response of opnum 5     */
/* ------------------------------------------------------------------ */

static void pull_disconnect_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_disconnect_req *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
}

static void push_disconnect_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_disconnect_req *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
}

static void print_disconnect_req(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_disconnect_req *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
}

static void pull_handle_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_disconnect_resp *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->result = mp_ndr_pull_u32(pull);
}

static void push_handle_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_disconnect_resp *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->result);
}

static void print_handle_resp(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_disconnect_resp *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_emsmdb_print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* EcDoRpc (2) and EcGetMoreRpc (3), legacy                            */
/* ------------------------------------------------------------------ */

static void pull_rpc_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_rpc_req *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	pull_varying(pull, &r->rgb);
	uint32_t max = r->rgb.max_count ? r->rgb.max_count : r->rgb.len;
	r->rgb.max_count = 0;
	pull_count16_of(pull, r->rgb.len, "pusLength differs from the rgb length");
	r->usSize = mp_ndr_pull_u16(pull);
	if (mp_ndr_pull_ok(pull) && r->usSize != max)
		mp_ndr_pull_fail(pull, "usSize differs from the rgb maximum count");
}

static void push_rpc_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_rpc_req *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	if (r->rgb.len > r->usSize) {
		push_fail(push);
		return;
	}
	struct mp_emsmdb_buf b = r->rgb;
	b.max_count = r->usSize;
	push_varying(push, &b);
	mp_ndr_push_u16(push, (uint16_t)r->rgb.len);
	mp_ndr_push_u16(push, r->usSize);
}

static void print_rpc_req(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_rpc_req *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	print_buf(p, "rgb", "pusLength", BUF_LEGACY_ROP, &r->rgb);
	mp_pr_uint(p, "usSize", r->usSize);
}

static void pull_rpc_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_rpc_resp *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	pull_varying(pull, &r->rgb);
	pull_count16_of(pull, r->rgb.len, "pusLength differs from the rgb length");
	r->result = mp_ndr_pull_u32(pull);
}

static void push_rpc_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_rpc_resp *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	push_varying(push, &r->rgb);
	push_count16(push, r->rgb.len);
	mp_ndr_push_u32(push, r->result);
}

static void print_rpc_resp(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_rpc_resp *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	print_buf(p, "rgb", "pusLength", BUF_LEGACY_ROP, &r->rgb);
	mp_emsmdb_print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* EcRRegisterPushNotification (4)                                     */
/* ------------------------------------------------------------------ */

static void pull_register_push_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_register_push_req *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->iRpc = mp_ndr_pull_u32(pull);
	pull_conformant(pull, &r->rgbContext);
	pull_count16_of(pull, r->rgbContext.len, "cbContext differs from the rgbContext size");
	r->grbitAdviseBits = mp_ndr_pull_u32(pull);
	pull_conformant(pull, &r->rgbCallbackAddress);
	pull_count16_of(pull, r->rgbCallbackAddress.len,
			"cbCallbackAddress differs from the rgbCallbackAddress size");
}

static void push_register_push_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_register_push_req *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->iRpc);
	push_conformant(push, &r->rgbContext);
	push_count16(push, r->rgbContext.len);
	mp_ndr_push_u32(push, r->grbitAdviseBits);
	push_conformant(push, &r->rgbCallbackAddress);
	push_count16(push, r->rgbCallbackAddress.len);
}

static void print_register_push_req(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_register_push_req *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_uint(p, "iRpc", r->iRpc);
	print_buf(p, "rgbContext", "cbContext", BUF_OPAQUE, &r->rgbContext);
	mp_pr_hex(p, "grbitAdviseBits", r->grbitAdviseBits, 8);
	print_buf(p, "rgbCallbackAddress", "cbCallbackAddress", BUF_OPAQUE,
		  &r->rgbCallbackAddress);
}

static void pull_register_push_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_register_push_resp *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->hNotification = mp_ndr_pull_u32(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void push_register_push_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_register_push_resp *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->hNotification);
	mp_ndr_push_u32(push, r->result);
}

static void print_register_push_resp(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_register_push_resp *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_hex(p, "hNotification", r->hNotification, 8);
	mp_emsmdb_print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* EcRUnregisterPushNotification (5), legacy                           */
/* ------------------------------------------------------------------ */

static void pull_unregister_push_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_unregister_push_req *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->iRpc = mp_ndr_pull_u32(pull);
	r->hNotification = mp_ndr_pull_u32(pull);
}

static void push_unregister_push_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_unregister_push_req *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->iRpc);
	mp_ndr_push_u32(push, r->hNotification);
}

static void print_unregister_push_req(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_unregister_push_req *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_uint(p, "iRpc", r->iRpc);
	mp_pr_hex(p, "hNotification", r->hNotification, 8);
}

/* ------------------------------------------------------------------ */
/* EcDummyRpc (6): empty request, the return value alone               */
/* ------------------------------------------------------------------ */

static void pull_nothing(struct mp_ndr_pull *pull, void *body)
{
}

static void push_nothing(struct mp_ndr_push *push, const void *body)
{
}

static void pull_result_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_result_resp *r = body;
	r->result = mp_ndr_pull_u32(pull);
}

static void push_result_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_result_resp *r = body;
	mp_ndr_push_u32(push, r->result);
}

static void print_result_resp(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_result_resp *r = body;
	mp_emsmdb_print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* EcRGetDCName (7) and EcRNetGetDCName (8), legacy                    */
/* ------------------------------------------------------------------ */

static void pull_dc_name_req(struct mp_ndr_pull *pull, struct mp_emsmdb_dc_name_req *r,
			     bool handle)
{
	if (handle)
		mp_ndr_pull_handle(pull, &r->pcxh);
	r->szDomainName = pull_string(pull, &r->szDomainName_max);
}

static void push_dc_name_req(struct mp_ndr_push *push, const struct mp_emsmdb_dc_name_req *r,
			     bool handle)
{
	if (handle)
		mp_ndr_push_handle(push, &r->pcxh);
	push_string(push, r->szDomainName, r->szDomainName_max);
}

static void print_dc_name_req(struct mp_printer *p, const struct mp_emsmdb_dc_name_req *r,
			      bool handle)
{
	if (handle)
		mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_str(p, "szDomainName", r->szDomainName);
}

static void pull_dc_name_resp(struct mp_ndr_pull *pull, struct mp_emsmdb_dc_name_resp *r,
			      bool handle)
{
	if (handle)
		mp_ndr_pull_handle(pull, &r->pcxh);
	const uint8_t *dc = mp_ndr_pull_bytes(pull, sizeof(r->rgchDomainController));
	if (dc)
		memcpy(r->rgchDomainController, dc, sizeof(r->rgchDomainController));
	r->result = mp_ndr_pull_u32(pull);
}

static void push_dc_name_resp(struct mp_ndr_push *push, const struct mp_emsmdb_dc_name_resp *r,
			      bool handle)
{
	if (handle)
		mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_bytes(push, r->rgchDomainController, sizeof(r->rgchDomainController));
	mp_ndr_push_u32(push, r->result);
}

static void print_dc_name_resp(struct mp_printer *p, const struct mp_emsmdb_dc_name_resp *r,
			       bool handle)
{
	if (handle)
		mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	/* A fixed char[16]: the name up to its NUL. */
	mp_pr_strn(p, "rgchDomainController", (const char *)r->rgchDomainController,
		   strnlen((const char *)r->rgchDomainController,
			   sizeof(r->rgchDomainController)));
	mp_emsmdb_print_result(p, r->result);
}

static void pull_get_dc_name_req(struct mp_ndr_pull *pull, void *body)
{
	pull_dc_name_req(pull, body, true);
}
static void push_get_dc_name_req(struct mp_ndr_push *push, const void *body)
{
	push_dc_name_req(push, body, true);
}
static void print_get_dc_name_req(struct mp_printer *p, const void *body)
{
	print_dc_name_req(p, body, true);
}
static void pull_get_dc_name_resp(struct mp_ndr_pull *pull, void *body)
{
	pull_dc_name_resp(pull, body, true);
}
static void push_get_dc_name_resp(struct mp_ndr_push *push, const void *body)
{
	push_dc_name_resp(push, body, true);
}
static void print_get_dc_name_resp(struct mp_printer *p, const void *body)
{
	print_dc_name_resp(p, body, true);
}

static void pull_net_get_dc_name_req(struct mp_ndr_pull *pull, void *body)
{
	pull_dc_name_req(pull, body, false);
}
static void push_net_get_dc_name_req(struct mp_ndr_push *push, const void *body)
{
	push_dc_name_req(push, body, false);
}
static void print_net_get_dc_name_req(struct mp_printer *p, const void *body)
{
	print_dc_name_req(p, body, false);
}
static void pull_net_get_dc_name_resp(struct mp_ndr_pull *pull, void *body)
{
	pull_dc_name_resp(pull, body, false);
}
static void push_net_get_dc_name_resp(struct mp_ndr_push *push, const void *body)
{
	push_dc_name_resp(push, body, false);
}
static void print_net_get_dc_name_resp(struct mp_printer *p, const void *body)
{
	print_dc_name_resp(p, body, false);
}

/* ------------------------------------------------------------------ */
/* EcDoRpcExt (9), legacy                                              */
/* ------------------------------------------------------------------ */

static void pull_rpc_ext_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_rpc_ext_req *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->pulFlags = mp_ndr_pull_u32(pull);
	pull_conformant(pull, &r->rgbIn);
	pull_count_of(pull, r->rgbIn.len, "cbIn differs from the rgbIn size");
	r->pcbOut = pull_ranged(pull, MP_EMSMDB_BIG_RANGE, "pcbOut above 0x40000");
	pull_varying(pull, &r->Reserved0);
	pull_count_of(pull, r->Reserved0.len, "Reserved1 differs from the Reserved0 length");
}

static void push_rpc_ext_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_rpc_ext_req *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->pulFlags);
	push_conformant(push, &r->rgbIn);
	mp_ndr_push_u32(push, r->rgbIn.len);
	push_ranged(push, r->pcbOut, MP_EMSMDB_BIG_RANGE);
	push_varying(push, &r->Reserved0);
	mp_ndr_push_u32(push, r->Reserved0.len);
}

static void print_rpc_ext_req(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_rpc_ext_req *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_flags(p, "pulFlags", r->pulFlags, 8, rpc_flag_names);
	print_buf(p, "rgbIn", "cbIn", BUF_ROP_IN, &r->rgbIn);
	mp_pr_hex(p, "pcbOut", r->pcbOut, 8);
	print_buf(p, "Reserved0", "Reserved1", BUF_OPAQUE, &r->Reserved0);
}

static void pull_rpc_ext_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_rpc_ext_resp *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->pulFlags = mp_ndr_pull_u32(pull);
	pull_varying(pull, &r->rgbOut);
	pull_count_of(pull, r->rgbOut.len, "pcbOut differs from the rgbOut length");
	if (mp_ndr_pull_ok(pull) && r->rgbOut.len > MP_EMSMDB_BIG_RANGE)
		mp_ndr_pull_fail(pull, "pcbOut above 0x40000");
	pull_varying(pull, &r->Reserved0);
	pull_count_of(pull, r->Reserved0.len, "Reserved1 differs from the Reserved0 length");
	r->pulTransTime = mp_ndr_pull_u32(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void push_rpc_ext_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_rpc_ext_resp *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->pulFlags);
	push_varying(push, &r->rgbOut);
	push_ranged(push, r->rgbOut.len, MP_EMSMDB_BIG_RANGE);
	push_varying(push, &r->Reserved0);
	mp_ndr_push_u32(push, r->Reserved0.len);
	mp_ndr_push_u32(push, r->pulTransTime);
	mp_ndr_push_u32(push, r->result);
}

static void print_rpc_ext_resp(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_rpc_ext_resp *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_flags(p, "pulFlags", r->pulFlags, 8, rpc_flag_names);
	print_buf(p, "rgbOut", "pcbOut", BUF_ROP_OUT, &r->rgbOut);
	print_buf(p, "Reserved0", "Reserved1", BUF_OPAQUE, &r->Reserved0);
	mp_pr_uint(p, "pulTransTime", r->pulTransTime);
	mp_emsmdb_print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* EcDoRpcExt2 (11)                                                    */
/* ------------------------------------------------------------------ */

static void pull_rpc_ext2_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_rpc_ext2_req *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->pulFlags = mp_ndr_pull_u32(pull);
	pull_conformant(pull, &r->rgbIn);
	pull_count_of(pull, r->rgbIn.len, "cbIn differs from the rgbIn size");
	r->pcbOut = pull_ranged(pull, MP_EMSMDB_BIG_RANGE, "pcbOut above 0x40000");
	pull_conformant(pull, &r->rgbAuxIn);
	pull_count_of(pull, r->rgbAuxIn.len, "cbAuxIn differs from the rgbAuxIn size");
	r->pcbAuxOut = pull_ranged(pull, MP_EMSMDB_SMALL_RANGE, "pcbAuxOut above 0x1008");
}

static void push_rpc_ext2_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_rpc_ext2_req *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->pulFlags);
	push_conformant(push, &r->rgbIn);
	mp_ndr_push_u32(push, r->rgbIn.len);
	push_ranged(push, r->pcbOut, MP_EMSMDB_BIG_RANGE);
	push_conformant(push, &r->rgbAuxIn);
	mp_ndr_push_u32(push, r->rgbAuxIn.len);
	push_ranged(push, r->pcbAuxOut, MP_EMSMDB_SMALL_RANGE);
}

static void print_rpc_ext2_req(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_rpc_ext2_req *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_flags(p, "pulFlags", r->pulFlags, 8, rpc_flag_names);
	print_buf(p, "rgbIn", "cbIn", BUF_ROP_IN, &r->rgbIn);
	mp_pr_hex(p, "pcbOut", r->pcbOut, 8);
	print_buf(p, "rgbAuxIn", "cbAuxIn", BUF_AUX_IN, &r->rgbAuxIn);
	mp_pr_hex(p, "pcbAuxOut", r->pcbAuxOut, 8);
}

static void pull_rpc_ext2_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_rpc_ext2_resp *r = body;
	mp_ndr_pull_handle(pull, &r->pcxh);
	r->pulFlags = mp_ndr_pull_u32(pull);
	pull_varying(pull, &r->rgbOut);
	pull_count_of(pull, r->rgbOut.len, "pcbOut differs from the rgbOut length");
	if (mp_ndr_pull_ok(pull) && r->rgbOut.len > MP_EMSMDB_BIG_RANGE)
		mp_ndr_pull_fail(pull, "pcbOut above 0x40000");
	pull_varying(pull, &r->rgbAuxOut);
	pull_count_of(pull, r->rgbAuxOut.len, "pcbAuxOut differs from the rgbAuxOut length");
	if (mp_ndr_pull_ok(pull) && r->rgbAuxOut.len > MP_EMSMDB_SMALL_RANGE)
		mp_ndr_pull_fail(pull, "pcbAuxOut above 0x1008");
	r->pulTransTime = mp_ndr_pull_u32(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void push_rpc_ext2_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_rpc_ext2_resp *r = body;
	mp_ndr_push_handle(push, &r->pcxh);
	mp_ndr_push_u32(push, r->pulFlags);
	push_varying(push, &r->rgbOut);
	push_ranged(push, r->rgbOut.len, MP_EMSMDB_BIG_RANGE);
	push_varying(push, &r->rgbAuxOut);
	push_ranged(push, r->rgbAuxOut.len, MP_EMSMDB_SMALL_RANGE);
	mp_ndr_push_u32(push, r->pulTransTime);
	mp_ndr_push_u32(push, r->result);
}

static void print_rpc_ext2_resp(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_rpc_ext2_resp *r = body;
	mp_emsmdb_print_handle(p, "pcxh", &r->pcxh);
	mp_pr_flags(p, "pulFlags", r->pulFlags, 8, rpc_flag_names);
	print_buf(p, "rgbOut", "pcbOut", BUF_ROP_OUT, &r->rgbOut);
	print_buf(p, "rgbAuxOut", "pcbAuxOut", BUF_AUX_OUT, &r->rgbAuxOut);
	mp_pr_uint(p, "pulTransTime", r->pulTransTime);
	mp_emsmdb_print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* EcDoAsyncConnectEx (14)                                             */
/* ------------------------------------------------------------------ */

static void pull_async_connect_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_async_connect_ex_req *r = body;
	mp_ndr_pull_handle(pull, &r->cxh);
}

static void push_async_connect_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_async_connect_ex_req *r = body;
	mp_ndr_push_handle(push, &r->cxh);
}

static void print_async_connect_req(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_async_connect_ex_req *r = body;
	mp_emsmdb_print_handle(p, "cxh", &r->cxh);
}

static void pull_async_connect_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_emsmdb_async_connect_ex_resp *r = body;
	mp_ndr_pull_handle(pull, &r->pacxh);
	r->result = mp_ndr_pull_u32(pull);
}

static void push_async_connect_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_emsmdb_async_connect_ex_resp *r = body;
	mp_ndr_push_handle(push, &r->pacxh);
	mp_ndr_push_u32(push, r->result);
}

static void print_async_connect_resp(struct mp_printer *p, const void *body)
{
	const struct mp_emsmdb_async_connect_ex_resp *r = body;
	mp_emsmdb_print_handle(p, "pacxh", &r->pacxh);
	mp_emsmdb_print_result(p, r->result);
}

/* ------------------------------------------------------------------ */
/* Where the extended buffers are                                      */
/* ------------------------------------------------------------------ */

bool mp_emsmdb_ext_buffers(uint16_t opnum, enum mp_call_dir dir, void *body,
			   struct mp_emsmdb_ext_bufs *out)
{
	memset(out, 0, sizeof(*out));
	if (!body)
		return false;
	bool req = dir == MP_CALL_REQUEST;
	switch (opnum) {
	case MP_EMSMDB_DO_RPC:
	case MP_EMSMDB_GET_MORE_RPC:
		out->rop = req ? &((struct mp_emsmdb_rpc_req *)body)->rgb
			       : &((struct mp_emsmdb_rpc_resp *)body)->rgb;
		out->legacy = true;
		return true;
	case MP_EMSMDB_DO_RPC_EXT:
		out->rop = req ? &((struct mp_emsmdb_rpc_ext_req *)body)->rgbIn
			       : &((struct mp_emsmdb_rpc_ext_resp *)body)->rgbOut;
		return true;
	case MP_EMSMDB_DO_CONNECT_EX:
		out->aux = req ? &((struct mp_emsmdb_connect_ex_req *)body)->rgbAuxIn
			       : &((struct mp_emsmdb_connect_ex_resp *)body)->rgbAuxOut;
		return true;
	case MP_EMSMDB_DO_RPC_EXT2:
		if (req) {
			struct mp_emsmdb_rpc_ext2_req *r = body;
			out->rop = &r->rgbIn;
			out->aux = &r->rgbAuxIn;
		} else {
			struct mp_emsmdb_rpc_ext2_resp *r = body;
			out->rop = &r->rgbOut;
			out->aux = &r->rgbAuxOut;
		}
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define CODEC(NAME, REQ, RESP, PREFIX_REQ, PREFIX_RESP)                                      \
	{                                                                                    \
		.name = NAME, .size = {REQ, RESP},                                           \
		.pull = {pull_##PREFIX_REQ, pull_##PREFIX_RESP},                             \
		.push = {push_##PREFIX_REQ, push_##PREFIX_RESP},                             \
		.print = {print_##PREFIX_REQ, print_##PREFIX_RESP},                          \
	}

static const struct mp_call_codec emsmdb_codecs[] = {
	[MP_EMSMDB_DO_CONNECT] = CODEC("EcDoConnect", sizeof(struct mp_emsmdb_connect_ex_req),
				       sizeof(struct mp_emsmdb_connect_ex_resp), connect0_req,
				       connect0_resp),
	[MP_EMSMDB_DO_DISCONNECT] = CODEC("EcDoDisconnect",
					  sizeof(struct mp_emsmdb_disconnect_req),
					  sizeof(struct mp_emsmdb_disconnect_resp),
					  disconnect_req, handle_resp),
	[MP_EMSMDB_DO_RPC] = CODEC("EcDoRpc", sizeof(struct mp_emsmdb_rpc_req),
				   sizeof(struct mp_emsmdb_rpc_resp), rpc_req, rpc_resp),
	[MP_EMSMDB_GET_MORE_RPC] = CODEC("EcGetMoreRpc", sizeof(struct mp_emsmdb_rpc_req),
					 sizeof(struct mp_emsmdb_rpc_resp), rpc_req, rpc_resp),
	[MP_EMSMDB_REGISTER_PUSH_NOTIFICATION] = CODEC(
		"EcRRegisterPushNotification", sizeof(struct mp_emsmdb_register_push_req),
		sizeof(struct mp_emsmdb_register_push_resp), register_push_req,
		register_push_resp),
	[MP_EMSMDB_UNREGISTER_PUSH_NOTIFICATION] = CODEC(
		"EcRUnregisterPushNotification", sizeof(struct mp_emsmdb_unregister_push_req),
		sizeof(struct mp_emsmdb_disconnect_resp), unregister_push_req, handle_resp),
	[MP_EMSMDB_DUMMY_RPC] = {
		.name = "EcDummyRpc",
		.size = {0, sizeof(struct mp_emsmdb_result_resp)},
		.pull = {pull_nothing, pull_result_resp},
		.push = {push_nothing, push_result_resp},
		.print = {NULL, print_result_resp},
	},
	[MP_EMSMDB_GET_DC_NAME] = CODEC("EcRGetDCName", sizeof(struct mp_emsmdb_dc_name_req),
					sizeof(struct mp_emsmdb_dc_name_resp), get_dc_name_req,
					get_dc_name_resp),
	[MP_EMSMDB_NET_GET_DC_NAME] = CODEC("EcRNetGetDCName",
					    sizeof(struct mp_emsmdb_dc_name_req),
					    sizeof(struct mp_emsmdb_dc_name_resp),
					    net_get_dc_name_req, net_get_dc_name_resp),
	[MP_EMSMDB_DO_RPC_EXT] = CODEC("EcDoRpcExt", sizeof(struct mp_emsmdb_rpc_ext_req),
				       sizeof(struct mp_emsmdb_rpc_ext_resp), rpc_ext_req,
				       rpc_ext_resp),
	[MP_EMSMDB_DO_CONNECT_EX] = CODEC("EcDoConnectEx",
					  sizeof(struct mp_emsmdb_connect_ex_req),
					  sizeof(struct mp_emsmdb_connect_ex_resp),
					  connect_ex_req, connect_ex_resp),
	[MP_EMSMDB_DO_RPC_EXT2] = CODEC("EcDoRpcExt2", sizeof(struct mp_emsmdb_rpc_ext2_req),
					sizeof(struct mp_emsmdb_rpc_ext2_resp), rpc_ext2_req,
					rpc_ext2_resp),
	/* 12 and 13: reserved, no codec (name NULL). */
	[MP_EMSMDB_DO_ASYNC_CONNECT_EX] = CODEC("EcDoAsyncConnectEx",
						sizeof(struct mp_emsmdb_async_connect_ex_req),
						sizeof(struct mp_emsmdb_async_connect_ex_resp),
						async_connect_req, async_connect_resp),
};

const struct mp_call_codec *mp_emsmdb_codec(uint16_t opnum)
{
	if (opnum >= sizeof(emsmdb_codecs) / sizeof(emsmdb_codecs[0]) ||
	    !emsmdb_codecs[opnum].name)
		return NULL;
	return &emsmdb_codecs[opnum];
}

size_t mp_emsmdb_body_size(uint16_t opnum, enum mp_call_dir dir)
{
	const struct mp_call_codec *c = mp_emsmdb_codec(opnum);
	return c && (unsigned)dir < 2 ? c->size[dir] : 0;
}

bool mp_emsmdb_push(uint16_t opnum, enum mp_call_dir dir, const void *body, struct mp_wbuf *out)
{
	return mp_call_codec_push(mp_emsmdb_codec(opnum), dir, body, NULL, out);
}
