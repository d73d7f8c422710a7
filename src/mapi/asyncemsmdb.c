/*
 * AsyncEMSMDB call codec (MS-OXCRPC 3.3.4.1): EcDoAsyncWaitEx, the one
 * method of the interface. Its request holds the asynchronous context
 * handle returned by EMSMDB's EcDoAsyncConnectEx; the server completes the
 * call when a notification is pending (or after a time-out).
 */
#include "mapi/emsmdb.h"

static const struct mp_flag_name wait_flag_names[] = {
	{MP_EMSMDB_NOTIFICATION_PENDING, "NotificationPending"},
	{0, NULL},
};

static void pull_wait_req(struct mp_ndr_pull *pull, void *body)
{
	struct mp_asyncemsmdb_wait_ex_req *r = body;
	mp_ndr_pull_handle(pull, &r->acxh);
	r->ulFlagsIn = mp_ndr_pull_u32(pull);
}

static void push_wait_req(struct mp_ndr_push *push, const void *body)
{
	const struct mp_asyncemsmdb_wait_ex_req *r = body;
	mp_ndr_push_handle(push, &r->acxh);
	mp_ndr_push_u32(push, r->ulFlagsIn);
}

static void print_wait_req(struct mp_printer *p, const void *body)
{
	const struct mp_asyncemsmdb_wait_ex_req *r = body;
	mp_emsmdb_print_handle(p, "acxh", &r->acxh);
	mp_pr_hex(p, "ulFlagsIn", r->ulFlagsIn, 8);
}

static void pull_wait_resp(struct mp_ndr_pull *pull, void *body)
{
	struct mp_asyncemsmdb_wait_ex_resp *r = body;
	r->pulFlagsOut = mp_ndr_pull_u32(pull);
	r->result = mp_ndr_pull_u32(pull);
}

static void push_wait_resp(struct mp_ndr_push *push, const void *body)
{
	const struct mp_asyncemsmdb_wait_ex_resp *r = body;
	mp_ndr_push_u32(push, r->pulFlagsOut);
	mp_ndr_push_u32(push, r->result);
}

static void print_wait_resp(struct mp_printer *p, const void *body)
{
	const struct mp_asyncemsmdb_wait_ex_resp *r = body;
	mp_pr_flags(p, "pulFlagsOut", r->pulFlagsOut, 8, wait_flag_names);
	mp_emsmdb_print_result(p, r->result);
}

static const struct mp_call_codec wait_ex_codec = {
	.name = "EcDoAsyncWaitEx",
	.size = {sizeof(struct mp_asyncemsmdb_wait_ex_req),
		 sizeof(struct mp_asyncemsmdb_wait_ex_resp)},
	.pull = {pull_wait_req, pull_wait_resp},
	.push = {push_wait_req, push_wait_resp},
	.print = {print_wait_req, print_wait_resp},
};

const struct mp_call_codec *mp_asyncemsmdb_codec(uint16_t opnum)
{
	return opnum == MP_ASYNCEMSMDB_DO_ASYNC_WAIT_EX ? &wait_ex_codec : NULL;
}

bool mp_asyncemsmdb_push(uint16_t opnum, enum mp_call_dir dir, const void *body,
			 struct mp_wbuf *out)
{
	return mp_call_codec_push(mp_asyncemsmdb_codec(opnum), dir, body, NULL, out);
}
