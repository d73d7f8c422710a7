/* mapiproxy-user: manage the user database of mapiproxy's NTLM server (docs/users.md). */
#include "auth/ntlm_crypto.h"
#include "auth/userdb.h"
#include "util/status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#ifndef MP_VERSION
#define MP_VERSION "0.0.0"
#endif

#define PROG "mapiproxy-user"
#define MAX_PASSWORD 512 /* bytes of UTF-8; Windows allows 256 characters */

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROG " --db FILE COMMAND [ARGUMENTS] [OPTIONS]\n"
		"\n"
		"Manage the users that may log in to mapiproxy with NTLM. FILE holds one line per\n"
		"user with the NT hash of the password (never the password itself) and must be\n"
		"mode 0600; see docs/users.md for the format.\n"
		"\n"
		"Commands:\n"
		"  add USER [--domain D] [--nt-hash HEX]\n"
		"                     add a user; creates FILE (mode 0600) if it does not exist\n"
		"  passwd USER [--domain D] [--nt-hash HEX]\n"
		"                     change the password of an existing user (flags are kept)\n"
		"  del USER [--domain D]\n"
		"                     delete a user\n"
		"  disable USER [--domain D]\n"
		"                     keep the user but refuse its logins\n"
		"  enable USER [--domain D]\n"
		"                     accept the logins of a disabled user again\n"
		"  list               print every user: domain, name and flags (never hashes)\n"
		"  check              load FILE as the daemon does; print warnings; exit 0 if valid\n"
		"\n"
		"Options:\n"
		"  -f, --db FILE      the user database (required)\n"
		"  -d, --domain D     the user's domain. Without it the entry matches any domain\n"
		"                     the client names. USER may also be written DOMAIN\\USER.\n"
		"      --nt-hash HEX  give the NT hash (32 hex digits) instead of a password;\n"
		"                     '-' reads it from stdin. A hash on the command line is\n"
		"                     visible to other local users (ps): prefer '-'.\n"
		"  -h, --help         print this help and exit\n"
		"  -V, --version      print the version and exit\n"
		"  --                 end of options (for a USER that starts with '-')\n"
		"\n"
		"Passwords are never taken from the command line. Without --nt-hash, add and\n"
		"passwd ask for the password twice on the terminal without echoing it; when\n"
		"stdin is not a terminal they read one line from it instead, e.g.\n"
		"  printf '%%s\\n' \"$PASS\" | " PROG " --db /etc/mapiproxy/users add alice\n"
		"\n"
		"User and domain names match case-insensitively. A DOMAIN\\USER entry wins over\n"
		"a USER entry for logins from that domain; a disabled entry refuses the login.\n"
		"\n"
		"Exit status: 0 success; 1 the command failed (file unreadable or invalid, user\n"
		"exists or does not exist, passwords differ); 2 usage error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return EXIT_USAGE;
}

/* ---- reading a secret --------------------------------------------------------- */

static struct termios saved_tio;
static volatile sig_atomic_t tio_saved;

static void restore_tty(void)
{
	if (tio_saved) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tio_saved = 0;
	}
}

/* Ctrl-C at the prompt must not leave the terminal without echo. */
static void on_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Read one line from fd into buf (NUL-terminated, newline and a trailing CR
 * removed), byte by byte so nothing past the line is consumed or buffered.
 * Returns 0, or -1 with a message printed.
 */
static int read_line(int fd, char *buf, size_t cap, const char *what)
{
	size_t n = 0;
	bool too_long = false, got = false;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, PROG ": cannot read the %s: %s\n", what, strerror(errno));
			return -1;
		}
		if (r == 0)
			break;
		got = true;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
		else
			too_long = true;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (!got) {
		fprintf(stderr, PROG ": no %s on stdin (expected one line)\n", what);
		return -1;
	}
	if (too_long) {
		fprintf(stderr, PROG ": the %s is longer than %zu bytes\n", what, cap - 1);
		return -1;
	}
	return 0;
}

static int read_tty_line(const char *prompt, char *buf, size_t cap, const char *what)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);

	struct termios tio;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &tio) < 0) {
		fprintf(stderr, "\n" PROG ": cannot read the terminal settings: %s\n",
			strerror(errno));
		return -1;
	}
	saved_tio = tio;
	tio_saved = 1;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	tio.c_lflag |= ECHONL | ICANON;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) < 0) {
		tio_saved = 0;
		fprintf(stderr, "\n" PROG ": cannot turn off echo: %s\n", strerror(errno));
		return -1;
	}
	int rc = read_line(STDIN_FILENO, buf, cap, what);
	restore_tty();
	return rc;
}

