/*
 * mapiclient's subcommands (see commands.h).
 */
#include "client/commands.h"

#include "util/printer.h"
#include "util/status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Property tags (MS-OXPROPS). */
#define T_DISPLAY_NAME 0x3001001Fu
#define T_EMAIL_ADDRESS 0x3003001Fu
#define T_SMTP_ADDRESS 0x39FE001Fu
#define T_ACCOUNT 0x3A00001Fu
#define T_DISPLAY_TYPE 0x39000003u
#define T_ANR 0x360C001Fu
#define T_FOLDER_ID 0x67480014u
#define T_MID 0x674A0014u
#define T_CONTENT_COUNT 0x36020003u
#define T_UNREAD_COUNT 0x36030003u
#define T_SUBFOLDERS 0x360A000Bu
#define T_SUBJECT 0x0037001Fu
#define T_SENDER_NAME 0x0C1A001Fu
#define T_SENDER_EMAIL 0x0C1F001Fu
#define T_DISPLAY_TO 0x0E04001Fu
#define T_DISPLAY_CC 0x0E03001Fu
#define T_DELIVERY_TIME 0x0E060040u
#define T_SUBMIT_TIME 0x00390040u
#define T_MESSAGE_SIZE 0x0E080003u
#define T_HAS_ATTACH 0x0E1B000Bu
#define T_BODY 0x1000001Fu
#define T_MESSAGE_CLASS 0x001A001Fu
#define T_INTERNET_MSGID 0x1035001Fu
#define T_ATTACH_NUM 0x0E210003u
#define T_ATTACH_SIZE 0x0E200003u
#define T_ATTACH_LONG_FILENAME 0x3707001Fu
#define T_ATTACH_FILENAME 0x3704001Fu
#define T_ATTACH_METHOD 0x37050003u
#define T_ATTACH_DATA 0x37010102u

#define MAX_FOLDERS 2000
#define MAX_DEPTH 32
#define MAX_STREAM (64u << 20)
/* Streams from this size on show progress (on a terminal). */
#define PROGRESS_MIN (1u << 20)
#define READ_CHUNK 0x7000
#define WRITE_CHUNK 0x7000

