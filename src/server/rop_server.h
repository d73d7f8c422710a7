/*
 * The ROP side of the EMSMDB server module: per-session server objects
 * (the handles of MS-OXCROPS 2.2.1 ServerObjectHandleTable), the
 * dispatcher that runs one ROP request buffer against the store, and the
 * handler families (rops_*.c). Internal to src/server.
 */
#ifndef MP_SERVER_ROP_SERVER_H
#define MP_SERVER_ROP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapi/rop.h"
#include "server/store/store.h"
#include "util/cursor.h"

/* MAPI error codes the handlers answer (MS-OXCDATA 2.4). */
#define MP_EC_SUCCESS 0x00000000u
#define MP_EC_ERROR 0x80004005u
#define MP_EC_NOT_SUPPORTED 0x80040102u
#define MP_EC_NOT_FOUND 0x8004010Fu
#define MP_EC_INVALID_PARAM 0x80070057u
#define MP_EC_NULL_OBJECT 0x000004B9u
#define MP_EC_RPC_FORMAT 0x000004B6u
#define MP_EC_BUFFER_TOO_SMALL 0x0000047Du
#define MP_EC_LOGIN_PERM 0x000003F2u
#define MP_EC_UNKNOWN_USER 0x000003EBu
#define MP_EC_ACCESS_DENIED 0x80070005u
#define MP_EC_OOM 0x8007000Eu
#define MP_EC_STREAM_SIZE 0x80030070u
#define MP_EC_STREAM_INVALID_PARAM 0x80030057u
#define MP_EC_STREAM_SEEK 0x80030019u
#define MP_EC_TOO_BIG 0x80040305u
#define MP_EC_INVALID_BOOKMARK 0x80040405u
#define MP_EC_NOT_INITIALIZED 0x80040605u
#define MP_EC_WARN_WITH_ERRORS 0x00040380u

/* Kinds of server objects. */
enum mp_sobj_type {
	MP_SOBJ_LOGON = 1,
	MP_SOBJ_FOLDER,
	MP_SOBJ_MESSAGE,
	MP_SOBJ_ATTACH,
	MP_SOBJ_TABLE,
	MP_SOBJ_STREAM,
	MP_SOBJ_NOTIFY,
};

enum mp_table_kind {
	MP_TABLE_HIERARCHY = 1,
	MP_TABLE_CONTENTS,
	MP_TABLE_ATTACH,
};

#define MP_SRV_MAX_OBJECTS 4096 /* open handles per session */
#define MP_SRV_MAX_BOOKMARKS 64 /* per table */
#define MP_SRV_MAX_COLUMNS 1024 /* per table */

/* One server object (a handle's target), talloc'd under the session. */
struct mp_sobj {
	uint8_t type; /* enum mp_sobj_type */
	uint32_t handle;
	uint8_t logon_id;
	uint32_t mbox;
	uint64_t fid;
	uint64_t mid;
	uint32_t num;      /* attachment number */
	uint64_t orig_mid; /* messages open read/write: the saved one `mid` is a draft of */
	bool unsaved;      /* messages: created or a draft, not saved: dropped on release */
	bool writable;
	bool assoc;
	/* Tables. */
	uint8_t tkind; /* enum mp_table_kind */
	bool depth;    /* hierarchy: the whole subtree */
	uint32_t *cols;
	uint32_t ncols;
	uint32_t pos;
	uint32_t sort_tag; /* 0: natural order */
	bool sort_desc;
	uint8_t *res; /* restriction as received (decoded per use) */
	size_t res_len;
	uint32_t bookmarks[MP_SRV_MAX_BOOKMARKS];
	uint32_t nbookmarks;
	/* Notification subscriptions. */
	uint8_t ntypes; /* NotificationTypes */
	bool whole;     /* WantWholeStore */
	/* Streams: the whole value buffered, written back on commit/release. */
	struct mp_store_obj sobj;
	uint32_t tag;
	uint8_t *buf;
	size_t size;
	size_t spos;
	bool dirty;
};

/* A notification waiting for the session's next ROP response buffer. */
struct mp_srv_pending {
	uint32_t handle; /* the subscription's */
	uint8_t logon_id;
	uint64_t fid;
	uint64_t mid;
	uint32_t msg_flags;
	char msg_class[64];
};
#define MP_SRV_MAX_PENDING 256