/* The NT hash of a password typed twice on the terminal or given as one line of stdin. */
static int password_hash(const char *who, uint8_t nt_hash[MP_NTLM_HASH_LEN])
{
	static char pw1[MAX_PASSWORD + 1], pw2[MAX_PASSWORD + 1];
	int rc = -1;
	if (isatty(STDIN_FILENO)) {
		char prompt[700];
		snprintf(prompt, sizeof(prompt), "New password for %s: ", who);
		if (read_tty_line(prompt, pw1, sizeof(pw1), "password") < 0 ||
		    read_tty_line("Retype the password: ", pw2, sizeof(pw2), "password") < 0)
			goto out;
		if (strcmp(pw1, pw2) != 0) {
			fprintf(stderr, PROG ": the two passwords differ; nothing was changed\n");
			goto out;
		}
	} else if (read_line(STDIN_FILENO, pw1, sizeof(pw1), "password") < 0) {
		goto out;
	}
	if (pw1[0] == '\0') {
		fprintf(stderr, PROG ": empty password refused; nothing was changed\n");
		goto out;
	}
	int r = mp_ntlm_ntowfv1(pw1, nt_hash);
	if (r == MP_ERR_PARSE)
		fprintf(stderr, PROG ": the password is not valid UTF-8 (check the terminal's "
				"character set)\n");
	else if (r != MP_OK)
		fprintf(stderr, PROG ": cannot hash the password: %s\n", mp_status_name(r));
	else
		rc = 0;
out:
	mp_ntlm_wipe(pw1, sizeof(pw1));
	mp_ntlm_wipe(pw2, sizeof(pw2));
	return rc;
}

