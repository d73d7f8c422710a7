/*
 * The cache module's index: which streams are cached, in an LMDB environment
 * under the cache directory, shared by every session of a proxy and by every
 * proxy process that uses the same directory.
 *
 *	PATH/index/          the LMDB environment (data.mdb, lock.mdb)
 *	PATH/data/MBOX/MID/ATTACH-TAG.stream
 *	                     one file per cached stream (MBOX: the mailbox GUID
 *	                     in hex; ATTACH: the attachment number in hex, or
 *	                     "message" for a stream of the message itself)
 *
 * The file name follows from the key alone, so two proxies with the same
 * layout name the same stream the same way (the sync command relies on it).
 *
 * Locking: every change happens inside one LMDB write transaction (one
 * writer at a time, across processes), and files are published by rename()
 * inside it, so readers never see a half-written file under its final name.
 * Writers fill a temporary file created with O_EXCL next to the final one.
 * A file is used only when its inode and size match the index entry.
 *
 * Generations: each message (mailbox, message id) has a counter that every
 * invalidation bumps. A writer notes it when it starts filling a file and
 * the commit is refused when it changed since: a copy made while someone
 * changed the message never becomes an entry.
 *
 * Nothing here blocks for long: one transaction per operation, no waiting
 * for other processes beyond LMDB's writer lock.
 *
 * This file uses LMDB and libc only (unit-tested on its own).
 */
#ifndef MPM_CACHE_INDEX_H
#define MPM_CACHE_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CACHE_NO_ATTACH 0xFFFFFFFFu

/* What identifies a cached stream. */
struct cache_key {
	uint8_t mbox[16]; /* MailboxGuid of the logon (private mailbox) */
	uint64_t mid;     /* message id */
	uint32_t attach;  /* attachment number, CACHE_NO_ATTACH for the message's own */
	uint32_t tag;     /* property tag of the stream */
};

enum cache_state {
	CACHE_COMPLETE = 1, /* the file holds the whole stream */
	CACHE_SYNCING = 2,  /* a sync command is writing the file */
};

struct cache_entry {
	uint8_t state;
	uint64_t size;
	uint64_t fid;   /* folder of the message (folder-wide invalidation) */
	uint64_t stamp; /* the message's change stamp when cached; 0 unknown */
	uint64_t ino;   /* inode and mtime of the file when it was published */
	int64_t mtime_ns;
	uint64_t use_seq;      /* LRU order: higher is more recent */
	uint64_t last_use;     /* wall-clock seconds of the last use */
	uint64_t gen;          /* generation of the message when it was written */
	uint32_t sync_pid;     /* CACHE_SYNCING: who runs the command, since when */
	uint64_t sync_started; /* seconds */
};

/* Results (besides the negative errors of util/status.h). */
enum {
	CACHE_OK = 0,
	CACHE_NOTFOUND = 1, /* no such entry (or not complete) */
	CACHE_STALE = 2,    /* the message changed since the writer began */
	CACHE_BUSY = 3,     /* someone else is writing this entry */
	CACHE_EXISTS = 4,   /* already complete: nothing to write */
	CACHE_TOOBIG = 5,   /* larger than the cache */
	CACHE_BAD = 6,      /* the file is not what it should be */
};

