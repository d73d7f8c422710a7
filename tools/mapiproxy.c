/* mapiproxy: the DCE/RPC (ExchangeRPC) relay daemon. */
#include "proxy/cli.h"
#include "proxy/server.h"

#include <stdio.h>

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: mapiproxy -c FILE [options]\n"
		"\n"
		"Relay Exchange RPC (EMSMDB, NSPI, RFR) and any other DCE/RPC interface from\n"
		"clients to the server named by dcerpc_mapiproxy:binding.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE      configuration file (smb.conf syntax); required\n"
		"  -D, --daemon           detach and run in the background (default: foreground)\n"
		"      --check-config     parse the configuration, print the effective settings,\n"
		"                         exit 0 if valid and 1 otherwise\n"
		"  -d, --log-level LEVEL  error, warn, info, debug or trace (overrides the file)\n"
		"  -l, --log-file FILE    log to FILE instead of stderr (overrides the file)\n"
		"      --list-interfaces  print the interface names dcerpc_mapiproxy:interfaces knows\n"
		"      --list-modules     print the stackable modules available (with -c: in the\n"
		"                         configuration's mapiproxy:modules dir) and exit\n"
		"  -V, --version          print the version and exit\n"
		"  -h, --help             print this help and exit\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop accepting, let calls in flight finish (up to\n"
		"mapiproxy:drain timeout) and exit 0; SIGHUP reopens the log file.\n"
		"\n"
		"Every option is described in docs/configuration.md.\n");
}

int main(int argc, char **argv)
{
	/* The server modules this program can answer with (server.h). */
	static const struct mp_server_module *const modules[] = {&mp_server_rfr, NULL};
	const struct mp_cli_opts o = {.prog = "mapiproxy", .usage = usage, .modules = modules};
	return mp_cli_daemon_main(&o, argc, argv);
}
