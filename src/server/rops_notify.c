/*
 * Notifications (MS-OXCNOTIF, MS-OXCROPS 2.2.14): RopRegisterNotification
 * subscriptions, NewMail events queued for every session subscribed to the
 * mailbox, delivered as RopNotify responses after the ROP responses of the
 * session's next EcDoRpcExt2 (MS-OXCNOTIF 3.1.5.1; RopPending when they do
 * not all fit), and the pending flag EcDoAsyncWaitEx reports: a queued
 * event wakes the wait parked on the session's AsyncEMSMDB handle
 * (asyncemsmdb_server.c). Only NewMail is generated: object created /
 * modified / deleted and table notifications are not.
 */
#include "server/rop_server.h"

#include "util/status.h"

#include <pthread.h>
#include <string.h>

#define NF_NEWMAIL 0x0002
#define NF_MESSAGE 0x8000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_emsmdb_sess *sessions;

void mp_srv_notify_attach(struct mp_emsmdb_sess *s)
{
	pthread_mutex_lock(&lock);
	if (!s->registered) {
		s->next = sessions;
		sessions = s;
		s->registered = true;
	}
	pthread_mutex_unlock(&lock);
}

void mp_srv_notify_detach(struct mp_emsmdb_sess *s)
{
	uint8_t acxh[16];
	pthread_mutex_lock(&lock);
	for (struct mp_emsmdb_sess **p = &sessions; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	bool had = s->has_acxh;
	memcpy(acxh, s->acxh, 16);
	s->registered = false;
	s->npending = 0;
	s->has_acxh = false;
	pthread_mutex_unlock(&lock);
	/* Its handle is no longer valid: a wait on it answers now (3.3.4.1). */
	if (had)
		mp_srv_async_wake(acxh);
}

/* Handles to wake after one delivery; past this many, every wait wakes. */
#define MAX_WAKE 32

void mp_srv_notify_new_mail(uint32_t mbox, uint64_t fid, uint64_t mid, uint32_t msg_flags,
                            const char *msg_class)
{
	uint8_t wake[MAX_WAKE][16];
	size_t nwake = 0;
	bool wake_all = false;
	pthread_mutex_lock(&lock);
	for (struct mp_emsmdb_sess *s = sessions; s; s = s->next) {
		size_t before = s->npending;
		for (uint32_t i = 0; i < MP_SRV_MAX_OBJECTS; i++) {
			const struct mp_sobj *o = s->objs[i];
			if (!o || o->type != MP_SOBJ_NOTIFY || o->mbox != mbox ||
			    !(o->ntypes & NF_NEWMAIL) || (!o->whole && o->fid != fid))
				continue;
			if (s->npending == MP_SRV_MAX_PENDING)
				break; /* a client that never reads loses the newest */
			struct mp_srv_pending *p = &s->pending[s->npending++];
			memset(p, 0, sizeof(*p));
			p->handle = o->handle;
			p->logon_id = o->logon_id;
			p->fid = fid;
			p->mid = mid;
			p->msg_flags = msg_flags;
			strncpy(p->msg_class, msg_class ? msg_class : "IPM.Note",
			        sizeof(p->msg_class) - 1);
		}
		if (s->npending > before && s->has_acxh) {
			if (nwake < MAX_WAKE)
				memcpy(wake[nwake++], s->acxh, 16);
			else
				wake_all = true;
		}
	}
	pthread_mutex_unlock(&lock);
	/* Outside the lock: the waits answer from the event loop, after the
	 * call that delivered (and its store transaction) is done. */
	if (wake_all)
		mp_srv_async_wake(NULL);
	for (size_t i = 0; i < nwake && !wake_all; i++)
		mp_srv_async_wake(wake[i]);
}

static void put_u64(struct mp_wbuf *wb, uint64_t v)
{
	mp_wb_u32(wb, (uint32_t)v);
	mp_wb_u32(wb, (uint32_t)(v >> 32));
}

#define ROP_PENDING_SIZE 3 /* RopId, SessionIndex */

void mp_srv_notify_flush(struct mp_emsmdb_sess *s, struct mp_wbuf *wb, size_t room)
{
	size_t done = 0, used = 0;
	pthread_mutex_lock(&lock);
	for (; done < s->npending; done++) {
		const struct mp_srv_pending *p = &s->pending[done];
		size_t cls = strlen(p->msg_class);
		size_t need = 1 + 4 + 1 + 2 + 8 + 8 + 4 + 1 + 2 * (cls + 1);
		/* The last one needs no room for a RopPending after it. */
		size_t tail = done + 1 < s->npending ? ROP_PENDING_SIZE : 0;
		if (used + need + tail > room)
			break;
		mp_wb_u8(wb, 0x2A); /* RopNotify */
		mp_wb_u32(wb, p->handle);
		mp_wb_u8(wb, p->logon_id);
		mp_wb_u16(wb, NF_NEWMAIL | NF_MESSAGE);
		put_u64(wb, p->fid);
		put_u64(wb, p->mid);
		mp_wb_u32(wb, p->msg_flags);
		mp_wb_u8(wb, 1); /* UnicodeFlag */
		for (size_t i = 0; i <= cls; i++)
			mp_wb_u16(wb, (uint8_t)p->msg_class[i]);
		used += need;
	}
	/* More than fit: RopPending tells the client to ask again (MS-OXCNOTIF 3.1.5.7). */
	if (done < s->npending && used + ROP_PENDING_SIZE <= room) {
		mp_wb_u8(wb, MP_ROPID_PENDING);
		mp_wb_u16(wb, s->icxr);
	}
	memmove(s->pending, s->pending + done, (s->npending - done) * sizeof(s->pending[0]));
	s->npending -= done;
	pthread_mutex_unlock(&lock);
}

void mp_srv_notify_lock(void)
{
	pthread_mutex_lock(&lock);
}

void mp_srv_notify_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void mp_srv_notify_set_acxh(struct mp_emsmdb_sess *s, const uint8_t acxh[16])
{
	uint8_t old[16];
	pthread_mutex_lock(&lock);
	bool had = s->has_acxh;
	memcpy(old, s->acxh, 16);
	memcpy(s->acxh, acxh, 16);
	s->has_acxh = true;
	pthread_mutex_unlock(&lock);
	if (had) /* the old handle is no longer valid */
		mp_srv_async_wake(old);
}

int mp_srv_notify_acxh_state(const uint8_t acxh[16])
{
	int state = MP_SRV_ACXH_UNKNOWN;
	pthread_mutex_lock(&lock);
	for (struct mp_emsmdb_sess *s = sessions; s; s = s->next)
		if (s->has_acxh && memcmp(s->acxh, acxh, 16) == 0)
			state = s->npending ? MP_SRV_ACXH_PENDING : MP_SRV_ACXH_IDLE;
	pthread_mutex_unlock(&lock);
	return state;
}

bool mp_srv_notify_pending_acxh(const uint8_t acxh[16])
{
	return mp_srv_notify_acxh_state(acxh) == MP_SRV_ACXH_PENDING;
}

void mp_srv_notify_forget(struct mp_emsmdb_sess *s, uint32_t handle)
{
	size_t k = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i].handle != handle)
			s->pending[k++] = s->pending[i];
	s->npending = k;
	pthread_mutex_unlock(&lock);
}

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
	/* Filled first, typed last under the lock: other sessions' threads
	 * walk the subscriptions when they deliver mail. */
	struct mp_sobj *n = mp_srv_obj_new(c, 0);
	if (n) {
		n->mbox = p->mbox;
		n->logon_id = p->logon_id;
		n->ntypes = (uint8_t)mp_srv_uint(rop, "NotificationTypes");
		n->whole = mp_srv_uint(rop, "WantWholeStore") != 0;
		n->fid = mp_srv_uint(rop, "FolderId");
		n->mid = mp_srv_uint(rop, "MessageId");
		pthread_mutex_lock(&lock);
		n->type = MP_SOBJ_NOTIFY;
		pthread_mutex_unlock(&lock);
	}
	if (!n) {
		mp_srv_rsp_error(wb, rop, MP_EC_OOM);
		return;
	}
	mp_srv_obj_free(c->s, mp_srv_obj_at(c, out), c->txn);
	c->handles[out] = n->handle;
	mp_srv_rsp_hdr(wb, rop->id, (uint8_t)out, 0);
}
