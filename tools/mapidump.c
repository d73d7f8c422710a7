/* mapidump: decode DCE/RPC and ExchangeRPC calls from a pcap/pcapng capture (docs/protocols.md). */
#include "auth/ntlm_crypto.h"
#include "capture/dce_stream.h"
#include "capture/decrypt.h"
#include "capture/mapidump_print.h"
#include "capture/pcap_source.h"
#include "capture/tcp_reasm.h"
#include "util/status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <termios.h>
#include <unistd.h>

#ifndef MP_VERSION
#define MP_VERSION "0.0.0"
#endif

#define PROG "mapidump"
#define MAX_PORTS 64
#define MAX_PASSWORD 512
#define DEFAULT_MAX_CALL (16u << 20)

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const uint16_t default_ports[] = {135, 6001, 6002, 6003, 6004};

static void usage(FILE *fp)
{
	fprintf(
	    fp,
	    "Usage: " PROG " -r FILE [OPTIONS]\n"
	    "\n"
	    "Decode the DCE/RPC calls of a packet capture (pcap or pcapng): TCP streams are\n"
	    "reassembled, PDUs split and paired into calls, and the stubs of EMSMDB,\n"
	    "AsyncEMSMDB, NSPI and RFR decoded; other stubs are shown as bytes. With the\n"
	    "user's password (or NT hash), NTLMSSP-signed and -sealed traffic is verified\n"
	    "and decrypted.\n"
	    "\n"
	    "Input:\n"
	    "  -r, --read FILE         the capture ('-' reads it from stdin). Link types:\n"
	    "                          Ethernet, Linux cooked (SLL, SLL2), BSD loopback, raw IP;\n"
	    "                          IPv4 and IPv6.\n"
	    "  -p, --port N            a DCE/RPC server port to decode; repeat for several.\n"
	    "                          Default: 135, 6001, 6002, 6003, 6004. Given ports replace\n"
	    "                          the default list.\n"
	    "      --no-detect         decode only the listed ports. By default, a connection\n"
	    "                          on any other port is decoded too when its first bytes are\n"
	    "                          a DCE/RPC PDU header, normally the bind (servers such as\n"
	    "                          Samba and Exchange give interfaces dynamic ports); a\n"
	    "                          connection captured from its middle may start elsewhere\n"
	    "                          and be missed: list its port.\n"
	    "\n"
	    "Decryption (NTLMSSP, auth type 10, or 9 = SPNEGO with NTLMSSP):\n"
	    "      --password          ask for a password (on the terminal, without echo; when\n"
	    "                          stdin is not a terminal, read one line from it)\n"
	    "      --password-file F   read passwords from F, one per line ('-' = stdin)\n"
	    "      --nt-hash HEX       the NT hash of a password, 32 hex digits (repeatable; a\n"
	    "                          hash on the command line is visible to other local users)\n"
	    "                          Several credentials may be given (e.g. both legs of a\n"
	    "                          proxy); the one matching each AUTHENTICATE is used.\n"
	    "                          Passwords are never taken from the command line itself.\n"
	    "\n"
	    "Output:\n"
	    "      --json              one JSON object per line: \"type\" is call, pdu, note or\n"
	    "                          summary (see docs/protocols.md for the members)\n"
	    "  -q, --quiet             print the summary only\n"
	    "      --pdus              also print every request, response and fault fragment\n"
	    "                          (binds, alter_context, auth3 and the like always are)\n"
	    "  -f, --filter SPEC       only calls of IFACE or IFACE:OPNUM (repeatable), e.g.\n"
	    "                          EMSMDB, NSPI:NspiGetProps, samr:5; IFACE is a name\n"
	    "                          (EMSMDB, AsyncEMSMDB, NSPI, RFR, samr, epmapper, ...) or\n"
	    "                          a UUID; OPNUM a number or an operation name\n"
	    "      --max-bytes N       text output: stub bytes shown per call (default 64)\n"
	    "      --max-call-size N   stub bytes kept per request or response (default %u);\n"
	    "                          longer stubs are counted, cut and not decoded\n"
	    "  -h, --help              print this help and exit\n"
	    "  -V, --version           print the version and exit\n"
	    "\n"
	    "Each call shows the time of its first request byte, the connection, the interface\n"
	    "and operation, the latency (last request byte to last response byte), the request\n"
	    "and response (stub size, fragments, protection) and their decoded contents.\n"
	    "Missing or damaged parts of the capture (lost segments, a capture cut short, a\n"
	    "bind that is not in it) are reported as warnings and decoding goes on: after lost\n"
	    "bytes a stream resynchronises on the next PDU header that validates.\n"
	    "\n"
	    "Exit status: 0 the capture was read (warnings may have been printed); 1 it could\n"
	    "not be read, or a password could not be read; 2 usage error.\n",
	    DEFAULT_MAX_CALL);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return EXIT_USAGE;
}