static int err1(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int err1(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("mapiclient: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 1;
}

/* Print a JSON printer's output and free it. */
static int json_done(const struct mp_cmd_out *o, struct mp_printer *p)
{
	size_t n = 0;
	const char *s = mp_printer_output(p, &n);
	fwrite(s, 1, n, o->out);
	fputc('\n', o->out);
	mp_printer_free(p);
	return 0;
}

void mp_cmd_format_time(uint64_t ft, char *buf, size_t len)
{
	/* 100 ns ticks since 1601-01-01. */
	if (ft < 116444736000000000ull) {
		snprintf(buf, len, "-");
		return;
	}
	time_t t = (time_t)((ft - 116444736000000000ull) / 10000000ull);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

bool mp_cmd_parse_msgid(const char *s, uint64_t *fid, uint64_t *mid)
{
	char *end;
	errno = 0;
	unsigned long long a = strtoull(s, &end, 16);
	if (errno || end == s || *end != '/')
		return false;
	const char *m = end + 1;
	unsigned long long b = strtoull(m, &end, 16);
	if (errno || end == m || *end)
		return false;
	*fid = a;
	*mid = b;
	return true;
}

/* ---- address book ---- */

static const char *nz(const char *s)
{
	return s ? s : "";
}

int mp_cmd_whoami(struct mp_session *s, const struct mp_cmd_out *o)
{
	if (o->json) {
		struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
		mp_pr_str(p, "display_name", nz(s->display_name));
		mp_pr_str(p, "smtp", nz(s->smtp));
		mp_pr_str(p, "dn", nz(s->user_dn));
		mp_pr_str(p, "home_mdb", nz(s->home_mdb));
		mp_pr_str(p, "rfr_server", nz(s->rfr_server));
		mp_pr_str(p, "nspi_host", nz(s->nspi_host));
		mp_pr_begin_array(p, "network_addresses", s->n_net_addrs);
		for (uint32_t i = 0; i < s->n_net_addrs; i++)
			mp_pr_str(p, NULL, nz(s->net_addrs[i]));
		mp_pr_end_array(p);
		return json_done(o, p);
	}
	fprintf(o->out, "Display name: %s\nSMTP:         %s\nDN:           %s\nHome MDB:     %s\n",
	        nz(s->display_name), nz(s->smtp), nz(s->user_dn), nz(s->home_mdb));
	if (s->rfr_server)
		fprintf(o->out, "RFR referral: %s\n", s->rfr_server);
	for (uint32_t i = 0; i < s->n_net_addrs; i++)
		fprintf(o->out, "Net address:  %s\n", nz(s->net_addrs[i]));
	return 0;
}

int mp_cmd_resolve(struct mp_session *s, const struct mp_cmd_out *o, const char *name)
{
	static const uint32_t tags[] = {T_DISPLAY_NAME, T_SMTP_ADDRESS, T_EMAIL_ADDRESS, T_ACCOUNT,
	                                T_DISPLAY_TYPE};
	const char *names[1] = {name};
	struct mp_nspi_proptags *mids = NULL;
	struct mp_nspi_rowset *rows = NULL;
	void *mem = talloc_new(s);
	int rc = mp_nspi_client_resolve_names(&s->nspi, mem, names, 1, tags, 5, &mids, &rows);
	if (rc != MP_OK) {
		err1("resolve %s: %s", name, s->nspi.err);
		talloc_free(mem);
		return 1;
	}
	const struct mp_nspi_row *row = NULL;
	uint32_t mid = mids && mids->count >= 1 ? mids->tags[0] : 0;
	if (mid <= 1) {
		/* Unresolved or ambiguous: the candidates, as Outlook's Check Names
		 * finds them (NspiGetMatches with a PidTagAnr restriction). */
		struct mp_nspi_propval anr = {.proptag = T_ANR};
		anr.value.lpszW = (char *)name;
		struct mp_nspi_restriction res = {.rt = MP_NSPI_RES_PROPERTY};
		res.res.property.relop = 4; /* RELOP_EQ */
		res.res.property.proptag = T_ANR;
		res.res.property.prop = &anr;
		struct mp_nspi_stat st;
		mp_nspi_client_stat_init(&st);
		struct mp_nspi_proptags *m2 = NULL;
		struct mp_nspi_rowset *r2 = NULL;
		rc = mp_nspi_client_get_matches(&s->nspi, mem, &st, &res, 50, tags, 5, &m2, &r2);
		uint32_t n =
		    rc == MP_OK && m2 && r2 ? (m2->count < r2->count ? m2->count : r2->count) : 0;
		if (n == 1) {
			mid = m2->tags[0];
			row = &r2->rows[0];
		} else if (n > 1) {
			fprintf(stderr, "mapiclient: %s is ambiguous; candidates:\n", name);
			for (uint32_t i = 0; i < n; i++)
				fprintf(stderr, "  %s <%s>\n",
				        nz(mp_nspi_client_row_str(&r2->rows[i], T_DISPLAY_NAME)),
				        nz(mp_nspi_client_row_str(&r2->rows[i], T_SMTP_ADDRESS)));
			talloc_free(mem);
			return err1("give one of the SMTP addresses above");
		} else {
			talloc_free(mem);
			return err1(
			    "%s: not found in the address book (try the SMTP address or the "
			    "account name; `mapiclient gal` lists every entry)",
			    name);
		}
	}
	if (!row)
		row = rows && rows->count >= 1 ? &rows->rows[0] : NULL;
	const char *dn = mp_nspi_client_row_str(row, T_DISPLAY_NAME);
	const char *smtp = mp_nspi_client_row_str(row, T_SMTP_ADDRESS);
	const char *ex = mp_nspi_client_row_str(row, T_EMAIL_ADDRESS);
	const char *acct = mp_nspi_client_row_str(row, T_ACCOUNT);
	if (o->json) {
		struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
		mp_pr_uint(p, "mid", mid);
		mp_pr_str(p, "display_name", nz(dn));
		mp_pr_str(p, "smtp", nz(smtp));
		mp_pr_str(p, "dn", nz(ex));
		mp_pr_str(p, "account", nz(acct));
		talloc_free(mem);
		return json_done(o, p);
	}
	fprintf(o->out, "Display name: %s\nSMTP:         %s\nDN:           %s\n", nz(dn), nz(smtp),
	        nz(ex));
	if (acct)
		fprintf(o->out, "Account:      %s\n", acct);
	talloc_free(mem);
	return 0;
}

int mp_cmd_gal(struct mp_session *s, const struct mp_cmd_out *o, uint32_t max_rows)
{
	static const uint32_t tags[] = {T_DISPLAY_NAME, T_SMTP_ADDRESS, T_ACCOUNT, T_EMAIL_ADDRESS};
	struct mp_nspi_stat st;
	mp_nspi_client_stat_init(&st);
	void *mem = talloc_new(s);
	struct mp_printer *p = o->json ? mp_printer_new(MP_PRINT_JSON) : NULL;
	if (p)
		mp_pr_begin_array(p, "entries", 0);
	else
		fprintf(o->out, "%-30s %-34s %s\n", "NAME", "SMTP", "ACCOUNT");
	uint32_t total = 0;
	/* One page per call; a server that does not advance ends the loop at
	 * max_rows (or after 10000 pages). */
	for (unsigned page = 0; page < 10000 && total < max_rows; page++) {
		uint32_t want = max_rows - total < 100 ? max_rows - total : 100;
		struct mp_nspi_rowset *rows = NULL;
		int rc = mp_nspi_client_query_rows(&s->nspi, mem, &st, want, tags, 4, &rows);
		if (rc != MP_OK) {
			if (p)
				mp_printer_free(p);
			err1("gal: %s", s->nspi.err);
			talloc_free(mem);
			return 1;
		}
		uint32_t n = rows ? rows->count : 0;
		for (uint32_t i = 0; i < n && total < max_rows; i++, total++) {
			const struct mp_nspi_row *r = &rows->rows[i];
			const char *dn = mp_nspi_client_row_str(r, T_DISPLAY_NAME);
			const char *smtp = mp_nspi_client_row_str(r, T_SMTP_ADDRESS);
			const char *acct = mp_nspi_client_row_str(r, T_ACCOUNT);
			if (p) {
				mp_pr_begin(p, NULL);
				mp_pr_str(p, "display_name", nz(dn));
				mp_pr_str(p, "smtp", nz(smtp));
				mp_pr_str(p, "account", nz(acct));
				mp_pr_str(p, "dn", nz(mp_nspi_client_row_str(r, T_EMAIL_ADDRESS)));
				mp_pr_end(p);
			} else {
				fprintf(o->out, "%-30s %-34s %s\n", nz(dn), nz(smtp), nz(acct));
			}
		}
		if (n < want || st.cur_rec == 2 /* BOOKMARK_END */)
			break;
		talloc_free_children(mem);
	}
	talloc_free(mem);
	if (p) {
		mp_pr_end_array(p);
		mp_pr_uint(p, "count", total);
		return json_done(o, p);
	}
	return 0;
}

/* ---- store helpers ---- */

static int rop_fail(struct mp_session *s, const char *what)
{
	return err1("%s: %s", what, s->rop.err[0] ? s->rop.err : "failed");
}

static void release(struct mp_session *s, const uint32_t *h, unsigned n)
{
	void *mem = talloc_new(s);
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	for (unsigned i = 0; i < n; i++)
		if (h[i] != MP_ROP_NO_HANDLE && h[i] != 0)
			mp_rop_add_release(&r, mp_rop_req_handle(&r, h[i]));
	struct mp_rop_buf *rsp;
	if (r.n_rops)
		(void)mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	mp_rop_req_free(&r);
	talloc_free(mem);
}

/* Open a folder: its server handle. */
static int open_folder(struct mp_session *s, void *mem, uint64_t fid, uint32_t *h)
{
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t in = mp_rop_req_handle(&r, s->logon_handle);
	uint8_t out = mp_rop_req_slot(&r);
	mp_rop_add_open_folder(&r, in, out, fid);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopOpenFolder", &rop);
	if (rc == MP_OK)
		*h = out < rsp->n_handles ? rsp->handles[out] : MP_ROP_NO_HANDLE;
	mp_rop_req_free(&r);
	return rc;
}

static int open_message(struct mp_session *s, void *mem, uint64_t fid, uint64_t mid, uint32_t *h)
{
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t in = mp_rop_req_handle(&r, s->logon_handle);
	uint8_t out = mp_rop_req_slot(&r);
	mp_rop_add_open_message(&r, in, out, fid, mid);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopOpenMessage", &rop);
	if (rc == MP_OK)
		*h = out < rsp->n_handles ? rsp->handles[out] : MP_ROP_NO_HANDLE;
	mp_rop_req_free(&r);
	return rc;
}

enum table_kind { TBL_HIERARCHY, TBL_CONTENTS, TBL_ATTACH };

/* Rows of a table of `parent`, accumulated (at most max) under mem. */
struct rowset {
	uint32_t ncols;
	const uint32_t *cols;
	uint32_t count;
	struct mp_prop_row *rows;
};

static int table_rows(struct mp_session *s, void *mem, uint32_t parent, enum table_kind kind,
                      const uint32_t *cols, uint16_t ncols, uint32_t max, struct rowset *out)
{
	memset(out, 0, sizeof(*out));
	out->ncols = ncols;
	out->cols = cols;
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t in = mp_rop_req_handle(&r, parent);
	uint8_t t = mp_rop_req_slot(&r);
	if (kind == TBL_HIERARCHY)
		mp_rop_add_get_hierarchy_table(&r, in, t, 0);
	else if (kind == TBL_CONTENTS)
		mp_rop_add_get_contents_table(&r, in, t, 0);
	else
		mp_rop_add_get_attachment_table(&r, in, t);
	mp_rop_add_set_columns(&r, t, cols, ncols);
	uint16_t chunk = 50;
	mp_rop_add_query_rows(&r, t, chunk);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	uint32_t table = MP_ROP_NO_HANDLE;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "open table", &rop);
	if (rc == MP_OK)
		table = t < rsp->n_handles ? rsp->handles[t] : MP_ROP_NO_HANDLE;
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 1, "RopSetColumns", &rop);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 2, "RopQueryRows", &rop);
	mp_rop_req_free(&r);
	for (unsigned round = 0; rc == MP_OK && round < 100000; round++) {
		struct mp_rop_rows_view v;
		if (!mp_rop_client_rows(rop, &v)) {
			snprintf(s->rop.err, sizeof(s->rop.err),
			         "RopQueryRows: the rows could not be decoded");
			rc = MP_ERR_PARSE;
			break;
		}
		if (v.count) {
			struct mp_prop_row *nr = talloc_realloc(mem, out->rows, struct mp_prop_row,
			                                        out->count + v.count);
			if (!nr) {
				rc = MP_ERR_NOMEM;
				break;
			}
			memcpy(nr + out->count, v.rows, v.count * sizeof(*nr));
			out->rows = nr;
			out->count += v.count;
		}
		if (v.count < chunk || out->count >= max)
			break;
		mp_rop_req_init(&r);
		mp_rop_add_query_rows(&r, mp_rop_req_handle(&r, table), chunk);
		rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		if (rc == MP_OK)
			rc = mp_rop_client_result(&s->rop, rsp, 0, "RopQueryRows", &rop);
		mp_rop_req_free(&r);
	}
	if (out->count > max)
		out->count = max;
	release(s, &table, 1);
	return rc;
}

static const struct mp_propval *rs_val(const struct rowset *rs, uint32_t row, uint32_t tag)
{
	struct mp_rop_rows_view v = {rs->ncols, rs->cols, rs->count, rs->rows};
	return mp_rop_row_value(&v, row, tag);
}

static char *pv_str(void *mem, const struct mp_propval *v)
{
	if (!v)
		return NULL;
	if (v->type == MP_PT_STRING)
		return mp_client_utf16_to_utf8(mem, v->v.bin.data, v->v.bin.len);
	if (v->type == MP_PT_STRING8)
		return talloc_strndup(mem, (const char *)v->v.bin.data, v->v.bin.len);
	return NULL;
}

static uint64_t pv_u(const struct mp_propval *v, uint64_t dflt)
{
	if (!v)
		return dflt;
	switch (v->type) {
	case MP_PT_BOOLEAN:
		return v->v.b;
	case MP_PT_INTEGER16:
		return v->v.i2;
	case MP_PT_INTEGER32:
		return v->v.i4;
	case MP_PT_INTEGER64:
	case MP_PT_TIME:
		return v->v.i8;
	default:
		return dflt;
	}
}

/* ---- folders ---- */

static const uint32_t folder_cols[] = {T_FOLDER_ID, T_DISPLAY_NAME, T_CONTENT_COUNT, T_UNREAD_COUNT,
                                       T_SUBFOLDERS};

