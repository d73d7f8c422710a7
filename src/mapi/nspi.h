/*
 * NSPI call codecs (MS-OXNSPI 3.1.4.1, interface f5cc5a18-4264-101a-8c59-
 * 08002b2f8426 v56.0): one request and one response structure per opnum,
 * decoded and encoded by the table behind mp_nspi_codec() (call.h).
 *
 * Parameters follow the IDL of MS-OXNSPI section 6 in order. [in] T* and
 * [in,out] T* parameters without [unique] are reference pointers: no
 * referent ID on the wire, the T is inline (a struct member here). [unique]
 * pointers and the inner pointer of [out] T** are unique pointers: a NULL C
 * pointer is a NULL pointer on the wire. Every response ends with the
 * method's return value (`result`, a MAPI/NSPI error code).
 *
 * Opnum 15 is "not used on the wire" (MS-OXNSPI: Opnum15NotUsedOnWire,
 * NspiDeleteEntries in older IDLs); its IDL still declares the parameters,
 * so it is decoded with that layout under the name NspiDeleteEntries. Opnums
 * above 20 have no codec (mp_nspi_codec returns NULL: relayed untouched).
 *
 * Modules read and change these structures in place (strings and arrays are
 * talloc'd under the decoded call; replace them with memory of the call)
 * and the call is encoded again with mp_mapi_encode().
 */
#ifndef MP_MAPI_NSPI_H
#define MP_MAPI_NSPI_H

#include <stdbool.h>
#include <stdint.h>

#include "mapi/call.h"
#include "mapi/nspi_types.h"

enum mp_nspi_opnum {
	MP_NSPI_BIND = 0,
	MP_NSPI_UNBIND = 1,
	MP_NSPI_UPDATE_STAT = 2,
	MP_NSPI_QUERY_ROWS = 3,
	MP_NSPI_SEEK_ENTRIES = 4,
	MP_NSPI_GET_MATCHES = 5,
	MP_NSPI_RESORT_RESTRICTION = 6,
	MP_NSPI_DN_TO_MID = 7,
	MP_NSPI_GET_PROP_LIST = 8,
	MP_NSPI_GET_PROPS = 9,
	MP_NSPI_COMPARE_MIDS = 10,
	MP_NSPI_MOD_PROPS = 11,
	MP_NSPI_GET_SPECIAL_TABLE = 12,
	MP_NSPI_GET_TEMPLATE_INFO = 13,
	MP_NSPI_MOD_LINK_ATT = 14,
	MP_NSPI_DELETE_ENTRIES = 15,
	MP_NSPI_QUERY_COLUMNS = 16,
	MP_NSPI_GET_NAMES_FROM_IDS = 17,
	MP_NSPI_GET_IDS_FROM_NAMES = 18,
	MP_NSPI_RESOLVE_NAMES = 19,
	MP_NSPI_RESOLVE_NAMES_W = 20,
	MP_NSPI_OPNUM_COUNT,
};

/* Opnum 0 */
struct mp_nspi_bind_req {
	uint32_t flags;
	struct mp_nspi_stat stat;
	struct mp_nspi_flatuid *server_guid; /* [in,out,unique] */
};
struct mp_nspi_bind_rsp {
	struct mp_nspi_flatuid *server_guid;
	struct mp_ndr_handle handle;
	uint32_t result;
};

/* Opnum 1 */
struct mp_nspi_unbind_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
};
struct mp_nspi_unbind_rsp {
	struct mp_ndr_handle handle;
	uint32_t result;
};

/* Opnum 2 */
struct mp_nspi_update_stat_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_stat stat;
	int32_t *delta; /* [in,out,unique] plDelta */
};
struct mp_nspi_update_stat_rsp {
	struct mp_nspi_stat stat;
	int32_t *delta;
	uint32_t result;
};

/* Opnum 3 */
struct mp_nspi_query_rows_req {
	struct mp_ndr_handle handle;
	uint32_t flags;
	struct mp_nspi_stat stat;
	uint32_t etable_count;	/* dwETableCount */
	uint32_t *etable;	/* [unique, size_is(dwETableCount)] lpETable */
	uint32_t count;		/* rows wanted */
	struct mp_nspi_proptags *prop_tags;
};
struct mp_nspi_query_rows_rsp {
	struct mp_nspi_stat stat;
	struct mp_nspi_rowset *rows;
	uint32_t result;
};

/* Opnum 4 */
struct mp_nspi_seek_entries_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_stat stat;
	struct mp_nspi_propval target;
	struct mp_nspi_proptags *etable;
	struct mp_nspi_proptags *prop_tags;
};
struct mp_nspi_seek_entries_rsp {
	struct mp_nspi_stat stat;
	struct mp_nspi_rowset *rows;
	uint32_t result;
};

/* Opnum 5 */
struct mp_nspi_get_matches_req {
	struct mp_ndr_handle handle;
	uint32_t reserved1;
	struct mp_nspi_stat stat;
	struct mp_nspi_proptags *reserved; /* pReserved (MIds) */
	uint32_t reserved2;
	struct mp_nspi_restriction *filter;
	struct mp_nspi_propname *prop_name;
	uint32_t requested;
	struct mp_nspi_proptags *prop_tags;
};
struct mp_nspi_get_matches_rsp {
	struct mp_nspi_stat stat;
	struct mp_nspi_proptags *mids; /* ppOutMIds */
	struct mp_nspi_rowset *rows;
	uint32_t result;
};

