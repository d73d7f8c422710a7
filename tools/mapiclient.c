/*
 * mapiclient: a command-line MAPI client that reaches a mailbox the way
 * Outlook does (RFR referral, NSPI address book, EMSMDB store, ROPs).
 * See docs/client.md.
 */
#include "client/commands.h"
#include "client/mapi_session.h"
#include "dcerpc/binding.h"
#include "dcerpc/sec.h"
#include "util/status.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <termios.h>
#include <unistd.h>

static void usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: mapiclient [options] COMMAND [args]\n"
	    "\n"
	    "A MAPI client over Exchange RPC (ncacn_ip_tcp) following Outlook's path:\n"
	    "RfrGetNewDSA, NspiBind, NspiResolveNamesW, NspiGetProps, EcDoConnectEx\n"
	    "(EcDoConnect when the server lacks it), RopLogon, then the command's ROPs.\n"
	    "\n"
	    "Commands:\n"
	    "  whoami                 your address book entry (DN, SMTP, home MDB)\n"
	    "  resolve NAME           look NAME up in the address book (display name,\n"
	    "                         SMTP address, legacy DN)\n"
	    "  gal [--max N]          list the address book (default at most 10000 rows)\n"
	    "  folders                the folder tree below Top of Information Store\n"
	    "  ls [FOLDER] [--max N]  messages of FOLDER (default Inbox): ID, date, from,\n"
	    "                         size, attachment flag (@), subject. FOLDER is Inbox,\n"
	    "                         Outbox, Sent, Deleted, a path like Inbox/Archive, or a\n"
	    "                         hex folder ID\n"
	    "  show MSGID             headers, attachments and body of a message (MSGID is\n"
	    "                         the FID/MID ls prints)\n"
	    "  get-attachment MSGID N -o FILE\n"
	    "                         save attachment number N (as show lists) to FILE\n"
	    "                         ('-' for standard output)\n"
	    "  send --to ADDR [--to ADDR...] [--cc ADDR...] --subject S\n"
	    "       (--body TEXT | --body-file FILE) [--attach FILE...]\n"
	    "                         create a message in the Outbox and submit it; ADDR\n"
	    "                         is an SMTP address or a name the address book\n"
	    "                         resolves\n"
	    "  watch [FOLDER] [--count N] [--for SEC] [--poll SEC] [--rounds N]\n"
	    "                         print messages as they arrive in FOLDER (default\n"
	    "                         Inbox), told by the server's push notifications\n"
	    "                         (RopRegisterNotification, EcDoAsyncWaitEx) as Outlook\n"
	    "                         is; until interrupted, or N messages (--count), or\n"
	    "                         SEC seconds (--for). --poll SEC polls the contents\n"
	    "                         table every SEC seconds instead (--interval SEC is\n"
	    "                         the same), N times with --rounds; watch also polls,\n"
	    "                         every 10 s, when the server or a proxy refuses the\n"
	    "                         notifications (-v says why)\n"
	    "  bench [--op OP] [--calls N] [--warmup N] [--sessions S]\n"
	    "                         N calls per session (default 1000, warm-up 10) on S\n"
	    "                         concurrent sessions (default 1; one process each,\n"
	    "                         starting together); prints calls/s and p50/p99\n"
	    "                         latency. OP: nspi (NspiGetProps of your entry,\n"
	    "                         default), rop (RopGetPropertiesSpecific on the\n"
	    "                         logon), table (the Inbox's contents table), message\n"
	    "                         (open an Inbox message, read its properties), mix\n"
	    "                         (the four in turn, as a mail client reads)\n"
	    "\n"
	    "Options:\n"
	    "  -s, --server SERVER    host, host:port, [v6addr]:port, or a binding string\n"
	    "                         ncacn_ip_tcp:HOST[PORT]. Without a port each\n"
	    "                         interface's port is asked from HOST's endpoint\n"
	    "                         mapper (port 135, see --epm-port). Env MAPICLIENT_SERVER\n"
	    "      --epm-port PORT    the endpoint mapper's port (default 135)\n"
	    "  -u, --user [DOMAIN\\]USER  who to log on as (env MAPICLIENT_USER)\n"
	    "      --password-file F  read the password from the first line of F; else env\n"
	    "                         MAPICLIENT_PASSWORD; else a prompt on the terminal\n"
	    "  -a, --auth-level L     none, connect, integrity or privacy (default privacy)\n"
	    "  -j, --json             print one JSON object instead of text\n"
	    "  -t, --timeout SEC      per network operation (default 30)\n"
	    "  -v, --verbose          show each step of the logon path on stderr\n"
	    "  -h, --help             this help\n"
	    "  -V, --version          print the version\n"
	    "\n"
	    "Exit status: 0 success, 1 the server or the network failed (a message says\n"
	    "what to check), 2 a usage error.\n");
}

