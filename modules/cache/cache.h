/*
 * Internals of the cache module, shared by its files:
 *
 *   cache.c         the hooks and the options
 *   cache_rops.c    what a session has open (logons, messages, attachments,
 *                   streams by server handle), read from ROP buffers; which
 *                   buffers can be answered here, and those answers
 *   cache_stream.c  a session's view of one stream: positions, the file it
 *                   is served from, the temporary file it is copied into
 *   cache_sync.c    mpm_cache:sync_cmd: spawned, watched from the event
 *                   loop, its result published
 *   cache_index.c   the LMDB index of cached files (cache_index.h)
 *
 * Glossary: "served" = answered here from a file (norelay); "captured" =
 * copied from relayed ReadStream responses into a temporary file; "bound" =
 * a session's stream that is served from a complete cached file; spos/cpos
 * = the stream position on the server and the one the client believes in
 * (they differ once answers come from here).
 */
#ifndef MPM_CACHE_H
#define MPM_CACHE_H

#include <mapiproxy/module.h>

#include "cache_index.h"

#include <stdbool.h>
#include <stdint.h>

#define CACHE_PATH_MAX 4400

struct mp_rop;
struct mp_rop_buf;
struct mp_rop_session;

/* ---- configuration and global state (cache.c) ------------------------- */

struct cache_conf {
	bool ahead;            /* read a whole stream ahead at its first ReadStream */
	bool sync;             /* fetch big streams with sync_cmd */
	char **sync_argv;      /* sync_cmd split into words, NULL-terminated */
	uint64_t min_size;     /* smaller streams are not cached */
	uint64_t sync_min;     /* sync only streams larger than this */
	unsigned sync_timeout; /* seconds before a sync command is killed */
	bool verify;           /* ask the server for a message's change stamp */
	uint32_t ahead_chunk;  /* bytes per read-ahead ReadStream */
};

struct cache_sync;

struct cache_global {
	struct cache_conf conf;
	struct cache_index *ix;
	struct cache_sync *syncs;    /* running sync commands (cache_sync.c) */
	struct cache_failed *failed; /* keys whose sync failed lately */
	uint64_t publish_seq;        /* bumped when this process publishes a file */
	/* Figures for the log at exit. */
	uint64_t served_bytes, served_rops, captured, syncs_done, syncs_failed, invalidations;
};

/* ---- a session's objects (cache_rops.c) ------------------------------- */

enum cache_obj_type {
	CACHE_OBJ_FOLDER = 1,
	CACHE_OBJ_MESSAGE,
	CACHE_OBJ_ATTACH,
	CACHE_OBJ_STREAM,
};

struct cache_stream;

struct cache_obj {
	uint32_t handle; /* server object handle */
	uint8_t type;    /* enum cache_obj_type */
	uint8_t logon_id;
	bool dirty; /* changed in this session: never served nor captured */
	uint64_t fid, mid;
	uint32_t attach;         /* ATTACH, STREAM: attachment number or CACHE_NO_ATTACH */
	uint32_t msg_handle;     /* ATTACH, STREAM: the message's handle (its stamp) */
	uint32_t parent;         /* STREAM: the message or attachment it was opened on */
	uint64_t stamp;          /* MESSAGE: change stamp from the server, 0 unknown */
	struct cache_stream *st; /* STREAM */
};

/* Read-ahead work of a session (cache.c), done one call at a time. */
enum cache_task_type {
	CACHE_TASK_STAMP = 1, /* RopGetPropertiesSpecific of a message's change stamp */
	CACHE_TASK_READ,      /* RopReadStream of a stream being read ahead */
};

struct cache_task {
	uint8_t type;
	uint32_t handle; /* the message or the stream */
};

#define CACHE_MAX_TASKS 16

struct cache_sess {
	void *mem; /* talloc root: everything of the session */
	uint64_t id;
	struct {
		bool known;
		uint8_t mbox[16];
	} logons[256];
	struct cache_obj *objs; /* talloc array */
	size_t n_objs, cap_objs;
	struct mp_rop_session *rops; /* for decoding responses */
	struct cache_task tasks[CACHE_MAX_TASKS];
	size_t n_tasks;
};

struct cache_sess *cache_sess_new(uint64_t id);
void cache_sess_free(struct cache_global *g, struct cache_sess *s);
struct cache_obj *cache_obj_find(struct cache_sess *s, uint32_t handle);
void cache_obj_forget(struct cache_global *g, struct cache_sess *s, uint32_t handle);

/* An answer built in pull, given in dispatch: the ROP response buffer, and
 * the streams whose client position moves (scratch tpos -> cpos) only
 * once it is given. */
struct cache_answer {
	uint8_t *buf;
	size_t len;
	uint32_t *streams; /* server handles */
	size_t n_streams;
	uint64_t bytes;
	size_t rops;
};

