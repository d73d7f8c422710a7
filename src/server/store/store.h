/*
 * The reference server's mailbox store: users, mailboxes, folders, messages,
 * recipients, attachments, property bags, streams and named properties in
 * one LMDB environment under a data directory. The ROP and NSPI handlers of
 * mapiserver call this; it knows nothing of handles, ROP buffers or RPC.
 *
 * ---------------------------------------------------------------------------
 * Transactions and threads
 * ---------------------------------------------------------------------------
 * Everything works in a transaction (struct mp_store_txn) but open/close,
 * mp_store_user_add_simple, mp_store_import_path and mp_store_ntlm_lookup_cb,
 * which run their own. LMDB allows any number of read
 * transactions next to one write transaction; a second writer waits in
 * mp_store_txn_begin until the first commits or aborts (also across
 * processes). Keep write transactions short: never across a network round
 * trip.
 *
 * The environment is opened with MDB_NOTLS, so read transactions are not
 * tied to a thread: an event-loop thread may hold a read snapshot (a table
 * view) while it also runs a write transaction. A transaction itself must be
 * used by one thread at a time. Within one process a data directory is
 * opened at most once (LMDB's locks break otherwise): a second
 * mp_store_open of the same directory fails with MP_ERR_CONFIG.
 *
 * Every mutating call runs in a nested LMDB transaction: when it fails,
 * nothing it did remains and the enclosing transaction is still usable (so a
 * RopSetProperties handler can store the good values and report the bad).
 * One exception: when the map is full (MP_ERR_LIMIT, ecDiskFull) the commit
 * of the enclosing transaction may fail too, as LMDB needs pages for its own
 * bookkeeping; the store stays consistent and usable, raise map_size.
 *
 * Values returned as pointers (struct mp_store_prop data) point into the
 * database map: in a read transaction they stay valid until it ends; in a
 * write transaction only until the next mutating call or its end. Copy what
 * must live longer. Values passed in may point at values just read in the
 * same transaction (the store copies them before writing). Arrays and
 * strings the API allocates hang off the talloc context `mem` the caller
 * passes.
 *
 * Errors: every function returns an enum mp_status (util/status.h). A
 * function that takes a transaction leaves a one-line message in it
 * (mp_store_txn_errmsg) and the MAPI error code a handler should answer
 * (mp_store_txn_ec: ecNotFound, ecDuplicateName, ...). Functions without a
 * transaction take an `err` buffer.
 *
 * ---------------------------------------------------------------------------
 * Identifiers
 * ---------------------------------------------------------------------------
 * Each mailbox is one replica: ReplicaId 1 and its own replica GUID, and one
 * 48-bit global counter (GLOBCNT) from which folder ids, message ids and
 * change numbers are all allocated, so they never collide. A FID/MID as a
 * uint64_t is the 8 wire bytes (MS-OXCDATA 2.2.1.1/2.2.1.2) read little-
 * endian: ReplicaId in bytes 0-1 (LE), GLOBCNT in bytes 2-7 most significant
 * byte first. Inside the database objects are keyed by their GLOBCNT.
 *
 * ---------------------------------------------------------------------------
 * On-disk format (version 1)
 * ---------------------------------------------------------------------------
 * DIR/data.mdb and DIR/lock.mdb (mode 0600), DIR itself mode 0700. Integers
 * in keys are big-endian (so keys sort numerically); integers in values are
 * little-endian. Named sub-databases:
 *
 *  "meta"   "version" -> u32 (1); "org", "admin_group", "mail_domain" ->
 *           UTF-8 (fixed when the store is created); "next_user" -> u32;
 *           "next_mid" -> u32 (next GAL minimal entry id).
 *  "users"  user id (u32) -> user record: u8 version (1), u8 flags, u16 0,
 *           u32 GAL MId, mailbox GUID[16], replica GUID[16], NT hash[16],
 *           u64 creation FILETIME, 12 reserved bytes, then name, display
 *           name, SMTP address and legacy DN, each u16 length + UTF-8 bytes.
 *  "uidx"   'n' + lower-case name | 'd' + lower-case DN | 's' + lower-case
 *           SMTP | 'm' + MId (u32) -> user id (u32).
 *  "obj"    every object's records, key (19 bytes):
 *             mailbox id u32 | GLOBCNT u64 | kind u8 | sub u32 | prop id u16
 *           kind 1 mailbox (GLOBCNT 0), 2 folder, 3 message, 4 recipient
 *           (sub = RowId), 5 attachment (sub = attach number); sub is 0 for
 *           the others. All records of a message, its recipients and
 *           attachments share the prefix mailbox|GLOBCNT.
 *           prop id 0: the object's header record (below); other prop ids:
 *           one property, value = u16 property type, u8 form, then the
 *           value: form 0 = PropertyValue in ROP encoding (MS-OXCDATA
 *           2.11.2, 2.11.1.1 count widths: 16-bit PtypBinary counts, 32-bit
 *           multi-value counts, strings with terminator); form 1 = the raw
 *           content (PtypBinary above 65535 bytes, odd-length string
 *           streams).
 *           Header records (LE):
 *            mailbox: u8 version, u8 0, u16 ReplicaId, mailbox GUID[16],
 *              replica GUID[16], u64 next GLOBCNT, u16 next named prop id,
 *              u16 0, u32 folder count, u64 GLOBCNT of each special folder
 *              (MP_STORE_SF_COUNT of them, enum order).
 *            folder: u8 version, u8 special index (0xff: none), u16 0,
 *              u32 folder type, u64 parent GLOBCNT (0 for the root),
 *              u32 content count, unread count, associated count, child
 *              count.
 *            message: u8 version, u8 state (0 saved, 1 new, 2 draft of a
 *              saved message), u8 associated, u8 read, u64 folder GLOBCNT,
 *              u64 GLOBCNT of the original (drafts), u32 next attach number,
 *              u32 attachment count, u32 recipient count.
 *            recipient, attachment: u8 version.
 *  "idx"    per-mailbox indexes, key mailbox id u32 | tag u8 | ...:
 *           'c' folder GLOBCNT | u8 associated | message GLOBCNT -> ""
 *           'h' parent GLOBCNT | child GLOBCNT -> ""
 *           'f' parent GLOBCNT | name upper-cased (UTF-16 simple case
 *               mapping of mp_ntlm_utf16le_upper), as UTF-8 -> child GLOBCNT
 *           'r' upper-case (ASCII) message class -> u64 folder GLOBCNT,
 *               u64 FILETIME of the last change, the class as set
 *           'N' GUID[16] | kind u8 | LID u32 or UTF-16LE name -> u16 id
 *           'I' prop id u16 -> kind u8, GUID[16], LID u32 or the name's
 *               UTF-16LE bytes without terminator
 *           'p' message GLOBCNT -> "" (unsaved messages; purged at open)
 *
 * A later version bumps "version"; this code refuses a newer store.
 */
#ifndef MP_SERVER_STORE_STORE_H
#define MP_SERVER_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapi/propval.h"