static int usage_err(const char *fmt, const char *arg)
{
	fputs("mapiclient: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see mapiclient --help)\n", stderr);
	return 2;
}

static bool parse_port(const char *s, uint16_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* host, host:port, [v6]:port, v6 (several colons), or a binding string. */
static int parse_server(void *mem, const char *arg, const char **host, uint16_t *port)
{
	if (!strncmp(arg, "ncacn_", 6) || strstr(arg, "@ncacn_")) {
		struct mp_binding b;
		char e[160];
		if (mp_binding_parse(arg, &b, e, sizeof(e)) != MP_OK)
			return usage_err("bad binding string: %s", e);
		if (strcmp(b.transport, "ncacn_ip_tcp"))
			return usage_err("only ncacn_ip_tcp is supported, not %s", b.transport);
		*host = talloc_strdup(mem, b.host);
		*port = b.port;
		return 0;
	}
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');
		if (!close)
			return usage_err("bad server %s: missing ']'", arg);
		*host = talloc_strndup(mem, arg + 1, (size_t)(close - arg - 1));
		if (close[1] == ':' && !parse_port(close + 2, port))
			return usage_err("bad port in %s", arg);
		return 0;
	}
	const char *c = strchr(arg, ':');
	if (c && !strchr(c + 1, ':')) {
		*host = talloc_strndup(mem, arg, (size_t)(c - arg));
		if (!parse_port(c + 1, port))
			return usage_err("bad port in %s", arg);
		return 0;
	}
	*host = arg;
	return 0;
}

static char *read_password_file(void *mem, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "mapiclient: cannot read the password file %s: %s\n", path,
		        strerror(errno));
		return NULL;
	}
	char buf[1024];
	char *p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p) {
		fprintf(stderr, "mapiclient: the password file %s is empty\n", path);
		return NULL;
	}
	buf[strcspn(buf, "\r\n")] = 0;
	char *r = talloc_strdup(mem, buf);
	memset(buf, 0, sizeof(buf));
	return r;
}

static char *prompt_password(void *mem, const char *user)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty) {
		fprintf(stderr, "mapiclient: no password: use --password-file, env "
		                "MAPICLIENT_PASSWORD, or run on a terminal\n");
		return NULL;
	}
	struct termios old, quiet;
	bool echo_off = tcgetattr(fileno(tty), &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	fprintf(tty, "Password for %s: ", user);
	fflush(tty);
	char buf[1024];
	char *p = fgets(buf, sizeof(buf), tty);
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	if (!p)
		return NULL;
	buf[strcspn(buf, "\r\n")] = 0;
	char *r = talloc_strdup(mem, buf);
	memset(buf, 0, sizeof(buf));
	return r;
}

static bool parse_count(const char *s, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 1000000)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Append a --to/--cc value; commas separate several addresses. */
static void add_addrs(void *mem, const char ***list, unsigned *n, const char *arg)
{
	char *copy = talloc_strdup(mem, arg), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (!*t)
			continue;
		*list = talloc_realloc(mem, *list, const char *, *n + 1);
		(*list)[(*n)++] = t;
	}
}

static void *g_mem;

/* Early returns (usage errors) leave the context to this. */
static void free_mem(void)
{
	talloc_free(g_mem);
	g_mem = NULL;
}

