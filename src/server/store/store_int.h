/*
 * Internals shared by the store's files: the store and transaction structs,
 * LMDB helpers, key builders and header records (layouts in store.h).
 * Functions named st_* work inside the current (nested) LMDB transaction
 * and never open one; the public mp_store_* wrappers do (st_op_begin/end).
 */
#ifndef MP_SERVER_STORE_STORE_INT_H
#define MP_SERVER_STORE_STORE_INT_H

#include <stdarg.h>
#include <sys/types.h>

#include <lmdb.h>

#include "server/store/store.h"
#include "util/status.h"

#define ST_OP_MAX_DEPTH 8
#define ST_OBJKEY_LEN 19    /* mbox 4 | gc 8 | kind 1 | sub 4 | propid 2 */
#define ST_OBJPREFIX_LEN 17 /* without the prop id */
#define ST_VAL_HDR 3        /* u16 type, u8 form */

struct mp_store {
	MDB_env *env;
	MDB_dbi meta, users, uidx, obj, idx;
	bool read_only;
	dev_t dev;
	ino_t ino;
	char org[MP_STORE_MAX_ORG + 1];
	char admin_group[MP_STORE_MAX_ORG + 1];
	char mail_domain[MP_STORE_MAX_ORG + 1];
	struct mp_store *next; /* process-wide list of open stores */
};

struct mp_store_txn {
	struct mp_store *st;
	bool write;
	int depth;                         /* open nested op transactions */
	MDB_txn *stack[ST_OP_MAX_DEPTH + 1]; /* [0] the outer txn, [depth] the current */
	uint32_t ec;
	char err[256];
	void *mem;                         /* talloc scratch, freed with the txn */
};

static inline MDB_txn *st_cur(struct mp_store_txn *txn)
{
	return txn->stack[txn->depth];
}