/* ---- Limits ---- */
#define MP_STORE_FORMAT_VERSION 1
#define MP_STORE_DEFAULT_MAP_SIZE ((size_t)1 << 30) /* 1 GiB */
#define MP_STORE_MIN_MAP_SIZE ((size_t)1 << 20)
#define MP_STORE_MAX_STREAM (64u << 20)     /* bytes in one property value / stream */
#define MP_STORE_MAX_USERS 100000
#define MP_STORE_MAX_USER_NAME 64           /* bytes, [A-Za-z0-9._-] */
#define MP_STORE_MAX_DISPLAY_NAME 256       /* bytes of UTF-8 */
#define MP_STORE_MAX_SMTP 254
#define MP_STORE_MAX_ORG 64                 /* organisation, admin group, mail domain */
#define MP_STORE_MAX_PASSWORD 256
#define MP_STORE_MAX_FOLDER_NAME 256        /* bytes of UTF-8 */
#define MP_STORE_MAX_FOLDER_DEPTH 32
#define MP_STORE_MAX_FOLDERS 10000          /* per mailbox */
#define MP_STORE_MAX_FOLDER_MESSAGES 1000000
#define MP_STORE_MAX_PROPS 4096             /* per object */
#define MP_STORE_MAX_RECIPIENTS 4096        /* per message */
#define MP_STORE_MAX_ATTACHMENTS 1024       /* per message */
#define MP_STORE_MAX_CLASS 255              /* message class, ASCII */
#define MP_STORE_MAX_NAMED 0x7fff           /* named property ids 0x8000-0xfffe */
#define MP_STORE_MAX_GC 0xffffffffffffull   /* 48-bit GLOBCNT */

/* Suggested MAPI error codes (mp_store_txn_ec), MS-OXCDATA 2.4. */
#define MP_STORE_EC_NONE 0x00000000u
#define MP_STORE_EC_ERROR 0x80004005u          /* ecError */
#define MP_STORE_EC_NOT_FOUND 0x8004010Fu      /* ecNotFound */
#define MP_STORE_EC_INVALID_PARAM 0x80070057u  /* ecInvalidParam */
#define MP_STORE_EC_ACCESS_DENIED 0x80070005u  /* ecAccessDenied */
#define MP_STORE_EC_DUPLICATE_NAME 0x80040604u /* ecDuplicateName */
#define MP_STORE_EC_NOT_SUPPORTED 0x80040102u  /* ecNotSupported */
#define MP_STORE_EC_TOO_BIG 0x80040305u        /* ecTooBig */
#define MP_STORE_EC_OOM 0x8007000Eu            /* ecMAPIOOM */
#define MP_STORE_EC_FOLDER_CYCLE 0x8004060Bu   /* ecRootFolder / MAPI_E_FOLDER_CYCLE */
#define MP_STORE_EC_HAS_FOLDERS 0x80040609u    /* ecFolderHasChildren */
#define MP_STORE_EC_HAS_MESSAGES 0x8004060Au   /* ecFolderHasContents */
#define MP_STORE_EC_DISK_FULL 0x8004010Du      /* ecDiskFull */
#define MP_STORE_EC_STREAM_SIZE 0x80030070u    /* ecStreamSizeError */
#define MP_STORE_EC_CORRUPT 0x8004011Bu        /* ecCorruptData */

/* ---- Property tags the store sets or maintains (MS-OXPROPS) ---- */
#define MP_TAG_MESSAGE_CLASS 0x001A001Fu
#define MP_TAG_IMPORTANCE 0x00170003u
#define MP_TAG_SUBJECT 0x0037001Fu
#define MP_TAG_CLIENT_SUBMIT_TIME 0x00390040u
#define MP_TAG_SUBJECT_PREFIX 0x003D001Fu
#define MP_TAG_SENT_REPRESENTING_NAME 0x0042001Fu
#define MP_TAG_SENT_REPRESENTING_ADDRTYPE 0x0064001Fu
#define MP_TAG_SENT_REPRESENTING_EMAIL 0x0065001Fu
#define MP_TAG_CONVERSATION_TOPIC 0x0070001Fu
#define MP_TAG_TRANSPORT_HEADERS 0x007D001Fu
#define MP_TAG_RECIPIENT_TYPE 0x0C150003u
#define MP_TAG_SENDER_NAME 0x0C1A001Fu
#define MP_TAG_SENDER_ADDRTYPE 0x0C1E001Fu
#define MP_TAG_SENDER_EMAIL 0x0C1F001Fu
#define MP_TAG_DISPLAY_BCC 0x0E02001Fu
#define MP_TAG_DISPLAY_CC 0x0E03001Fu
#define MP_TAG_DISPLAY_TO 0x0E04001Fu
#define MP_TAG_MESSAGE_DELIVERY_TIME 0x0E060040u
#define MP_TAG_MESSAGE_FLAGS 0x0E070003u
#define MP_TAG_MESSAGE_SIZE 0x0E080003u
#define MP_TAG_PARENT_ENTRYID 0x0E090102u
#define MP_TAG_HAS_ATTACHMENTS 0x0E1B000Bu
#define MP_TAG_NORMALIZED_SUBJECT 0x0E1D001Fu
#define MP_TAG_ATTACH_SIZE 0x0E200003u
#define MP_TAG_ATTACH_NUM 0x0E210003u
#define MP_TAG_RECORD_KEY 0x0FF90102u
#define MP_TAG_OBJECT_TYPE 0x0FFE0003u
#define MP_TAG_ENTRYID 0x0FFF0102u
#define MP_TAG_BODY 0x1000001Fu
#define MP_TAG_HTML 0x10130102u
#define MP_TAG_NATIVE_BODY 0x10160003u
#define MP_TAG_INTERNET_MESSAGE_ID 0x1035001Fu
#define MP_TAG_INTERNET_REFERENCES 0x1039001Fu
#define MP_TAG_IN_REPLY_TO_ID 0x1042001Fu
#define MP_TAG_ROWID 0x30000003u
#define MP_TAG_DISPLAY_NAME 0x3001001Fu
#define MP_TAG_ADDRTYPE 0x3002001Fu
#define MP_TAG_EMAIL_ADDRESS 0x3003001Fu
#define MP_TAG_COMMENT 0x3004001Fu
#define MP_TAG_CREATION_TIME 0x30070040u
#define MP_TAG_LAST_MODIFICATION_TIME 0x30080040u
#define MP_TAG_IPM_SUBTREE_ENTRYID 0x35E00102u
#define MP_TAG_IPM_OUTBOX_ENTRYID 0x35E20102u
#define MP_TAG_IPM_WASTEBASKET_ENTRYID 0x35E30102u
#define MP_TAG_IPM_SENTMAIL_ENTRYID 0x35E40102u
#define MP_TAG_VIEWS_ENTRYID 0x35E50102u
#define MP_TAG_COMMON_VIEWS_ENTRYID 0x35E60102u
#define MP_TAG_FINDER_ENTRYID 0x35E70102u
#define MP_TAG_FOLDER_TYPE 0x36010003u
#define MP_TAG_CONTENT_COUNT 0x36020003u
#define MP_TAG_CONTENT_UNREAD_COUNT 0x36030003u
#define MP_TAG_SUBFOLDERS 0x360A000Bu
#define MP_TAG_CONTAINER_CLASS 0x3613001Fu
#define MP_TAG_ASSOC_CONTENT_COUNT 0x36170003u
#define MP_TAG_IPM_APPOINTMENT_ENTRYID 0x36D00102u
#define MP_TAG_IPM_CONTACT_ENTRYID 0x36D10102u
#define MP_TAG_IPM_JOURNAL_ENTRYID 0x36D20102u
#define MP_TAG_IPM_NOTE_ENTRYID 0x36D30102u
#define MP_TAG_IPM_TASK_ENTRYID 0x36D40102u
#define MP_TAG_IPM_DRAFTS_ENTRYID 0x36D70102u
#define MP_TAG_ATTACH_DATA_BINARY 0x37010102u
#define MP_TAG_ATTACH_EXTENSION 0x3703001Fu
#define MP_TAG_ATTACH_FILENAME 0x3704001Fu
#define MP_TAG_ATTACH_METHOD 0x37050003u
#define MP_TAG_ATTACH_LONG_FILENAME 0x3707001Fu
#define MP_TAG_RENDERING_POSITION 0x370B0003u
#define MP_TAG_ATTACH_MIME_TAG 0x370E001Fu
#define MP_TAG_ATTACH_CONTENT_ID 0x3712001Fu
#define MP_TAG_DISPLAY_TYPE 0x39000003u
#define MP_TAG_SMTP_ADDRESS 0x39FE001Fu
#define MP_TAG_INTERNET_CODEPAGE 0x3FDE0003u
#define MP_TAG_SENDER_SMTP_ADDRESS 0x5D01001Fu
#define MP_TAG_SENT_REPRESENTING_SMTP 0x5D02001Fu
#define MP_TAG_RECIPIENT_DISPLAY_NAME 0x5FF6001Fu
#define MP_TAG_RECIPIENT_FLAGS 0x5FFD0003u
#define MP_TAG_FOLDER_CHILD_COUNT 0x66380003u
#define MP_TAG_MAILBOX_OWNER_ENTRYID 0x661B0102u
#define MP_TAG_MAILBOX_OWNER_NAME 0x661C001Fu
#define MP_TAG_SOURCE_KEY 0x65E00102u
#define MP_TAG_PARENT_SOURCE_KEY 0x65E10102u
#define MP_TAG_CHANGE_KEY 0x65E20102u
#define MP_TAG_FOLDER_ID 0x67480014u
#define MP_TAG_PARENT_FOLDER_ID 0x67490014u
#define MP_TAG_MID 0x674A0014u
#define MP_TAG_CHANGE_NUMBER 0x67A40014u

