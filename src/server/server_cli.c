/*
 * mapiserver useradd/userdel/passwd/list/import: the store's functions
 * behind a command line. Passwords come from the terminal (asked twice,
 * not echoed) or, when stdin is not a terminal, from its first line.
 */
#include "server/server_cli.h"

#include "server/server_conf.h"
#include "server/store/store.h"
#include "util/config.h"
#include "util/status.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <termios.h>
#include <unistd.h>

static const char *const subcommands[] = {"useradd", "userdel", "passwd", "list", "import", NULL};

bool mp_server_cli_is_subcommand(const char *arg)
{
	for (const char *const *s = subcommands; *s; s++)
		if (strcmp(*s, arg) == 0)
			return true;
	return false;
}

void mp_server_cli_usage(FILE *fp)
{
	fprintf(fp,
	        "Users and mail (the store in mapiserver:data dir; created by the first useradd):\n"
	        "  mapiserver useradd -c FILE NAME [--display-name D] [--email E]\n"
	        "                         create a user and its mailbox; the password is read\n"
	        "                         from the terminal (twice) or from stdin's first line\n"
	        "  mapiserver userdel -c FILE NAME      delete a user and its whole mailbox\n"
	        "  mapiserver passwd -c FILE NAME       set a user's password (as useradd)\n"
	        "  mapiserver list -c FILE              list the users (name, display name,\n"
	        "                                       SMTP address, legacy DN)\n"
	        "  mapiserver import -c FILE --user U [--folder PATH] PATH...\n"
	        "                         import .eml files, mbox files or directories of them\n"
	        "                         into U's Inbox (or the folder PATH below Top of\n"
	        "                         Information Store, e.g. Inbox/Archive); progress on\n"
	        "                         stderr\n");
}

/* A line without its newline; echo off on a terminal. */
static int read_line(const char *prompt, bool tty, char *buf, size_t len)
{
	struct termios old, quiet;
	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		if (tcgetattr(0, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(0, TCSAFLUSH, &quiet);
		}
	}
	char *r = fgets(buf, (int)len, stdin);
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (!r)
		return -1;
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

static int read_password(const char *prog, char *pw, size_t len)
{
	bool tty = isatty(0);
	char again[MP_STORE_MAX_PASSWORD + 2];
	if (read_line("Password: ", tty, pw, len) < 0 || !*pw) {
		fprintf(stderr, "%s: no password given (type it, or pipe it on stdin)\n", prog);
		return -1;
	}
	if (tty) {
		if (read_line("Again: ", tty, again, sizeof(again)) < 0 || strcmp(pw, again) != 0) {
			memset(again, 0, sizeof(again));
			fprintf(stderr, "%s: the passwords differ; nothing changed\n", prog);
			return -1;
		}
		memset(again, 0, sizeof(again));
	}
	return 0;
}

static int open_store(const char *prog, const char *config, bool create, struct mp_store **st)
{
	struct mp_config cfg;
	struct mp_server_conf sc;
	char err[600];
	if (!config) {
		fprintf(stderr, "%s: no configuration file; use -c FILE (see mapiserver --help)\n",
		        prog);
		return 2;
	}
	if (mp_config_load(&cfg, config, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, "%s: %s\n", prog, err);
		mp_config_free(&cfg);
		return 1;
	}
	int rc = mp_server_conf_load(&sc, &cfg, err, sizeof(err));
	mp_config_free(&cfg);
	if (rc == MP_OK)
		rc = mp_server_store_open(&sc, create, st, err, sizeof(err));
	if (rc != MP_OK) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	return 0;
}

/* Find a user by name in a write transaction. */
static int user_txn(const char *prog, struct mp_store *st, const char *name, void *mem,
                    struct mp_store_txn **txn, struct mp_store_user **u)
{
	if (mp_store_txn_begin(st, true, txn) != MP_OK) {
		fprintf(stderr, "%s: cannot write the store\n", prog);
		return 1;
	}
	if (mp_store_user_by_name(*txn, name, mem, u) != MP_OK) {
		mp_store_txn_abort(*txn);
		fprintf(stderr, "%s: no user '%s' (see mapiserver list -c FILE)\n", prog, name);
		return 1;
	}
	return 0;
}

static int finish(const char *prog, struct mp_store_txn *txn, int rc, const char *what)
{
	if (rc != MP_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, what, mp_store_txn_errmsg(txn));
		mp_store_txn_abort(txn);
		return 1;
	}
	if (mp_store_txn_commit(txn) != MP_OK) {
		fprintf(stderr,
		        "%s: %s: the store could not be written (disk full? raise "
		        "mapiserver:map size)\n",
		        prog, what);
		return 1;
	}
	return 0;
}

static int progress(void *arg, const struct mp_store_import_progress *p)
{
	fprintf(stderr, "\r%s: %llu imported, %llu skipped", p->path, (unsigned long long)p->done,
	        (unsigned long long)p->failed);
	return 0;
}

