/*
 * The AsyncEMSMDB server module (MS-OXCRPC 3.3.4.1, MS-OXCNOTIF 3.1.5.3):
 * EcDoAsyncWaitEx. The call names the EMSMDB session that EcDoAsyncConnectEx
 * tied to its handle (ACXH). When that session has queued notifications
 * (rops_notify.c), or the handle names no session, the call is answered at
 * once with NotificationPending. Otherwise it is parked (a deferred answer,
 * src/proxy/server.h) until a notification is queued for the session
 * (mp_srv_async_wake) or five minutes pass (then without the flag;
 * mapiserver:async wait shortens this, for tests). A second
 * wait on the same handle and association is answered with ecRejected; one
 * on another association (the client reconnected) completes the old one.
 * When the daemon drains, parked calls are answered with ecExiting.
 *
 * The parked calls live in one list, touched only from the event loop.
 */
#include "server/rop_server.h"
#include "server/server_modules.h"

#include "dcerpc/pdu.h"
#include "mapi/call.h"
#include "mapi/emsmdb.h"
#include "util/log.h"
#include "util/status.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#define WAIT_SECONDS 300        /* MS-OXCNOTIF 3.1.5.3: at most 5 minutes */
#define EC_REJECTED 0x000007EEu /* a wait is already outstanding on the handle */
#define EC_EXITING 0x000003EDu  /* the server is shutting down */

/* The module's per-association state: which session its waits belong to. */
struct async_sess {
	uint64_t session_id;
};

/* One parked EcDoAsyncWaitEx. */
struct wait {
	struct wait *next;
	uint8_t acxh[16];
	uint64_t session_id;
	bool superseded; /* a newer wait on the handle took over; answering */
	struct mp_server_deferred *token;
	struct event *ev; /* the five-minute timer; activated early to wake */
};

static struct wait *waits;
/* How long a wait is held (mapiserver:async wait; shorter only for tests). */
static unsigned wait_seconds = WAIT_SECONDS;

static bool push_rsp(uint32_t flags, uint32_t result, struct mp_wbuf *out)
{
	struct mp_asyncemsmdb_wait_ex_resp rsp = {.pulFlagsOut = flags, .result = result};
	return mp_asyncemsmdb_push(MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX, MP_CALL_RESPONSE, &rsp, out);
}

/* The flags a successful answer carries now: NotificationPending when the
 * handle's session has events, and when the handle is not valid (3.3.4.1). */
static uint32_t flags_now(const uint8_t acxh[16])
{
	return mp_srv_notify_acxh_state(acxh) == MP_SRV_ACXH_IDLE ? 0
	                                                          : MP_EMSMDB_NOTIFICATION_PENDING;
}

static void unlink_wait(struct wait *w)
{
	for (struct wait **p = &waits; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	event_free(w->ev);
}

/* Answer a parked wait (result 0: with the handle's state) and free it. */
static void answer(struct wait *w, uint32_t result)
{
	struct mp_wbuf out;
	mp_wb_init(&out);
	unlink_wait(w);
	uint32_t flags = result ? 0 : flags_now(w->acxh);
	if (push_rsp(flags, result, &out) && !out.bad)
		mp_server_deferred_answer(w->token, out.data, out.len, 0);
	else
		mp_server_deferred_answer(w->token, NULL, 0, MP_NCA_S_SERVER_TOO_BUSY);
	mp_debug("EcDoAsyncWaitEx answered: flags 0x%x, result 0x%08x", flags, result);
	mp_wb_free(&out);
	free(w);
}

static void wait_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	answer(arg, 0);
}

void mp_srv_async_wake(const uint8_t acxh[16])
{
	for (struct wait *w = waits; w; w = w->next)
		if (!acxh || memcmp(w->acxh, acxh, 16) == 0)
			event_active(w->ev, EV_TIMEOUT, 0);
}

static struct wait *parked_on(const uint8_t acxh[16])
{
	for (struct wait *w = waits; w; w = w->next)
		if (!w->superseded && memcmp(w->acxh, acxh, 16) == 0)
			return w;
	return NULL;
}

