/* mapiproxy: the DCE/RPC (ExchangeRPC) relay daemon. */
#include "dcerpc/iface.h"
#include "proxy/conf.h"
#include "proxy/proxy.h"
#include "proxy/server.h"
#include "util/config.h"
#include "util/log.h"
#include "util/status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MP_VERSION
#define MP_VERSION "0.0.0"
#endif

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
		"  -V, --version          print the version and exit\n"
		"  -h, --help             print this help and exit\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop accepting, let calls in flight finish (up to\n"
		"mapiproxy:drain timeout) and exit 0; SIGHUP reopens the log file.\n"
		"\n"
		"Every option is described in docs/configuration.md.\n");
}

static void list_interfaces(void)
{
	for (const struct mp_iface *i = mp_ifaces; i->name; i++)
		printf("%-22s %s v%u.%u  %s\n", i->name, i->uuid, i->major, i->minor,
		       i->description);
	printf("\nAny other interface: UUID/major.minor, e.g. "
	       "12345778-1234-abcd-ef00-0123456789ac/1.0\n");
}

static int write_pid_file(const char *path)
{
	FILE *fp = fopen(path, "w");
	if (!fp) {
		mp_err("cannot write pid file %s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
	return 0;
}

static int run(struct mp_proxy_conf *conf_in, const struct mp_config *cfg, const char *config,
	       bool check, bool daemonize, const char *log_level, const char *log_file);

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_LIST };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"daemon", no_argument, NULL, 'D'},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"log-level", required_argument, NULL, 'd'},
		{"log-file", required_argument, NULL, 'l'},
		{"list-interfaces", no_argument, NULL, OPT_LIST},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *log_level = NULL, *log_file = NULL;
	bool daemonize = false, check = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:Dd:l:Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'D': daemonize = true; break;
		case 'd': log_level = optarg; break;
		case 'l': log_file = optarg; break;
		case OPT_CHECK: check = true; break;
		case OPT_LIST: list_interfaces(); return 0;
		case 'V': printf("mapiproxy %s\n", MP_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mapiproxy: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!config) {
		fprintf(stderr, "mapiproxy: no configuration file; use -c FILE (see --help)\n");
		return 2;
	}

	struct mp_config cfg;
	struct mp_proxy_conf conf;
	char err[512];
	/* The server modules this program can answer with (server.h). */
	mp_server_register(&mp_server_rfr);
	if (mp_config_load(&cfg, config, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "mapiproxy: %s\n", err);
		return 1;
	}
	if (mp_proxy_conf_load(&conf, &cfg, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "mapiproxy: %s\n", err);
		mp_config_free(&cfg);
		return 1;
	}
	int code = run(&conf, &cfg, config, check, daemonize, log_level, log_file);
	mp_config_free(&cfg);
	return code;
}

/* After the configuration is loaded: check it or run the daemon. */
static int run(struct mp_proxy_conf *conf_in, const struct mp_config *cfg, const char *config,
	       bool check, bool daemonize, const char *log_level, const char *log_file)
{
	struct mp_proxy_conf conf = *conf_in;
	char err[512];
	if (log_level) {
		conf.log_level = mp_log_parse_level(log_level);
		if (conf.log_level < 0) {
			fprintf(stderr, "mapiproxy: --log-level: expected error, warn, info, debug, "
					"trace or 0-4\n");
			return 2;
		}
	}
	if (log_file)
		snprintf(conf.log_file, sizeof(conf.log_file), "%s", log_file);
	if (check) {
		/* The user db is part of the configuration: open it as the daemon would. */
		struct mp_userdb *users = NULL;
		char why[512];
		if (conf.user_db[0] && mp_userdb_load(&users, conf.user_db, why, sizeof(why)) != MP_OK) {
			fprintf(stderr, "mapiproxy: mapiproxy:user db: %s\n", why);
			return 1;
		}
		mp_userdb_free(users);
		/* So are the server modules' own settings (data dirs, ...). */
		if (mp_server_init_all(cfg, &conf, err, sizeof(err)) != MP_OK) {
			fprintf(stderr, "mapiproxy: %s\n", err);
			return 1;
		}
		mp_server_shutdown_all();
		printf("%s: configuration is valid\n", config);
		mp_proxy_conf_print(&conf);
		if (conf.user_db[0] && mp_userdb_load(&users, conf.user_db, why, sizeof(why)) == MP_OK)
			printf("user db             %zu user(s)\n", mp_userdb_count(users));
		mp_userdb_free(users);
		return 0;
	}

	mp_log_level = conf.log_level;
	if (conf.log_file[0]) {
		int rc = mp_log_open(conf.log_file);
		if (rc < 0) {
			fprintf(stderr, "mapiproxy: cannot open log file %s: %s\n", conf.log_file,
				strerror(-rc));
			return 1;
		}
	}
	if (daemonize && daemon(0, 0) < 0) {
		fprintf(stderr, "mapiproxy: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	if (conf.pid_file[0] && write_pid_file(conf.pid_file) < 0)
		return 1;
	/* After daemon(): a module's resources (an LMDB environment) must not
	 * cross a fork. */
	if (mp_server_init_all(cfg, &conf, err, sizeof(err)) != MP_OK) {
		mp_err("%s", err);
		fprintf(stderr, "mapiproxy: %s\n", err);
		if (conf.pid_file[0])
			unlink(conf.pid_file);
		return 1;
	}
	int code = mp_proxy_run(&conf);
	mp_server_shutdown_all();
	if (conf.pid_file[0])
		unlink(conf.pid_file);
	mp_log_close();
	return code;
}