static int walk(struct mp_session *s, const struct mp_cmd_out *o, struct mp_printer *p,
                uint64_t fid, const char *path, unsigned depth, unsigned *seen)
{
	void *mem = talloc_new(s);
	uint32_t h;
	struct rowset rs;
	int rc = open_folder(s, mem, fid, &h);
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, path[0] ? path : "IPM subtree");
	}
	rc = table_rows(s, mem, h, TBL_HIERARCHY, folder_cols, 5, MAX_FOLDERS, &rs);
	release(s, &h, 1);
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, "hierarchy table");
	}
	for (uint32_t i = 0; i < rs.count && *seen < MAX_FOLDERS; i++) {
		(*seen)++;
		uint64_t id = pv_u(rs_val(&rs, i, T_FOLDER_ID), 0);
		char *name = pv_str(mem, rs_val(&rs, i, T_DISPLAY_NAME));
		uint64_t cnt = pv_u(rs_val(&rs, i, T_CONTENT_COUNT), 0);
		uint64_t unread = pv_u(rs_val(&rs, i, T_UNREAD_COUNT), 0);
		bool sub = pv_u(rs_val(&rs, i, T_SUBFOLDERS), 1) != 0;
		char *full = talloc_asprintf(mem, "%s%s%s", path, path[0] ? "/" : "", nz(name));
		if (p) {
			mp_pr_begin(p, NULL);
			mp_pr_str(p, "path", full);
			mp_pr_str(p, "fid", talloc_asprintf(mem, "%" PRIx64, id));
			mp_pr_uint(p, "messages", cnt);
			mp_pr_uint(p, "unread", unread);
			mp_pr_end(p);
		} else {
			fprintf(o->out, "%*s%-*s %6" PRIu64 " %6" PRIu64 "  %" PRIx64 "\n",
			        depth * 2, "", 40 - (int)(depth * 2 < 38 ? depth * 2 : 38),
			        nz(name), cnt, unread, id);
		}
		if (sub && id && depth + 1 < MAX_DEPTH) {
			rc = walk(s, o, p, id, full, depth + 1, seen);
			if (rc) {
				talloc_free(mem);
				return rc;
			}
		}
	}
	talloc_free(mem);
	return 0;
}

int mp_cmd_folders(struct mp_session *s, const struct mp_cmd_out *o)
{
	struct mp_printer *p = o->json ? mp_printer_new(MP_PRINT_JSON) : NULL;
	if (p)
		mp_pr_begin_array(p, "folders", 0);
	else
		fprintf(o->out, "%-40s %6s %6s  %s\n", "FOLDER", "MSGS", "UNREAD", "FID");
	unsigned seen = 0;
	int rc = walk(s, o, p, s->folder_ids[MP_FID_IPM_SUBTREE], "", 0, &seen);
	if (p) {
		if (rc) {
			mp_printer_free(p);
			return rc;
		}
		mp_pr_end_array(p);
		return json_done(o, p);
	}
	return rc;
}

/* A folder by name: a special folder, a path below the IPM subtree
 * ("Inbox/Archive", case-insensitive) or a hex folder ID. */
static int find_folder(struct mp_session *s, const char *name, uint64_t *fid)
{
	static const struct {
		const char *n;
		int idx;
	} special[] = {{"inbox", MP_FID_INBOX},     {"outbox", MP_FID_OUTBOX},
	               {"sent", MP_FID_SENT},       {"sent items", MP_FID_SENT},
	               {"deleted", MP_FID_DELETED}, {"deleted items", MP_FID_DELETED},
	               {"root", MP_FID_ROOT},       {"ipm", MP_FID_IPM_SUBTREE}};
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcasecmp(name, special[i].n)) {
			*fid = s->folder_ids[special[i].idx];
			return 0;
		}
	char *end;
	unsigned long long v = strtoull(name, &end, 16);
	if (*name && !*end && end - name >= 8) {
		*fid = v;
		return 0;
	}
	uint64_t cur = s->folder_ids[MP_FID_IPM_SUBTREE];
	void *mem = talloc_new(s);
	char *path = talloc_strdup(mem, name), *save = NULL;
	for (char *part = strtok_r(path, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		uint32_t h;
		struct rowset rs;
		if (open_folder(s, mem, cur, &h) != MP_OK) {
			talloc_free(mem);
			return rop_fail(s, name);
		}
		int rc = table_rows(s, mem, h, TBL_HIERARCHY, folder_cols, 5, MAX_FOLDERS, &rs);
		release(s, &h, 1);
		if (rc != MP_OK) {
			talloc_free(mem);
			return rop_fail(s, name);
		}
		bool found = false;
		for (uint32_t i = 0; i < rs.count && !found; i++) {
			char *n = pv_str(mem, rs_val(&rs, i, T_DISPLAY_NAME));
			if (n && !strcasecmp(n, part)) {
				cur = pv_u(rs_val(&rs, i, T_FOLDER_ID), 0);
				found = true;
			}
		}
		if (!found) {
			talloc_free(mem);
			return err1("no folder %s (at %s); `mapiclient folders` lists them", name,
			            part);
		}
	}
	talloc_free(mem);
	*fid = cur;
	return 0;
}

/* ---- ls ---- */

int mp_cmd_ls(struct mp_session *s, const struct mp_cmd_out *o, const char *folder,
              uint32_t max_rows)
{
	static const uint32_t cols[] = {T_MID,     T_DELIVERY_TIME, T_SENDER_NAME,
	                                T_SUBJECT, T_MESSAGE_SIZE,  T_HAS_ATTACH};
	uint64_t fid = 0;
	if (find_folder(s, folder ? folder : "Inbox", &fid))
		return 1;
	void *mem = talloc_new(s);
	uint32_t h;
	struct rowset rs;
	int rc = open_folder(s, mem, fid, &h);
	if (rc == MP_OK) {
		rc = table_rows(s, mem, h, TBL_CONTENTS, cols, 6, max_rows, &rs);
		release(s, &h, 1);
	}
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, folder ? folder : "Inbox");
	}
	struct mp_printer *p = o->json ? mp_printer_new(MP_PRINT_JSON) : NULL;
	if (p)
		mp_pr_begin_array(p, "messages", rs.count);
	else
		fprintf(o->out, "%-34s %-16s %-24s %8s %s %s\n", "ID", "DATE", "FROM", "SIZE", "A",
		        "SUBJECT");
	for (uint32_t i = 0; i < rs.count; i++) {
		uint64_t mid = pv_u(rs_val(&rs, i, T_MID), 0);
		char when[32];
		mp_cmd_format_time(pv_u(rs_val(&rs, i, T_DELIVERY_TIME), 0), when, sizeof(when));
		char *from = pv_str(mem, rs_val(&rs, i, T_SENDER_NAME));
		char *subj = pv_str(mem, rs_val(&rs, i, T_SUBJECT));
		uint64_t size = pv_u(rs_val(&rs, i, T_MESSAGE_SIZE), 0);
		bool att = pv_u(rs_val(&rs, i, T_HAS_ATTACH), 0) != 0;
		char *id = talloc_asprintf(mem, "%" PRIx64 "/%" PRIx64, fid, mid);
		if (p) {
			mp_pr_begin(p, NULL);
			mp_pr_str(p, "id", id);
			mp_pr_str(p, "date", when);
			mp_pr_str(p, "from", nz(from));
			mp_pr_str(p, "subject", nz(subj));
			mp_pr_uint(p, "size", size);
			mp_pr_bool(p, "attachments", att);
			mp_pr_end(p);
		} else {
			fprintf(o->out, "%-34s %-16s %-24.24s %8" PRIu64 " %s %s\n", id, when,
			        nz(from), size, att ? "@" : " ", nz(subj));
		}
	}
	talloc_free(mem);
	if (p) {
		mp_pr_end_array(p);
		return json_done(o, p);
	}
	return 0;
}

/* ---- progress ---- */

/* "what: 45% (1.2 of 2.6 MB)" redrawn on stderr when it is a terminal; a
 * pipe or a file gets nothing. `done == total` ends the line. */
static void progress(const char *what, uint64_t done, uint64_t total)
{
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || !total)
		return;
	unsigned pct = (unsigned)(done * 100 / total);
	fprintf(stderr, "\r%s: %3u%% (%.1f of %.1f MB)%s", what, pct, (double)done / 1e6,
	        (double)total / 1e6, done >= total ? "\n" : "");
	fflush(stderr);
}

/* ---- streams ---- */

