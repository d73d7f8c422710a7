/*
 * The module pipeline of one call (include/mapiproxy/module.h):
 *
 *   request complete -> ndr_pull*  -> pull*  -> dispatch* (configured order)
 *                    -> relay upstream / local server, or norelay
 *   response complete -> ndr_push* -> push*  (reverse order, from the module
 *                    that answered, or the last one)
 *                    -> read-ahead calls while a module asks for them
 *                    -> the client
 *
 * Calls no module subscribes to never come here (the fast path).
 */
#include "mapi/call.h"
#include "proxy/module.h"
#include "proxy/proxy.h"
#include "util/log.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>
#include <talloc.h>

/* Read-ahead calls one client call may cause: a module that never stops
 * must not hold the client forever. */
#define MP_MAX_AHEAD 65536

/* rpc_s_call_failed: what a client sees when a module fails its call. */
#define MP_FAULT_MODULE 0x000006beu

static const char *const hook_names[] = {"ndr_pull", "pull", "dispatch", "ndr_push", "push"};
enum hook { H_NDR_PULL, H_PULL, H_DISPATCH, H_NDR_PUSH, H_PUSH };

uint32_t mp_modules_mask(const struct mp_sess_ctx *ctx)
{
	uint32_t mask = 0;
	if (!ctx || ctx->kind == MP_CTX_LOCAL_EPM)
		return 0;
	for (size_t i = 0; i < mp_modules_count(); i++) {
		if (mp_module_endpoint_matches(mp_module_at(i)->desc->endpoint, ctx->name))
			mask |= 1u << i;
	}
	return mask;
}

static struct mp_call *call_new(struct mp_session *s, struct mp_call_slot *c)
{
	struct mp_call *mc = talloc_zero(NULL, struct mp_call);
	if (!mc)
		return NULL;
	const struct mp_sess_ctx *ctx = mp_session_ctx(s, c->req.ctx_id);
	int iface = -1;
	mc->s = s;
	mc->slot = c;
	mc->mods = c->mods;
	mc->iface = mp_dump_iface(ctx, &iface) ? iface : -1;
	mc->endpoint = ctx && ctx->name ? ctx->name : "?";
	mc->answered_by = mc->ahead_by = mc->origin = -1;
	c->mcall = mc;
	return mc;
}

void mp_modules_call_free(struct mp_call_slot *c)
{
	TALLOC_FREE(c->mcall);
}

static const struct mp_module *mod(size_t i)
{
	return mp_module_at(i)->desc;
}

static void hook_failed(struct mp_call *mc, size_t i, enum hook h)
{
	mp_warn("session %llu call %u: module %s: %s failed on %s %s%s",
		(unsigned long long)mc->s->id, mc->slot->call_id, mod(i)->name, hook_names[h],
		mc->endpoint, mp_call_name(mc),
		mc->s->px->conf.module_errors_relay ? "; relaying the call untouched" : "");
}

/* Run one hook of module i. */
static int run_hook(struct mp_call *mc, size_t i, enum hook h, struct mp_relay *relay)
{
	const struct mp_module *m = mod(i);
	enum mp_dir dir = h <= H_DISPATCH ? MP_REQUEST : MP_RESPONSE;
	int rc = MP_MODULE_OK;
	mp_module_current = (int)i;
	switch (h) {
	case H_NDR_PULL:
	case H_NDR_PUSH: {
		int (*fn)(struct mp_call *, struct mp_stub *) = h == H_NDR_PULL ? m->ndr_pull
										 : m->ndr_push;
		struct mp_stub st;
		if (fn)
			rc = mp_call_stub(mc, dir, &st) == MP_MODULE_OK ? fn(mc, &st) : MP_MODULE_ERROR;
		break;
	}
	case H_PULL:
		if (m->pull)
			rc = m->pull(mc, mp_call_decoded(mc, MP_REQUEST));
		break;
	case H_DISPATCH:
		if (m->dispatch) {
			/* A read-ahead call is dispatched with the client's request. */
			void *req = mc->parent ? mp_call_decoded(mc->parent, MP_REQUEST)
					       : mp_call_decoded(mc, MP_REQUEST);
			rc = m->dispatch(mc, req, relay);
		}
		break;
	case H_PUSH:
		if (m->push && !mc->fault_set)
			rc = m->push(mc, mp_call_decoded(mc, MP_RESPONSE));
		break;
	}
	mp_module_current = -1;
	if (rc == MP_MODULE_OK && mp_call_flush(mc, dir) != MP_OK)
		rc = MP_MODULE_ERROR;
	if (rc != MP_MODULE_OK)
		hook_failed(mc, i, h);
	return rc;
}

