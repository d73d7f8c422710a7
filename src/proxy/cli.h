/*
 * The daemon's command line, shared by mapiproxy and mapiserver: options,
 * configuration load and check, log, detach, pid file, server modules'
 * init/run/shutdown. Each program passes its name, help text, modules and
 * the defaults it gives options the file leaves unset.
 */
#ifndef MP_PROXY_CLI_H
#define MP_PROXY_CLI_H

#include <stdio.h>

struct mp_server_module;

struct mp_cli_opts {
	const char *prog;        /* "mapiproxy": messages and --version */
	void (*usage)(FILE *fp); /* the whole --help text */
	/* Server modules the program links, NULL-terminated (may be NULL);
	 * registered before the configuration is read. */
	const struct mp_server_module *const *modules;
	/* "key", "value", ..., NULL: options in [global] the file does not set. */
	const char *const *defaults;
};

/* main() of the daemon: returns the exit code (0 ok, 1 runtime or
 * configuration error, 2 usage error). */
int mp_cli_daemon_main(const struct mp_cli_opts *o, int argc, char **argv);

#endif
