/*
 * ropclient — ROP sequences mapiclient does not send, for the cache
 * module's tests (password in MAPICLIENT_PASSWORD):
 *
 *	ropclient HOST:PORT USER add FID/MID FILE
 *	    opens the message read/write, adds FILE as an attachment, saves it
 *	ropclient HOST:PORT USER replace FID/MID N FILE
 *	    writes FILE over attachment N's data, saves the attachment and the
 *	    message
 *	ropclient HOST:PORT USER read FID/MID N FILE
 *	    reads attachment N's data into FILE in buffers that alternate a
 *	    lone RopReadStream with RopReadStream + RopGetPropertiesSpecific
 *	    (of the message); then seeks to the middle alone and reads 4096
 *	    bytes in a mixed buffer again, into FILE.part
 *
 * Built by test_module_cache.py against the build tree's client library.
 * Exit 0 on success, 1 with a message on stderr otherwise.
 */
#include "client/commands.h"
#include "client/mapi_session.h"
#include "client/rop_client.h"
#include "dcerpc/sec.h"
#include "util/cursor.h"
#include "util/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#define TAG_ATTACH_DATA 0x37010102u
#define TAG_ATTACH_METHOD 0x37050003u
#define TAG_ATTACH_LONG_FILENAME 0x3707001Fu
#define CHUNK 0x6000

static int fail(struct mp_session *s, const char *what)
{
	fprintf(stderr, "ropclient: %s: %s\n", what, s->rop.err[0] ? s->rop.err : s->err);
	return 1;
}

/* Run one buffer and check the first n ROPs' results. */
static int exec(struct mp_session *s, void *mem, struct mp_rop_req *r, size_t n,
                struct mp_rop_buf **rsp)
{
	const struct mp_rop *rop;
	int rc = mp_rop_client_exec(&s->rop, mem, r, rsp);
	for (size_t i = 0; rc == MP_OK && i < n; i++)
		rc = mp_rop_client_result(&s->rop, *rsp, i, "ROP", &rop);
	return rc;
}

static uint8_t *slurp(void *mem, const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct mp_wbuf w;
	mp_wb_init(&w);
	uint8_t b[8192];
	size_t n;
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		mp_wb_bytes(&w, b, n);
	fclose(f);
	uint8_t *out = w.bad ? NULL : talloc_memdup(mem, w.data ? w.data : b, w.len + 1);
	*len = w.len;
	mp_wb_free(&w);
	return out;
}

/* Write `data` into stream `st` (a server handle), then commit it. */
static int write_all(struct mp_session *s, void *mem, uint32_t st, const uint8_t *data, size_t len)
{
	struct mp_rop_buf *rsp;
	int rc = MP_OK;
	for (size_t off = 0; rc == MP_OK && off < len; off += CHUNK) {
		struct mp_rop_req r;
		mp_rop_req_init(&r);
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		mp_rop_add_write_stream(&r, mp_rop_req_handle(&r, st), data + off, (uint16_t)n);
		rc = exec(s, mem, &r, 1, &rsp);
		mp_rop_req_free(&r);
	}
	if (rc == MP_OK) {
		struct mp_rop_req r;
		mp_rop_req_init(&r);
		mp_rop_add_commit_stream(&r, mp_rop_req_handle(&r, st));
		rc = exec(s, mem, &r, 1, &rsp);
		mp_rop_req_free(&r);
	}
	return rc;
}

/* Append the Data of the i-th ROP's response (a RopReadStream) to w. */
static int take_data(struct mp_session *s, const struct mp_rop_buf *rsp, size_t i,
                     struct mp_wbuf *w, size_t *n)
{
	const struct mp_rop *rop;
	if (mp_rop_client_result(&s->rop, rsp, i, "RopReadStream", &rop) != MP_OK)
		return -1;
	const struct mp_rop_val *d = mp_rop_field(rop, "Data");
	*n = d ? d->n : 0;
	if (*n)
		mp_wb_bytes(w, d->bytes, *n);
	return 0;
}

static void add_seek(struct mp_rop_req *r, uint8_t in, uint64_t pos)
{
	mp_wb_u8(&r->rops, 0x2E);
	mp_wb_u8(&r->rops, 0);
	mp_wb_u8(&r->rops, in);
	mp_wb_u8(&r->rops, 0); /* STREAM_SEEK_SET */
	mp_wb_u32(&r->rops, (uint32_t)pos);
	mp_wb_u32(&r->rops, (uint32_t)(pos >> 32));
	r->n_rops++;
}