static void save_original(struct mp_call *mc, enum mp_dir dir)
{
	if (!mc->s->px->conf.module_errors_relay)
		return;
	const struct mp_wbuf *b = dir == MP_REQUEST ? &mc->slot->req_stub : &mc->slot->rsp_stub;
	talloc_free(mc->saved);
	mc->saved = talloc_memdup(mc, b->data, b->len ? b->len : 1);
	mc->saved_len = mc->saved ? b->len : 0;
}

/* Module errors = relay: put the stub back as it arrived. */
static bool restore_original(struct mp_call *mc, enum mp_dir dir)
{
	if (!mc->s->px->conf.module_errors_relay || !mc->saved)
		return false;
	int rc = dir == MP_REQUEST ? mp_call_set_request(mc, mc->saved, mc->saved_len)
				   : mp_call_set_response(mc, mc->saved, mc->saved_len);
	return rc == MP_MODULE_OK;
}

static void fault_call(struct mp_session *s, struct mp_call_slot *c, uint32_t status,
		       bool did_not_execute)
{
	mp_session_fault(s, c->call_id, c->req.ctx_id, status, did_not_execute);
	char outcome[64];
	snprintf(outcome, sizeof(outcome), "fault %s", mp_fault_name(status));
	mp_session_call_done(s, c, outcome);
}

/* Hand the request on: to the local server (at once, or later when it defers) or upstream. */
static void relay(struct mp_session *s, struct mp_call_slot *c)
{
	if (!c->local) {
		mp_session_relay_request(s, c);
		return;
	}
	uint32_t fault = 0;
	int rc = mp_local_answer(s, c, &fault);
	if (rc == MP_AGAIN) /* answered later: mp_server_deferred_answer() goes on from here */
		return;
	if (rc != MP_OK) {
		if (c->ahead_parent) {
			mp_modules_on_fault(s, c, fault);
			return;
		}
		if (!fault)
			fault = MP_NCA_S_SERVER_TOO_BUSY;
		fault_call(s, c, fault, fault == MP_NCA_S_OP_RNG_ERROR);
		return;
	}
	mp_modules_on_response(s, c);
}

void mp_modules_on_request(struct mp_session *s, struct mp_call_slot *c)
{
	struct mp_call *mc = call_new(s, c);
	if (!mc) {
		fault_call(s, c, MP_NCA_S_SERVER_TOO_BUSY, true);
		return;
	}
	size_t n = mp_modules_count();
	save_original(mc, MP_REQUEST);
	for (enum hook h = H_NDR_PULL; h <= H_DISPATCH; h++) {
		for (size_t i = 0; i < n; i++) {
			if (!(c->mods & (1u << i)))
				continue;
			struct mp_relay r = {false, false};
			if (run_hook(mc, i, h, &r) != MP_MODULE_OK) {
				if (restore_original(mc, MP_REQUEST)) {
					/* Untouched: no module sees this call any more. */
					c->mods = 0;
					mp_modules_call_free(c);
					relay(s, c);
				} else {
					fault_call(s, c, MP_FAULT_MODULE, true);
				}
				return;
			}
			if (h == H_DISPATCH && r.ahead)
				mc->ahead_by = (int)i;
			/* A request hook may refuse the call: a fault set is an answer. */
			if (r.norelay || mc->fault_set) {
				mc->answered_by = (int)i;
				mp_debug("session %llu call %u: answered by module %s",
					 (unsigned long long)s->id, c->call_id, mod(i)->name);
				mp_modules_on_response(s, c);
				return;
			}
		}
	}
	relay(s, c);
}

/* Response hooks of modules top..bottom (reverse order). */
static int response_hooks(struct mp_call *mc, int top, int bottom)
{
	for (enum hook h = H_NDR_PUSH; h <= H_PUSH; h++)
		for (int i = top; i >= bottom; i--)
			if ((mc->mods & (1u << i)) && run_hook(mc, (size_t)i, h, NULL) != MP_MODULE_OK)
				return MP_MODULE_ERROR;
	return MP_MODULE_OK;
}

static void finish(struct mp_session *s, struct mp_call_slot *c, struct mp_call *mc)
{
	if (mc->fault_set) {
		fault_call(s, c, mc->fault, mc->answered_by >= 0);
		return;
	}
	mp_session_reply(s, c);
}

static void start_ahead(struct mp_session *s, struct mp_call_slot *c, struct mp_call *mc);