/* The per-session state of the EMSMDB module. */
struct mp_emsmdb_sess {
	struct mp_store *st;
	uint32_t user_id;
	char *user_name;
	char *user_dn;
	char *display_name;
	uint8_t cxh[16];
	bool connected;
	uint32_t gen;                 /* handle generation: stale handles never match */
	struct mp_rop_session *rsess; /* logon kinds, for decoding requests */
	struct mp_sobj *objs[MP_SRV_MAX_OBJECTS];
	/* Notifications (rops_notify.c), under the registry's lock. */
	struct mp_srv_pending pending[MP_SRV_MAX_PENDING];
	size_t npending;
	uint8_t acxh[16]; /* EcDoAsyncConnectEx handle */
	bool has_acxh;
	uint16_t icxr; /* the session index EcDoConnectEx gave (RopPending) */
	bool registered;
	struct mp_emsmdb_sess *next;
};

/* Context of one ROP buffer run: one write transaction. */
struct mp_rop_ctx {
	struct mp_emsmdb_sess *s;
	struct mp_store_txn *txn;
	void *mem;         /* scratch, freed after the call */
	uint32_t *handles; /* the ServerObjectHandleTable (in/out) */
	size_t nhandles;
	size_t budget; /* bytes the current response may still take */
};

/*
 * Run a ROP request buffer (RopSize | RopsList | handle table) and append
 * the response buffer to `out`. `max_out` bounds the response buffer
 * (RopBufferTooSmall past it). Returns MP_OK, or MP_ERR_PARSE with
 * *ec = ecRpcFormat when the buffer frame is broken, or a store error.
 */
int mp_srv_rop_run(struct mp_emsmdb_sess *s, const uint8_t *in, size_t len, size_t max_out,
                   struct mp_wbuf *out, uint32_t *ec);
/* Release every object of the session (disconnect, session end). */
void mp_srv_release_all(struct mp_emsmdb_sess *s);

/* Objects. */
struct mp_sobj *mp_srv_obj_new(struct mp_rop_ctx *c, uint8_t type);
void mp_srv_obj_free(struct mp_emsmdb_sess *s, struct mp_sobj *o, struct mp_store_txn *txn);
/* The object at handle index `idx` of the request, or NULL. */
struct mp_sobj *mp_srv_obj_at(struct mp_rop_ctx *c, int idx);

/* Response helpers. */
void mp_srv_rsp_hdr(struct mp_wbuf *wb, uint8_t ropid, uint8_t idx, uint32_t ec);
/* A ROP's error response in the format its descriptor gives. */
void mp_srv_rsp_error(struct mp_wbuf *wb, const struct mp_rop *rop, uint32_t ec);
/* The store's MAPI error of the last failure, ecError when none. */
uint32_t mp_srv_ec(struct mp_rop_ctx *c);
/* Largest property value a row carries: a bigger one is answered with
 * NotEnoughMemory (MS-OXCDATA 2.4.2) and read with RopOpenStream, so that a
 * row always fits one 32 KiB response buffer. */
#define MP_SRV_MAX_ROW_VALUE 0x7000u
/* A PropertyRow (MS-OXCDATA 2.8.1) of `obj` for `tags`; values above
 * `max_value` bytes (0: MP_SRV_MAX_ROW_VALUE) become NotEnoughMemory. */
int mp_srv_write_row_limited(struct mp_rop_ctx *c, const struct mp_store_obj *obj,
                             const uint32_t *tags, uint32_t n, size_t max_value,
                             struct mp_wbuf *wb);
int mp_srv_write_row(struct mp_rop_ctx *c, const struct mp_store_obj *obj, const uint32_t *tags,
                     uint32_t n, struct mp_wbuf *wb);
uint64_t mp_srv_uint(const struct mp_rop *rop, const char *name);
const struct mp_rop_val *mp_srv_sub(const struct mp_rop_vals *vals, const char *name);
/* An 8-bit or UTF-16LE string field as UTF-8 under mem (NULL when absent). */
char *mp_srv_str(void *mem, const struct mp_rop_val *v, bool utf16);

/* Handlers: each appends its response to wb (nothing for RopRelease). */
typedef void mp_srv_rop_fn(struct mp_rop_ctx *c, const struct mp_rop *rop, struct mp_wbuf *wb);
mp_srv_rop_fn mp_srv_rop_logon, mp_srv_rop_get_receive_folder, mp_srv_rop_set_receive_folder,
    mp_srv_rop_ltid_from_id, mp_srv_rop_id_from_ltid, mp_srv_rop_peruser_ltids;
mp_srv_rop_fn mp_srv_rop_open_folder, mp_srv_rop_create_folder, mp_srv_rop_delete_folder,
    mp_srv_rop_get_table, mp_srv_rop_delete_messages, mp_srv_rop_move_copy_messages;