int main(int argc, char **argv)
{
	void *mem = g_mem = talloc_new(NULL);
	atexit(free_mem);
	struct mp_client_opts o = {
	    .auth_level = MP_AUTH_LEVEL_PKT_PRIVACY,
	    .timeout_ms = 30000,
	};
	const char *server = getenv("MAPICLIENT_SERVER");
	const char *user = getenv("MAPICLIENT_USER");
	const char *pwfile = NULL;
	bool json = false;
	enum { O_EPM = 256, O_PWFILE, O_FOLLOW };
	static const struct option lo[] = {
	    {"server", required_argument, 0, 's'},
	    {"epm-port", required_argument, 0, O_EPM},
	    {"user", required_argument, 0, 'u'},
	    {"password-file", required_argument, 0, O_PWFILE},
	    {"auth-level", required_argument, 0, 'a'},
	    {"json", no_argument, 0, 'j'},
	    {"timeout", required_argument, 0, 't'},
	    {"verbose", no_argument, 0, 'v'},
	    {"follow-referral", no_argument, 0, O_FOLLOW},
	    {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0},
	};
	int ch;
	uint32_t secs;
	while ((ch = getopt_long(argc, argv, "+s:u:a:jt:vhV", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			server = optarg;
			break;
		case O_EPM:
			if (!parse_port(optarg, &o.epm_port))
				return usage_err("bad --epm-port %s", optarg);
			break;
		case 'u':
			user = optarg;
			break;
		case O_PWFILE:
			pwfile = optarg;
			break;
		case 'a':
			o.auth_level = mp_rpc_auth_level_parse(optarg);
			if (!o.auth_level)
				return usage_err("--auth-level must be none, connect, integrity or "
				                 "privacy, not %s",
				                 optarg);
			break;
		case 'j':
			json = true;
			break;
		case 't':
			if (!parse_count(optarg, &secs) || secs > 3600)
				return usage_err("bad --timeout %s (1..3600 seconds)", optarg);
			o.timeout_ms = secs * 1000;
			break;
		case 'v':
			o.verbose = true;
			break;
		case O_FOLLOW:
			o.follow_referral = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mapiclient %s\n", MP_VERSION);
			return 0;
		default:
			return usage_err("%s", "bad option");
		}
	}
	if (optind >= argc)
		return usage_err("%s", "no command given");
	const char *cmd = argv[optind];
	int sargc = argc - optind;
	char **sargv = argv + optind;

	/* Subcommand arguments. */
	static const char *const cmds[] = {"whoami", "resolve",        "gal",  "folders", "ls",
	                                   "show",   "get-attachment", "send", "watch",   "bench",
	                                   NULL};
	bool known = false;
	for (int i = 0; cmds[i]; i++)
		known |= !strcmp(cmd, cmds[i]);
	if (!known)
		return usage_err("unknown command %s", cmd);
	enum {
		S_TO = 300,
		S_CC,
		S_SUBJECT,
		S_BODY,
		S_BODYFILE,
		S_ATTACH,
		S_MAX,
		S_OP,
		S_CALLS,
		S_WARMUP,
		S_INTERVAL,
		S_ROUNDS,
		S_COUNT,
		S_FOR,
		S_SESSIONS
	};
	static const struct option so[] = {
	    {"to", required_argument, 0, S_TO},
	    {"cc", required_argument, 0, S_CC},
	    {"subject", required_argument, 0, S_SUBJECT},
	    {"body", required_argument, 0, S_BODY},
	    {"body-file", required_argument, 0, S_BODYFILE},
	    {"attach", required_argument, 0, S_ATTACH},
	    {"max", required_argument, 0, S_MAX},
	    {"output", required_argument, 0, 'o'},
	    {"help", no_argument, 0, 'h'},
	    {"op", required_argument, 0, S_OP},
	    {"calls", required_argument, 0, S_CALLS},
	    {"warmup", required_argument, 0, S_WARMUP},
	    {"interval", required_argument, 0, S_INTERVAL},
	    {"poll", required_argument, 0, S_INTERVAL},
	    {"rounds", required_argument, 0, S_ROUNDS},
	    {"count", required_argument, 0, S_COUNT},
	    {"for", required_argument, 0, S_FOR},
	    {"sessions", required_argument, 0, S_SESSIONS},
	    {0, 0, 0, 0},
	};
	struct mp_send_args sa = {0};
	const char *outfile = NULL, *bodyfile = NULL;
	uint32_t max = 10000, calls = 1000, warmup = 10, interval = 0, rounds = 0, count = 0,
	         for_s = 0;
	const char *bench_op = "nspi";
	uint32_t sessions = 1;
	bool bench_opts = false, watch_opts = false;
	optind = 0; /* 0: GNU getopt reinitialises (permutation for the new argv) */
	while ((ch = getopt_long(sargc, sargv, "o:h", so, NULL)) != -1) {
		switch (ch) {
		case S_TO:
			add_addrs(mem, &sa.to, &sa.n_to, optarg);
			break;
		case S_CC:
			add_addrs(mem, &sa.cc, &sa.n_cc, optarg);
			break;
		case S_SUBJECT:
			sa.subject = optarg;
			break;
		case S_BODY:
			sa.body = optarg;
			break;
		case S_BODYFILE:
			bodyfile = optarg;
			break;
		case S_ATTACH:
			sa.attach = talloc_realloc(mem, sa.attach, const char *, sa.n_attach + 1);
			sa.attach[sa.n_attach++] = optarg;
			break;
		case S_MAX:
			if (!parse_count(optarg, &max))
				return usage_err("bad --max %s", optarg);
			break;
		case 'o':
			outfile = optarg;
			break;
		case S_OP:
			if (strcmp(optarg, "nspi") && strcmp(optarg, "rop") && strcmp(optarg, "table") &&
			    strcmp(optarg, "message") && strcmp(optarg, "mix"))
				return usage_err("--op must be nspi, rop, table, message or mix, not %s",
				                 optarg);
			bench_op = optarg;
			bench_opts = true;
			break;
		case S_CALLS:
			if (!parse_count(optarg, &calls))
				return usage_err("bad --calls %s", optarg);
			bench_opts = true;
			break;
		case S_WARMUP:
			if (!parse_count(optarg, &warmup))
				return usage_err("bad --warmup %s", optarg);
			bench_opts = true;
			break;
		case S_SESSIONS:
			if (!parse_count(optarg, &sessions) || sessions < 1 || sessions > 256)
				return usage_err("bad --sessions %s (1..256)", optarg);
			bench_opts = true;
			break;
		case S_INTERVAL:
			if (!parse_count(optarg, &interval) || interval > 86400)
				return usage_err("bad --poll/--interval %s (1..86400 seconds)",
				                 optarg);
			watch_opts = true;
			break;
		case S_ROUNDS:
			if (!parse_count(optarg, &rounds))
				return usage_err("bad --rounds %s", optarg);
			watch_opts = true;
			break;
		case S_COUNT:
			if (!parse_count(optarg, &count))
				return usage_err("bad --count %s", optarg);
			watch_opts = true;
			break;
		case S_FOR:
			if (!parse_count(optarg, &for_s))
				return usage_err("bad --for %s (1..1000000 seconds)", optarg);
			watch_opts = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return usage_err("bad option for %s", cmd);
		}
	}
	char **pos = sargv + optind;
	int npos = sargc - optind;
	bool is_send = !strcmp(cmd, "send");
	if (!is_send && (sa.n_to || sa.n_cc || sa.subject || sa.body || bodyfile || sa.n_attach))
		return usage_err("--to, --cc, --subject, --body and --attach are for send, not %s",
		                 cmd);
	if (bench_opts && strcmp(cmd, "bench"))
		return usage_err("--op, --calls, --warmup and --sessions are for bench, not %s", cmd);
	if (watch_opts && strcmp(cmd, "watch"))
		return usage_err("--count, --for, --poll, --interval and --rounds are for watch, "
		                 "not %s",
		                 cmd);
	if (rounds && !interval)
		interval = 10; /* --rounds counts polls: it asks for polling */
	if (outfile && strcmp(cmd, "get-attachment"))
		return usage_err("-o is for get-attachment, not %s", cmd);
	if ((!strcmp(cmd, "resolve") || !strcmp(cmd, "show")) && npos != 1)
		return usage_err("%s takes one argument", cmd);
	if ((!strcmp(cmd, "ls") || !strcmp(cmd, "watch")) && npos > 1)
		return usage_err("%s takes at most one folder", cmd);
	if ((!strcmp(cmd, "gal") || !strcmp(cmd, "folders") || !strcmp(cmd, "whoami") || is_send ||
	     !strcmp(cmd, "bench")) &&
	    npos != 0)
		return usage_err("unexpected argument %s", pos[0]);
	uint32_t att_num = 0;
	if (!strcmp(cmd, "get-attachment")) {
		char *end;
		if (npos != 2)
			return usage_err("%s", "get-attachment takes MSGID N -o FILE");
		errno = 0;
		unsigned long v = strtoul(pos[1], &end, 10);
		if (errno || *end || end == pos[1] || v > 0xffffffffUL)
			return usage_err("bad attachment number %s", pos[1]);
		att_num = (uint32_t)v;
		if (!outfile)
			return usage_err("%s", "get-attachment needs -o FILE");
	}
	if (is_send) {
		if (!sa.n_to && !sa.n_cc)
			return usage_err("%s", "send needs --to (or --cc)");
		if (sa.body && bodyfile)
			return usage_err("%s", "give --body or --body-file, not both");
		if (bodyfile) {
			FILE *f = fopen(bodyfile, "r");
			if (!f) {
				fprintf(stderr, "mapiclient: cannot read %s: %s\n", bodyfile,
				        strerror(errno));
				return 1;
			}
			char *b = talloc_array(mem, char, 65536);
			size_t n = fread(b, 1, 65535, f);
			fclose(f);
			b[n] = 0;
			sa.body = b;
		}
	}

	/* Connection settings. */
	if (!server)
		return usage_err("%s", "--server is required (or env MAPICLIENT_SERVER)");
	if (parse_server(mem, server, &o.host, &o.port))
		return 2;
	if (!user || !*user)
		return usage_err("%s", "--user is required (or env MAPICLIENT_USER)");
	const char *bs = strchr(user, '\\');
	if (bs) {
		o.domain = talloc_strndup(mem, user, (size_t)(bs - user));
		o.user = bs + 1;
	} else {
		o.user = user;
		o.domain = "";
	}
	if (o.auth_level > MP_AUTH_LEVEL_NONE) {
		const char *pw = NULL;
		if (pwfile)
			pw = read_password_file(mem, pwfile);
		else if (getenv("MAPICLIENT_PASSWORD"))
			pw = getenv("MAPICLIENT_PASSWORD");
		else
			pw = prompt_password(mem, user);
		if (!pw)
			return 1;
		o.password = pw;
	}

	struct mp_session *s = mp_session_new(mem, &o);
	if (!s) {
		fprintf(stderr, "mapiclient: out of memory\n");
		return 1;
	}
	struct mp_cmd_out out = {.out = stdout, .json = json};
	int rc = 1;
	if (mp_session_open_ab(s) != MP_OK) {
		fprintf(stderr, "mapiclient: %s\n", s->err);
		goto done;
	}
	if (!strcmp(cmd, "whoami")) {
		rc = mp_cmd_whoami(s, &out);
		goto done;
	}
	if (!strcmp(cmd, "resolve")) {
		rc = mp_cmd_resolve(s, &out, pos[0]);
		goto done;
	}
	if (!strcmp(cmd, "gal")) {
		rc = mp_cmd_gal(s, &out, max);
		goto done;
	}
	if (!strcmp(cmd, "bench") && sessions > 1) {
		rc = mp_cmd_bench_parallel(&o, &out, bench_op, calls, warmup, sessions);
		goto done;
	}
	if (!strcmp(cmd, "bench") && !mp_cmd_bench_needs_store(bench_op)) {
		rc = mp_cmd_bench(s, &out, bench_op, calls, warmup);
		goto done;
	}
	if (mp_session_open_store(s) != MP_OK) {
		fprintf(stderr, "mapiclient: %s\n", s->err);
		goto done;
	}
	if (!strcmp(cmd, "folders"))
		rc = mp_cmd_folders(s, &out);
	else if (!strcmp(cmd, "ls"))
		rc = mp_cmd_ls(s, &out, npos ? pos[0] : NULL, max);
	else if (!strcmp(cmd, "show"))
		rc = mp_cmd_show(s, &out, pos[0]);
	else if (!strcmp(cmd, "get-attachment"))
		rc = mp_cmd_get_attachment(s, &out, pos[0], att_num, outfile);
	else if (is_send)
		rc = mp_cmd_send(s, &out, &sa);
	else if (!strcmp(cmd, "bench"))
		rc = mp_cmd_bench(s, &out, bench_op, calls, warmup);
	else if (!strcmp(cmd, "watch")) {
		struct mp_watch_args wa = {.folder = npos ? pos[0] : NULL,
		                           .poll_s = interval,
		                           .rounds = rounds,
		                           .count = count,
		                           .for_s = for_s};
		rc = mp_cmd_watch(s, &out, &wa);
	}
done:
	mp_session_close(s);
	fflush(stdout);
	return rc;
}