/* Record a failure: message, MAPI code; returns rc. */
int st_fail(struct mp_store_txn *txn, int rc, uint32_t ec, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Map an LMDB error to a status, with a message naming `what`. */
int st_mdb(struct mp_store_txn *txn, int mrc, const char *what);

/* Run a mutating call in a nested transaction: begin, then end with its rc
 * (commit on MP_OK, abort otherwise). begin fails on read transactions. */
int st_op_begin(struct mp_store_txn *txn);
int st_op_end(struct mp_store_txn *txn, int rc);

/* Get: MP_OK (v set), MP_ERR_NOTFOUND (no message recorded), MP_ERR_IO. */
int st_get(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl, MDB_val *v);
int st_put(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v,
	   size_t vl);
/* Reserve `vl` bytes for a value and return where to write them. */
int st_put_reserve(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl, size_t vl,
		   uint8_t **out);
/* Delete; an absent key is fine. */
int st_del(struct mp_store_txn *txn, MDB_dbi dbi, const void *k, size_t kl);
/* Delete every key starting with prefix. */
int st_del_prefix(struct mp_store_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen);

/* Iterate keys starting with a prefix. */
struct st_iter {
	MDB_cursor *c;
	uint8_t prefix[512];
	size_t plen;
	bool started;
	MDB_val k, v;
};
int st_iter_open(struct mp_store_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen,
		 struct st_iter *it);
/* 1: k/v hold the next entry; 0: done; < 0: error (recorded). */
int st_iter_next(struct mp_store_txn *txn, struct st_iter *it);
void st_iter_close(struct st_iter *it);

/* Big-endian key fields, little-endian value fields. */
void st_be16(uint8_t *p, uint16_t v);
void st_be32(uint8_t *p, uint32_t v);
void st_be64(uint8_t *p, uint64_t v);
uint16_t st_get_be16(const uint8_t *p);
uint32_t st_get_be32(const uint8_t *p);
uint64_t st_get_be64(const uint8_t *p);
void st_le64(uint8_t *p, uint64_t v);
uint64_t st_get_le64(const uint8_t *p);

/* Object keys. */
void st_objkey(uint8_t k[ST_OBJKEY_LEN], uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
	       uint16_t propid);
/* Index keys: mbox | tag, returns 5. */
size_t st_idxkey(uint8_t *k, uint32_t mbox, uint8_t tag);

/* Check an id belongs to the mailbox's replica and return its GLOBCNT
 * (MP_ERR_NOTFOUND with a message otherwise). */
int st_id_gc(struct mp_store_txn *txn, uint64_t id, const char *what, uint64_t *gc);
static inline uint64_t st_id(uint64_t gc)
{
	return gc ? mp_store_make_id(MP_STORE_REPLID, gc) : 0;
}

/* ---- Header records ---- */

struct st_mbox_hdr {
	uint16_t replid;
	uint8_t mailbox_guid[16];
	uint8_t replica_guid[16];
	uint64_t next_gc;
	uint16_t next_named;
	uint32_t folders;
	uint64_t special[MP_STORE_SF_COUNT];
};
int st_mbox_read(struct mp_store_txn *txn, uint32_t mbox, struct st_mbox_hdr *h);
int st_mbox_write(struct mp_store_txn *txn, uint32_t mbox, const struct st_mbox_hdr *h);
/* Allocate a GLOBCNT (FID, MID or CN) from the mailbox counter. */
int st_alloc_gc(struct mp_store_txn *txn, uint32_t mbox, uint64_t *gc);
void st_mbox_info(uint32_t mbox, const struct st_mbox_hdr *h, struct mp_store_mailbox *out);

struct st_folder_hdr {
	uint8_t special; /* 0xff: none */
	uint32_t type;
	uint64_t parent;
	uint32_t content, unread, assoc, children;
};
int st_folder_read(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, struct st_folder_hdr *h);
/* Write the header and mirror the counts into their properties. */
int st_folder_write(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc,
		    const struct st_folder_hdr *h);
/* Adjust a folder's message counts by deltas. */
int st_folder_count(struct mp_store_txn *txn, uint32_t mbox, uint64_t fgc, bool assoc, int d_total,
		    int d_unread);

struct st_msg_hdr {
	uint8_t state; /* enum mp_store_msg_state */
	bool assoc;
	bool read;
	uint64_t folder;
	uint64_t orig;
	uint32_t next_attach;
	uint32_t n_attach;
	uint32_t n_recips;
};
int st_msg_read(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, struct st_msg_hdr *h);
int st_msg_write(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, const struct st_msg_hdr *h);

/* Whether the object exists (its header record). MP_OK / MP_ERR_NOTFOUND
 * (recorded) / errors. *gc gets its GLOBCNT. */
int st_obj_check(struct mp_store_txn *txn, const struct mp_store_obj *o, uint64_t *gc);

/* ---- Properties (props.c) ---- */

/* Store a value without the checks on computed tags (the store's own writes). */
int st_prop_put(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, uint8_t form, const void *data, size_t len);
int st_prop_u32(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, uint32_t v);
int st_prop_u64(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, uint64_t v);
int st_prop_bool(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		 uint32_t tag, bool v);
int st_prop_bin(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, const void *data, size_t len);
int st_prop_str(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint32_t tag, const char *utf8);
/* Read a stored value (raw record): MP_OK / MP_ERR_NOTFOUND (not recorded). */
int st_prop_raw(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind, uint32_t sub,
		uint16_t propid, struct mp_store_prop *out);
int st_prop_get_u32(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind,
		    uint32_t sub, uint32_t tag, uint32_t *v);
/* Copy every record with prefix (mbox, src) to (mbox, dst), keeping the rest of the key. */
int st_copy_records(struct mp_store_txn *txn, uint32_t mbox, uint64_t src, uint64_t dst);
/* Sum of the value sizes of an object (its properties), or of all records
 * under mbox|gc when kind is 0. */
int st_records_size(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind,
		    uint32_t sub, uint64_t *size);
/* Validate a value for `tag` (form WIRE: one PropertyValue; RAW: binary or string). */
int st_prop_check(struct mp_store_txn *txn, uint32_t tag, uint8_t form, const void *data, size_t len);

/* ---- Folders and messages ---- */

/* Create a mailbox for a new user (folders.c). */
int st_mailbox_create(struct mp_store_txn *txn, uint32_t mbox, const uint8_t mailbox_guid[16],
		      const uint8_t replica_guid[16], const char *display_name, const char *dn);
int st_folder_rename(struct mp_store_txn *txn, uint32_t mbox, uint64_t fgc, const char *name);
/* messages.c: the mailbox purge of unsaved messages, message deletion. */
int st_msg_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc);
int st_msg_set_flags(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint32_t flags);
int st_purge_pending(struct mp_store_txn *txn);
/* A new change number: PidTagChangeNumber, PidTagChangeKey, LastModificationTime. */
int st_stamp_change(struct mp_store_txn *txn, uint32_t mbox, uint64_t gc, uint8_t kind);

/* Internal string helpers. */
bool st_utf8_valid(const char *s, size_t len);
/* Upper-case (ASCII) copy for index keys. */
void st_ascii_upper(char *dst, const char *src, size_t len);
void st_ascii_lower(char *dst, const char *src, size_t len);
/* Case-insensitive key of a UTF-8 name: simple upper-casing of its UTF-16
 * form (mp_ntlm_utf16le_upper), back to UTF-8, under mem. */
int st_name_key(void *mem, const char *name, char **out, size_t *len);

#endif
