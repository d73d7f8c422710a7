/*
 * Name look-ups (names.h): arrays indexed by the number where the numbers
 * are small and dense (ROP ids, opnums), binary search in the sorted
 * generated tables otherwise.
 */
#include "mapi/names.h"

#include <string.h>

#include <stddef.h>

#include "mapi/names_tables.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* ROPs and calls                                                      */
/* ------------------------------------------------------------------ */

static const char *const rop_names[256] = {
#define MP_ROP_NAME(id, upper, name) [id] = name,
	MP_ROP_IDS(MP_ROP_NAME)
#undef MP_ROP_NAME
};

const char *mp_rop_name(uint8_t rop_id)
{
	return rop_names[rop_id];
}

static const char *const emsmdb_calls[] = {
	"EcDoConnect",
	"EcDoDisconnect",
	"EcDoRpc",
	"EcGetMoreRpc",
	"EcRRegisterPushNotification",
	"EcRUnregisterPushNotification",
	"EcDummyRpc",
	"EcRGetDCName",
	"EcRNetGetDCName",
	"EcDoRpcExt",
	"EcDoConnectEx",
	"EcDoRpcExt2",
	"Opnum12Reserved",
	"Opnum13Reserved",
	"EcDoAsyncConnectEx",
};

static const char *const asyncemsmdb_calls[] = {
	"EcDoAsyncWaitEx",
};

static const char *const nspi_calls[] = {
	"NspiBind",
	"NspiUnbind",
	"NspiUpdateStat",
	"NspiQueryRows",
	"NspiSeekEntries",
	"NspiGetMatches",
	"NspiResortRestriction",
	"NspiDNToMId",
	"NspiGetPropList",
	"NspiGetProps",
	"NspiCompareMIds",
	"NspiModProps",
	"NspiGetSpecialTable",
	"NspiGetTemplateInfo",
	"NspiModLinkAtt",
	"NspiDeleteEntries",
	"NspiQueryColumns",
	"NspiGetNamesFromIDs",
	"NspiGetIDsFromNames",
	"NspiResolveNames",
	"NspiResolveNamesW",
};

static const char *const rfr_calls[] = {
	"RfrGetNewDSA",
	"RfrGetFQDNFromServerDN",
};

const char *mp_emsmdb_call_name(uint16_t opnum)
{
	return opnum < ARRAY_LEN(emsmdb_calls) ? emsmdb_calls[opnum] : NULL;
}

const char *mp_asyncemsmdb_call_name(uint16_t opnum)
{
	return opnum < ARRAY_LEN(asyncemsmdb_calls) ? asyncemsmdb_calls[opnum] : NULL;
}

const char *mp_nspi_call_name(uint16_t opnum)
{
	return opnum < ARRAY_LEN(nspi_calls) ? nspi_calls[opnum] : NULL;
}

const char *mp_rfr_call_name(uint16_t opnum)
{
	return opnum < ARRAY_LEN(rfr_calls) ? rfr_calls[opnum] : NULL;
}

/* ------------------------------------------------------------------ */
/* Property types                                                      */
/* ------------------------------------------------------------------ */

struct proptype_name {
	uint16_t type;
	const char *ptyp;
	const char *pt;
};

/* Sorted by type (the X-macro lists them in order). */
static const struct proptype_name proptypes[] = {
#define MP_PTYP_ROW(v, ptyp, pt) {v, ptyp, pt},
	MP_PROPTYPES(MP_PTYP_ROW)
#undef MP_PTYP_ROW
};

static const struct proptype_name *proptype_find(uint16_t type)
{
	size_t lo = 0, hi = ARRAY_LEN(proptypes);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (proptypes[mid].type == type)
			return &proptypes[mid];
		if (proptypes[mid].type < type)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *mp_proptype_name(uint16_t type)
{
	const struct proptype_name *t = proptype_find(type);
	return t ? t->ptyp : NULL;
}

const char *mp_proptype_pt_name(uint16_t type)
{
	const struct proptype_name *t = proptype_find(type);
	return t ? t->pt : NULL;
}

/* ------------------------------------------------------------------ */
/* Property tags                                                       */
/* ------------------------------------------------------------------ */

static const struct mp_proptag_entry *proptag_find(uint32_t tag)
{
	size_t lo = 0, hi = mp_proptag_table_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t t = mp_proptag_table[mid].tag;
		if (t == tag)
			return &mp_proptag_table[mid];
		if (t < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *mp_propid_name(uint16_t id)
{
	size_t lo = 0, hi = mp_propid_table_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint16_t v = mp_propid_table[mid].id;
		if (v == id)
			return mp_propid_table[mid].name;
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *mp_proptag_name(uint32_t tag)
{
	const struct mp_proptag_entry *e = proptag_find(tag);
	if (e && e->pidtag)
		return e->pidtag;
	return mp_propid_name((uint16_t)(tag >> 16));
}

bool mp_proptag_is_secret(uint32_t tag, bool address_book)
{
	uint16_t id = (uint16_t)(tag >> 16);
	uint16_t type = (uint16_t)(tag & 0x0FFF); /* without the multi-value bit */
	if (type != 0x001F && type != 0x001E && type != 0x0102) /* String, String8, Binary */
		return false;
	if (id < 0x8000) {
		/* By the exact tag: some IDs name different properties by type. */
		const char *name = mp_proptag_name(tag & ~0x1000u);
		return name && strstr(name, "Password");
	}
	const char *pr = address_book ? mp_proptag_pr_name(tag & ~0x1000u) : NULL;
	return pr && strstr(pr, "PASSWORD");
}

const char *mp_proptag_pr_name(uint32_t tag)
{
	const struct mp_proptag_entry *e = proptag_find(tag);
	return e ? e->pr : NULL;
}

/* ------------------------------------------------------------------ */
/* Error codes                                                         */
/* ------------------------------------------------------------------ */

static const struct mp_error_entry *error_find(uint32_t code)
{
	size_t lo = 0, hi = mp_error_table_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t c = mp_error_table[mid].code;
		if (c == code)
			return &mp_error_table[mid];
		if (c < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *mp_rpc_status_name(uint32_t code)
{
	size_t lo = 0, hi = mp_rpc_status_table_len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t c = mp_rpc_status_table[mid].code;
		if (c == code)
			return mp_rpc_status_table[mid].name;
		if (c < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *mp_error_name(uint32_t code)
{
	const struct mp_error_entry *e = error_find(code);
	if (e && e->ec)
		return e->ec;
	if (e && e->spec)
		return e->spec;
	const char *rpc = mp_rpc_status_name(code);
	if (rpc)
		return rpc;
	return e ? e->mapi : NULL;
}

const char *mp_error_mapi_name(uint32_t code)
{
	const struct mp_error_entry *e = error_find(code);
	return e ? e->mapi : NULL;
}

const char *mp_error_spec_name(uint32_t code)
{
	const struct mp_error_entry *e = error_find(code);
	return e ? e->spec : NULL;
}