/* PidTagMessageFlags bits (MS-OXCMSG 2.2.1.6). */
#define MP_MSGFLAG_READ 0x0001u
#define MP_MSGFLAG_UNMODIFIED 0x0002u
#define MP_MSGFLAG_SUBMIT 0x0004u
#define MP_MSGFLAG_UNSENT 0x0008u
#define MP_MSGFLAG_HASATTACH 0x0010u
#define MP_MSGFLAG_FROMME 0x0020u
#define MP_MSGFLAG_FAI 0x0040u

/* PidTagFolderType values (MS-OXCFOLD). */
#define MP_FOLDER_ROOT 0
#define MP_FOLDER_GENERIC 1
#define MP_FOLDER_SEARCH 2

/* ---- Store and transactions ---- */

struct mp_store;
struct mp_store_txn;

struct mp_store_opts {
	size_t map_size;         /* 0: MP_STORE_DEFAULT_MAP_SIZE; the store's upper size bound */
	bool create;             /* create DIR (0700) and the database when missing */
	bool read_only;          /* open read-only (no write transactions) */
	/* Used only when the store is created, then fixed (DNs must stay stable). */
	const char *org;         /* NULL: "First Organization" */
	const char *admin_group; /* NULL: "Exchange Administrative Group (FYDIBOHF23SPDLT)" */
	const char *mail_domain; /* NULL: "example.com"; default SMTP domain of new users */
};

/*
 * Open (and with opts->create, create) the store in directory `dir`. The
 * directory must not be accessible by group or others (mode & 077 == 0).
 * Unsaved messages left by a crash are purged unless read-only.
 * Returns MP_OK (*out is the caller's: mp_store_close), MP_ERR_NOTFOUND (no
 * store and !create), MP_ERR_CONFIG (bad mode, already open in this process,
 * newer format, bad options), MP_ERR_IO, MP_ERR_NOMEM. Blocks on disk I/O.
 */
int mp_store_open(struct mp_store **out, const char *dir, const struct mp_store_opts *opts,
		  char *err, size_t errlen);
/* Close; every transaction must have ended. NULL is fine. */
void mp_store_close(struct mp_store *st);

/* Values fixed at creation (owned by the store). */
const char *mp_store_org(const struct mp_store *st);
const char *mp_store_admin_group(const struct mp_store *st);
const char *mp_store_mail_domain(const struct mp_store *st);

/*
 * Begin a read (write = false) or write transaction. A write transaction
 * waits for the current writer. Returns MP_OK, MP_ERR_PROTO (write on a
 * read-only store), MP_ERR_IO, MP_ERR_NOMEM.
 */
int mp_store_txn_begin(struct mp_store *st, bool write, struct mp_store_txn **out);
/* Commit and free. On failure the transaction is aborted and freed: MP_ERR_IO,
 * MP_ERR_LIMIT (map full). A read transaction just ends. */
int mp_store_txn_commit(struct mp_store_txn *txn);
/* Abort and free. NULL is fine. */
void mp_store_txn_abort(struct mp_store_txn *txn);
/* Message of the last failure in this transaction ("" when none). */
const char *mp_store_txn_errmsg(const struct mp_store_txn *txn);
/* MAPI error code for the last failure (MP_STORE_EC_*), 0 when none. */
uint32_t mp_store_txn_ec(const struct mp_store_txn *txn);
/* A talloc context freed with the transaction, for scratch results. */
void *mp_store_txn_mem(struct mp_store_txn *txn);
struct mp_store *mp_store_txn_store(struct mp_store_txn *txn);

/* ---- Identifiers (ids.c): pure functions ---- */

#define MP_STORE_REPLID 1          /* every mailbox's own ReplicaId */
#define MP_STORE_LTID_LEN 24       /* LongTermId: REPLGUID, GLOBCNT[6], pad[2] */
#define MP_STORE_XID_LEN 22        /* source/change key: GUID + GLOBCNT[6] */
#define MP_STORE_FOLDER_EID_LEN 46 /* MS-OXCDATA 2.2.4.1 */
#define MP_STORE_MESSAGE_EID_LEN 70 /* MS-OXCDATA 2.2.4.2 */

/* Object types of Folder/Message EntryIDs (MS-OXCDATA 2.2.4). */
#define MP_EID_PRIVATE_FOLDER 0x0001
#define MP_EID_PUBLIC_FOLDER 0x0003
#define MP_EID_PRIVATE_MESSAGE 0x0007
#define MP_EID_PUBLIC_MESSAGE 0x0009

