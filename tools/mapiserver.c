/*
 * mapiserver: the reference Exchange-class server. The daemon is mapiproxy's
 * (src/proxy/cli.c) with every interface answered by a server module: RFR,
 * NSPI over the store's GAL, EMSMDB/AsyncEMSMDB over the store when those
 * modules are built. Clients authenticate as the store's users.
 */
#include "proxy/cli.h"
#include "proxy/server.h"
#include "server/server_cli.h"
#include "server/server_conf.h"
#include "server/server_modules.h"
#include "server/store/store.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>

/* EMSMDB and AsyncEMSMDB are written separately: registered when linked.
 * When their source is in the tree the references below are strong, which
 * pulls their objects out of the static server library; without it they
 * are weak and NULL, and the link still works. (A build directory made
 * before those files appeared needs tools/mapiserver.c recompiled.) */
#if defined(__has_include)
#if __has_include("server/emsmdb_server.c")
#define HAVE_EMSMDB 1
#endif
#if __has_include("server/asyncemsmdb_server.c")
#define HAVE_ASYNCEMSMDB 1
#endif
#endif
#ifndef HAVE_EMSMDB
#pragma weak mp_server_emsmdb
#endif
#ifndef HAVE_ASYNCEMSMDB
#pragma weak mp_server_asyncemsmdb
#endif

static const struct mp_server_module *emsmdb_module(void)
{
	return &mp_server_emsmdb;
}

static const struct mp_server_module *asyncemsmdb_module(void)
{
	return &mp_server_asyncemsmdb;
}

static void usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: mapiserver -c FILE [options]\n"
	    "       mapiserver SUBCOMMAND -c FILE ...\n"
	    "\n"
	    "Serve Exchange RPC (EMSMDB, AsyncEMSMDB, NSPI, RFR) from the mailbox store in\n"
	    "mapiserver:data dir. Clients authenticate (NTLMSSP or SPNEGO/NTLMSSP) as the\n"
	    "store's users. Unless the file sets them: dcerpc_mapiproxy:server = yes and\n"
	    "dcerpc_mapiproxy:interfaces = exchange_emsmdb, exchange_async_emsmdb,\n"
	    "exchange_nsp, exchange_ds_rfr (those whose modules are built).\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config FILE      configuration file (smb.conf syntax); required\n"
	    "  -D, --daemon           detach and run in the background (default: foreground)\n"
	    "      --check-config     parse the configuration, open the store, print the\n"
	    "                         effective settings, exit 0 if valid and 1 otherwise\n"
	    "  -d, --log-level LEVEL  error, warn, info, debug or trace (overrides the file)\n"
	    "  -l, --log-file FILE    log to FILE instead of stderr (overrides the file)\n"
	    "      --list-interfaces  print the interface names dcerpc_mapiproxy:interfaces knows\n"
	    "      --list-modules     print the stackable modules available and exit\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n"
	    "\n");
	mp_server_cli_usage(fp);
	fprintf(fp, "\n"
	            "Signals: SIGTERM/SIGINT stop accepting, let calls in flight finish (up to\n"
	            "mapiproxy:drain timeout) and exit 0; SIGHUP reopens the log file.\n"
	            "\n"
	            "The mapiserver: options are described in docs/server.md, the others in\n"
	            "docs/configuration.md.\n");
}

/* Client identities: the store's users (mp_store_ntlm_lookup_cb) once the
 * modules have opened the store. */
static int lookup_user(void *arg, const char *user, const char *domain, uint8_t nt_hash[16])
{
	struct mp_store *st = mp_server_store_current();
	if (!st)
		return MP_ERR_NOTFOUND;
	return mp_store_ntlm_lookup_cb(st, user, domain, nt_hash);
}

int main(int argc, char **argv)
{
	if (argc > 1 && mp_server_cli_is_subcommand(argv[1]))
		return mp_server_cli_main(argc - 1, argv + 1);

	const struct mp_server_module *modules[5];
	size_t n = 0;
	char ifaces[160] = "";
	if (emsmdb_module()) {
		modules[n++] = emsmdb_module();
		strcat(ifaces, "exchange_emsmdb, ");
	}
	if (asyncemsmdb_module()) {
		modules[n++] = asyncemsmdb_module();
		strcat(ifaces, "exchange_async_emsmdb, ");
	}
	modules[n++] = &mp_server_nspi;
	modules[n++] = &mp_server_rfr;
	modules[n] = NULL;
	strcat(ifaces, "exchange_nsp, exchange_ds_rfr");
	const char *const defaults[] = {
	    "dcerpc_mapiproxy:server", "yes", "dcerpc_mapiproxy:interfaces", ifaces, NULL,
	};
	mp_proxy_set_user_lookup(lookup_user, NULL);
	const struct mp_cli_opts o = {
	    .prog = "mapiserver",
	    .usage = usage,
	    .modules = modules,
	    .defaults = defaults,
	};
	return mp_cli_daemon_main(&o, argc, argv);
}