static int parse_hex(const char *s, uint8_t out[MP_NTLM_HASH_LEN])
{
	if (strlen(s) != 2 * MP_NTLM_HASH_LEN)
		return -1;
	for (size_t i = 0; i < 2 * MP_NTLM_HASH_LEN; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

/* ---- the database file -------------------------------------------------------- */

/*
 * Serialise editors of one file: an exclusive flock(2) on its directory, held
 * until exit (the file itself is replaced by rename, so it cannot carry the lock).
 */
static int lock_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	const char *dir = dirname(copy);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": %s: cannot open the directory %s: %s\n", path, dir,
			strerror(errno));
		free(copy);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			fprintf(stderr, PROG ": waiting for another " PROG " editing %s\n", path);
		if (flock(fd, LOCK_EX) < 0) {
			fprintf(stderr, PROG ": cannot lock %s: %s\n", dir, strerror(errno));
			close(fd);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return fd; /* kept open: the lock lasts until exit */
}

static int load(const char *path, bool create, struct mp_userdb **db, bool *created)
{
	char err[1024];
	int rc = mp_userdb_load(db, path, err, sizeof(err));
	if (rc == MP_ERR_NOTFOUND && create) {
		*created = true;
		if (mp_userdb_new(db) == MP_OK)
			return 0;
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	if (rc != MP_OK) {
		fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	for (size_t i = 0; mp_userdb_warning(*db, i); i++)
		fprintf(stderr, PROG ": warning: %s\n", mp_userdb_warning(*db, i));
	return 0;
}

static int save(const struct mp_userdb *db, const char *path)
{
	char err[1024];
	if (mp_userdb_save(db, path, err, sizeof(err)) != MP_OK) {
		fprintf(stderr, PROG ": %s; nothing was changed\n", err);
		return -1;
	}
	return 0;
}

static void full_name(char *buf, size_t n, const char *user, const char *domain)
{
	if (domain && domain[0])
		snprintf(buf, n, "%s\\%s", domain, user);
	else
		snprintf(buf, n, "%s (any domain)", user);
}

struct other_domains {
	const char *user;
	char list[512];
	size_t count;
};

static int collect_domains(void *arg, const struct mp_userdb_info *info)
{
	struct other_domains *o = arg;
	if (strcasecmp(info->user, o->user) != 0)
		return 0;
	size_t l = strlen(o->list);
	snprintf(o->list + l, sizeof(o->list) - l, "%s%s", o->count ? ", " : "",
		 info->domain[0] ? info->domain : "(any domain)");
	o->count++;
	return 0;
}

/* "no entry" message, with the entries of the same name in other domains as a hint. */
static void not_found(const struct mp_userdb *db, const char *path, const char *user,
		      const char *domain)
{
	char who[600];
	full_name(who, sizeof(who), user, domain);
	fprintf(stderr, PROG ": %s: no entry for %s", path, who);
	struct other_domains o = {.user = user};
	mp_userdb_foreach(db, collect_domains, &o);
	if (o.count)
		fprintf(stderr, "; %s exists for: %s (name the domain with --domain D or as "
				"D\\USER; without a domain the command means the any-domain "
				"entry)\n", user, o.list);
	else
		fprintf(stderr, "; '" PROG " --db %s list' shows the users\n", path);
}

/* ---- list --------------------------------------------------------------------- */

struct widths {
	int domain, user;
};

static int measure(void *arg, const struct mp_userdb_info *info)
{
	struct widths *w = arg;
	int d = info->domain[0] ? (int)strlen(info->domain) : 1;
	int u = (int)strlen(info->user);
	if (d > w->domain)
		w->domain = d;
	if (u > w->user)
		w->user = u;
	return 0;
}

static int print_entry(void *arg, const struct mp_userdb_info *info)
{
	const struct widths *w = arg;
	char flags[600];
	snprintf(flags, sizeof(flags), "%s%s%s",
		 (info->flags & MP_USERDB_DISABLED) ? "disabled" : "",
		 (info->flags & MP_USERDB_DISABLED) && info->other_flags[0] ? "," : "",
		 info->other_flags);
	printf("%-*s  %-*s  %s\n", w->domain, info->domain[0] ? info->domain : "*", w->user,
	       info->user, flags[0] ? flags : "-");
	return 0;
}

static int cmd_list(const struct mp_userdb *db)
{
	struct widths w = {(int)strlen("DOMAIN"), (int)strlen("USER")};
	mp_userdb_foreach(db, measure, &w);
	printf("%-*s  %-*s  %s\n", w.domain, "DOMAIN", w.user, "USER", "FLAGS");
	mp_userdb_foreach(db, print_entry, &w);
	return EXIT_OK;
}

/* ---- main --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	enum { OPT_NT_HASH = 256 };
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'f'},
		{"domain", required_argument, NULL, 'd'},
		{"nt-hash", required_argument, NULL, OPT_NT_HASH},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL, *domain = NULL, *hex = NULL;
	int opt;

	while ((opt = getopt_long(argc, argv, "f:d:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': path = optarg; break;
		case 'd': domain = optarg; break;
		case OPT_NT_HASH: hex = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf(PROG " %s\n", MP_VERSION); return EXIT_OK;
		default: fprintf(stderr, "Try '" PROG " --help'.\n"); return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("no command given (add, passwd, del, disable, enable, list, "
				   "check)%s", "");
	const char *cmd = argv[optind++];
	bool takes_user = strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0 ||
			  strcmp(cmd, "del") == 0 || strcmp(cmd, "disable") == 0 ||
			  strcmp(cmd, "enable") == 0;
	bool takes_hash = strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0;
	if (!takes_user && strcmp(cmd, "list") != 0 && strcmp(cmd, "check") != 0)
		return usage_error("unknown command '%s' (expected add, passwd, del, disable, "
				   "enable, list or check)", cmd);
	const char *user = NULL;
	if (takes_user) {
		if (optind >= argc)
			return usage_error("'%s' needs a USER argument", cmd);
		user = argv[optind++];
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!path)
		return usage_error("no database file; use --db FILE%s", "");
	if (!takes_user && domain)
		return usage_error("--domain does not apply to '%s'", cmd);
	if (!takes_hash && hex)
		return usage_error("--nt-hash does not apply to '%s'", cmd);

	/* USER may be DOMAIN\USER. */
	char *user_copy = NULL;
	if (user && strchr(user, '\\')) {
		if (domain)
			return usage_error("give the domain either as DOMAIN\\USER or with --domain, "
					   "not both (USER is '%s')", user);
		user_copy = strdup(user);
		if (!user_copy)
			return EXIT_FAIL;
		char *bs = strchr(user_copy, '\\');
		*bs = '\0';
		domain = user_copy;
		user = bs + 1;
	}
	char err[512];
	if (user && (mp_userdb_check_name(user, false, err, sizeof(err)) != MP_OK ||
		     mp_userdb_check_name(domain, true, err, sizeof(err)) != MP_OK)) {
		fprintf(stderr, PROG ": %s\n", err);
		free(user_copy);
		return EXIT_USAGE;
	}
	uint8_t nt_hash[MP_NTLM_HASH_LEN];
	if (hex && strcmp(hex, "-") != 0 && parse_hex(hex, nt_hash) < 0) {
		fprintf(stderr, PROG ": --nt-hash: expected 32 hex digits\n");
		free(user_copy);
		return EXIT_USAGE;
	}

	/* Secrets stay out of core dumps. */
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);

	int code = EXIT_FAIL;
	struct mp_userdb *db = NULL;
	bool created = false;
	char who[600];
	if (user)
		full_name(who, sizeof(who), user, domain);

	if (strcmp(cmd, "list") == 0 || strcmp(cmd, "check") == 0) {
		if (load(path, false, &db, &created) < 0)
			goto out;
		if (strcmp(cmd, "list") == 0) {
			code = cmd_list(db);
		} else {
			printf("%s: valid, %zu user%s\n", path, mp_userdb_count(db),
			       mp_userdb_count(db) == 1 ? "" : "s");
			code = EXIT_OK;
		}
		goto out;
	}

	if (lock_dir(path) < 0 || load(path, strcmp(cmd, "add") == 0, &db, &created) < 0)
		goto out;
	struct mp_userdb_info info;
	bool exists = mp_userdb_get(db, user, domain, &info) == MP_OK;
	if (exists) /* name it as the file does */
		full_name(who, sizeof(who), info.user, info.domain);
	if (strcmp(cmd, "add") == 0 && exists) {
		fprintf(stderr,
			PROG ": %s: %s already exists; to change its password use "
			"'" PROG " --db %s passwd %s%s%s'\n",
			path, who, path, user, domain && domain[0] ? " --domain " : "",
			domain && domain[0] ? domain : "");
		goto out;
	}
	if (strcmp(cmd, "add") != 0 && !exists) {
		not_found(db, path, user, domain);
		goto out;
	}

	if (takes_hash) {
		if (hex && strcmp(hex, "-") == 0) {
			char line[2 * MP_NTLM_HASH_LEN + 2];
			int r = isatty(STDIN_FILENO)
					? read_tty_line("NT hash (32 hex digits): ", line,
							sizeof(line), "NT hash")
					: read_line(STDIN_FILENO, line, sizeof(line), "NT hash");
			if (r == 0 && parse_hex(line, nt_hash) < 0) {
				fprintf(stderr, PROG ": the NT hash on stdin is not 32 hex digits\n");
				r = -1;
			}
			mp_ntlm_wipe(line, sizeof(line));
			if (r < 0)
				goto out;
		} else if (!hex && password_hash(who, nt_hash) < 0) {
			goto out;
		}
	}

	const char *done;
	if (strcmp(cmd, "add") == 0) {
		if (mp_userdb_add(db, user, domain, nt_hash, err, sizeof(err)) != MP_OK) {
			fprintf(stderr, PROG ": %s: %s\n", path, err);
			goto out;
		}
		done = created ? "created the file and added" : "added";
	} else if (strcmp(cmd, "passwd") == 0) {
		mp_userdb_set_hash(db, user, domain, nt_hash);
		done = "changed the password of";
	} else if (strcmp(cmd, "del") == 0) {
		mp_userdb_delete(db, user, domain);
		done = "deleted";
	} else if (strcmp(cmd, "disable") == 0) {
		if (info.flags & MP_USERDB_DISABLED) {
			printf("%s: %s is already disabled\n", path, who);
			code = EXIT_OK;
			goto out;
		}
		mp_userdb_set_disabled(db, user, domain, true);
		done = "disabled";
	} else {
		if (!(info.flags & MP_USERDB_DISABLED)) {
			printf("%s: %s is already enabled\n", path, who);
			code = EXIT_OK;
			goto out;
		}
		mp_userdb_set_disabled(db, user, domain, false);
		done = "enabled";
	}
	if (save(db, path) < 0)
		goto out;
	printf("%s: %s %s\n", path, done, who);
	code = EXIT_OK;
out:
	mp_ntlm_wipe(nt_hash, sizeof(nt_hash));
	mp_userdb_free(db);
	free(user_copy);
	return code;
}