/* FID/MID from ReplicaId and GLOBCNT (gc <= MP_STORE_MAX_GC), and back. */
uint64_t mp_store_make_id(uint16_t replid, uint64_t gc);
uint16_t mp_store_id_replid(uint64_t id);
uint64_t mp_store_id_gc(uint64_t id);
/* GLOBCNT as its 6 wire bytes (most significant first) and back. */
void mp_store_gc_put(uint8_t out[6], uint64_t gc);
uint64_t mp_store_gc_get(const uint8_t in[6]);

/* LongTermId of `id` given the GUID of its replica (RopLongTermIdFromId). */
void mp_store_ltid_build(const uint8_t replguid[16], uint64_t id, uint8_t out[MP_STORE_LTID_LEN]);
/* Split a LongTermId: GUID and GLOBCNT. MP_ERR_PARSE when the pad is not 0. */
int mp_store_ltid_parse(const uint8_t ltid[MP_STORE_LTID_LEN], uint8_t replguid[16], uint64_t *gc);

/* XID (MS-OXCFXICS 2.2.2.2) with a 6-byte GLOBCNT: PidTagSourceKey/ChangeKey. */
void mp_store_xid_build(const uint8_t guid[16], uint64_t gc, uint8_t out[MP_STORE_XID_LEN]);

/* A parsed Folder or Message EntryID. */
struct mp_store_eid {
	uint32_t flags;
	uint8_t provider[16];   /* mailbox GUID for private stores */
	uint16_t type;          /* MP_EID_* */
	uint8_t folder_db[16];  /* GUID of the folder's replica */
	uint64_t folder_gc;
	uint8_t message_db[16]; /* messages only */
	uint64_t message_gc;    /* messages only; 0 for folders */
};

void mp_store_folder_eid_build(const uint8_t provider[16], uint16_t type, const uint8_t db[16],
			       uint64_t gc, uint8_t out[MP_STORE_FOLDER_EID_LEN]);
void mp_store_message_eid_build(const uint8_t provider[16], uint16_t type,
				const uint8_t folder_db[16], uint64_t folder_gc,
				const uint8_t message_db[16], uint64_t message_gc,
				uint8_t out[MP_STORE_MESSAGE_EID_LEN]);
/*
 * Parse a Folder (46 bytes, types 1/3) or Message (70 bytes, types 7/9)
 * EntryID. Flags may be non-zero (short-term ids); pads must be zero.
 * MP_OK or MP_ERR_PARSE.
 */
int mp_store_eid_parse(const uint8_t *p, size_t len, struct mp_store_eid *out);

/*
 * Address Book EntryID (MS-OXCDATA 2.2.5.2, the Permanent Entry ID of
 * MS-OXNSPI 2.2.9.3) for an X500 DN: flags 0, the NSPI provider GUID,
 * version 1, `display_type` (0 = mail user), the DN with its NUL. *out is
 * talloc'd under mem. MP_OK, MP_ERR_PARSE (DN too long), MP_ERR_NOMEM.
 */
int mp_store_ab_eid_build(void *mem, const char *dn, uint32_t display_type, uint8_t **out,
			  size_t *len);

/* FILETIME (100 ns since 1601-01-01 UTC) of a Unix time and of now. */
uint64_t mp_store_filetime_from_unix(int64_t t);
uint64_t mp_store_filetime_now(void);

/* Random GUID (version 4 layout), from getrandom(2). MP_OK or MP_ERR_IO. */
int mp_store_guid_random(uint8_t guid[16]);

/* ---- Users and the GAL (users.c) ---- */

#define MP_STORE_USER_DISABLED 0x01u

struct mp_store_user {
	uint32_t id;               /* also the mailbox id */
	uint32_t mid;              /* GAL minimal entry id (MS-OXNSPI), stable */
	uint32_t flags;            /* MP_STORE_USER_* */
	const char *name;          /* logon name, [A-Za-z0-9._-] */
	const char *display_name;
	const char *smtp;          /* primary SMTP address */
	const char *dn;            /* legacy Exchange DN (/o=.../cn=Recipients/cn=NAME) */
	uint8_t mailbox_guid[16];
	uint8_t replica_guid[16];
	uint64_t created;          /* FILETIME */
};

struct mp_store_user_new {
	const char *name;          /* required */
	const char *password;      /* required, UTF-8; only its NT hash is kept */
	const char *display_name;  /* NULL: the name */
	const char *smtp;          /* NULL: name@mail_domain */
};

/*
 * Create a user with its mailbox (standard folders, receive folders), GAL
 * entry and NT hash. Checks: name 1..64 bytes of [A-Za-z0-9._-] not starting
 * with '.' or '-'; password 1..256 bytes of UTF-8; display name valid UTF-8
 * without control characters; SMTP "local@domain" in printable ASCII. Name,
 * DN and SMTP must be unique (case-insensitive). *id (may be NULL) is the
 * new user id. Returns MP_OK, MP_ERR_PARSE (bad field), MP_ERR_PROTO (name or
 * address taken, ec ecDuplicateName), MP_ERR_LIMIT, MP_ERR_IO, MP_ERR_NOMEM.
 */
int mp_store_user_add(struct mp_store_txn *txn, const struct mp_store_user_new *u, uint32_t *id);
/* The same in its own write transaction (what `mapiserver useradd` calls). */
int mp_store_user_add_simple(struct mp_store *st, const struct mp_store_user_new *u, uint32_t *id,
			     char *err, size_t errlen);
/* Delete a user, its indexes and its whole mailbox. MP_OK or MP_ERR_NOTFOUND. */
int mp_store_user_delete(struct mp_store_txn *txn, uint32_t id);
int mp_store_user_set_password(struct mp_store_txn *txn, uint32_t id, const char *password);
int mp_store_user_set_disabled(struct mp_store_txn *txn, uint32_t id, bool disabled);
int mp_store_user_set_display_name(struct mp_store_txn *txn, uint32_t id, const char *display_name);

/* Lookups: *out talloc'd under mem. MP_OK or MP_ERR_NOTFOUND. Name, DN and
 * SMTP match case-insensitively (ASCII). */
int mp_store_user_get(struct mp_store_txn *txn, uint32_t id, void *mem, struct mp_store_user **out);
int mp_store_user_by_name(struct mp_store_txn *txn, const char *name, void *mem,
			  struct mp_store_user **out);
int mp_store_user_by_dn(struct mp_store_txn *txn, const char *dn, void *mem,
			struct mp_store_user **out);
int mp_store_user_by_smtp(struct mp_store_txn *txn, const char *smtp, void *mem,
			  struct mp_store_user **out);
int mp_store_user_by_mid(struct mp_store_txn *txn, uint32_t mid, void *mem,
			 struct mp_store_user **out);
/* Every user in id order (also the GAL's order). *out talloc'd under mem. */
int mp_store_user_list(struct mp_store_txn *txn, void *mem, struct mp_store_user **out,
		       size_t *n);