/* Opnum 6 */
struct mp_nspi_resort_restriction_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_stat stat;
	struct mp_nspi_proptags in_mids;
	struct mp_nspi_proptags *out_mids; /* [in,out] ppOutMIds */
};
struct mp_nspi_resort_restriction_rsp {
	struct mp_nspi_stat stat;
	struct mp_nspi_proptags *out_mids;
	uint32_t result;
};

/* Opnum 7 */
struct mp_nspi_dn_to_mid_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_strings names; /* 8-bit DNs */
};
struct mp_nspi_dn_to_mid_rsp {
	struct mp_nspi_proptags *mids;
	uint32_t result;
};

/* Opnum 8 */
struct mp_nspi_get_prop_list_req {
	struct mp_ndr_handle handle;
	uint32_t flags;
	uint32_t mid;
	uint32_t code_page;
};
struct mp_nspi_get_prop_list_rsp {
	struct mp_nspi_proptags *prop_tags;
	uint32_t result;
};

/* Opnum 9 */
struct mp_nspi_get_props_req {
	struct mp_ndr_handle handle;
	uint32_t flags;
	struct mp_nspi_stat stat;
	struct mp_nspi_proptags *prop_tags;
};
struct mp_nspi_get_props_rsp {
	struct mp_nspi_row *row; /* ppRows */
	uint32_t result;
};

/* Opnum 10 */
struct mp_nspi_compare_mids_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_stat stat;
	uint32_t mid1;
	uint32_t mid2;
};
struct mp_nspi_compare_mids_rsp {
	int32_t cmp; /* plResult */
	uint32_t result;
};

/* Opnum 11 */
struct mp_nspi_mod_props_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_stat stat;
	struct mp_nspi_proptags *prop_tags;
	struct mp_nspi_row row;
};
struct mp_nspi_mod_props_rsp {
	uint32_t result;
};

/* Opnum 12 */
struct mp_nspi_get_special_table_req {
	struct mp_ndr_handle handle;
	uint32_t flags;
	struct mp_nspi_stat stat;
	uint32_t version; /* [in,out] lpVersion */
};
struct mp_nspi_get_special_table_rsp {
	uint32_t version;
	struct mp_nspi_rowset *rows;
	uint32_t result;
};

/* Opnum 13 */
struct mp_nspi_get_template_info_req {
	struct mp_ndr_handle handle;
	uint32_t flags;
	uint32_t type;
	char *dn; /* [unique, string] pDN */
	uint32_t code_page;
	uint32_t locale_id;
};
struct mp_nspi_get_template_info_rsp {
	struct mp_nspi_row *data; /* ppData */
	uint32_t result;
};

/* Opnum 14 */
struct mp_nspi_mod_link_att_req {
	struct mp_ndr_handle handle;
	uint32_t flags;
	uint32_t proptag;
	uint32_t mid;
	struct mp_nspi_binary_array entry_ids;
};
struct mp_nspi_mod_link_att_rsp {
	uint32_t result;
};

/* Opnum 15 (not used on the wire) */
struct mp_nspi_delete_entries_req {
	struct mp_ndr_handle handle;
	uint32_t reserved2;
	uint32_t reserved3;
	struct mp_nspi_binary_array entry_ids; /* Reserved4 */
};
struct mp_nspi_delete_entries_rsp {
	uint32_t result;
};

/* Opnum 16 */
struct mp_nspi_query_columns_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	uint32_t flags;
};
struct mp_nspi_query_columns_rsp {
	struct mp_nspi_proptags *columns;
	uint32_t result;
};

/* Opnum 17 */
struct mp_nspi_get_names_from_ids_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_flatuid *guid;
	struct mp_nspi_proptags *prop_tags;
};
struct mp_nspi_get_names_from_ids_rsp {
	struct mp_nspi_proptags *prop_tags; /* ppReturnedPropTags */
	struct mp_nspi_propname_set *names;
	uint32_t result;
};

/* Opnum 18: pNames is a reference to an array of cPropNames unique
 * pointers to PropertyName_r (elements may be NULL). */
struct mp_nspi_get_ids_from_names_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	uint32_t flags;
	uint32_t count; /* cPropNames */
	struct mp_nspi_propname **names;
};
struct mp_nspi_get_ids_from_names_rsp {
	struct mp_nspi_proptags *prop_tags;
	uint32_t result;
};

/* Opnum 19 (8-bit strings) and 20 (wide strings: UTF-8 here). */
struct mp_nspi_resolve_names_req {
	struct mp_ndr_handle handle;
	uint32_t reserved;
	struct mp_nspi_stat stat;
	struct mp_nspi_proptags *prop_tags;
	struct mp_nspi_strings names; /* paStr / paWStr */
};
struct mp_nspi_resolve_names_rsp {
	struct mp_nspi_proptags *mids;
	struct mp_nspi_rowset *rows;
	uint32_t result;
};

/*
 * Encode a call built from scratch (a server's response, a module's own
 * request; no decoded call behind it): referent IDs are counted like
 * Samba, alignment gaps are zero. `body` is the opnum's request or response
 * structure. Appends the stub to `out` (initialised by the caller). Returns
 * false when the opnum has no codec or the structure cannot be encoded (a
 * property type PROP_VAL_UNION has no arm for, an unknown restriction type,
 * restrictions nested deeper than MP_NSPI_MAX_RES_DEPTH, a wide string that
 * is not UTF-8); `out` is then unchanged.
 */
bool mp_nspi_push(uint16_t opnum, enum mp_call_dir dir, const void *body, struct mp_wbuf *out);

#endif