/* Read a whole property stream of object `h` into a talloc buffer. */
static int read_stream(struct mp_session *s, void *mem, uint32_t h, uint32_t tag, uint8_t **data,
                       size_t *len)
{
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t in = mp_rop_req_handle(&r, h);
	uint8_t out = mp_rop_req_slot(&r);
	mp_rop_add_open_stream(&r, in, out, tag, 0);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopOpenStream", &rop);
	mp_rop_req_free(&r);
	if (rc != MP_OK)
		return rc;
	uint32_t st = out < rsp->n_handles ? rsp->handles[out] : MP_ROP_NO_HANDLE;
	uint64_t size = 0;
	(void)mp_rop_get_uint(rop, "StreamSize", &size);
	if (size > MAX_STREAM) {
		release(s, &st, 1);
		snprintf(s->rop.err, sizeof(s->rop.err), "stream of %" PRIu64 " bytes is too large",
		         size);
		return MP_ERR_LIMIT;
	}
	struct mp_wbuf acc;
	mp_wb_init(&acc);
	for (unsigned i = 0; i < MAX_STREAM / 512 && rc == MP_OK; i++) {
		mp_rop_req_init(&r);
		mp_rop_add_read_stream(&r, mp_rop_req_handle(&r, st), READ_CHUNK);
		rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		if (rc == MP_OK)
			rc = mp_rop_client_result(&s->rop, rsp, 0, "RopReadStream", &rop);
		mp_rop_req_free(&r);
		if (rc != MP_OK)
			break;
		const struct mp_rop_val *d = mp_rop_field(rop, "Data");
		size_t n = d ? d->n : 0;
		if (n)
			mp_wb_bytes(&acc, d->bytes, n);
		if (size >= PROGRESS_MIN)
			progress("reading", acc.len < size ? acc.len : size, size);
		if (acc.len > MAX_STREAM) {
			rc = MP_ERR_LIMIT;
			break;
		}
		if (n == 0 || (size && acc.len >= size))
			break;
	}
	release(s, &st, 1);
	/* A NUL after the stream (bodies are printed as strings): the buffer
	 * may be exactly full, so append it rather than read past the end. */
	size_t n = acc.len;
	mp_wb_u8(&acc, 0);
	if (rc == MP_OK && !acc.bad) {
		*data = talloc_memdup(mem, acc.data, n + 1);
		*len = n;
	}
	mp_wb_free(&acc);
	return rc;
}

/* ---- show ---- */

int mp_cmd_show(struct mp_session *s, const struct mp_cmd_out *o, const char *msgid)
{
	uint64_t fid, mid;
	if (!mp_cmd_parse_msgid(msgid, &fid, &mid))
		return err1("bad message ID %s: use the FID/MID form `mapiclient ls` prints",
		            msgid);
	static const uint32_t tags[] = {T_SUBJECT,     T_SENDER_NAME,   T_SENDER_EMAIL,
	                                T_DISPLAY_TO,  T_DISPLAY_CC,    T_DELIVERY_TIME,
	                                T_SUBMIT_TIME, T_MESSAGE_CLASS, T_INTERNET_MSGID,
	                                T_BODY,        T_HAS_ATTACH};
	const uint16_t nt = sizeof(tags) / sizeof(tags[0]);
	void *mem = talloc_new(s);
	uint32_t h;
	int rc = open_message(s, mem, fid, mid, &h);
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, msgid);
	}
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	mp_rop_add_get_props_specific(&r, mp_rop_req_handle(&r, h), tags, nt);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopGetPropertiesSpecific", &rop);
	mp_rop_req_free(&r);
	struct mp_rop_rows_view v;
	if (rc == MP_OK && !mp_rop_client_rows(rop, &v)) {
		snprintf(s->rop.err, sizeof(s->rop.err), "the properties could not be decoded");
		rc = MP_ERR_PARSE;
	}
	if (rc != MP_OK) {
		release(s, &h, 1);
		talloc_free(mem);
		return rop_fail(s, msgid);
	}
	char *subj = pv_str(mem, mp_rop_row_value(&v, 0, T_SUBJECT));
	char *from = pv_str(mem, mp_rop_row_value(&v, 0, T_SENDER_NAME));
	char *from_addr = pv_str(mem, mp_rop_row_value(&v, 0, T_SENDER_EMAIL));
	char *to = pv_str(mem, mp_rop_row_value(&v, 0, T_DISPLAY_TO));
	char *cc = pv_str(mem, mp_rop_row_value(&v, 0, T_DISPLAY_CC));
	char *cls = pv_str(mem, mp_rop_row_value(&v, 0, T_MESSAGE_CLASS));
	char *imid = pv_str(mem, mp_rop_row_value(&v, 0, T_INTERNET_MSGID));
	char date[32];
	uint64_t t = pv_u(mp_rop_row_value(&v, 0, T_DELIVERY_TIME), 0);
	if (!t)
		t = pv_u(mp_rop_row_value(&v, 0, T_SUBMIT_TIME), 0);
	mp_cmd_format_time(t, date, sizeof(date));
	char *body = pv_str(mem, mp_rop_row_value(&v, 0, T_BODY));
	bool has_att = pv_u(mp_rop_row_value(&v, 0, T_HAS_ATTACH), 0) != 0;
	if (!body) {
		/* Too large for GetPropertiesSpecific (or absent): read the stream. */
		uint8_t *b = NULL;
		size_t bl = 0;
		if (read_stream(s, mem, h, T_BODY, &b, &bl) == MP_OK)
			body = mp_client_utf16_to_utf8(mem, b, bl);
	}
	static const uint32_t acols[] = {T_ATTACH_NUM, T_ATTACH_LONG_FILENAME, T_ATTACH_FILENAME,
	                                 T_ATTACH_SIZE};
	struct rowset as = {0};
	if (has_att && table_rows(s, mem, h, TBL_ATTACH, acols, 4, 1000, &as) != MP_OK)
		fprintf(stderr, "mapiclient: attachment table: %s\n", s->rop.err);
	release(s, &h, 1);

	struct mp_printer *p = o->json ? mp_printer_new(MP_PRINT_JSON) : NULL;
	if (p) {
		mp_pr_str(p, "id", msgid);
		mp_pr_str(p, "subject", nz(subj));
		mp_pr_str(p, "from", nz(from));
		mp_pr_str(p, "from_address", nz(from_addr));
		mp_pr_str(p, "to", nz(to));
		mp_pr_str(p, "cc", nz(cc));
		mp_pr_str(p, "date", date);
		mp_pr_str(p, "message_class", nz(cls));
		mp_pr_str(p, "internet_message_id", nz(imid));
		mp_pr_begin_array(p, "attachments", as.count);
	} else {
		fprintf(o->out, "Subject: %s\nFrom:    %s%s%s%s\nTo:      %s\n", nz(subj), nz(from),
		        from_addr ? " <" : "", nz(from_addr), from_addr ? ">" : "", nz(to));
		if (cc && *cc)
			fprintf(o->out, "Cc:      %s\n", cc);
		fprintf(o->out, "Date:    %s\n", date);
		if (cls)
			fprintf(o->out, "Class:   %s\n", cls);
	}
	for (uint32_t i = 0; i < as.count; i++) {
		uint64_t num = pv_u(rs_val(&as, i, T_ATTACH_NUM), i);
		char *fn = pv_str(mem, rs_val(&as, i, T_ATTACH_LONG_FILENAME));
		if (!fn)
			fn = pv_str(mem, rs_val(&as, i, T_ATTACH_FILENAME));
		uint64_t sz = pv_u(rs_val(&as, i, T_ATTACH_SIZE), 0);
		if (p) {
			mp_pr_begin(p, NULL);
			mp_pr_uint(p, "number", num);
			mp_pr_str(p, "filename", nz(fn));
			mp_pr_uint(p, "size", sz);
			mp_pr_end(p);
		} else {
			fprintf(o->out, "Attach:  [%" PRIu64 "] %s (%" PRIu64 " bytes)\n", num,
			        nz(fn), sz);
		}
	}
	if (p) {
		mp_pr_end_array(p);
		mp_pr_str(p, "body", nz(body));
		talloc_free(mem);
		return json_done(o, p);
	}
	fprintf(o->out, "\n%s%s", nz(body),
	        body && *body && body[strlen(body) - 1] == '\n' ? "" : "\n");
	talloc_free(mem);
	return 0;
}

/* ---- get-attachment ---- */

int mp_cmd_get_attachment(struct mp_session *s, const struct mp_cmd_out *o, const char *msgid,
                          uint32_t num, const char *file)
{
	uint64_t fid, mid;
	if (!mp_cmd_parse_msgid(msgid, &fid, &mid))
		return err1("bad message ID %s: use the FID/MID form `mapiclient ls` prints",
		            msgid);
	void *mem = talloc_new(s);
	uint32_t h, a = MP_ROP_NO_HANDLE;
	int rc = open_message(s, mem, fid, mid, &h);
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, msgid);
	}
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t in = mp_rop_req_handle(&r, h);
	uint8_t out = mp_rop_req_slot(&r);
	mp_rop_add_open_attachment(&r, in, out, num);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopOpenAttachment", &rop);
	if (rc == MP_OK)
		a = out < rsp->n_handles ? rsp->handles[out] : MP_ROP_NO_HANDLE;
	mp_rop_req_free(&r);
	uint8_t *data = NULL;
	size_t len = 0;
	if (rc == MP_OK)
		rc = read_stream(s, mem, a, T_ATTACH_DATA, &data, &len);
	uint32_t hs[2] = {a, h};
	release(s, hs, 2);
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, "get-attachment");
	}
	FILE *f = strcmp(file, "-") ? fopen(file, "wb") : stdout;
	if (!f) {
		talloc_free(mem);
		return err1("cannot write %s: %s", file, strerror(errno));
	}
	bool ok = fwrite(data, 1, len, f) == len;
	if (f != stdout)
		ok = (fclose(f) == 0) && ok;
	talloc_free(mem);
	if (!ok)
		return err1("cannot write %s: %s", file, strerror(errno));
	if (o->json && f != stdout) {
		struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
		mp_pr_str(p, "file", file);
		mp_pr_uint(p, "bytes", len);
		return json_done(o, p);
	}
	if (f != stdout)
		fprintf(o->out, "%s: %zu bytes\n", file, len);
	return 0;
}

