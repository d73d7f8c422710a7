/*
 * Store ROPs (MS-OXCSTOR, MS-OXCROPS 2.2.3): RopLogon to the user's own
 * private mailbox, receive folders, LongTermId conversions.
 */
#include "server/rop_server.h"

#include "util/status.h"

#include <string.h>
#include <strings.h>
#include <talloc.h>
#include <time.h>

#define LOGON_PRIVATE 0x01
/* ResponseFlags: Reserved (always set), OwnerRight, SendAsRight. */
#define LOGON_RESPONSE_FLAGS 0x07

static struct mp_sobj *logon_of(struct mp_rop_ctx *c, const struct mp_rop *rop)
{
	struct mp_sobj *o = mp_srv_obj_at(c, mp_rop_input_index(rop));
	return o && o->type == MP_SOBJ_LOGON ? o : NULL;
}

void mp_srv_rop_logon(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_emsmdb_sess *s = c->s;
	int out = mp_rop_output_index(rop);
	uint8_t flags = (uint8_t)mp_srv_uint(rop, "LogonFlags");
	const struct mp_rop_val *essdn = mp_rop_field(rop, "Essdn");
	struct mp_store_user *u = NULL;
	struct mp_store_mailbox mb;

	if (out < 0 || (size_t)out >= c->nhandles) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!(flags & LOGON_PRIVATE)) {
		/* No public folder store. */
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_SUPPORTED);
		return;
	}
	char *dn = essdn && essdn->n ? talloc_strndup(c->mem, (const char *)essdn->bytes, essdn->n)
	                             : talloc_strdup(c->mem, s->user_dn);
	if (!dn || mp_store_user_by_dn(c->txn, dn, c->mem, &u) != MP_OK) {
		mp_srv_rsp_error(wb, rop, MP_EC_UNKNOWN_USER);
		return;
	}
	if (u->id != s->user_id) {
		/* Only one's own mailbox: no delegation. */
		mp_srv_rsp_error(wb, rop, MP_EC_LOGIN_PERM);
		return;
	}
	if (mp_store_mailbox_get(c->txn, u->id, &mb) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	struct mp_sobj *o = mp_srv_obj_new(c, MP_SOBJ_LOGON);
	if (!o) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	o->logon_id = (uint8_t)mp_rop_logon_id(rop);
	o->mbox = u->id;
	mp_srv_obj_free(s, mp_srv_obj_at(c, out), c->txn);
	c->handles[out] = o->handle;
	if (s->rsess)
		mp_rop_session_set_logon(s->rsess, o->logon_id, flags);

	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)out, 0);
	mp_wb_u8(wb, flags);
	for (int i = 0; i < MP_STORE_LOGON_FOLDERS; i++)
		mp_wb_u32(wb, (uint32_t)mb.special[i]),
		    mp_wb_u32(wb, (uint32_t)(mb.special[i] >> 32));
	mp_wb_u8(wb, LOGON_RESPONSE_FLAGS);
	mp_wb_bytes(wb, mb.mailbox_guid, 16);
	mp_wb_u16(wb, mb.replid);
	mp_wb_bytes(wb, mb.replica_guid, 16);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	mp_wb_u8(wb, (uint8_t)tm.tm_sec);
	mp_wb_u8(wb, (uint8_t)tm.tm_min);
	mp_wb_u8(wb, (uint8_t)tm.tm_hour);
	mp_wb_u8(wb, (uint8_t)tm.tm_wday);
	mp_wb_u8(wb, (uint8_t)tm.tm_mday);
	mp_wb_u8(wb, (uint8_t)(tm.tm_mon + 1));
	mp_wb_u16(wb, (uint16_t)(tm.tm_year + 1900));
	mp_wb_u32(wb, 0); /* GwartTime: no free/busy publishing */
	mp_wb_u32(wb, 0);
	mp_wb_u32(wb, 0); /* StoreState */
}

void mp_srv_rop_get_receive_folder(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                   struct mp_wbuf *wb)
{
	struct mp_sobj *lo = logon_of(c, rop);
	const struct mp_rop_val *cls = mp_rop_field(rop, "MessageClass");
	uint64_t fid = 0;
	char *explicit_class = NULL;
	if (!lo) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	char *name = mp_srv_str(c->mem, cls, false);
	if (mp_store_receive_folder_get(c->txn, lo->mbox, name ? name : "", c->mem, &fid,
	                                &explicit_class) != MP_OK) {
		mp_srv_rsp_error(wb, rop, mp_srv_ec(c));
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u32(wb, (uint32_t)fid);
	mp_wb_u32(wb, (uint32_t)(fid >> 32));
	const char *e = explicit_class ? explicit_class : "";
	mp_wb_bytes(wb, e, strlen(e) + 1);
}

void mp_srv_rop_set_receive_folder(struct mp_rop_ctx *c, const struct mp_rop *rop,
                                   struct mp_wbuf *wb)
{
	struct mp_sobj *lo = logon_of(c, rop);
	if (!lo) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	char *name = mp_srv_str(c->mem, mp_rop_field(rop, "MessageClass"), false);
	uint64_t fid = mp_srv_uint(rop, "FolderId");
	int rc = mp_store_receive_folder_set(c->txn, lo->mbox, name ? name : "", fid);
	mp_srv_rsp_error(wb, rop, rc == MP_OK ? 0 : mp_srv_ec(c));
}

void mp_srv_rop_ltid_from_id(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *lo = logon_of(c, rop);
	struct mp_store_mailbox mb;
	uint8_t ltid[MP_STORE_LTID_LEN];
	if (!lo) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (mp_store_mailbox_get(c->txn, lo->mbox, &mb) != MP_OK ||
	    mp_store_ltid_from_id(&mb, mp_srv_uint(rop, "ObjectId"), ltid) != MP_OK) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_bytes(wb, ltid, sizeof(ltid));
}

void mp_srv_rop_id_from_ltid(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	struct mp_sobj *lo = logon_of(c, rop);
	const struct mp_rop_val *v = mp_rop_field(rop, "LongTermId");
	struct mp_store_mailbox mb;
	uint64_t id = 0;
	if (!lo) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	if (!v || v->n != MP_STORE_LTID_LEN ||
	    mp_store_mailbox_get(c->txn, lo->mbox, &mb) != MP_OK ||
	    mp_store_id_from_ltid(&mb, v->bytes, &id) != MP_OK) {
		mp_srv_rsp_error(wb, rop, MP_EC_NOT_FOUND);
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u32(wb, (uint32_t)id);
	mp_wb_u32(wb, (uint32_t)(id >> 32));
}

/* No per-user read state of public folders: always an empty list. */
void mp_srv_rop_peruser_ltids(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb)
{
	if (!logon_of(c, rop)) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)mp_rop_input_index(rop), 0);
	mp_wb_u16(wb, 0);
}