void mp_modules_on_response(struct mp_session *s, struct mp_call_slot *c)
{
	struct mp_call *mc = c->mcall;
	if (c->ahead_parent) {
		/* A read-ahead response: for its module and those behind it. */
		struct mp_call_slot *pc = c->ahead_parent;
		struct mp_call *pmc = pc->mcall;
		int origin = mc->origin;
		pmc->ahead_by = -1;
		response_hooks(mc, (int)mp_modules_count() - 1, origin);
		mp_session_call_done(s, c, "read-ahead");
		if (pmc->ahead_by < 0) /* not asked again from push: ask dispatch */
			pmc->ahead_by = origin;
		start_ahead(s, pc, pmc);
		return;
	}
	if (!mc) { /* the call lost its modules (module errors = relay) */
		mp_session_reply(s, c);
		return;
	}
	int top = mc->answered_by >= 0 ? mc->answered_by : (int)mp_modules_count() - 1;
	save_original(mc, MP_RESPONSE);
	if (response_hooks(mc, top, 0) != MP_MODULE_OK) {
		if (restore_original(mc, MP_RESPONSE)) {
			mc->fault_set = false;
			mp_session_reply(s, c);
		} else {
			fault_call(s, c, MP_FAULT_MODULE, false);
		}
		return;
	}
	if (mc->ahead_by >= 0 && !mc->fault_set) {
		start_ahead(s, c, mc);
		return;
	}
	finish(s, c, mc);
}

/* Ask module mc->ahead_by for one more read-ahead call; when it has none,
 * answer the client with the response held in c. */
static void start_ahead(struct mp_session *s, struct mp_call_slot *c, struct mp_call *mc)
{
	int k = mc->ahead_by;
	mc->ahead_by = -1;
	if (k < 0 || s->state == MP_SS_CLOSING || mc->n_ahead >= MP_MAX_AHEAD) {
		if (mc->n_ahead >= MP_MAX_AHEAD)
			mp_warn("session %llu call %u: module %s read ahead %u times; stopping",
				(unsigned long long)s->id, c->call_id, mod((size_t)k)->name,
				mc->n_ahead);
		finish(s, c, mc);
		return;
	}
	uint32_t id = 0x80000000u | (++s->ahead_seq & 0x7fffffffu);
	struct mp_call_slot *ic = mp_session_find_call(s, id) ? NULL : mp_session_new_call(s, id);
	struct mp_call *ac = ic ? call_new(s, ic) : NULL;
	if (!ac) {
		if (ic)
			mp_session_call_done(s, ic, "no memory");
		finish(s, c, mc);
		return;
	}
	ic->req = c->req;
	ic->local = c->local;
	ic->mods = ac->mods = c->mods;
	ic->reasm_req = ic->reasm_rsp = ic->request_done = true;
	ic->ahead_parent = c;
	ac->ahead = true;
	ac->origin = k;
	ac->parent = mc;
	mc->n_ahead++;

	struct mp_relay r = {false, true};
	int rc = run_hook(ac, (size_t)k, H_DISPATCH, &r);
	if (rc != MP_MODULE_OK || !r.ahead || r.norelay || ic->req_stub.len == 0) {
		mp_session_call_done(s, ic, "read-ahead not made");
		finish(s, c, mc);
		return;
	}
	/* The modules behind the origin (closer to the server) see the
	 * read-ahead request as they see any request, so that a module that
	 * packs or rewrites on the way out does so here too; their dispatch
	 * is not asked (a read-ahead call is not theirs to answer). */
	for (enum hook h = H_NDR_PULL; h <= H_PULL; h++) {
		for (size_t i = (size_t)k + 1; i < mp_modules_count(); i++) {
			if ((ic->mods & (1u << i)) && run_hook(ac, i, h, NULL) != MP_MODULE_OK) {
				mp_session_call_done(s, ic, "read-ahead refused");
				finish(s, c, mc);
				return;
			}
		}
	}
	mp_debug("session %llu call %u: module %s reads ahead (call %u)",
		 (unsigned long long)s->id, c->call_id, mod((size_t)k)->name, id);
	relay(s, ic);
}

void mp_modules_on_fault(struct mp_session *s, struct mp_call_slot *c, uint32_t status)
{
	if (!c->ahead_parent) {
		fault_call(s, c, status, false);
		return;
	}
	struct mp_call_slot *pc = c->ahead_parent;
	mp_info("session %llu call %u: read-ahead call %u failed: %s",
		(unsigned long long)s->id, pc->call_id, c->call_id, mp_fault_name(status));
	mp_session_call_done(s, c, "read-ahead fault");
	finish(s, pc, pc->mcall);
}

void mp_modules_session_end(struct mp_session *s)
{
	for (size_t i = 0; i < mp_modules_count(); i++) {
		const struct mp_module *m = mod(i);
		if (m->unbind && mp_module_at(i)->started) {
			mp_module_current = (int)i;
			m->unbind(s);
			mp_module_current = -1;
		}
		s->mod_priv[i] = NULL;
	}
}