static int save(const char *path, const struct mp_wbuf *w)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	bool ok = fwrite(w->data ? w->data : (uint8_t *)"", 1, w->len, f) == w->len;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int read_mixed(struct mp_session *s, void *mem, uint64_t fid, uint64_t mid, uint32_t num,
                      const char *file)
{
	static const uint32_t subject[] = {0x0037001Fu};
	struct mp_rop_buf *rsp;
	struct mp_rop_req r;
	const struct mp_rop *rop;
	mp_rop_req_init(&r);
	uint8_t lg = mp_rop_req_handle(&r, s->logon_handle);
	uint8_t m = mp_rop_req_slot(&r), a = mp_rop_req_slot(&r), sti = mp_rop_req_slot(&r);
	mp_rop_add_open_message(&r, lg, m, fid, mid);
	mp_rop_add_open_attachment(&r, m, a, num);
	mp_rop_add_open_stream(&r, a, sti, TAG_ATTACH_DATA, 0);
	int rc = exec(s, mem, &r, 3, &rsp);
	uint64_t size = 0;
	if (rc == MP_OK)
		rc = mp_rop_client_result(&s->rop, rsp, 2, "RopOpenStream", &rop);
	if (rc == MP_OK)
		(void)mp_rop_get_uint(rop, "StreamSize", &size);
	uint32_t msg = rc == MP_OK ? rsp->handles[m] : 0, st = rc == MP_OK ? rsp->handles[sti] : 0;
	mp_rop_req_free(&r);
	if (rc != MP_OK)
		return fail(s, "opening the stream");
	struct mp_wbuf w;
	mp_wb_init(&w);
	for (unsigned i = 0; w.len < size && i < 100000; i++) {
		mp_rop_req_init(&r);
		uint8_t si = mp_rop_req_handle(&r, st);
		mp_rop_add_read_stream(&r, si, i % 2 ? 0x3000 : 0x5000);
		if (i % 2)
			mp_rop_add_get_props_specific(&r, mp_rop_req_handle(&r, msg), subject, 1);
		size_t n = 0;
		rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		if (rc == MP_OK)
			rc = take_data(s, rsp, 0, &w, &n);
		if (rc == MP_OK && i % 2)
			rc =
			    mp_rop_client_result(&s->rop, rsp, 1, "RopGetPropertiesSpecific", &rop);
		mp_rop_req_free(&r);
		if (rc != MP_OK || n == 0)
			break;
	}
	if (rc != MP_OK || w.len != size || save(file, &w)) {
		mp_wb_free(&w);
		return fail(s, "reading the stream");
	}
	/* A seek alone, then a mixed buffer from there. */
	mp_wb_free(&w);
	mp_wb_init(&w);
	mp_rop_req_init(&r);
	add_seek(&r, mp_rop_req_handle(&r, st), size / 2);
	rc = exec(s, mem, &r, 1, &rsp);
	mp_rop_req_free(&r);
	if (rc == MP_OK) {
		mp_rop_req_init(&r);
		mp_rop_add_read_stream(&r, mp_rop_req_handle(&r, st), 4096);
		mp_rop_add_get_props_specific(&r, mp_rop_req_handle(&r, msg), subject, 1);
		size_t n;
		rc = mp_rop_client_exec(&s->rop, mem, &r, &rsp);
		if (rc == MP_OK)
			rc = take_data(s, rsp, 0, &w, &n);
		if (rc == MP_OK)
			rc =
			    mp_rop_client_result(&s->rop, rsp, 1, "RopGetPropertiesSpecific", &rop);
		mp_rop_req_free(&r);
	}
	char part[4200];
	snprintf(part, sizeof(part), "%s.part", file);
	if (rc != MP_OK || save(part, &w)) {
		mp_wb_free(&w);
		return fail(s, "reading after the seek");
	}
	mp_wb_free(&w);
	mp_session_close(s);
	talloc_free(mem);
	return 0;
}