/* The NT hash of a user. MP_OK or MP_ERR_NOTFOUND. The caller wipes it. */
int mp_store_user_nt_hash(struct mp_store_txn *txn, uint32_t id, uint8_t nt_hash[16]);

/*
 * mp_ntlm_lookup_fn / mp_userdb_lookup_cb shape (arg = struct mp_store *):
 * the NT hash of `user` (logon name, or SMTP address) in any domain, in its
 * own read transaction. Disabled users and unknown names answer
 * MP_ERR_NOTFOUND. Safe from several threads.
 */
int mp_store_ntlm_lookup_cb(void *store, const char *user, const char *domain,
			    uint8_t nt_hash[16]);

/* ---- Mailboxes and special folders (folders.c) ---- */

/* Special folders. The first 13 are the RopLogon private-mailbox FolderIds,
 * in that order (MS-OXCSTOR 2.2.1.1.3). */
enum mp_store_special {
	MP_STORE_SF_ROOT = 0,
	MP_STORE_SF_DEFERRED_ACTION,
	MP_STORE_SF_SPOOLER_QUEUE,
	MP_STORE_SF_IPM_SUBTREE,  /* "Top of Information Store" */
	MP_STORE_SF_INBOX,
	MP_STORE_SF_OUTBOX,
	MP_STORE_SF_SENT_ITEMS,
	MP_STORE_SF_DELETED_ITEMS,
	MP_STORE_SF_COMMON_VIEWS,
	MP_STORE_SF_SCHEDULE,
	MP_STORE_SF_FINDER,       /* "Search" in MS-OXCSTOR */
	MP_STORE_SF_VIEWS,
	MP_STORE_SF_SHORTCUTS,
	MP_STORE_SF_CALENDAR,
	MP_STORE_SF_CONTACTS,
	MP_STORE_SF_JOURNAL,
	MP_STORE_SF_NOTES,
	MP_STORE_SF_TASKS,
	MP_STORE_SF_DRAFTS,
	MP_STORE_SF_COUNT
};
#define MP_STORE_LOGON_FOLDERS 13

struct mp_store_mailbox {
	uint32_t id;
	uint16_t replid;                       /* MP_STORE_REPLID */
	uint8_t mailbox_guid[16];              /* RopLogon MailboxGuid, EntryID provider */
	uint8_t replica_guid[16];              /* RopLogon ReplGuid, EntryID DatabaseGuid */
	uint64_t special[MP_STORE_SF_COUNT];   /* FIDs */
};

int mp_store_mailbox_get(struct mp_store_txn *txn, uint32_t mbox, struct mp_store_mailbox *out);
/* English display name of a special folder ("Inbox"), or NULL. */
const char *mp_store_special_name(enum mp_store_special sf);

/* ID helpers bound to a mailbox. MP_ERR_NOTFOUND when the replica is not the
 * mailbox's (RopLongTermIdFromId / RopIdFromLongTermId answer ecNotFound). */
int mp_store_ltid_from_id(const struct mp_store_mailbox *mb, uint64_t id,
			  uint8_t out[MP_STORE_LTID_LEN]);
int mp_store_id_from_ltid(const struct mp_store_mailbox *mb, const uint8_t ltid[MP_STORE_LTID_LEN],
			  uint64_t *id);
void mp_store_folder_eid(const struct mp_store_mailbox *mb, uint64_t fid,
			 uint8_t out[MP_STORE_FOLDER_EID_LEN]);
void mp_store_message_eid(const struct mp_store_mailbox *mb, uint64_t fid, uint64_t mid,
			  uint8_t out[MP_STORE_MESSAGE_EID_LEN]);
/* EntryID -> FID (and MID, 0 for folders) of this mailbox. MP_ERR_PARSE
 * (malformed), MP_ERR_NOTFOUND (another mailbox or replica). */
int mp_store_eid_to_ids(const struct mp_store_mailbox *mb, const uint8_t *p, size_t len,
			uint64_t *fid, uint64_t *mid);

/* ---- Folders (folders.c) ---- */

struct mp_store_folder_info {
	uint64_t fid;
	uint64_t parent_fid;    /* 0 for the root */
	uint32_t folder_type;   /* MP_FOLDER_* */
	int special;            /* enum mp_store_special, -1 for ordinary folders */
	uint32_t content_count; /* saved, normal messages */
	uint32_t unread_count;
	uint32_t assoc_count;   /* folder associated information (FAI) */
	uint32_t child_count;   /* direct subfolders */
};

#define MP_STORE_OPEN_IF_EXISTS 0x1u /* create: return the existing folder of that name */

/* RopDeleteFolder DeleteFolderFlags (MS-OXCFOLD, MS-OXCROPS RopDeleteFolder). */
#define MP_STORE_DEL_MESSAGES 0x01u
#define MP_STORE_DEL_FOLDERS 0x04u

int mp_store_folder_get(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			struct mp_store_folder_info *out);
/*
 * Create folder `name` (UTF-8, 1..256 bytes, no control characters) under
 * `parent`, with PidTagContainerClass `container_class` (NULL: none) and
 * PidTagFolderType `type` (generic or search). Names are unique among
 * siblings, case-insensitively: MP_ERR_PROTO (ecDuplicateName) unless
 * MP_STORE_OPEN_IF_EXISTS, which returns the existing folder with *existed.
 * MP_ERR_NOTFOUND (no parent), MP_ERR_PARSE (bad name), MP_ERR_LIMIT (depth,
 * folder count).
 */
int mp_store_folder_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t parent,
			   const char *name, const char *container_class, uint32_t type,
			   uint32_t flags, uint64_t *fid, bool *existed);
/*
 * Delete a folder. Without MP_STORE_DEL_FOLDERS a folder with subfolders is
 * refused (MP_ERR_PROTO, ecFolderHasChildren); without MP_STORE_DEL_MESSAGES
 * one whose subtree holds messages (normal or FAI) anywhere
 * (ecFolderHasContents); with both, the whole subtree goes. Special folders: MP_ERR_PROTO (ecAccessDenied).
 * Receive-folder entries that pointed into the subtree are removed (the
 * default one falls back to the Inbox).
 */
int mp_store_folder_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, uint32_t flags);
/* Rename (also what setting PidTagDisplayName on a folder does). */
int mp_store_folder_rename(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, const char *name);
/* Move under `new_parent`, optionally renaming. Special folders and moves
 * into the folder's own subtree are refused (ecAccessDenied / FOLDER_CYCLE). */
int mp_store_folder_move(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			 uint64_t new_parent, const char *new_name);
/* Delete the folder's messages (and with MP_STORE_DEL_FOLDERS its
 * subfolders), keeping it (RopEmptyFolder). `associated` also empties FAI. */
int mp_store_folder_empty(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, bool associated,
			  uint32_t flags);
/* Child FIDs in creation order (recursive: depth-first, parents first). */
int mp_store_folder_children(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			     bool recursive, void *mem, uint64_t **fids, size_t *n);
/* A child by name (case-insensitive). MP_OK or MP_ERR_NOTFOUND. */
int mp_store_folder_find(struct mp_store_txn *txn, uint32_t mbox, uint64_t parent,
			 const char *name, uint64_t *fid);