/* What the request hooks decided for one client call (mp_call_private). */
struct cache_call {
	struct cache_answer *answer; /* answer here (norelay) */
	bool answered;               /* dispatch gave the answer */
	uint8_t *req;                /* the ROP buffer as relayed (our view of it) */
	size_t req_len;
	size_t n_seeks;         /* RopSeekStream put in front to realign the server */
	struct cache_task task; /* read-ahead call: what it does */
};

/* The request of a client call: invalidations, then either an answer
 * (*answer, under `mem`) or the buffer to relay (*relay when it changed:
 * realigning seeks in front). `budget` is the room for the response's
 * ROPs. */
int cache_rops_request(struct cache_global *g, struct cache_sess *s, void *mem, const uint8_t *buf,
                       size_t len, size_t budget, struct cache_answer **answer, uint8_t **relay,
                       size_t *relay_len, size_t *n_seeks);
/* The answer was given: the client's positions move. */
void cache_rops_answer_given(struct cache_global *g, struct cache_sess *s,
                             const struct cache_answer *a);
/* The response of a relayed client call (req: what was relayed): learn
 * handles, capture stream data, queue read-ahead tasks. `lost` when the
 * response could not be read (positions of the streams it names are then
 * unknown). */
void cache_rops_response(struct cache_global *g, struct cache_sess *s, struct mp_session *ms,
                         void *mem, const uint8_t *req, size_t req_len, const uint8_t *rsp,
                         size_t rsp_len, bool lost);
/* Remove the first n RopSeekStream responses we added. false when the
 * buffer does not start with them. */
bool cache_rops_strip_seeks(void *mem, const uint8_t *rsp, size_t len, size_t n, uint8_t **out,
                            size_t *out_len);
/* Read-ahead: the request of `task` (false: nothing to do any more), and
 * its response. */
bool cache_rops_task_request(struct cache_global *g, struct cache_sess *s, void *mem,
                             const struct cache_task *t, uint8_t **buf, size_t *len);
void cache_rops_task_response(struct cache_global *g, struct cache_sess *s, struct mp_session *ms,
                              void *mem, const struct cache_task *t, const uint8_t *req,
                              size_t req_len, const uint8_t *rsp, size_t rsp_len);

/* ---- a session's stream (cache_stream.c) ------------------------------ */

struct cache_stream {
	struct cache_key key;
	bool keyed;    /* the key is known: the stream may be cached */
	uint64_t size; /* from RopOpenStream / RopGetStreamSize */
	uint64_t cpos; /* where the client is */
	uint64_t spos; /* where the server is */
	bool lost;     /* the positions are not known any more: hands off */
	bool prepared; /* commit below is filled: the stream may be cached */
	uint64_t tpos; /* scratch position while an answer is built */
	/* bound to a complete file */
	int rfd;
	bool bind_failed;
	uint64_t bind_seq; /* g->publish_seq when binding last failed */
	/* being captured */
	int wfd;
	char tmp[CACHE_PATH_MAX];
	uint64_t captured; /* bytes from 0 in the temporary file */
	struct cache_commit commit;
	bool reading_ahead;
};

struct cache_stream *cache_stream_new(void *mem, const struct cache_key *key, bool keyed,
                                      uint64_t size);
void cache_stream_close(struct cache_stream *st);
/* The stream may be cached: note the message's generation and stamp (0
 * when not verified), then serve it from a complete file that matches, or
 * else start copying what the server returns into a temporary file. */
void cache_stream_prepare(struct cache_global *g, struct cache_stream *st, uint64_t fid,
                          uint64_t stamp);
/* Serve from a complete file when the index has one matching the stream's
 * size and stamp (tried again only after this process published a file);
 * a mismatch invalidates the message. */
bool cache_stream_bind(struct cache_global *g, struct cache_stream *st);
/* `n` bytes of `data` the server returned at spos (spos not yet moved);
 * the last byte publishes the file. */
void cache_stream_capture(struct cache_global *g, struct cache_stream *st, const uint8_t *data,
                          size_t n);
void cache_stream_capture_abort(struct cache_stream *st);
/* Read up to n bytes at position `pos` from the bound file. */
int cache_stream_read(struct cache_stream *st, uint64_t pos, uint8_t *buf, size_t n, size_t *got);

/* ---- sync (cache_sync.c) ---------------------------------------------- */

/* Split mpm_cache:sync_cmd into words (quotes ' and " group words). */
char **cache_sync_parse(const char *cmd, char *err, size_t errlen);
void cache_sync_argv_free(char **argv);
/* Start the sync command for `key` unless one runs or failed lately.
 * Never blocks: the command's end is watched from the event loop of `ms`. */
void cache_sync_start(struct cache_global *g, struct mp_session *ms, const struct cache_key *key,
                      const struct cache_commit *c);
/* At exit: stop the commands still running. */
void cache_sync_shutdown(struct cache_global *g);

/* ---- small helpers ---------------------------------------------------- */

/* FNV-1a, for change stamps (never 0). */
uint64_t cache_hash(const uint8_t *p, size_t n);

#endif