/* ---- secrets -------------------------------------------------------------- */

static struct termios saved_tio;
static int tio_fd = -1;

static void restore_tty(void)
{
	if (tio_fd >= 0) {
		tcsetattr(tio_fd, TCSAFLUSH, &saved_tio);
		tio_fd = -1;
	}
}

/* Interrupted at the prompt: echo back on before dying. */
static void on_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * One line from fd into buf (NUL-terminated; the newline and a trailing CR
 * dropped), read byte by byte so nothing after it is consumed. Returns 1
 * for a line, 0 at end of input with nothing read, -1 on error (printed).
 */
static int read_line(int fd, char *buf, size_t cap, const char *what)
{
	size_t n = 0;
	bool got = false, too_long = false;
	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, PROG ": cannot read the %s: %s\n", what, strerror(errno));
			return -1;
		}
		if (r == 0)
			break;
		got = true;
		if (ch == '\n')
			break;
		if (n + 1 < cap)
			buf[n++] = ch;
		else
			too_long = true;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (too_long) {
		fprintf(stderr, PROG ": a %s is longer than %zu bytes\n", what, cap - 1);
		return -1;
	}
	return got ? 1 : 0;
}

static int prompt_tty(int fd, char *buf, size_t cap)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	struct termios tio;
	if (tcgetattr(fd, &tio) < 0) {
		fprintf(stderr, PROG ": cannot read the terminal settings: %s\n", strerror(errno));
		return -1;
	}
	fputs("NT password: ", stderr);
	fflush(stderr);
	saved_tio = tio;
	tio_fd = fd;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	tio.c_lflag |= ECHONL | ICANON;
	if (tcsetattr(fd, TCSAFLUSH, &tio) < 0) {
		tio_fd = -1;
		fprintf(stderr, "\n" PROG ": cannot turn off echo: %s\n", strerror(errno));
		return -1;
	}
	int rc = read_line(fd, buf, cap, "password");
	restore_tty();
	return rc;
}

/* --password: the terminal if there is one, else one line of stdin. */
static int ask_password(struct mp_cap_creds *creds, bool stdin_is_capture)
{
	static char pw[MAX_PASSWORD + 1];
	int rc;
	int fd = -1;
	if (isatty(STDIN_FILENO)) {
		rc = prompt_tty(STDIN_FILENO, pw, sizeof(pw));
	} else if (stdin_is_capture) {
		fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr,
			        PROG ": --password: stdin carries the capture and there is no "
			             "terminal to ask on; use --password-file FILE\n");
			return -1;
		}
		rc = prompt_tty(fd, pw, sizeof(pw));
		close(fd);
	} else {
		rc = read_line(STDIN_FILENO, pw, sizeof(pw), "password");
	}
	if (rc == 0)
		fprintf(stderr, PROG ": --password: no password on stdin (expected one line)\n");
	if (rc <= 0) {
		mp_ntlm_wipe(pw, sizeof(pw));
		return -1;
	}
	int r = mp_cap_creds_add_password(creds, pw);
	mp_ntlm_wipe(pw, sizeof(pw));
	if (r != MP_OK) {
		fprintf(stderr, PROG ": --password: %s\n",
		        r == MP_ERR_PARSE ? "the password is not valid UTF-8"
		                          : "too many credentials");
		return -1;
	}
	return 0;
}

static int read_password_file(struct mp_cap_creds *creds, const char *path)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": --password-file %s: %s\n", path, strerror(errno));
		return -1;
	}
	static char pw[MAX_PASSWORD + 1];
	int rc, n = 0, status = 0;
	while ((rc = read_line(fd, pw, sizeof(pw), "password")) > 0) {
		if (!pw[0])
			continue;
		int r = mp_cap_creds_add_password(creds, pw);
		if (r != MP_OK) {
			fprintf(stderr, PROG ": --password-file %s: %s\n", path,
			        r == MP_ERR_PARSE ? "a password is not valid UTF-8"
			                          : "more passwords than mapidump holds (64)");
			status = -1;
			break;
		}
		n++;
	}
	mp_ntlm_wipe(pw, sizeof(pw));
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc < 0)
		return -1;
	if (status == 0 && n == 0) {
		fprintf(stderr, PROG ": --password-file %s: no password in it (one per line)\n",
		        path);
		return -1;
	}
	return status;
}