int main(int argc, char **argv)
{
	bool add = argc == 6 && !strcmp(argv[3], "add");
	bool replace = argc == 7 && !strcmp(argv[3], "replace");
	bool rd = argc == 7 && !strcmp(argv[3], "read");
	if (!add && !replace && !rd) {
		fprintf(stderr, "usage: ropclient HOST:PORT USER add FID/MID FILE\n"
		                "       ropclient HOST:PORT USER replace FID/MID N FILE\n"
		                "       ropclient HOST:PORT USER read FID/MID N FILE\n");
		return 2;
	}
	void *mem = talloc_new(NULL);
	char *host = talloc_strdup(mem, argv[1]);
	char *colon = strrchr(host, ':');
	uint64_t fid, mid;
	if (!colon || !mp_cmd_parse_msgid(argv[4], &fid, &mid)) {
		fprintf(stderr, "ropclient: bad server or message id\n");
		return 2;
	}
	*colon = '\0';
	struct mp_client_opts o = {.host = host,
	                           .port = (uint16_t)atoi(colon + 1),
	                           .user = argv[2],
	                           .domain = "",
	                           .password = getenv("MAPICLIENT_PASSWORD"),
	                           .auth_level = MP_AUTH_LEVEL_PKT_PRIVACY,
	                           .timeout_ms = 30000};
	struct mp_session *s = mp_session_new(mem, &o);
	if (!s || mp_session_open_ab(s) != MP_OK || mp_session_open_store(s) != MP_OK)
		return s ? fail(s, "logon") : 1;
	const char *file = argv[argc - 1];
	if (rd)
		return read_mixed(s, mem, fid, mid, (uint32_t)atoi(argv[5]), file);
	size_t len;
	uint8_t *data = slurp(mem, file, &len);
	if (!data) {
		fprintf(stderr, "ropclient: cannot read %s\n", file);
		return 1;
	}
	struct mp_rop_buf *rsp;
	struct mp_rop_req r;
	/* RopOpenMessage, read/write (OpenModeFlags 0x01). */
	mp_rop_req_init(&r);
	uint8_t lg = mp_rop_req_handle(&r, s->logon_handle);
	uint8_t m = mp_rop_req_slot(&r);
	mp_wb_u8(&r.rops, 0x03);
	mp_wb_u8(&r.rops, 0);
	mp_wb_u8(&r.rops, lg);
	mp_wb_u8(&r.rops, m);
	mp_wb_u16(&r.rops, 0x0FFF);
	mp_wb_u32(&r.rops, (uint32_t)fid);
	mp_wb_u32(&r.rops, (uint32_t)(fid >> 32));
	mp_wb_u8(&r.rops, 0x01);
	mp_wb_u32(&r.rops, (uint32_t)mid);
	mp_wb_u32(&r.rops, (uint32_t)(mid >> 32));
	r.n_rops++;
	int rc = exec(s, mem, &r, 1, &rsp);
	uint32_t msg = rc == MP_OK && m < rsp->n_handles ? rsp->handles[m] : 0xFFFFFFFF;
	mp_rop_req_free(&r);
	if (rc != MP_OK)
		return fail(s, "RopOpenMessage");

	uint32_t att = 0xFFFFFFFF, st = 0xFFFFFFFF;
	mp_rop_req_init(&r);
	uint8_t mi = mp_rop_req_handle(&r, msg);
	uint8_t a = mp_rop_req_slot(&r), sti = mp_rop_req_slot(&r);
	if (add) {
		mp_rop_add_create_attachment(&r, mi, a);
		struct mp_tagged_pv pv[2];
		pv[0] = (struct mp_tagged_pv){.tag = TAG_ATTACH_METHOD};
		pv[0].val.type = MP_PT_INTEGER32;
		pv[0].val.v.i4 = 1; /* afByValue */
		size_t n = 0;
		const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
		pv[1] = (struct mp_tagged_pv){.tag = TAG_ATTACH_LONG_FILENAME};
		pv[1].val.type = MP_PT_STRING;
		pv[1].val.v.bin.data = mp_client_utf8_to_utf16(mem, base, &n);
		pv[1].val.v.bin.len = (uint32_t)n;
		mp_rop_add_set_properties(&r, a, pv, 2);
	} else {
		/* RopOpenAttachment, read/write (OpenAttachmentFlags 0x01). */
		mp_wb_u8(&r.rops, 0x22);
		mp_wb_u8(&r.rops, 0);
		mp_wb_u8(&r.rops, mi);
		mp_wb_u8(&r.rops, a);
		mp_wb_u8(&r.rops, 0x01);
		mp_wb_u32(&r.rops, (uint32_t)atoi(argv[5]));
		r.n_rops++;
	}
	mp_rop_add_open_stream(&r, a, sti, TAG_ATTACH_DATA, 2 /* create */);
	rc = exec(s, mem, &r, add ? 3 : 2, &rsp);
	if (rc == MP_OK) {
		att = a < rsp->n_handles ? rsp->handles[a] : 0xFFFFFFFF;
		st = sti < rsp->n_handles ? rsp->handles[sti] : 0xFFFFFFFF;
	}
	mp_rop_req_free(&r);
	if (rc != MP_OK)
		return fail(s, "opening the attachment's stream");
	if (write_all(s, mem, st, data, len) != MP_OK)
		return fail(s, "writing the stream");
	mp_rop_req_init(&r);
	uint8_t ai = mp_rop_req_handle(&r, att);
	mi = mp_rop_req_handle(&r, msg);
	mp_rop_add_save_changes_attachment(&r, mi, ai, 0x02);
	mp_rop_add_save_changes_message(&r, mi, mi, 0x02);
	rc = exec(s, mem, &r, 2, &rsp);
	mp_rop_req_free(&r);
	if (rc != MP_OK)
		return fail(s, "saving");
	mp_session_close(s);
	talloc_free(mem);
	return 0;
}