int mp_server_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"display-name", required_argument, NULL, 'n'},
	    {"email", required_argument, NULL, 'e'},
	    {"user", required_argument, NULL, 'u'},
	    {"folder", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0];
	char prog[64];
	snprintf(prog, sizeof(prog), "mapiserver %s", cmd);
	const char *config = NULL, *display = NULL, *email = NULL, *user = NULL, *folder = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			display = optarg;
			break;
		case 'e':
			email = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'f':
			folder = optarg;
			break;
		case 'h':
			mp_server_cli_usage(stdout);
			return 0;
		default:
			mp_server_cli_usage(stderr);
			return 2;
		}
	}
	bool is_import = strcmp(cmd, "import") == 0, is_list = strcmp(cmd, "list") == 0;
	int nargs = argc - optind;
	if ((is_list && nargs != 0) || (is_import && nargs < 1) ||
	    (!is_list && !is_import && nargs != 1)) {
		fprintf(stderr, "%s: wrong arguments\n", prog);
		mp_server_cli_usage(stderr);
		return 2;
	}
	if ((display || email) && strcmp(cmd, "useradd") != 0) {
		fprintf(stderr, "%s: --display-name and --email belong to useradd\n", prog);
		return 2;
	}
	if ((user || folder) && !is_import) {
		fprintf(stderr, "%s: --user and --folder belong to import\n", prog);
		return 2;
	}
	if (is_import && !user) {
		fprintf(stderr, "%s: whose mailbox? use --user NAME\n", prog);
		return 2;
	}

	struct mp_store *st = NULL;
	int code = open_store(prog, config, strcmp(cmd, "useradd") == 0, &st);
	if (code)
		return code;
	void *mem = talloc_new(NULL);
	char err[512];
	char pw[MP_STORE_MAX_PASSWORD + 2];
	struct mp_store_txn *txn;
	struct mp_store_user *u;

	if (strcmp(cmd, "useradd") == 0) {
		uint32_t id;
		if (read_password(prog, pw, sizeof(pw)) < 0) {
			code = 1;
		} else {
			struct mp_store_user_new nu = {.name = argv[optind],
			                               .password = pw,
			                               .display_name = display,
			                               .smtp = email};
			if (mp_store_user_add_simple(st, &nu, &id, err, sizeof(err)) != MP_OK) {
				fprintf(stderr, "%s: %s\n", prog, err);
				code = 1;
			} else {
				printf("user %s added (id %u)\n", argv[optind], id);
			}
		}
	} else if (strcmp(cmd, "userdel") == 0) {
		code = user_txn(prog, st, argv[optind], mem, &txn, &u);
		if (!code)
			code = finish(prog, txn, mp_store_user_delete(txn, u->id), "userdel");
		if (!code)
			printf("user %s deleted with its mailbox\n", argv[optind]);
	} else if (strcmp(cmd, "passwd") == 0) {
		if (read_password(prog, pw, sizeof(pw)) < 0) {
			code = 1;
		} else {
			code = user_txn(prog, st, argv[optind], mem, &txn, &u);
			if (!code)
				code = finish(prog, txn, mp_store_user_set_password(txn, u->id, pw),
				              "passwd");
			if (!code)
				printf("password of %s changed\n", argv[optind]);
		}
	} else if (is_list) {
		size_t n = 0;
		if (mp_store_txn_begin(st, false, &txn) != MP_OK ||
		    mp_store_user_list(txn, mem, &u, &n) != MP_OK) {
			fprintf(stderr, "%s: cannot read the store\n", prog);
			code = 1;
		} else {
			for (size_t i = 0; i < n; i++)
				printf("%s\t%s\t%s\t%s%s\n", u[i].name, u[i].display_name,
				       u[i].smtp, u[i].dn,
				       (u[i].flags & MP_STORE_USER_DISABLED) ? "\tdisabled" : "");
			mp_store_txn_abort(txn);
		}
	} else {
		struct mp_store_import_opts io = {.progress = isatty(2) ? progress : NULL};
		if (folder) {
			code = user_txn(prog, st, user, mem, &txn, &u);
			if (!code) {
				if (mp_store_folder_by_path(txn, u->id, folder, &io.fid) != MP_OK) {
					fprintf(stderr,
					        "%s: no folder '%s' in %s's mailbox (a path "
					        "below Top of Information Store, e.g. Inbox)\n",
					        prog, folder, user);
					code = 1;
				}
				mp_store_txn_abort(txn);
			}
		}
		uint64_t total = 0, failed = 0;
		for (int i = optind; !code && i < argc; i++) {
			struct mp_store_import_stats stats;
			memset(&stats, 0, sizeof(stats));
			int rc =
			    mp_store_import_path(st, user, argv[i], &io, &stats, err, sizeof(err));
			if (io.progress)
				fprintf(stderr, "\n");
			fprintf(stderr, "%s: %llu message(s) imported, %llu skipped%s%s%s\n",
			        argv[i], (unsigned long long)stats.messages,
			        (unsigned long long)stats.failed, stats.failed ? " (first: " : "",
			        stats.failed ? stats.first_error : "", stats.failed ? ")" : "");
			total += stats.messages;
			failed += stats.failed;
			if (rc != MP_OK) {
				fprintf(stderr, "%s: %s: %s\n", prog, argv[i], err);
				code = 1;
			}
		}
		if (!code)
			printf("%llu message(s) imported into %s's mailbox, %llu skipped\n",
			       (unsigned long long)total, user, (unsigned long long)failed);
	}
	memset(pw, 0, sizeof(pw));
	talloc_free(mem);
	mp_store_close(st);
	return code;
}