/* Park the call; false when it cannot wait (answer it at once). */
static bool park(struct mp_server_call *call, const uint8_t acxh[16])
{
	struct event_base *base = mp_server_event_base();
	struct async_sess *as = *call->session_state;
	if (!base)
		return false;
	if (!as) {
		as = calloc(1, sizeof(*as));
		if (!as)
			return false;
		as->session_id = call->session_id;
		*call->session_state = as;
	}
	struct wait *w = calloc(1, sizeof(*w));
	if (!w)
		return false;
	w->ev = evtimer_new(base, wait_cb, w);
	struct timeval tv = {.tv_sec = wait_seconds};
	if (!w->ev || evtimer_add(w->ev, &tv) != 0 || !(w->token = mp_server_defer(call))) {
		if (w->ev)
			event_free(w->ev);
		free(w);
		return false;
	}
	memcpy(w->acxh, acxh, 16);
	w->session_id = call->session_id;
	w->next = waits;
	waits = w;
	mp_debug("session %llu call %u: EcDoAsyncWaitEx parked until a notification or %u s",
	         (unsigned long long)call->session_id, call->call_id, wait_seconds);
	return true;
}

static int async_init(const struct mp_config *cfg, const struct mp_proxy_conf *conf, void **global,
                      char *errbuf, size_t errlen)
{
	(void)conf;
	(void)global;
	unsigned long v;
	int rc = mp_config_get_uint(cfg, "mapiserver:async wait", WAIT_SECONDS, 1, WAIT_SECONDS, &v,
	                            errbuf, errlen);
	if (rc == MP_OK)
		wait_seconds = (unsigned)v;
	return rc;
}

static int serve_wait(struct mp_server_call *call, const struct mp_asyncemsmdb_wait_ex_req *req)
{
	const uint8_t *acxh = req->acxh.uuid;
	uint32_t flags = 0, result = 0;
	if (mp_srv_notify_acxh_state(acxh) != MP_SRV_ACXH_IDLE) {
		flags = MP_EMSMDB_NOTIFICATION_PENDING;
	} else {
		struct wait *old = parked_on(acxh);
		if (old && old->session_id == call->session_id) {
			result = EC_REJECTED;
		} else {
			if (old) { /* the client came back on a new association */
				old->superseded = true;
				event_active(old->ev, EV_TIMEOUT, 0);
			}
			if (park(call, acxh))
				return MP_AGAIN;
		}
	}
	return push_rsp(flags, result, call->out) ? MP_OK : MP_ERR_NOMEM;
}

static int serve_async(struct mp_server_call *call)
{
	const char *why = NULL;
	void *mem = talloc_new(NULL);
	int rc = MP_ERR_PROTO;
	if (!mem) {
		*call->fault = MP_NCA_S_SERVER_TOO_BUSY;
		return MP_ERR_NOMEM;
	}
	struct mp_mapi_call *mc = mp_mapi_decode(mem, MP_MAPI_ASYNCEMSMDB, call->opnum,
	                                         MP_CALL_REQUEST, call->stub, call->len, &why);
	if (!mc || call->opnum != MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX) {
		*call->fault = !mc && why && strcmp(why, "unknown opnum") != 0
		                   ? MP_NCA_S_PROTO_ERROR
		                   : MP_NCA_S_OP_RNG_ERROR;
	} else {
		rc = serve_wait(call, mc->body);
		if (rc == MP_ERR_NOMEM)
			*call->fault = MP_NCA_S_SERVER_TOO_BUSY;
	}
	talloc_free(mem);
	return rc;
}

static void async_session_end(void *global, void *state)
{
	(void)global;
	struct async_sess *as = state;
	if (!as)
		return;
	struct wait *next;
	for (struct wait *w = waits; w; w = next) {
		next = w->next;
		if (w->session_id != as->session_id)
			continue;
		unlink_wait(w);
		mp_server_deferred_drop(w->token);
		free(w);
		mp_debug("session %llu: its parked EcDoAsyncWaitEx went with the association",
		         (unsigned long long)as->session_id);
	}
	free(as);
}

static void async_drain(void *global)
{
	(void)global;
	/* Each answer unlinks its wait; nothing parks while we loop. */
	while (waits)
		answer(waits, EC_EXITING);
}

const struct mp_server_module mp_server_asyncemsmdb = {
    .iface = "exchange_async_emsmdb",
    .option = "dcerpc_mapiproxy:emsmdb_server",
    .init = async_init,
    .serve = serve_async,
    .session_end = async_session_end,
    .drain = async_drain,
};