/* A folder by '/'-separated path below the IPM subtree ("Inbox/Archive"). */
int mp_store_folder_by_path(struct mp_store_txn *txn, uint32_t mbox, const char *path,
			    uint64_t *fid);
/* Saved messages of a folder in creation order (contents table rows). */
int mp_store_folder_contents(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			     bool associated, void *mem, uint64_t **mids, size_t *n);

/*
 * Receive folders (RopGetReceiveFolder / RopSetReceiveFolder /
 * RopGetReceiveFolderTable). Message classes are ASCII, at most 255 bytes,
 * without leading, trailing or doubled dots, matched case-insensitively; the
 * lookup takes the entry of the longest matching class prefix (whole
 * dot-separated parts), else the default entry "". New mailboxes map "",
 * "IPM" and "REPORT.IPM" to the Inbox and "IPC" to the Root folder.
 * get: *explicit_class (talloc'd under mem, may be NULL) is the matched
 * class as it was set ("" for the default).
 * set: fid 0 removes the entry; the default entry cannot be removed
 * (MP_ERR_PROTO, ecError). MP_ERR_PARSE (bad class), MP_ERR_NOTFOUND (fid).
 */
int mp_store_receive_folder_get(struct mp_store_txn *txn, uint32_t mbox, const char *msg_class,
				void *mem, uint64_t *fid, char **explicit_class);
int mp_store_receive_folder_set(struct mp_store_txn *txn, uint32_t mbox, const char *msg_class,
				uint64_t fid);
struct mp_store_receive_entry {
	uint64_t fid;
	const char *msg_class;
	uint64_t modified; /* FILETIME */
};
int mp_store_receive_folder_list(struct mp_store_txn *txn, uint32_t mbox, void *mem,
				 struct mp_store_receive_entry **out, size_t *n);

/* ---- Messages, recipients, attachments (messages.c) ---- */

enum mp_store_msg_state {
	MP_STORE_MSG_SAVED = 0,
	MP_STORE_MSG_NEW = 1,   /* created, never saved: invisible in tables and counts */
	MP_STORE_MSG_DRAFT = 2, /* editable copy of a saved message (mp_store_msg_edit) */
};

struct mp_store_msg_info {
	uint64_t mid;
	uint64_t fid;
	uint64_t orig_mid;        /* drafts: the saved message they replace */
	enum mp_store_msg_state state;
	bool associated;          /* FAI */
	bool read;
	uint32_t n_recipients;
	uint32_t n_attachments;
};

/*
 * Create a message in folder `fid` (RopCreateMessage). It has a MID at once
 * but stays invisible (no contents-table row, no counts) until
 * mp_store_msg_save; an unsaved message is dropped by mp_store_msg_discard
 * or at the next open after a crash. PidTagMessageFlags starts as mfUnsent
 * (client-created), plus mfFAI when associated; PidTagCreationTime is now.
 */
int mp_store_msg_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, bool associated,
			uint64_t *mid);
/*
 * Open a saved message for modification (RopOpenMessage read/write): copy it
 * to a draft with its own MID; changes go to the draft; mp_store_msg_save of
 * the draft replaces the original (same MID) atomically; discard drops it.
 */
int mp_store_msg_edit(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t *draft_mid);
/*
 * Save (RopSaveChangesMessage): a new message becomes visible; a draft
 * replaces its original. Computes PidTagMessageSize, PidTagHasAttachments,
 * mfHasAttach, PidTagDisplayTo/Cc/Bcc (from the recipients), each
 * attachment's PidTagAttachSize, a new change number/key and
 * PidTagLastModificationTime, and the folder's counts. *saved_mid (may be
 * NULL): the MID of the saved message. Saving a saved message refreshes the
 * computed properties.
 */
int mp_store_msg_save(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t *saved_mid);
/* Drop an unsaved message or draft (the original stays). MP_ERR_PROTO for a
 * saved message. */
int mp_store_msg_discard(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid);
/* Hard-delete a message with its recipients and attachments. */
int mp_store_msg_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid);
/* Move or copy a saved message to folder `dst` (same mailbox). The result
 * gets a new MID (*new_mid); the source key stays on move. */
int mp_store_msg_move(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t dst,
		      uint64_t *new_mid);
int mp_store_msg_copy(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint64_t dst,
		      uint64_t *new_mid);
int mp_store_msg_get(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid,
		     struct mp_store_msg_info *out);
/* Set or clear mfRead (RopSetMessageReadFlag, RopSetReadFlags); keeps the
 * folder's unread count. *changed (may be NULL): whether the flag changed. */
int mp_store_msg_set_read(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, bool read,
			  bool *changed);

/*
 * Recipients (RopModifyRecipients / RopReadRecipients /
 * RopRemoveAllRecipients): rows of properties keyed by RowId. set replaces
 * row `row_id` with `props` (n == 0 deletes it); PidTagRowid is kept equal
 * to the row id. add uses the next free row id.
 */
struct mp_store_prop;
int mp_store_recip_set(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t row_id,
		       const struct mp_store_prop *props, size_t n);
int mp_store_recip_add(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid,
		       const struct mp_store_prop *props, size_t n, uint32_t *row_id);
int mp_store_recip_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t row_id);
int mp_store_recip_remove_all(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid);
int mp_store_recip_list(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, void *mem,
			uint32_t **row_ids, size_t *n);

/*
 * Attachments (RopCreateAttachment / RopOpenAttachment /
 * RopDeleteAttachment / RopGetAttachmentTable): numbered from 0 per
 * message, never reused; PidTagAttachNumber is set. Their properties go
 * through the property API with mp_store_obj_attach(); the data is the
 * PidTagAttachDataBinary stream. save computes PidTagAttachSize (the
 * message save does it too).
 */
int mp_store_attach_create(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t *num);
int mp_store_attach_save(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t num);
int mp_store_attach_delete(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, uint32_t num);
int mp_store_attach_list(struct mp_store_txn *txn, uint32_t mbox, uint64_t mid, void *mem,
			 uint32_t **nums, size_t *n);

/* ---- Properties (props.c) ---- */

enum mp_store_kind {
	MP_STORE_KIND_MAILBOX = 1, /* the logon (store) object: id 0 */
	MP_STORE_KIND_FOLDER = 2,
	MP_STORE_KIND_MESSAGE = 3,
	MP_STORE_KIND_RECIPIENT = 4, /* id = MID, sub = RowId */
	MP_STORE_KIND_ATTACHMENT = 5, /* id = MID, sub = attach number */
};

/* An object with a property bag. */
struct mp_store_obj {
	uint32_t mbox;
	uint8_t kind;  /* enum mp_store_kind */
	uint64_t id;   /* FID or MID (wire value); 0 for the mailbox */
	uint32_t sub;
};

