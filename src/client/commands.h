/*
 * mapiclient's subcommands over a session (mapi_session.h). Each prints
 * its result on `out` (text, or one JSON object with `json`) and returns
 * the process exit status: 0 success, 1 failure (a sentence on stderr
 * saying what went wrong and what to do).
 */
#ifndef MP_CLIENT_COMMANDS_H
#define MP_CLIENT_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client/mapi_session.h"

struct mp_cmd_out {
	FILE *out;
	bool json;
};

int mp_cmd_whoami(struct mp_session *s, const struct mp_cmd_out *o);
int mp_cmd_resolve(struct mp_session *s, const struct mp_cmd_out *o, const char *name);
int mp_cmd_gal(struct mp_session *s, const struct mp_cmd_out *o, uint32_t max_rows);
int mp_cmd_folders(struct mp_session *s, const struct mp_cmd_out *o);
int mp_cmd_ls(struct mp_session *s, const struct mp_cmd_out *o, const char *folder,
              uint32_t max_rows);
int mp_cmd_show(struct mp_session *s, const struct mp_cmd_out *o, const char *msgid);
int mp_cmd_get_attachment(struct mp_session *s, const struct mp_cmd_out *o, const char *msgid,
                          uint32_t num, const char *file);

struct mp_send_args {
	const char **to;
	unsigned n_to;
	const char **cc;
	unsigned n_cc;
	const char *subject;
	const char *body;
	const char **attach;
	unsigned n_attach;
};
int mp_cmd_send(struct mp_session *s, const struct mp_cmd_out *o, const struct mp_send_args *a);

/* Latency of `calls` calls back to back after `warmup`. `op`: "nspi"
 * (NspiGetProps of the user's entry), "rop" (RopGetPropertiesSpecific on the
 * logon), "table" (the Inbox's contents table: open, query, release),
 * "message" (open an Inbox message, read four properties), "mix" (those four
 * in turn). All but nspi need the store open. */
int mp_cmd_bench(struct mp_session *s, const struct mp_cmd_out *o, const char *op, uint32_t calls,
                 uint32_t warmup);
bool mp_cmd_bench_needs_store(const char *op);
/* The same with `sessions` concurrent sessions, one process each (forked
 * before connecting): all log on, then start together; ops/s over the wall
 * time of the run, p50/p99 over every call. */
int mp_cmd_bench_parallel(const struct mp_client_opts *opts, const struct mp_cmd_out *o,
                          const char *op, uint32_t calls, uint32_t warmup, uint32_t sessions);
/* What watch waits for and how long. */
struct mp_watch_args {
	const char *folder; /* NULL: Inbox */
	unsigned poll_s;    /* poll every poll_s seconds; 0: push notifications */
	unsigned rounds;    /* polls at most (0: no limit) */
	unsigned count;     /* stop after this many messages (0: no limit) */
	unsigned for_s;     /* stop after this many seconds (0: no limit) */
};
/* Print each message that arrives in the folder: with push notifications
 * (RopRegisterNotification + EcDoAsyncWaitEx, as Outlook), or by polling the
 * contents table when asked or when the server or a proxy refuses them. */
int mp_cmd_watch(struct mp_session *s, const struct mp_cmd_out *o, const struct mp_watch_args *a);

/* "FID/MID" in hex, as ls prints and show takes. */
bool mp_cmd_parse_msgid(const char *s, uint64_t *fid, uint64_t *mid);
/* FILETIME as "YYYY-MM-DD HH:MM" (UTC) into buf. */
void mp_cmd_format_time(uint64_t ft, char *buf, size_t len);

#endif
