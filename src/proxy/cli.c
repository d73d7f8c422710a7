/* The daemon's command line (cli.h): moved out of tools/mapiproxy.c unchanged. */
#include "proxy/cli.h"

#include "auth/userdb.h"
#include "dcerpc/iface.h"
#include "proxy/conf.h"
#include "proxy/module.h"
#include "proxy/proxy.h"
#include "proxy/server.h"
#include "util/config.h"
#include "util/log.h"
#include "util/status.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MP_VERSION
#define MP_VERSION "0.0.0"
#endif

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

/* Append `key = value` to [global] unless the file sets the key there. */
static int add_default(struct mp_config *cfg, const char *key, const char *value)
{
	if (mp_config_find(cfg, key))
		return MP_OK;
	struct mp_config_entry *e = realloc(cfg->entries, (cfg->n_entries + 1) * sizeof(*e));
	if (!e)
		return MP_ERR_NOMEM;
	cfg->entries = e;
	e = &cfg->entries[cfg->n_entries];
	e->section = strdup("global");
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = 0;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		return MP_ERR_NOMEM;
	}
	mp_config_normalise_key(e->key);
	cfg->n_entries++;
	if (cfg->cap < cfg->n_entries)
		cfg->cap = cfg->n_entries;
	return MP_OK;
}

static int run(const char *prog, struct mp_proxy_conf *conf_in, const struct mp_config *cfg,
               const char *config, bool check, bool daemonize, const char *log_level,
               const char *log_file);

int mp_cli_daemon_main(const struct mp_cli_opts *o, int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_LIST, OPT_LIST_MODULES };
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"daemon", no_argument, NULL, 'D'},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"log-level", required_argument, NULL, 'd'},
	    {"log-file", required_argument, NULL, 'l'},
	    {"list-interfaces", no_argument, NULL, OPT_LIST},
	    {"list-modules", no_argument, NULL, OPT_LIST_MODULES},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *log_level = NULL, *log_file = NULL;
	const char *prog = o->prog;
	bool daemonize = false, check = false, list_modules = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:Dd:l:Vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'D':
			daemonize = true;
			break;
		case 'd':
			log_level = optarg;
			break;
		case 'l':
			log_file = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_LIST:
			list_interfaces();
			return 0;
		case OPT_LIST_MODULES:
			list_modules = true;
			break;
		case 'V':
			printf("%s %s\n", prog, MP_VERSION);
			return 0;
		case 'h':
			o->usage(stdout);
			return 0;
		default:
			o->usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		o->usage(stderr);
		return 2;
	}
	if (list_modules && !config) {
		mp_modules_list(mp_modules_default_dir(), stdout);
		return 0;
	}
	if (!config) {
		fprintf(stderr, "%s: no configuration file; use -c FILE (see --help)\n", prog);
		return 2;
	}

	struct mp_config cfg;
	struct mp_proxy_conf conf;
	char err[512];
	/* The server modules this program can answer with (server.h). */
	for (size_t i = 0; o->modules && o->modules[i]; i++)
		mp_server_register(o->modules[i]);
	if (mp_config_load(&cfg, config, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "%s: %s\n", prog, err);
		mp_config_free(&cfg); /* a failed parse keeps its path */
		return 1;
	}
	for (size_t i = 0; o->defaults && o->defaults[i]; i += 2) {
		if (add_default(&cfg, o->defaults[i], o->defaults[i + 1]) != MP_OK) {
			fprintf(stderr, "%s: out of memory\n", prog);
			mp_config_free(&cfg);
			return 1;
		}
	}
	if (mp_proxy_conf_load(&conf, &cfg, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "%s: %s\n", prog, err);
		mp_config_free(&cfg);
		return 1;
	}
	if (list_modules) { /* the directory the configuration names */
		mp_modules_list(conf.modules_dir, stdout);
		mp_config_free(&cfg);
		return 0;
	}
	/* dlopen and check every module now: a missing or wrong one stops us
	 * before we listen (their init() runs after detaching). */
	char *names[MP_MAX_MODULES + 1] = {NULL};
	for (unsigned i = 0; i < conf.n_modules && i < MP_MAX_MODULES; i++)
		names[i] = conf.modules[i];
	if (mp_modules_load(conf.modules_dir, names, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "%s: %s\n", prog, err);
		mp_modules_unload();
		mp_config_free(&cfg);
		return 1;
	}
	int code = run(prog, &conf, &cfg, config, check, daemonize, log_level, log_file);
	mp_modules_unload();
	mp_config_free(&cfg);
	return code;
}