static inline struct mp_store_obj mp_store_obj_mailbox(uint32_t mbox)
{
	return (struct mp_store_obj){.mbox = mbox, .kind = MP_STORE_KIND_MAILBOX};
}
static inline struct mp_store_obj mp_store_obj_folder(uint32_t mbox, uint64_t fid)
{
	return (struct mp_store_obj){.mbox = mbox, .kind = MP_STORE_KIND_FOLDER, .id = fid};
}
static inline struct mp_store_obj mp_store_obj_message(uint32_t mbox, uint64_t mid)
{
	return (struct mp_store_obj){.mbox = mbox, .kind = MP_STORE_KIND_MESSAGE, .id = mid};
}
static inline struct mp_store_obj mp_store_obj_recip(uint32_t mbox, uint64_t mid, uint32_t row)
{
	return (struct mp_store_obj){
		.mbox = mbox, .kind = MP_STORE_KIND_RECIPIENT, .id = mid, .sub = row};
}
static inline struct mp_store_obj mp_store_obj_attach(uint32_t mbox, uint64_t mid, uint32_t num)
{
	return (struct mp_store_obj){
		.mbox = mbox, .kind = MP_STORE_KIND_ATTACHMENT, .id = mid, .sub = num};
}

/* Forms of a stored value. */
enum mp_store_form {
	MP_STORE_VAL_WIRE = 0, /* PropertyValue, ROP encoding: copy to the wire as is */
	MP_STORE_VAL_RAW = 1,  /* raw content: too big for the ROP encoding; serve as a stream */
	MP_STORE_VAL_NONE = 2, /* (row results) the object has no such property */
};

/* One property value. As input (set, recipient rows) `form` WIRE or RAW. */
struct mp_store_prop {
	uint32_t tag;        /* the tag with the type as stored */
	uint8_t form;        /* enum mp_store_form */
	const uint8_t *data;
	size_t len;
};

/*
 * Types that can be stored: every fixed-size type but PtypNull and
 * PtypErrorCode, PtypString, PtypString8, PtypBinary, PtypServerId,
 * PtypGuid, PtypRestriction, PtypRuleAction and the multi-valued types.
 * PtypObject and PtypUnspecified are not (MP_ERR_UNSUPPORTED). Prop id 0 is
 * reserved.
 *
 * Computed properties cannot be set or deleted by callers (MP_ERR_PROTO,
 * ecAccessDenied): PidTagEntryId, PidTagParentEntryId, PidTagFolderId,
 * PidTagParentFolderId, PidTagMid, PidTagSourceKey, PidTagParentSourceKey,
 * PidTagRecordKey, PidTagChangeNumber, PidTagChangeKey, PidTagContentCount,
 * PidTagContentUnreadCount, PidTagAssociatedContentCount, PidTagSubfolders,
 * PidTagFolderChildCount, PidTagMessageSize, PidTagHasAttachments,
 * PidTagDisplayTo/Cc/Bcc, PidTagAttachNumber, PidTagAttachSize,
 * PidTagRowid. Setting PidTagDisplayName on a folder renames it; setting
 * PidTagMessageFlags keeps mfHasAttach/mfFAI as computed and the unread count.
 */
bool mp_store_tag_is_computed(uint32_t tag);

/*
 * Get one property. The tag's type must match the stored type, or be
 * PtypUnspecified (then out->tag carries the stored type). MP_OK,
 * MP_ERR_NOTFOUND (no such object or property; ec ecNotFound).
 */
int mp_store_prop_get(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
		      struct mp_store_prop *out);
/*
 * Get several (a table row, RopGetPropertiesSpecific): out[i] for tags[i],
 * form MP_STORE_VAL_NONE when missing. With `mem`, a PtypString asked for a
 * PtypString8 value (or the reverse) is converted into mem (8-bit strings
 * are taken as Latin-1; characters outside it become '?'); without, such a
 * mismatch is missing. MP_OK when the object exists.
 */
int mp_store_props_get(struct mp_store_txn *txn, const struct mp_store_obj *obj,
		       const uint32_t *tags, size_t n, void *mem, struct mp_store_prop *out);
/* Every property (RopGetPropertiesAll), in prop id order; *out under mem. */
int mp_store_prop_list(struct mp_store_txn *txn, const struct mp_store_obj *obj, void *mem,
		       struct mp_store_prop **out, size_t *n);
/* Rows for a table: rows[i * ntags + j] = property tags[j] of object ids[i]
 * of `kind` (folders or messages of mbox). Missing objects give all-NONE rows. */
int mp_store_rows(struct mp_store_txn *txn, uint32_t mbox, uint8_t kind, const uint64_t *ids,
		  size_t nids, const uint32_t *tags, size_t ntags, void *mem,
		  struct mp_store_prop **rows);

/*
 * Set one property from its PropertyValue bytes (ROP encoding, `len` bytes,
 * exactly one value). Refused: malformed bytes (MP_ERR_PARSE,
 * ecInvalidParam), unsupported types, computed tags, more than
 * MP_STORE_MAX_PROPS properties or MP_STORE_MAX_STREAM bytes (MP_ERR_LIMIT,
 * ecTooBig). A value of the same prop id with another type is replaced.
 */
int mp_store_prop_set(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
		      const void *wire, size_t len);
/* Set from a struct mp_store_prop (WIRE or RAW form). */
int mp_store_prop_put(struct mp_store_txn *txn, const struct mp_store_obj *obj,
		      const struct mp_store_prop *p);
/* Set a PtypBinary, PtypString (UTF-16LE) or PtypString8 property from its
 * content bytes (no count, no terminator), choosing the stored form as a
 * stream write would. Up to MP_STORE_MAX_STREAM bytes. */
int mp_store_prop_set_content(struct mp_store_txn *txn, const struct mp_store_obj *obj,
			      uint32_t tag, const void *data, size_t len);
/* Set from a decoded value (src/mapi/propval.h), encoded with mp_pv_write. */
int mp_store_prop_set_pv(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			 const struct mp_propval *pv);
/* Delete one property (the type of `tag` is ignored). MP_OK also when absent. */
int mp_store_prop_delete(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag);

/* Typed setters: the tag's type must be the matching one. */
int mp_store_prop_set_i16(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint16_t v);
int mp_store_prop_set_u32(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint32_t v);
int mp_store_prop_set_u64(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t v); /* PtypInteger64, PtypTime, PtypCurrency */
int mp_store_prop_set_bool(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			   bool v);
/* PtypString from UTF-8 (invalid sequences become U+FFFD, NULs are dropped),
 * or PtypString8 stored as the given bytes. */
int mp_store_prop_set_string(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     const char *utf8);
int mp_store_prop_set_binary(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     const void *data, size_t len);

/* Typed getters. MP_ERR_NOTFOUND when absent or of another type. */
int mp_store_prop_get_u32(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint32_t *v);
int mp_store_prop_get_u64(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t *v);
int mp_store_prop_get_bool(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			   bool *v);
/* PtypString or PtypString8 as UTF-8 under mem. */
int mp_store_prop_get_string(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     void *mem, char **out);

/* Decode a stored value (WIRE or RAW) into a struct mp_propval; byte fields
 * point into p->data, arrays under mem. MP_OK, MP_ERR_PARSE. */
