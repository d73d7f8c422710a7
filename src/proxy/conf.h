/* The daemon's settings, read once from the smb.conf-syntax file. */
#ifndef MP_PROXY_CONF_H
#define MP_PROXY_CONF_H

#include "dcerpc/binding.h"
#include "dcerpc/pdu.h"
#include "dcerpc/uuid.h"
#include "util/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MP_CONF_MAX_IFACES 32
#define MP_CONF_MAX_PORTS 8

struct mp_server_module;

struct mp_conf_iface {
	char name[64]; /* as configured: a known name or UUID/version */
	struct mp_syntax syntax;
	uint16_t port; /* where our endpoint mapper says it lives */
	/* Answered here by this server module instead of relayed (server.h). */
	const struct mp_server_module *server;
};

struct mp_proxy_conf {
	struct mp_binding upstream;         /* dcerpc_mapiproxy:binding */
	struct mp_conf_iface ifaces[MP_CONF_MAX_IFACES]; /* dcerpc_mapiproxy:interfaces */
	size_t n_ifaces;
	char listen[64];   /* mapiproxy:listen */
	uint16_t port;     /* mapiproxy:port: default port of relayed interfaces */
	uint16_t epm_port; /* mapiproxy:epm port; 0 disables our endpoint mapper */
	uint16_t upstream_epm_port; /* mapiproxy:upstream epm port */
	uint16_t max_frag;          /* mapiproxy:max frag: largest fragment we accept/send */
	uint16_t upstream_max_frag; /* mapiproxy:upstream max frag */
	size_t max_call_size;       /* mapiproxy:max call size: reassembled stub limit */
	size_t max_buffered;        /* mapiproxy:max buffered: per-leg output before backpressure */
	unsigned max_sessions;      /* mapiproxy:max sessions */
	unsigned max_calls;         /* mapiproxy:max calls: in flight per session */
	unsigned idle_timeout;      /* seconds; mapiproxy:idle timeout */
	unsigned io_timeout;        /* seconds; connect and stalled writes */
	unsigned drain_timeout;     /* seconds given to in-flight calls on SIGTERM */
	int log_level;
	char log_file[512]; /* empty: stderr */
	char pid_file[512];

	/* Client leg authentication. */
	bool auth_required;       /* mapiproxy:auth required */
	int min_auth_level;       /* mapiproxy:min auth level (enum mp_auth_level) */
	bool allow_ntlmv1;        /* mapiproxy:allow ntlmv1 */
	bool auth_passthrough;    /* mapiproxy:auth passthrough */
	char user_db[512];        /* mapiproxy:user db */
	char netbios_name[64];    /* mapiproxy:netbios name (CHALLENGE target info) */
	char netbios_domain[64];  /* mapiproxy:netbios domain */

	/* Upstream leg credentials (the original's options). Secret: never logged. */
	char up_user[128];      /* dcerpc_mapiproxy:username */
	char up_domain[128];    /* dcerpc_mapiproxy:domain */
	char up_password[256];  /* dcerpc_mapiproxy:password or :password file */
	uint8_t up_nt_hash[16]; /* dcerpc_mapiproxy:nt hash */
	bool up_has_hash;

	/* Call dump (binding flag [print], or `dump` in dcerpc_mapiproxy:modules,
	 * or an mpm_dump:json file): decoded ExchangeRPC calls on the log. */
	bool has_upstream;     /* some interface is relayed: dcerpc_mapiproxy:binding needed */
	char fqdn[256];        /* mapiproxy:fqdn: our name, as server modules announce it */

	/* Stackable modules: dcerpc_mapiproxy:modules (without the built-in
	 * dump), mapiproxy:modules dir, mapiproxy:module errors. */
	char modules[16][64];
	unsigned n_modules;
	char modules_dir[512];
	bool module_errors_relay;

	bool dump;
	bool dump_rops;        /* mpm_dump:rops (default yes): the ROP level too */
	char dump_json[512];   /* mpm_dump:json file: one JSON object per call */
	unsigned dump_max_bytes; /* mpm_dump:max bytes: byte fields cut in text */
};

/* Wipe the secrets of a configuration (upstream password and hash). */
void mp_proxy_conf_wipe(struct mp_proxy_conf *c);

/* Fill `c` from `cfg`. On error returns MP_ERR_CONFIG with "file:line: what"
 * in errbuf. Unknown mapiproxy:/dcerpc_mapiproxy: options are errors (a typo
 * must not silently change behaviour). */
int mp_proxy_conf_load(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
		       size_t errlen);

/* Print the effective configuration (for --check-config). */
void mp_proxy_conf_print(const struct mp_proxy_conf *c);

#endif
