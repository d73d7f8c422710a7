/*
 * RFR call codecs (MS-OXABREF 3.1.4; see rfr.h). Layout per opnum, NDR20:
 *
 * RfrGetNewDSA request:  ulFlags, pUserDN ([string], inline: max, offset,
 *   actual, chars), ppszUnused and ppszServer (each an outer unique
 *   pointer, then an inner unique pointer, then the string).
 * RfrGetNewDSA response: ppszUnused, ppszServer, return value.
 * RfrGetFQDNFromServerDN request: ulFlags, cbMailboxServerDN, the DN
 *   ([string, size_is(cbMailboxServerDN)], inline: max = cb).
 * RfrGetFQDNFromServerDN response: ppszServerFQDN ([out, ref]: the inner
 *   unique pointer and its string), return value.
 */
#include "mapi/rfr.h"

#include <string.h>

#include "mapi/names.h"

/* [string] char with max count = length (the IDL gives no other size). */
static char *pull_str(struct mp_ndr_pull *pull)
{
	uint32_t max = 0;
	char *s = mp_ndr_pull_string8(pull, &max);
	if (s && max != strlen(s) + 1)
		mp_ndr_pull_fail(pull, "string size differs from its length");
	return s;
}

static char *pull_str_ptr(struct mp_ndr_pull *pull)
{
	return mp_ndr_pull_ptr(pull) ? pull_str(pull) : NULL;
}

static void push_str_ptr(struct mp_ndr_push *push, const char *s)
{
	mp_ndr_push_ptr(push, s != NULL);
	if (s)
		mp_ndr_push_string8(push, s, 0);
}

static void pull_ref(struct mp_ndr_pull *pull, struct mp_rfr_string_ref *r)
{
	r->present = mp_ndr_pull_ptr(pull);
	r->str = r->present ? pull_str_ptr(pull) : NULL;
}

static void push_ref(struct mp_ndr_push *push, const struct mp_rfr_string_ref *r)
{
	mp_ndr_push_ptr(push, r->present);
	if (r->present)
		push_str_ptr(push, r->str);
}

static void print_ref(struct mp_printer *p, const char *name, const struct mp_rfr_string_ref *r)
{
	if (r->present && r->str)
		mp_pr_str(p, name, r->str);
	else if (r->present)
		mp_pr_str(p, name, "<NULL string>");
	else
		mp_pr_str(p, name, NULL);
}

static void new_dsa_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_rfr_get_new_dsa_req *r = body;
	r->flags = mp_ndr_pull_u32(pull);
	r->user_dn = pull_str(pull);
	pull_ref(pull, &r->unused);
	pull_ref(pull, &r->server);
}

static void new_dsa_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_rfr_get_new_dsa_req *r = body;
	mp_ndr_push_u32(push, r->flags);
	mp_ndr_push_string8(push, r->user_dn ? r->user_dn : "", 0);
	push_ref(push, &r->unused);
	push_ref(push, &r->server);
}

static void new_dsa_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_rfr_get_new_dsa_req *r = body;
	mp_pr_hex(p, "ulFlags", r->flags, 8);
	mp_pr_str(p, "pUserDN", r->user_dn);
	print_ref(p, "ppszUnused", &r->unused);
	print_ref(p, "ppszServer", &r->server);
}

static void new_dsa_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_rfr_get_new_dsa_rsp *r = body;
	pull_ref(pull, &r->unused);
	pull_ref(pull, &r->server);
	r->result = mp_ndr_pull_u32(pull);
}

static void new_dsa_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_rfr_get_new_dsa_rsp *r = body;
	push_ref(push, &r->unused);
	push_ref(push, &r->server);
	mp_ndr_push_u32(push, r->result);
}

static void new_dsa_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_rfr_get_new_dsa_rsp *r = body;
	print_ref(p, "ppszUnused", &r->unused);
	print_ref(p, "ppszServer", &r->server);
	mp_pr_enum(p, "result", r->result, 8, mp_error_name(r->result));
}

static void fqdn_req_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_rfr_get_fqdn_req *r = body;
	uint32_t max = 0;
	r->flags = mp_ndr_pull_u32(pull);
	r->cb = mp_ndr_pull_u32(pull);
	if (mp_ndr_pull_ok(pull) && (r->cb < 10 || r->cb > 1024)) {
		mp_ndr_pull_fail(pull, "cbMailboxServerDN outside 10..1024");
		return;
	}
	r->server_dn = mp_ndr_pull_string8(pull, &max);
	if (r->server_dn && max != r->cb)
		mp_ndr_pull_fail(pull, "string size differs from cbMailboxServerDN");
}

static void fqdn_req_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_rfr_get_fqdn_req *r = body;
	const char *dn = r->server_dn ? r->server_dn : "";
	size_t need = strlen(dn) + 1;
	uint32_t cb = r->cb >= need ? r->cb : (uint32_t)need;
	mp_ndr_push_u32(push, r->flags);
	mp_ndr_push_u32(push, cb);
	mp_ndr_push_string8(push, dn, cb);
}

static void fqdn_req_print(struct mp_printer *p, const void *body)
{
	const struct mp_rfr_get_fqdn_req *r = body;
	mp_pr_hex(p, "ulFlags", r->flags, 8);
	mp_pr_uint(p, "cbMailboxServerDN", r->cb);
	mp_pr_str(p, "szMailboxServerDN", r->server_dn);
}

static void fqdn_rsp_pull(struct mp_ndr_pull *pull, void *body)
{
	struct mp_rfr_get_fqdn_rsp *r = body;
	r->fqdn = pull_str_ptr(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void fqdn_rsp_push(struct mp_ndr_push *push, const void *body)
{
	const struct mp_rfr_get_fqdn_rsp *r = body;
	push_str_ptr(push, r->fqdn);
	mp_ndr_push_u32(push, r->result);
}

static void fqdn_rsp_print(struct mp_printer *p, const void *body)
{
	const struct mp_rfr_get_fqdn_rsp *r = body;
	mp_pr_str(p, "ppszServerFQDN", r->fqdn);
	mp_pr_enum(p, "result", r->result, 8, mp_error_name(r->result));
}

static const struct mp_call_codec rfr_codecs[MP_RFR_OPNUM_COUNT] = {
	[MP_RFR_GET_NEW_DSA] = {
		.name = "RfrGetNewDSA",
		.size = { sizeof(struct mp_rfr_get_new_dsa_req),
			  sizeof(struct mp_rfr_get_new_dsa_rsp) },
		.pull = { new_dsa_req_pull, new_dsa_rsp_pull },
		.push = { new_dsa_req_push, new_dsa_rsp_push },
		.print = { new_dsa_req_print, new_dsa_rsp_print },
	},
	[MP_RFR_GET_FQDN_FROM_SERVER_DN] = {
		.name = "RfrGetFQDNFromServerDN",
		.size = { sizeof(struct mp_rfr_get_fqdn_req),
			  sizeof(struct mp_rfr_get_fqdn_rsp) },
		.pull = { fqdn_req_pull, fqdn_rsp_pull },
		.push = { fqdn_req_push, fqdn_rsp_push },
		.print = { fqdn_req_print, fqdn_rsp_print },
	},
};

const struct mp_call_codec *mp_rfr_codec(uint16_t opnum)
{
	return opnum < MP_RFR_OPNUM_COUNT ? &rfr_codecs[opnum] : NULL;
}

bool mp_rfr_push(uint16_t opnum, enum mp_call_dir dir, const void *body, struct mp_wbuf *out)
{
	return mp_call_codec_push(mp_rfr_codec(opnum), dir, body, NULL, out);
}