int mp_store_prop_decode(const struct mp_store_prop *p, void *mem, struct mp_propval *out);
/* The content of a string/binary value as a stream sees it: PtypBinary
 * without its count, PtypString(8) without its terminator. MP_OK, or
 * MP_ERR_UNSUPPORTED for other types. */
int mp_store_prop_content(const struct mp_store_prop *p, const uint8_t **data, size_t *len);

/*
 * Streams (RopOpenStream, RopReadStream, RopWriteStream, RopSetStreamSize,
 * RopGetStreamSize) over PtypBinary, PtypString and PtypString8 properties,
 * up to MP_STORE_MAX_STREAM bytes: content as mp_store_prop_content. Writes
 * past the end zero-fill the gap; a write creates the property. Binary
 * streams up to 65535 bytes and even-length string streams without U+0000
 * are stored in wire form, others raw. MP_ERR_LIMIT (ecStreamSizeError)
 * past the bound. Each write rewrites the whole value (O(size)): a ROP
 * layer should buffer an open stream's writes and store them once on
 * RopCommitStream/Release (mp_store_prop_set_content), as MAPI's transacted
 * streams behave anyway.
 */
int mp_store_stream_size(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			 uint64_t *size);
int mp_store_stream_read(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			 uint64_t off, void *buf, size_t len, size_t *got);
int mp_store_stream_write(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			  uint64_t off, const void *data, size_t len);
int mp_store_stream_set_size(struct mp_store_txn *txn, const struct mp_store_obj *obj, uint32_t tag,
			     uint64_t size);

/*
 * Named properties (RopGetPropertyIdsFromNames / RopGetNamesFromPropertyIds
 * / RopQueryNamedProperties), per mailbox. A name is a struct mp_prop_name
 * (src/mapi/propval.h) of kind LID or NAME; a NAME's bytes are UTF-16LE,
 * with or without their terminator, 2..510 bytes, compared exactly. Ids are
 * allocated from 0x8000 and never reused. PS_MAPI names with a LID map to
 * the LID itself (an ordinary tag id < 0x8000), without an entry.
 * mp_store_named_id: MP_ERR_NOTFOUND (unknown and !create), MP_ERR_PARSE,
 * MP_ERR_LIMIT (ids exhausted). mp_store_named_name: out->name.data under
 * mem, with the terminator (NameSize counts it); MP_ERR_NOTFOUND.
 */
int mp_store_named_id(struct mp_store_txn *txn, uint32_t mbox, const struct mp_prop_name *name,
		      bool create, uint16_t *id);
int mp_store_named_name(struct mp_store_txn *txn, uint32_t mbox, uint16_t id, void *mem,
			struct mp_prop_name *out);
/* Every mapped id (>= 0x8000), ascending. */
int mp_store_named_list(struct mp_store_txn *txn, uint32_t mbox, void *mem, uint16_t **ids,
			size_t *n);

/* UTF-8 <-> UTF-16LE as the store does it: invalid input becomes U+FFFD and
 * NULs are dropped, never an error but MP_ERR_NOMEM / MP_ERR_LIMIT. With
 * `terminate` a 2-byte (or 1-byte) terminator is appended (not counted in
 * *len). Results under mem. */
int mp_store_utf8_to_utf16(void *mem, const char *s, size_t len, bool terminate, uint8_t **out,
			   size_t *out_len);
int mp_store_utf16_to_utf8(void *mem, const uint8_t *p, size_t len, char **out);

/* ---- Import of RFC 5322 mail (import_mime.c) ---- */

#define MP_STORE_IMPORT_READ 0x1u       /* mark imported messages read */
#define MP_STORE_IMPORT_MAX_FILE (256u << 20) /* bytes of one .eml file */
#define MP_STORE_IMPORT_BATCH 64        /* messages per write transaction */

struct mp_store_import_progress {
	const char *path;       /* file being read */
	uint64_t done;          /* messages imported so far */
	uint64_t failed;        /* messages skipped (unparsable, too big) */
	uint64_t bytes_done;    /* of the current file */
	uint64_t bytes_total;   /* size of the current file */
	uint64_t last_mid;      /* MID of the last imported message (0 if none) */
};
/* Called after each message; a non-zero return stops the import (which then
 * returns MP_DONE with what was imported so far committed). */
typedef int (*mp_store_import_progress_fn)(void *arg, const struct mp_store_import_progress *p);

struct mp_store_import_opts {
	uint64_t fid;           /* target folder; 0: the receive folder of IPM.Note (Inbox) */
	uint32_t flags;         /* MP_STORE_IMPORT_* */
	mp_store_import_progress_fn progress;
	void *progress_arg;
};

struct mp_store_import_stats {
	uint64_t messages;      /* imported */
	uint64_t failed;        /* skipped, each with a warning in the first_error text */
	uint64_t files;
	char first_error[256];  /* why the first skipped message was skipped */
};

/*
 * Import one RFC 5322 message from memory into folder `fid` of `mbox` and
 * save it (the message is not read unless MP_STORE_IMPORT_READ). Maps:
 * Subject (+ prefix/normalized/topic), From -> PidTagSentRepresenting*,
 * Sender (or From) -> PidTagSender* (name, SMTP, address type SMTP),
 * To/Cc/Bcc -> recipients (type 1/2/3, display name, SMTP, address type),
 * Date -> PidTagClientSubmitTime, first Received date (else Date, else now)
 * -> PidTagMessageDeliveryTime, Message-ID/In-Reply-To/References,
 * Importance/X-Priority -> PidTagImportance, text/plain -> PidTagBody,
 * text/html -> PidTagHtml (UTF-8, PidTagInternetCodepage 65001), other
 * parts -> attachments (afByValue: PidTagAttachDataBinary, long and 8.3
 * file names, extension, MIME tag, content id, PidTagAttachSize),
 * message/rfc822 parts as .eml file attachments, the header block ->
 * PidTagTransportMessageHeaders, PidTagMessageClass "IPM.Note". Charsets are
 * decoded by GMime. Returns MP_OK (*mid), MP_ERR_PARSE (not a message),
 * MP_ERR_LIMIT, store errors.
 */
int mp_store_import_mem(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, const void *data,
			size_t len, uint32_t flags, uint64_t *mid);
/*
 * What `mapiserver import --user U PATH` calls: PATH is a directory (its
 * *.eml and *.mbox files, not recursive, in name order), an mbox file
 * (starts with "From "), or one .eml file. Messages are imported in batches
 * of MP_STORE_IMPORT_BATCH per write transaction; a message that cannot be
 * parsed is counted in stats->failed and skipped. Returns MP_OK, MP_DONE
 * (stopped by the progress callback), MP_ERR_NOTFOUND (user, folder, path),
 * MP_ERR_IO, MP_ERR_LIMIT (store full), MP_ERR_NOMEM. Blocks.
 */
int mp_store_import_path(struct mp_store *st, const char *user, const char *path,
			 const struct mp_store_import_opts *opts, struct mp_store_import_stats *stats,
			 char *err, size_t errlen);

#endif