/* After the configuration is loaded: check it or run the daemon. */
static int run(const char *prog, struct mp_proxy_conf *conf_in, const struct mp_config *cfg,
               const char *config, bool check, bool daemonize, const char *log_level,
               const char *log_file)
{
	struct mp_proxy_conf conf = *conf_in;
	char err[512];
	if (log_level) {
		conf.log_level = mp_log_parse_level(log_level);
		if (conf.log_level < 0) {
			fprintf(stderr,
			        "%s: --log-level: expected error, warn, info, debug, "
			        "trace or 0-4\n",
			        prog);
			return 2;
		}
	}
	if (log_file)
		snprintf(conf.log_file, sizeof(conf.log_file), "%s", log_file);
	if (check) {
		/* The user db is part of the configuration: open it as the daemon would. */
		struct mp_userdb *users = NULL;
		char why[512];
		if (conf.user_db[0] &&
		    mp_userdb_load(&users, conf.user_db, why, sizeof(why)) != MP_OK) {
			fprintf(stderr, "%s: mapiproxy:user db: %s\n", prog, why);
			return 1;
		}
		mp_userdb_free(users);
		/* So are the server modules' own settings (data dirs, ...). */
		if (mp_server_init_all(cfg, &conf, err, sizeof(err)) != MP_OK) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return 1;
		}
		mp_server_shutdown_all();
		/* So are the modules' settings. */
		if (mp_modules_init(cfg, &conf, err, sizeof(err)) != MP_OK) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return 1;
		}
		printf("%s: configuration is valid\n", config);
		mp_proxy_conf_print(&conf);
		if (conf.user_db[0] &&
		    mp_userdb_load(&users, conf.user_db, why, sizeof(why)) == MP_OK)
			printf("user db             %zu user(s)\n", mp_userdb_count(users));
		mp_userdb_free(users);
		return 0;
	}

	mp_log_level = conf.log_level;
	if (conf.log_file[0]) {
		int rc = mp_log_open(conf.log_file);
		if (rc < 0) {
			fprintf(stderr, "%s: cannot open log file %s: %s\n", prog, conf.log_file,
			        strerror(-rc));
			return 1;
		}
	}
	if (daemonize && daemon(0, 0) < 0) {
		fprintf(stderr, "%s: cannot detach: %s\n", prog, strerror(errno));
		return 1;
	}
	if (conf.pid_file[0] && write_pid_file(conf.pid_file) < 0)
		return 1;
	/* After daemon(): a module's resources (an LMDB environment) must not
	 * cross a fork. */
	if (mp_server_init_all(cfg, &conf, err, sizeof(err)) != MP_OK) {
		mp_err("%s", err);
		fprintf(stderr, "%s: %s\n", prog, err);
		if (conf.pid_file[0])
			unlink(conf.pid_file);
		return 1;
	}
	if (mp_modules_init(cfg, &conf, err, sizeof(err)) != MP_OK) {
		mp_err("%s", err);
		fprintf(stderr, "%s: %s\n", prog, err);
		mp_server_shutdown_all();
		if (conf.pid_file[0])
			unlink(conf.pid_file);
		return 1;
	}
	int code = mp_proxy_run(&conf);
	mp_modules_unload(); /* fini() may still log */
	mp_server_shutdown_all();
	if (conf.pid_file[0])
		unlink(conf.pid_file);
	mp_log_close();
	return code;
}