/* ---- send ---- */

static struct mp_tagged_pv str_pv(void *mem, uint32_t tag, const char *s)
{
	size_t n = 0;
	uint8_t *u = mp_client_utf8_to_utf16(mem, s, &n);
	struct mp_tagged_pv v = {.tag = tag};
	v.val.type = MP_PT_STRING;
	v.val.v.bin.data = u;
	v.val.v.bin.len = (uint32_t)n;
	return v;
}

/* A recipient given as an SMTP address is used as is; anything else is
 * resolved in the address book first. */
static int recipient(struct mp_session *s, void *mem, const char *arg, uint8_t type,
                     struct mp_rop_recipient *out)
{
	out->type = type;
	if (strchr(arg, '@')) {
		out->smtp = arg;
		out->display_name = arg;
		return 0;
	}
	static const uint32_t tags[] = {T_DISPLAY_NAME, T_SMTP_ADDRESS};
	const char *names[1] = {arg};
	struct mp_nspi_proptags *mids = NULL;
	struct mp_nspi_rowset *rows = NULL;
	if (mp_nspi_client_resolve_names(&s->nspi, mem, names, 1, tags, 2, &mids, &rows) != MP_OK)
		return err1("recipient %s: %s", arg, s->nspi.err);
	if (!mids || !mids->count || mids->tags[0] <= 1 || !rows || !rows->count)
		return err1("recipient %s is %s in the address book: give an SMTP address", arg,
		            mids && mids->count && mids->tags[0] == 1 ? "ambiguous" : "unknown");
	out->smtp = mp_nspi_client_row_str(&rows->rows[0], T_SMTP_ADDRESS);
	out->display_name = mp_nspi_client_row_str(&rows->rows[0], T_DISPLAY_NAME);
	if (!out->smtp)
		return err1("recipient %s has no SMTP address", arg);
	return 0;
}

static int read_file(void *mem, const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return err1("cannot read %s: %s", path, strerror(errno));
	struct mp_wbuf w;
	mp_wb_init(&w);
	uint8_t buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && w.len <= MAX_STREAM)
		mp_wb_bytes(&w, buf, n);
	bool err = ferror(f);
	fclose(f);
	if (err || w.bad || w.len > MAX_STREAM) {
		mp_wb_free(&w);
		return err1("cannot read %s (larger than %u bytes?)", path, MAX_STREAM);
	}
	*data = talloc_memdup(mem, w.data ? w.data : buf, w.len ? w.len : 1);
	*len = w.len;
	mp_wb_free(&w);
	return 0;
}

static int add_attachment(struct mp_session *s, void *mem, uint32_t msg, const char *path)
{
	uint8_t *data;
	size_t len;
	if (read_file(mem, path, &data, &len))
		return 1;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t m = mp_rop_req_handle(&r, msg);
	uint8_t a = mp_rop_req_slot(&r);
	uint8_t st = mp_rop_req_slot(&r);
	mp_rop_add_create_attachment(&r, m, a);
	struct mp_tagged_pv pv[3];
	pv[0] = (struct mp_tagged_pv){.tag = T_ATTACH_METHOD};
	pv[0].val.type = MP_PT_INTEGER32;
	pv[0].val.v.i4 = 1; /* afByValue */
	pv[1] = str_pv(mem, T_ATTACH_LONG_FILENAME, base);
	pv[2] = str_pv(mem, T_DISPLAY_NAME, base);
	mp_rop_add_set_properties(&r, a, pv, 3);
	mp_rop_add_open_stream(&r, a, st, T_ATTACH_DATA, 2 /* create */);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	for (size_t i = 0; rc == MP_OK && i < 3; i++)
		rc = mp_rop_client_result(&s->rop, rsp, i, path, &rop);
	uint32_t ha = rc == MP_OK && a < rsp->n_handles ? rsp->handles[a] : MP_ROP_NO_HANDLE;
	uint32_t hs = rc == MP_OK && st < rsp->n_handles ? rsp->handles[st] : MP_ROP_NO_HANDLE;
	mp_rop_req_free(&r);
	for (size_t off = 0; rc == MP_OK && off < len; off += WRITE_CHUNK) {
		size_t n = len - off < WRITE_CHUNK ? len - off : WRITE_CHUNK;
		mp_rop_req_init(&r);
		mp_rop_add_write_stream(&r, mp_rop_req_handle(&r, hs), data + off, (uint16_t)n);
		rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		if (rc == MP_OK)
			rc = mp_rop_client_result(&s->rop, rsp, 0, path, &rop);
		mp_rop_req_free(&r);
	}
	if (rc == MP_OK) {
		mp_rop_req_init(&r);
		uint8_t si = mp_rop_req_handle(&r, hs);
		uint8_t ai = mp_rop_req_handle(&r, ha);
		uint8_t mi = mp_rop_req_handle(&r, msg);
		mp_rop_add_commit_stream(&r, si);
		mp_rop_add_save_changes_attachment(&r, mi, ai, 0x02);
		rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		for (size_t i = 0; rc == MP_OK && i < 2; i++)
			rc = mp_rop_client_result(&s->rop, rsp, i, path, &rop);
		mp_rop_req_free(&r);
	}
	uint32_t hh[2] = {hs, ha};
	release(s, hh, 2);
	return rc == MP_OK ? 0 : rop_fail(s, "attachment");
}

int mp_cmd_send(struct mp_session *s, const struct mp_cmd_out *o, const struct mp_send_args *a)
{
	void *mem = talloc_new(s);
	unsigned n = a->n_to + a->n_cc;
	struct mp_rop_recipient *rc_list = talloc_zero_array(mem, struct mp_rop_recipient, n + 1);
	for (unsigned i = 0; i < a->n_to; i++)
		if (recipient(s, mem, a->to[i], 1, &rc_list[i])) {
			talloc_free(mem);
			return 1;
		}
	for (unsigned i = 0; i < a->n_cc; i++)
		if (recipient(s, mem, a->cc[i], 2, &rc_list[a->n_to + i])) {
			talloc_free(mem);
			return 1;
		}
	struct mp_tagged_pv pv[3] = {
	    str_pv(mem, T_MESSAGE_CLASS, "IPM.Note"),
	    str_pv(mem, T_SUBJECT, a->subject ? a->subject : ""),
	    str_pv(mem, T_BODY, a->body ? a->body : ""),
	};
	if (!pv[1].val.v.bin.data || !pv[2].val.v.bin.data) {
		talloc_free(mem);
		return err1("subject and body must be UTF-8");
	}
	if (pv[2].val.v.bin.len > 24000) {
		talloc_free(mem);
		return err1("the body is too long for this client (at most about 12000 characters; "
		            "send the text as an attachment)");
	}
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t lg = mp_rop_req_handle(&r, s->logon_handle);
	uint8_t m = mp_rop_req_slot(&r);
	mp_rop_add_create_message(&r, lg, m, s->folder_ids[MP_FID_OUTBOX]);
	mp_rop_add_set_properties(&r, m, pv, 3);
	mp_rop_add_modify_recipients(&r, m, rc_list, (uint16_t)n);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	static const char *const what[] = {"RopCreateMessage", "RopSetProperties",
	                                   "RopModifyRecipients"};
	for (size_t i = 0; rc == MP_OK && i < 3; i++)
		rc = mp_rop_client_result(&s->rop, rsp, i, what[i], &rop);
	uint32_t msg = rc == MP_OK && m < rsp->n_handles ? rsp->handles[m] : MP_ROP_NO_HANDLE;
	mp_rop_req_free(&r);
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, "send");
	}
	for (unsigned i = 0; i < a->n_attach; i++)
		if (add_attachment(s, mem, msg, a->attach[i])) {
			release(s, &msg, 1);
			talloc_free(mem);
			return 1;
		}
	mp_rop_req_init(&r);
	uint8_t mi = mp_rop_req_handle(&r, msg);
	mp_rop_add_save_changes_message(&r, mi, mi, 0x02);
	mp_rop_add_submit_message(&r, mi);
	rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	uint64_t saved = 0;
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopSaveChangesMessage", &rop);
	if (rc == MP_OK)
		(void)mp_rop_get_uint(rop, "MessageId", &saved);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 1, "RopSubmitMessage", &rop);
	mp_rop_req_free(&r);
	release(s, &msg, 1);
	if (rc != MP_OK) {
		talloc_free(mem);
		return rop_fail(s, "send");
	}
	char *id =
	    talloc_asprintf(mem, "%" PRIx64 "/%" PRIx64, s->folder_ids[MP_FID_OUTBOX], saved);
	if (o->json) {
		struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
		mp_pr_str(p, "submitted", id);
		mp_pr_uint(p, "recipients", n);
		mp_pr_uint(p, "attachments", a->n_attach);
		talloc_free(mem);
		return json_done(o, p);
	}
	fprintf(o->out, "submitted %s to %u recipient%s\n", id, n, n == 1 ? "" : "s");
	talloc_free(mem);
	return 0;
}