/* Log sink: level 0 error, 1 warning, 2 info, 3 debug. */
typedef void cache_log_fn(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct cache_index_conf {
	unsigned file_mode; /* stream files and the LMDB files (0600) */
	unsigned dir_mode;  /* directories (0700) */
	uint64_t max_size;  /* bytes of complete files; 0 no limit */
	uint64_t map_size;  /* LMDB map size */
	cache_log_fn *log;  /* may be NULL */
};

struct cache_index;

/* Open (create) the index under `dir`, made with conf->dir_mode when
 * missing. A corrupt or foreign index is moved aside (index.corrupt-*) and
 * a new one made; files the index does not know, and temporary files of
 * processes that are gone, are removed. CACHE_OK, or an error with the
 * reason in `err`. */
int cache_index_open(const char *dir, const struct cache_index_conf *conf, struct cache_index **out,
                     char *err, size_t errlen);
void cache_index_close(struct cache_index *ix);
const char *cache_index_dir(const struct cache_index *ix);

/* "data/MBOX/MID/ATTACH-TAG.stream" (relative to the directory) and the
 * absolute path. false when the buffer is too small. */
bool cache_index_relpath(const struct cache_key *key, char *buf, size_t len);
bool cache_index_path(const struct cache_index *ix, const struct cache_key *key, char *buf,
                      size_t len);

/* The message's current generation (0 if never invalidated). */
int cache_index_gen(struct cache_index *ix, const struct cache_key *key, uint64_t *gen);
/* The entry of `key` in any state: CACHE_OK or CACHE_NOTFOUND. */
int cache_index_lookup(struct cache_index *ix, const struct cache_key *key,
                       struct cache_entry *out);
/* Does the message have entries at all? */
bool cache_index_has_message(struct cache_index *ix, const uint8_t mbox[16], uint64_t mid);

/* Does a complete entry of the message carry another stamp than `stamp`
 * (the message changed since it was cached)? */
bool cache_index_message_stamp_differs(struct cache_index *ix, const uint8_t mbox[16], uint64_t mid,
                                       uint64_t stamp);

/* Open the complete file of `key` for reading: CACHE_OK with *fd (close it)
 * and the entry, after checking the file's inode and size; the entry moves
 * to the front of the LRU. CACHE_NOTFOUND, or CACHE_BAD (the entry was
 * dropped: its file was gone or replaced). */
int cache_index_open_file(struct cache_index *ix, const struct cache_key *key, int *fd,
                          struct cache_entry *out);

/* A new temporary file for `key` (O_EXCL, conf->file_mode, directories
 * made): *fd open for writing, its path in `path`. */
int cache_index_tmp_create(struct cache_index *ix, const struct cache_key *key, char *path,
                           size_t len, int *fd);

/* What a writer knew when it began. */
struct cache_commit {
	uint64_t gen;   /* cache_index_gen() before the first byte was read */
	uint64_t size;  /* the stream's size */
	uint64_t stamp; /* the message's change stamp, 0 unknown */
	uint64_t fid;
};

/* Publish the temporary file `tmp` (closed, holding c->size bytes) as the
 * entry of `key`, then evict the least recently used entries over the size
 * limit. CACHE_OK; CACHE_STALE (the message changed), CACHE_EXISTS (already
 * cached), CACHE_BUSY (a sync is writing it), CACHE_TOOBIG, CACHE_BAD (the
 * file does not hold c->size bytes): `tmp` is then removed. */
int cache_index_commit(struct cache_index *ix, const struct cache_key *key, const char *tmp,
                       const struct cache_commit *c);

/* Drop every entry of a message, and of a folder, and bump their
 * generations. Files are removed; readers that have them open keep them. */
int cache_index_invalidate_message(struct cache_index *ix, const uint8_t mbox[16], uint64_t mid);
int cache_index_invalidate_folder(struct cache_index *ix, const uint8_t mbox[16], uint64_t fid);

/* Claim `key` for a sync command run by `pid`: CACHE_OK (the final file was
 * removed, for the command to write a new one), CACHE_EXISTS, CACHE_BUSY (a
 * live process has a claim younger than `timeout` seconds), CACHE_STALE. */
int cache_index_sync_begin(struct cache_index *ix, const struct cache_key *key, uint64_t gen,
                           pid_t pid, unsigned timeout);
/* End the claim: with ok, the file (renamed from `tmp` first when not
 * NULL) must hold c->size bytes, then it becomes complete; otherwise the
 * claim and the file are dropped. CACHE_OK or why not. */
int cache_index_sync_end(struct cache_index *ix, const struct cache_key *key, pid_t pid, bool ok,
                         const char *tmp, const struct cache_commit *c);

/* Entries and bytes of complete files (for logs and tests). */
int cache_index_stats(struct cache_index *ix, uint64_t *entries, uint64_t *bytes);

#endif