mp_srv_rop_fn mp_srv_rop_set_columns, mp_srv_rop_sort_table, mp_srv_rop_restrict,
    mp_srv_rop_query_rows, mp_srv_rop_query_position, mp_srv_rop_seek_row,
    mp_srv_rop_query_columns_all, mp_srv_rop_get_status, mp_srv_rop_reset_table,
    mp_srv_rop_find_row, mp_srv_rop_create_bookmark, mp_srv_rop_free_bookmark,
    mp_srv_rop_seek_row_bookmark, mp_srv_rop_abort;
mp_srv_rop_fn mp_srv_rop_open_message, mp_srv_rop_create_message, mp_srv_rop_save_message,
    mp_srv_rop_set_read_flag, mp_srv_rop_set_read_flags, mp_srv_rop_modify_recipients,
    mp_srv_rop_read_recipients, mp_srv_rop_remove_all_recipients, mp_srv_rop_submit,
    mp_srv_rop_get_attach_table, mp_srv_rop_open_attach, mp_srv_rop_create_attach,
    mp_srv_rop_save_attach, mp_srv_rop_delete_attach;
mp_srv_rop_fn mp_srv_rop_get_props_specific, mp_srv_rop_get_props_all, mp_srv_rop_get_props_list,
    mp_srv_rop_set_props, mp_srv_rop_delete_props, mp_srv_rop_ids_from_names,
    mp_srv_rop_names_from_ids;
mp_srv_rop_fn mp_srv_rop_open_stream, mp_srv_rop_read_stream, mp_srv_rop_write_stream,
    mp_srv_rop_commit_stream, mp_srv_rop_seek_stream, mp_srv_rop_set_stream_size,
    mp_srv_rop_get_stream_size;
mp_srv_rop_fn mp_srv_rop_register_notification;

/* Notifications (rops_notify.c). Sessions join the process's registry at
 * connect and leave it at disconnect / session end; new mail delivered to
 * a mailbox queues a NewMail notification on every matching subscription
 * of every session; the queue drains as RopNotify responses at the end of
 * the session's next ROP response buffer (what fits). Thread-safe. */
void mp_srv_notify_attach(struct mp_emsmdb_sess *s);
void mp_srv_notify_detach(struct mp_emsmdb_sess *s);
void mp_srv_notify_new_mail(uint32_t mbox, uint64_t fid, uint64_t mid, uint32_t msg_flags,
                            const char *msg_class);
/* Append RopNotify responses while they fit in `room` bytes. */
void mp_srv_notify_flush(struct mp_emsmdb_sess *s, struct mp_wbuf *wb, size_t room);
/* A notification waits for the session with this AsyncEMSMDB handle. */
bool mp_srv_notify_pending_acxh(const uint8_t acxh[16]);
/* What the handle names: no session, a session with nothing queued, or
 * one with notifications waiting. */
enum { MP_SRV_ACXH_UNKNOWN, MP_SRV_ACXH_IDLE, MP_SRV_ACXH_PENDING };
int mp_srv_notify_acxh_state(const uint8_t acxh[16]);
/* Answer the EcDoAsyncWaitEx calls parked on this handle (NULL: on every
 * handle) with the handle's state, from the event loop once the current
 * call is done (asyncemsmdb_server.c). Event-loop thread only. */
void mp_srv_async_wake(const uint8_t acxh[16]);
/* The registry lock, held while a session's object slots change. */
void mp_srv_notify_lock(void);
void mp_srv_notify_unlock(void);
void mp_srv_notify_set_acxh(struct mp_emsmdb_sess *s, const uint8_t acxh[16]);
/* Drop the queued notifications of a released subscription. */
void mp_srv_notify_forget(struct mp_emsmdb_sess *s, uint32_t handle);

/* The store object (property bag) a server object stands for, false when none. */
bool mp_srv_obj_bag(const struct mp_sobj *o, struct mp_store_obj *out);
/* The ids of a table's rows now (restriction and sort applied): FIDs,
 * MIDs, or attachment numbers. */
int mp_srv_table_ids(struct mp_rop_ctx *c, struct mp_sobj *t, uint64_t **ids, size_t *n);
/* The store object of row id `id` of table `t`. */
struct mp_store_obj mp_srv_table_row_obj(const struct mp_sobj *t, uint64_t id);
/* The object at the ROP's input handle if it is of `type` (0: any). */
struct mp_sobj *mp_srv_input(struct mp_rop_ctx *c, const struct mp_rop *rop, uint8_t type);
/* Write a buffered stream back (commit / release). */
int mp_srv_stream_flush(struct mp_rop_ctx *c, struct mp_sobj *o);

#endif