/* ---- bench ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* What one bench operation does; "mix" cycles through the others the way a
 * client reading mail does: the address book, the store object, the Inbox's
 * contents table, one message's properties. */
enum bench_op { B_NSPI, B_ROP, B_TABLE, B_MESSAGE, B_MIX };

struct bench_ctx {
	enum bench_op op;
	uint64_t inbox;
	uint64_t mid; /* a message of the Inbox, 0 when empty */
};

static int bench_one(struct mp_session *s, void *mem, const struct bench_ctx *b, uint32_t i)
{
	static const uint32_t tags[] = {T_DISPLAY_NAME, T_SMTP_ADDRESS};
	static const uint32_t cols[] = {T_MID, T_DELIVERY_TIME, T_SENDER_NAME, T_SUBJECT};
	static const uint32_t mtags[] = {T_SUBJECT, T_SENDER_NAME, T_DELIVERY_TIME, T_HAS_ATTACH};
	enum bench_op op = b->op;
	if (op == B_MIX)
		op = (enum bench_op)(i % (b->mid ? 4 : 3));
	if (op == B_NSPI) {
		struct mp_nspi_row *row;
		return mp_nspi_client_get_props(&s->nspi, mem, s->mid, tags, 2, &row);
	}
	if (op == B_TABLE) {
		uint32_t h;
		struct rowset rs;
		int rc = open_folder(s, mem, b->inbox, &h);
		if (rc == MP_OK) {
			rc = table_rows(s, mem, h, TBL_CONTENTS, cols, 4, 50, &rs);
			release(s, &h, 1);
		}
		return rc;
	}
	uint32_t h = s->logon_handle;
	const uint32_t *t = tags;
	uint16_t nt = 1;
	if (op == B_MESSAGE) {
		int rc = open_message(s, mem, b->inbox, b->mid, &h);
		if (rc != MP_OK)
			return rc;
		t = mtags;
		nt = 4;
	}
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	mp_rop_add_get_props_specific(&r, mp_rop_req_handle(&r, h), t, nt);
	struct mp_rop_buf *rsp;
	const struct mp_rop *x;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopGetPropertiesSpecific", &x);
	mp_rop_req_free(&r);
	if (op == B_MESSAGE)
		release(s, &h, 1);
	return rc;
}

static const char *bench_name(enum bench_op op)
{
	static const char *const names[] = {"NspiGetProps", "RopGetPropertiesSpecific",
	                                    "contents table", "message properties", "mix"};
	return names[op];
}

bool mp_cmd_bench_needs_store(const char *op)
{
	return strcmp(op, "nspi") != 0;
}

static int bench_setup(struct mp_session *s, const char *op, struct bench_ctx *b)
{
	static const struct {
		const char *name;
		enum bench_op op;
	} ops[] = {{"nspi", B_NSPI}, {"rop", B_ROP}, {"table", B_TABLE}, {"message", B_MESSAGE},
	           {"mix", B_MIX}};
	memset(b, 0, sizeof(*b));
	size_t k = 0;
	while (k < sizeof(ops) / sizeof(ops[0]) && strcmp(ops[k].name, op) != 0)
		k++;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return err1("bench: unknown --op %s (nspi, rop, table, message, mix)", op);
	b->op = ops[k].op;
	if (b->op == B_NSPI || b->op == B_ROP)
		return 0;
	b->inbox = s->folder_ids[MP_FID_INBOX];
	/* A message to open: the Inbox's first. */
	static const uint32_t cols[] = {T_MID};
	void *mem = talloc_new(s);
	uint32_t h;
	struct rowset rs = {0};
	int rc = open_folder(s, mem, b->inbox, &h);
	if (rc == MP_OK) {
		rc = table_rows(s, mem, h, TBL_CONTENTS, cols, 1, 1, &rs);
		release(s, &h, 1);
	}
	if (rc == MP_OK && rs.count)
		b->mid = pv_u(rs_val(&rs, 0, T_MID), 0);
	talloc_free(mem);
	if (rc != MP_OK)
		return rop_fail(s, "bench: Inbox");
	if (b->op == B_MESSAGE && !b->mid)
		return err1("bench: --op message needs a message in the Inbox");
	return 0;
}

/* Run the loop; latencies (ns) of the measured calls into lat[calls]. */
static int bench_loop(struct mp_session *s, const struct bench_ctx *b, uint32_t calls,
                      uint32_t warmup, uint64_t *lat, bool show_progress)
{
	void *mem = talloc_new(s);
	for (uint32_t i = 0; i < warmup + calls; i++) {
		uint64_t t0 = now_ns();
		int rc = bench_one(s, mem, b, i);
		uint64_t t1 = now_ns();
		talloc_free_children(mem);
		if (rc != MP_OK) {
			talloc_free(mem);
			return err1("bench: call %u failed: %s", i,
			            b->op == B_NSPI ? s->nspi.err : s->rop.err);
		}
		if (i >= warmup)
			lat[i - warmup] = t1 - t0;
		if (show_progress && ((i + 1) % 256 == 0 || i + 1 == warmup + calls))
			progress("bench", i + 1, warmup + calls);
	}
	talloc_free(mem);
	return 0;
}

static int bench_report(const struct mp_cmd_out *o, enum bench_op op, uint32_t sessions,
                        uint64_t *lat, uint64_t n, double wall_s)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	double p50 = (double)lat[(n - 1) * 50 / 100] / 1e3;
	double p99 = (double)lat[(n - 1) * 99 / 100] / 1e3;
	double rate = wall_s > 0 ? (double)n / wall_s : 0;
	if (o->json) {
		struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
		mp_pr_str(p, "op", bench_name(op));
		mp_pr_uint(p, "sessions", sessions);
		mp_pr_uint(p, "calls", n);
		mp_pr_double(p, "seconds", wall_s);
		mp_pr_double(p, "calls_per_s", rate);
		mp_pr_double(p, "p50_us", p50);
		mp_pr_double(p, "p99_us", p99);
		return json_done(o, p);
	}
	fprintf(o->out,
	        "%s: sessions=%u calls=%" PRIu64 " seconds=%.3f calls_per_s=%.1f p50_us=%.1f "
	        "p99_us=%.1f\n",
	        bench_name(op), sessions, n, wall_s, rate, p50, p99);
	return 0;
}

int mp_cmd_bench(struct mp_session *s, const struct mp_cmd_out *o, const char *op, uint32_t calls,
                 uint32_t warmup)
{
	struct bench_ctx b;
	int rc = bench_setup(s, op, &b);
	if (rc)
		return rc;
	uint64_t *lat = talloc_array(s, uint64_t, calls);
	if (!lat)
		return err1("out of memory");
	uint64_t t0 = now_ns();
	if ((rc = bench_loop(s, &b, calls, warmup, lat, !o->json)))
		return rc;
	/* One session: the calls' own time (the warm-up excluded). */
	uint64_t total = 0;
	for (uint32_t i = 0; i < calls; i++)
		total += lat[i];
	(void)t0;
	return bench_report(o, b.op, 1, lat, calls, (double)total / 1e9);
}

/* One child of a parallel bench: its own session, then wait for the start. */
struct bench_child_hdr {
	int32_t rc;
	uint32_t n;
	uint64_t t_start, t_end;
};

