/*
 * The path Outlook follows to a mailbox, as one session object:
 *
 *   RfrGetNewDSA          which server answers NSPI (a referral; when it
 *                         cannot be used we stay on the given server)
 *   NspiBind              the address book
 *   NspiResolveNamesW     the user's own entry (MId) from the account name
 *   NspiGetProps          display name, SMTP address, legacy DN, home MDB
 *                         and the network addresses of the home server
 *   EcDoConnectEx         the store (EcDoConnect when the server answers
 *                         nca_s_op_rng_error, as Outlook falls back)
 *   RopLogon              private mailbox: the special folder IDs
 *
 * mp_session_open_ab() does the first four steps, mp_session_open_store()
 * the rest. Everything hangs off the session's talloc context.
 */
#ifndef MP_CLIENT_MAPI_SESSION_H
#define MP_CLIENT_MAPI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "client/emsmdb_client.h"
#include "client/nspi_client.h"
#include "client/rop_client.h"
#include "client/rpc_conn.h"

struct mp_client_opts {
	const char *host;
	uint16_t port;     /* 0: the endpoint mapper's answer per interface */
	uint16_t epm_port; /* 0: 135 */
	const char *user;  /* account name (without domain) */
	const char *domain;
	const char *password;
	uint8_t auth_level; /* enum mp_auth_level */
	unsigned timeout_ms;
	bool verbose;         /* steps on stderr */
	bool follow_referral; /* NSPI on the server RfrGetNewDSA names (Outlook) */
};

struct mp_session {
	void *mem; /* talloc context of the session */
	struct mp_client_opts o;
	/* RFR */
	char *rfr_server;      /* NSPI server named by RfrGetNewDSA, or NULL */
	const char *nspi_host; /* where NSPI was bound */
	/* NSPI */
	struct mp_rpc_conn *nspi_conn;
	struct mp_nspi_client nspi;
	bool nspi_bound;
	uint32_t mid;
	char *display_name;
	char *smtp;
	char *user_dn;    /* legacy Exchange DN (PidTagEmailAddress) */
	char *home_mdb;   /* PidTagAddressBookHomeMessageDatabase */
	char **net_addrs; /* of the home server (PidTagAddressBookNetworkAddress) */
	uint32_t n_net_addrs;
	/* EMSMDB */
	struct mp_rpc_conn *emsmdb_conn;
	struct mp_emsmdb_client emsmdb;
	bool connected;
	bool used_legacy_connect; /* EcDoConnect after EcDoConnectEx was refused */
	struct mp_rop_client rop;
	bool logged_on;
	uint32_t logon_handle;
	uint64_t folder_ids[13]; /* RopLogon's FolderIds (MS-OXCROPS 2.2.3.1.3) */
	char err[512];
};

/* Indexes into folder_ids (private mailbox logon). */
enum {
	MP_FID_ROOT = 0,
	MP_FID_DEFERRED_ACTION = 1,
	MP_FID_SPOOLER_QUEUE = 2,
	MP_FID_IPM_SUBTREE = 3,
	MP_FID_INBOX = 4,
	MP_FID_OUTBOX = 5,
	MP_FID_SENT = 6,
	MP_FID_DELETED = 7,
	MP_FID_COMMON_VIEWS = 8,
	MP_FID_SCHEDULE = 9,
	MP_FID_FINDER = 10,
	MP_FID_VIEWS = 11,
	MP_FID_SHORTCUTS = 12,
};

/* A session under `mem` with copies of the options (no network yet). */
struct mp_session *mp_session_new(void *mem, const struct mp_client_opts *o);
/* RFR + NSPI bind + the user's own entry. MP_OK, or an error with s->err. */
int mp_session_open_ab(struct mp_session *s);
/* EMSMDB connect + RopLogon (needs mp_session_open_ab first). */
int mp_session_open_store(struct mp_session *s);
/* Logoff / disconnect / unbind what is open; frees the connections. */
void mp_session_close(struct mp_session *s);

/* A step on stderr ("mapiclient: ..."), with -v only. */
void mp_session_say(const struct mp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Open a connection to one interface of the session's server. */
int mp_session_connect_iface(struct mp_session *s, const char *iface_name,
                             struct mp_rpc_conn **out);

#endif
