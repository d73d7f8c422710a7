/*
 * RopRegisterNotification (MS-OXCNOTIF, MS-OXCROPS 2.2.14.1): the
 * subscription becomes a server object so that the client's handle works
 * and RopRelease ends it. No events are generated yet: RopNotify and the
 * pending flag of EcDoAsyncWaitEx are not produced.
 */
#include "server/rop_server.h"

void mp_srv_rop_register_notification(struct mp_rop_ctx *c, const struct mp_rop *rop,
				      struct mp_wbuf *wb)
{
	struct mp_sobj *p = mp_srv_obj_at(c, mp_rop_input_index(rop));
	int out = mp_rop_output_index(rop);
	if (!p || (p->type != MP_SOBJ_LOGON && p->type != MP_SOBJ_FOLDER) || out < 0 ||
	    (size_t)out >= c->nhandles) {
		mp_srv_rsp_error(wb, rop, MP_EC_NULL_OBJECT);
		return;
	}
	struct mp_sobj *n = mp_srv_obj_new(c, MP_SOBJ_NOTIFY);
	if (!n) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	n->mbox = p->mbox;
	n->logon_id = p->logon_id;
	n->fid = mp_srv_uint(rop, "FolderId");
	n->mid = mp_srv_uint(rop, "MessageId");
	mp_srv_obj_free(c->s, mp_srv_obj_at(c, out), c->txn);
	c->handles[out] = n->handle;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)out, 0);
}