static bool write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static bool read_all(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

static void bench_child(const struct mp_client_opts *opts, const char *op, uint32_t calls,
                        uint32_t warmup, int ready_fd, int go_fd, int out_fd)
{
	struct bench_child_hdr h = {.rc = 1};
	void *mem = talloc_new(NULL);
	struct mp_session *s = mp_session_new(mem, opts);
	uint64_t *lat = talloc_array(mem, uint64_t, calls);
	struct mp_cmd_out quiet = {.out = stdout, .json = true};
	struct bench_ctx b;
	char c = 0;
	bool ok = s && lat && mp_session_open_ab(s) == MP_OK &&
	          (!mp_cmd_bench_needs_store(op) || mp_session_open_store(s) == MP_OK) &&
	          bench_setup(s, op, &b) == 0;
	if (!ok && s && s->err[0])
		fprintf(stderr, "mapiclient: bench session: %s\n", s->err);
	c = ok ? 'r' : 'x';
	write_all(ready_fd, &c, 1);
	if (ok && read_all(go_fd, &c, 1)) {
		h.t_start = now_ns();
		h.rc = bench_loop(s, &b, calls, warmup, lat, false);
		h.t_end = now_ns();
		h.n = h.rc == 0 ? calls : 0;
	}
	(void)quiet;
	write_all(out_fd, &h, sizeof(h));
	if (h.n)
		write_all(out_fd, lat, (size_t)h.n * sizeof(*lat));
	if (s)
		mp_session_close(s);
	talloc_free(mem);
	_exit(h.rc == 0 ? 0 : 1);
}

int mp_cmd_bench_parallel(const struct mp_client_opts *opts, const struct mp_cmd_out *o,
                          const char *op, uint32_t calls, uint32_t warmup, uint32_t sessions)
{
	int ready[2], go[2];
	if (pipe(ready) || pipe(go))
		return err1("bench: pipe: %s", strerror(errno));
	pid_t *pids = calloc(sessions, sizeof(*pids));
	int *outs = calloc(sessions, sizeof(*outs));
	if (!pids || !outs) {
		free(pids);
		free(outs);
		return err1("out of memory");
	}
	fflush(NULL);
	uint32_t started = 0;
	for (; started < sessions; started++) {
		int out[2];
		if (pipe(out))
			break;
		pid_t pid = fork();
		if (pid < 0) {
			close(out[0]);
			close(out[1]);
			break;
		}
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			close(out[0]);
			bench_child(opts, op, calls, warmup, ready[1], go[0], out[1]);
		}
		close(out[1]);
		pids[started] = pid;
		outs[started] = out[0];
	}
	close(ready[1]);
	close(go[0]);
	/* Everyone connected and logged on: start together. */
	unsigned n_ready = 0, n_failed = 0;
	for (uint32_t i = 0; i < started; i++) {
		char c;
		if (!read_all(ready[0], &c, 1) || c != 'r')
			n_failed++;
		else
			n_ready++;
		progress("bench: sessions", i + 1, started);
	}
	for (uint32_t i = 0; i < started; i++)
		write_all(go[1], "g", 1);
	close(go[1]);
	close(ready[0]);
	uint64_t *all = malloc((size_t)calls * sessions * sizeof(*all));
	uint64_t n = 0, first = UINT64_MAX, last = 0;
	int rc = started < sessions || n_failed ? 1 : 0;
	for (uint32_t i = 0; i < started; i++) {
		struct bench_child_hdr h;
		if (!read_all(outs[i], &h, sizeof(h)) || h.rc || h.n > calls ||
		    (h.n && (!all || !read_all(outs[i], all + n, (size_t)h.n * sizeof(*all))))) {
			rc = 1;
		} else if (h.n) {
			n += h.n;
			first = h.t_start < first ? h.t_start : first;
			last = h.t_end > last ? h.t_end : last;
		}
		close(outs[i]);
		int st;
		while (waitpid(pids[i], &st, 0) < 0 && errno == EINTR)
			;
	}
	free(pids);
	free(outs);
	if (rc || !n) {
		free(all);
		return err1("bench: %u of %u sessions failed (see the lines above)",
		            n_failed ? n_failed : sessions - (uint32_t)(n / (calls ? calls : 1)),
		            sessions);
	}
	struct bench_ctx b;
	memset(&b, 0, sizeof(b));
	static const char *const names[] = {"nspi", "rop", "table", "message", "mix"};
	for (int k = 0; k < 5; k++)
		if (!strcmp(op, names[k]))
			b.op = (enum bench_op)k;
	rc = bench_report(o, b.op, sessions, all, n, (double)(last - first) / 1e9);
	free(all);
	return rc;
}

/* ---- watch ---- */

/* Polling when push notifications are refused. */
#define WATCH_POLL_S 10
/* EcDoAsyncWaitEx: the server answers within 5 minutes (MS-OXCRPC 3.3.4.1);
 * allow a little more before calling the association dead. */
#define WATCH_WAIT_MS 330000u
/* EcDoRpcExt2 calls per wake while RopPending says the server holds more. */
#define WATCH_MAX_FETCH 64
/* Notified messages waiting to be looked up. */
#define WATCH_MAX_QUEUE 4096

struct watch {
	struct mp_session *s;
	const struct mp_cmd_out *o;
	const struct mp_watch_args *a;
	const char *folder;
	uint64_t fid;
	uint64_t deadline; /* now_ns() at which --for ends; 0: none */
	unsigned printed;
	/* Push: NewMail notifications not yet looked up (FIFO). */
	struct mp_rop_new_mail *q;
	size_t q_head, q_len;
	bool q_full_said;
};

static bool watch_over(const struct watch *w)
{
	return (w->a->count && w->printed >= w->a->count) ||
	       (w->deadline && now_ns() >= w->deadline);
}

/* Milliseconds until --for ends (at least 1), at most `cap`. */
static unsigned watch_left_ms(const struct watch *w, unsigned cap)
{
	if (!w->deadline)
		return cap;
	uint64_t now = now_ns();
	uint64_t left = w->deadline > now ? (w->deadline - now) / 1000000u : 0;
	return left < 1 ? 1 : left < cap ? (unsigned)left : cap;
}

static void watch_sleep(const struct watch *w, unsigned seconds)
{
	unsigned ms = watch_left_ms(w, seconds * 1000u);
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void watch_print(struct watch *w, void *mem, uint64_t mid, uint64_t delivered,
                        const char *from, const char *subj, const char *via)
{
	if (w->a->count && w->printed >= w->a->count)
		return;
	const struct mp_cmd_out *o = w->o;
	char when[32];
	mp_cmd_format_time(delivered, when, sizeof(when));
	char *id = talloc_asprintf(mem, "%" PRIx64 "/%" PRIx64, w->fid, mid);
	if (o->json) {
		struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
		mp_pr_str(p, "new", id);
		mp_pr_str(p, "date", when);
		mp_pr_str(p, "from", nz(from));
		mp_pr_str(p, "subject", nz(subj));
		mp_pr_str(p, "via", via);
		json_done(o, p);
	} else {
		fprintf(o->out, "new %s %s %s: %s\n", id, when, nz(from), nz(subj));
	}
	fflush(o->out);
	w->printed++;
}

/* Poll the contents table every interval_s seconds; print what is new. */
static int watch_poll(struct watch *w, unsigned interval_s)
{
	static const uint32_t cols[] = {T_MID, T_DELIVERY_TIME, T_SENDER_NAME, T_SUBJECT};
	struct mp_session *s = w->s;
	uint64_t *known = NULL;
	uint32_t n_known = 0;
	void *keep = talloc_new(s);
	for (unsigned round = 0; w->a->rounds == 0 || round < w->a->rounds; round++) {
		if (round)
			watch_sleep(w, interval_s);
		if (watch_over(w))
			break;
		void *mem = talloc_new(s);
		uint32_t h;
		struct rowset rs;
		int rc = open_folder(s, mem, w->fid, &h);
		if (rc == MP_OK) {
			rc = table_rows(s, mem, h, TBL_CONTENTS, cols, 4, 100000, &rs);
			release(s, &h, 1);
		}
		if (rc != MP_OK) {
			talloc_free(mem);
			talloc_free(keep);
			return rop_fail(s, "watch");
		}
		uint64_t *now = talloc_array(keep, uint64_t, rs.count ? rs.count : 1);
		for (uint32_t i = 0; i < rs.count; i++) {
			uint64_t mid = pv_u(rs_val(&rs, i, T_MID), 0);
			now[i] = mid;
			bool seen = false;
			for (uint32_t k = 0; k < n_known && !seen; k++)
				seen = known[k] == mid;
			if (seen || round == 0)
				continue;
			watch_print(w, mem, mid, pv_u(rs_val(&rs, i, T_DELIVERY_TIME), 0),
			            pv_str(mem, rs_val(&rs, i, T_SENDER_NAME)),
			            pv_str(mem, rs_val(&rs, i, T_SUBJECT)), "poll");
		}
		talloc_free(known);
		known = now;
		n_known = rs.count;
		talloc_free(mem);
	}
	talloc_free(keep);
	return 0;
}

/* Queue the NewMail notifications of a response buffer (any of the watch's
 * calls may carry them); *more when RopPending says the server holds more. */
static void watch_collect(struct watch *w, const struct mp_rop_buf *rsp, bool *more)
{
	bool pending = false;
	struct mp_rop_new_mail *got =
	    talloc_array(NULL, struct mp_rop_new_mail, rsp->count ? rsp->count : 1);
	size_t n = got ? mp_rop_client_new_mail(rsp, got, rsp->count, &pending) : 0;
	for (size_t i = 0; i < n; i++) {
		if (got[i].fid != w->fid)
			continue;
		if (w->q_len == WATCH_MAX_QUEUE) {
			if (!w->q_full_said)
				fprintf(stderr,
				        "mapiclient: watch: more than %u new messages at once; "
				        "some are not shown (`ls` lists them)\n",
				        WATCH_MAX_QUEUE);
			w->q_full_said = true;
			break;
		}
		w->q[(w->q_head + w->q_len++) % WATCH_MAX_QUEUE] = got[i];
	}
	talloc_free(got);
	if (more)
		*more = pending;
}

/* Look a notified message up (its date, sender, subject) and print it. */
static int watch_lookup(struct watch *w, void *mem, uint64_t mid)
{
	static const uint32_t tags[] = {T_DELIVERY_TIME, T_SENDER_NAME, T_SUBJECT};
	struct mp_session *s = w->s;
	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t in = mp_rop_req_handle(&r, s->logon_handle);
	uint8_t m = mp_rop_req_slot(&r);
	mp_rop_add_open_message(&r, in, m, w->fid, mid);
	mp_rop_add_get_props_specific(&r, m, tags, 3);
	mp_rop_add_release(&r, m);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	mp_rop_req_free(&r);
	if (rc != MP_OK)
		return rc;
	watch_collect(w, rsp, NULL);
	rc = mp_rop_client_result(&s->rop, rsp, 0, "RopOpenMessage", &rop);
	if (rc == MP_CLIENT_ERESULT) { /* gone again (moved, deleted) before we looked */
		mp_session_say(s, "new message %" PRIx64 " is gone: %s", mid, s->rop.err);
		return MP_OK;
	}
	struct mp_rop_rows_view v;
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 1, "RopGetPropertiesSpecific", &rop);
	if (rc == MP_OK && !mp_rop_client_rows(rop, &v)) {
		snprintf(s->rop.err, sizeof(s->rop.err), "the properties could not be decoded");
		rc = MP_ERR_PARSE;
	}
	if (rc != MP_OK)
		return rc;
	watch_print(w, mem, mid, pv_u(mp_rop_row_value(&v, 0, T_DELIVERY_TIME), 0),
	            pv_str(mem, mp_rop_row_value(&v, 0, T_SENDER_NAME)),
	            pv_str(mem, mp_rop_row_value(&v, 0, T_SUBJECT)), "notification");
	return MP_OK;
}