/* ---- main ----------------------------------------------------------------- */

static bool parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > (1ull << 32))
		return false;
	*out = (size_t)v;
	return true;
}

enum {
	OPT_PASSWORD = 256,
	OPT_PASSWORD_FILE,
	OPT_NT_HASH,
	OPT_JSON,
	OPT_PDUS,
	OPT_NO_DETECT,
	OPT_MAX_BYTES,
	OPT_MAX_CALL,
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"read", required_argument, NULL, 'r'},
	    {"port", required_argument, NULL, 'p'},
	    {"filter", required_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"password", no_argument, NULL, OPT_PASSWORD},
	    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
	    {"nt-hash", required_argument, NULL, OPT_NT_HASH},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"pdus", no_argument, NULL, OPT_PDUS},
	    {"no-detect", no_argument, NULL, OPT_NO_DETECT},
	    {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
	    {"max-call-size", required_argument, NULL, OPT_MAX_CALL},
	    {NULL, 0, NULL, 0},
	};
	void *mem = talloc_new(NULL);
	const char *path = NULL;
	uint16_t ports[MAX_PORTS];
	size_t n_ports = 0;
	bool detect = true, want_password = false;
	const char *pw_files[16];
	size_t n_pw_files = 0;
	const char *filters[32];
	size_t n_filters = 0;
	struct mp_dump_opts dopts = {0};
	size_t max_call = DEFAULT_MAX_CALL;
	struct mp_cap_creds *creds = mp_cap_creds_new(mem);
	int status = EXIT_FAIL;
	if (!mem || !creds) {
		fprintf(stderr, PROG ": out of memory\n");
		return EXIT_FAIL;
	}

	int c;
	while ((c = getopt_long(argc, argv, "r:p:f:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			path = optarg;
			break;
		case 'p': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v == 0 || v > 65535) {
				status = usage_error("--port '%s': expected a TCP port (1-65535)",
				                     optarg);
				goto out;
			}
			if (n_ports >= MAX_PORTS) {
				status = usage_error("too many --port options (at most %s)", "64");
				goto out;
			}
			ports[n_ports++] = (uint16_t)v;
			break;
		}
		case 'f':
			if (n_filters >= sizeof(filters) / sizeof(filters[0])) {
				status =
				    usage_error("too many --filter options (at most %s)", "32");
				goto out;
			}
			filters[n_filters++] = optarg;
			break;
		case 'q':
			dopts.quiet = true;
			break;
		case 'h':
			usage(stdout);
			status = EXIT_OK;
			goto out;
		case 'V':
			printf(PROG " " MP_VERSION "\n");
			status = EXIT_OK;
			goto out;
		case OPT_PASSWORD:
			want_password = true;
			break;
		case OPT_PASSWORD_FILE:
			if (n_pw_files >= sizeof(pw_files) / sizeof(pw_files[0])) {
				status = usage_error(
				    "too many --password-file options (at most %s)", "16");
				goto out;
			}
			pw_files[n_pw_files++] = optarg;
			break;
		case OPT_NT_HASH: {
			uint8_t h[16];
			if (mp_cap_nt_hash_parse(optarg, h) != MP_OK) {
				status = usage_error("--nt-hash: expected 32 hex digits, got '%s'",
				                     optarg);
				goto out;
			}
			int r = mp_cap_creds_add_nt_hash(creds, h);
			mp_ntlm_wipe(h, sizeof(h));
			if (r != MP_OK) {
				status = usage_error("too many credentials (at most %s)", "64");
				goto out;
			}
			break;
		}
		case OPT_JSON:
			dopts.json = true;
			break;
		case OPT_PDUS:
			dopts.pdus = true;
			break;
		case OPT_NO_DETECT:
			detect = false;
			break;
		case OPT_MAX_BYTES:
			if (!parse_size(optarg, &dopts.max_bytes)) {
				status = usage_error("--max-bytes '%s': expected a number", optarg);
				goto out;
			}
			break;
		case OPT_MAX_CALL:
			if (!parse_size(optarg, &max_call) || max_call == 0) {
				status = usage_error(
				    "--max-call-size '%s': expected a positive number", optarg);
				goto out;
			}
			break;
		default:
			status = usage_error("%s", "unknown option");
			goto out;
		}
	}
	if (!path && optind < argc)
		path = argv[optind++];
	if (optind < argc) {
		status = usage_error("unexpected argument '%s' (passwords are never taken from the "
		                     "command line: use --password or --password-file)",
		                     argv[optind]);
		goto out;
	}
	if (!path) {
		status = usage_error("%s", "no capture given: use -r FILE");
		goto out;
	}
	bool stdin_capture = strcmp(path, "-") == 0;
	for (size_t i = 0; i < n_pw_files; i++) {
		if (strcmp(pw_files[i], "-") == 0 && (stdin_capture || want_password)) {
			status = usage_error("%s", "stdin cannot carry both the passwords and the "
			                           "capture (or a --password answer)");
			goto out;
		}
	}

	struct mp_dump *dump = mp_dump_new(mem, &dopts);
	if (!dump) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n_filters; i++) {
		char err[256];
		if (mp_dump_add_filter(dump, filters[i], err, sizeof(err)) != MP_OK) {
			status = usage_error("%s", err);
			goto out;
		}
	}
	if (want_password && ask_password(creds, stdin_capture) < 0)
		goto out;
	for (size_t i = 0; i < n_pw_files; i++)
		if (read_password_file(creds, pw_files[i]) < 0)
			goto out;

	char err[512];
	struct mp_pcap_source *src = mp_pcap_open(path, err, sizeof(err));
	if (!src) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	if (!n_ports) {
		memcpy(ports, default_ports, sizeof(default_ports));
		n_ports = sizeof(default_ports) / sizeof(default_ports[0]);
	}

	struct mp_dce_sink sink;
	mp_dump_sink(dump, &sink);
	struct mp_dce_tracker_opts topts = {
	    .ports = ports,
	    .n_ports = n_ports,
	    .detect = detect,
	    .dce = {.max_call_bytes = max_call, .creds = creds},
	};
	struct mp_dce_tracker *tracker = mp_dce_tracker_new(mem, &topts, &sink);
	struct mp_tcp_reasm *reasm =
	    tracker ? mp_tcp_reasm_new(NULL, ports, n_ports, mp_dce_tracker_event, tracker) : NULL;
	if (!reasm) {
		fprintf(stderr, PROG ": out of memory\n");
		mp_pcap_close(src);
		goto out;
	}
	mp_dce_tracker_set_reasm(tracker, reasm);

	struct mp_tcp_seg seg;
	int rc;
	while ((rc = mp_pcap_next(src, &seg, err, sizeof(err))) == 1)
		mp_tcp_reasm_add(reasm, &seg);
	mp_tcp_reasm_finish(reasm);

	struct mp_pcap_stats ps;
	struct mp_tcp_stats ts;
	struct mp_dce_tracker_stats ds;
	mp_pcap_get_stats(src, &ps);
	mp_tcp_reasm_get_stats(reasm, &ts);
	mp_dce_tracker_get_stats(tracker, &ds);
	mp_dump_summary(dump, &ps, &ts, &ds);
	fflush(stdout);
	if (rc < 0)
		fprintf(stderr,
		        PROG ": warning: %s: the capture ends early (%s); everything before that "
		             "point was decoded\n",
		        path, err);
	if (ds.followed == 0) {
		fprintf(stderr,
		        PROG ": no DCE/RPC connection found in %s (%llu TCP segments). "
		             "Connections are decoded on ports",
		        path, (unsigned long long)ps.tcp);
		for (size_t i = 0; i < n_ports; i++)
			fprintf(stderr, "%s %u", i ? "," : "", ports[i]);
		fprintf(stderr, "%s; if the server listens elsewhere, add --port N.\n",
		        detect ? " and wherever a connection starts with a bind" : "");
	}
	mp_tcp_reasm_free(reasm);
	mp_pcap_close(src);
	status = ferror(stdout) ? EXIT_FAIL : EXIT_OK;
	if (status == EXIT_FAIL)
		fprintf(stderr, PROG ": cannot write the output: %s\n", strerror(errno));
out:
	talloc_free(mem);
	return status;
}