/* NotificationPending: EcDoRpcExt2 calls without ROPs bring the RopNotify
 * responses (MS-OXCNOTIF 3.2.5.5.1); then the messages are looked up. */
static int watch_fetch(struct watch *w, void *mem)
{
	struct mp_session *s = w->s;
	bool more = true;
	for (unsigned i = 0; more && i < WATCH_MAX_FETCH; i++) {
		struct mp_rop_req r;
		mp_rop_req_init(&r);
		struct mp_rop_buf *rsp;
		int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		mp_rop_req_free(&r);
		if (rc != MP_OK)
			return rc;
		watch_collect(w, rsp, &more);
	}
	while (w->q_len && !watch_over(w)) {
		uint64_t mid = w->q[w->q_head].mid;
		w->q_head = (w->q_head + 1) % WATCH_MAX_QUEUE;
		w->q_len--;
		int rc = watch_lookup(w, mem, mid);
		if (rc != MP_OK)
			return rc;
	}
	return MP_OK;
}

/*
 * Push notifications, as Outlook gets them over RPC: RopRegisterNotification
 * (NewMail on the folder), EcDoAsyncConnectEx for the asynchronous context
 * handle, a second association to AsyncEMSMDB, then EcDoAsyncWaitEx in a
 * loop. MP_OK when --for / --count ended the watch; MP_DECLINED when the
 * server or a proxy refuses a step (why says which: poll instead); other
 * errors fail the watch (why says what).
 */
static int watch_push(struct watch *w, char *why, size_t whylen)
{
	struct mp_session *s = w->s;
	if (s->emsmdb.legacy) {
		snprintf(why, whylen, "the server has only EcDoConnect, not EcDoAsyncConnectEx");
		return MP_DECLINED;
	}
	void *mem = talloc_new(s);
	struct mp_rpc_conn *aconn = NULL;
	w->q = talloc_array(mem, struct mp_rop_new_mail, WATCH_MAX_QUEUE);
	if (!w->q) {
		talloc_free(mem);
		snprintf(why, whylen, "out of memory");
		return MP_ERR_NOMEM;
	}

	struct mp_rop_req r;
	mp_rop_req_init(&r);
	uint8_t in = mp_rop_req_handle(&r, s->logon_handle);
	uint8_t out = mp_rop_req_slot(&r);
	mp_rop_add_register_notification(&r, in, out, MP_NOTIFY_NEW_MAIL, false, w->fid, 0);
	struct mp_rop_buf *rsp;
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 0, "RopRegisterNotification", &rop);
	mp_rop_req_free(&r);
	if (rc != MP_OK) {
		snprintf(why, whylen, "%s", s->rop.err);
		rc = rc == MP_CLIENT_ERESULT ? MP_DECLINED : rc;
		goto out;
	}
	struct mp_ndr_handle acxh;
	rc = mp_emsmdb_client_async_connect(&s->emsmdb, &acxh);
	if (rc == MP_OK && mp_emsmdb_handle_is_null(&acxh)) {
		snprintf(s->emsmdb.err, sizeof(s->emsmdb.err), "EcDoAsyncConnectEx gave no handle");
		rc = MP_CLIENT_ERESULT;
	}
	if (rc != MP_OK) {
		snprintf(why, whylen, "%s", s->emsmdb.err);
		rc = rc == MP_RPC_FAULT || rc == MP_CLIENT_ERESULT ? MP_DECLINED : rc;
		goto out;
	}
	if (mp_session_connect_iface(s, "exchange_async_emsmdb", &aconn) != MP_OK) {
		snprintf(why, whylen, "%s", s->err);
		rc = MP_DECLINED;
		goto out;
	}
	mp_session_say(s,
	     "watching %s with push notifications (RopRegisterNotification, "
	     "EcDoAsyncWaitEx)",
	     w->folder);
	while (!watch_over(w)) {
		uint32_t flags = 0;
		mp_rpc_conn_set_timeout(aconn, watch_left_ms(w, WATCH_WAIT_MS));
		rc = mp_emsmdb_client_async_wait(&s->emsmdb, aconn, &acxh, &flags);
		if (rc != MP_OK && w->deadline && now_ns() >= w->deadline) {
			rc = MP_OK; /* --for ended while the server held the wait */
			break;
		}
		if (rc == MP_RPC_FAULT || rc == MP_CLIENT_ERESULT) {
			/* MS-OXCNOTIF 3.2.5.5.1: an error means poll instead (ecExiting,
			 * ecRejected, a proxy faulting the call). */
			snprintf(why, whylen, "%s", s->emsmdb.err);
			rc = MP_DECLINED;
			break;
		}
		if (rc != MP_OK) {
			snprintf(why, whylen, "%s", s->emsmdb.err);
			break;
		}
		/* NotificationPending: fetch. Five quiet minutes: the same call keeps
		 * the EMSMDB association from its idle timeout (servers and proxies
		 * count idle time between calls). */
		if (!(flags & MP_EMSMDB_NOTIFICATION_PENDING))
			mp_session_say(s, "EcDoAsyncWaitEx: no notification before the server's time limit; "
			        "waiting again");
		void *call_mem = talloc_new(mem);
		rc = watch_fetch(w, call_mem);
		talloc_free(call_mem);
		if (rc != MP_OK) {
			snprintf(why, whylen, "%s", s->rop.err);
			break;
		}
	}
out:
	if (aconn)
		mp_rpc_conn_close(aconn);
	talloc_free(mem);
	w->q = NULL;
	return rc;
}

int mp_cmd_watch(struct mp_session *s, const struct mp_cmd_out *o, const struct mp_watch_args *a)
{
	struct watch w = {.s = s, .o = o, .a = a, .folder = a->folder ? a->folder : "Inbox"};
	if (find_folder(s, w.folder, &w.fid))
		return 1;
	if (a->for_s)
		w.deadline = now_ns() + (uint64_t)a->for_s * 1000000000ull;
	if (a->poll_s) {
		mp_session_say(s, "watching %s by polling every %u s", w.folder, a->poll_s);
		return watch_poll(&w, a->poll_s);
	}
	char why[600] = "";
	int rc = watch_push(&w, why, sizeof(why));
	if (rc == MP_OK)
		return 0;
	if (rc != MP_DECLINED)
		return err1("watch: %s", why[0] ? why : mp_status_name(rc));
	mp_session_say(s, "push notifications unavailable (%s); polling every %u s", why, WATCH_POLL_S);
	return watch_poll(&w, WATCH_POLL_S);
}
