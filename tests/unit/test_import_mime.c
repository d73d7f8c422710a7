/* Unit tests: server/store import of RFC 5322 mail with GMime (the sample
 * messages in tests/unit/data/mime/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "server/store/store.h"
#include "test_data.h"
#include "util/status.h"

struct fx {
	char dir[64];
	struct mp_store *st;
	uint32_t mbox;
	struct mp_store_mailbox mb;
	void *mem;
};

#define CHECK(t, expr, want)                                                                  \
	do {                                                                                  \
		int rc_ = (expr);                                                             \
		if (rc_ != (want))                                                            \
			fail_msg("%s: %s, expected %s (%s)", #expr, mp_status_name(rc_),      \
				 mp_status_name(want), mp_store_txn_errmsg(t));               \
	} while (0)

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	strcpy(f->dir, "/tmp/mpstore-mime-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	struct mp_store_opts o = {.create = true};
	if (mp_store_open(&f->st, f->dir, &o, err, sizeof(err)) != MP_OK)
		return -1;
	struct mp_store_user_new u = {.name = "alice", .password = "pw"};
	if (mp_store_user_add_simple(f->st, &u, &f->mbox, err, sizeof(err)))
		return -1;
	struct mp_store_txn *t;
	if (mp_store_txn_begin(f->st, false, &t) || mp_store_mailbox_get(t, f->mbox, &f->mb))
		return -1;
	mp_store_txn_abort(t);
	f->mem = talloc_new(NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mp_store_close(f->st);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	talloc_free(f->mem);
	free(f);
	return 0;
}

static char *data_path(void *mem, const char *name)
{
	const char *d = getenv("MP_TEST_DATA_DIR");
	return talloc_asprintf(mem, "%s/mime%s%s", d ? d : "tests/unit/data", *name ? "/" : "",
			       name);
}

/* Import a sample file into the Inbox; returns its MID, leaves *t open. */
static uint64_t import_sample(struct fx *f, const char *name, uint32_t flags,
			      struct mp_store_txn **t)
{
	struct blob b = {0};
	if (!read_path(data_path(f->mem, name), &b))
		fail_msg("cannot read %s", name);
	assert_int_equal(mp_store_txn_begin(f->st, true, t), MP_OK);
	uint64_t mid = 0;
	CHECK(*t, mp_store_import_mem(*t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], b.p, b.len,
				      flags, &mid), MP_OK);
	free(b.p);
	return mid;
}

static char *str(struct fx *f, struct mp_store_txn *t, const struct mp_store_obj *o, uint32_t tag)
{
	char *s = NULL;
	CHECK(t, mp_store_prop_get_string(t, o, tag, f->mem, &s), MP_OK);
	return s;
}

static uint32_t u32(struct mp_store_txn *t, const struct mp_store_obj *o, uint32_t tag)
{
	uint32_t v = 0;
	CHECK(t, mp_store_prop_get_u32(t, o, tag, &v), MP_OK);
	return v;
}

static uint64_t u64(struct mp_store_txn *t, const struct mp_store_obj *o, uint32_t tag)
{
	uint64_t v = 0;
	CHECK(t, mp_store_prop_get_u64(t, o, tag, &v), MP_OK);
	return v;
}

/* The content bytes of a string or binary property. */
static const uint8_t *content(struct mp_store_txn *t, const struct mp_store_obj *o, uint32_t tag,
			      size_t *len)
{
	struct mp_store_prop p;
	const uint8_t *d;
	CHECK(t, mp_store_prop_get(t, o, tag, &p), MP_OK);
	assert_int_equal(mp_store_prop_content(&p, &d, len), MP_OK);
	return d;
}

static void test_plain(void **state)
{
	struct fx *f = *state;
	struct mp_store_txn *t;
	uint64_t mid = import_sample(f, "plain.eml", 0, &t);
	struct mp_store_obj m = mp_store_obj_message(f->mbox, mid);

	assert_string_equal(str(f, t, &m, MP_TAG_MESSAGE_CLASS), "IPM.Note");
	assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT), "RE: Lunch plans");
	assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT_PREFIX), "RE: ");
	assert_string_equal(str(f, t, &m, MP_TAG_NORMALIZED_SUBJECT), "Lunch plans");
	assert_string_equal(str(f, t, &m, MP_TAG_CONVERSATION_TOPIC), "Lunch plans");
	assert_string_equal(str(f, t, &m, MP_TAG_SENT_REPRESENTING_NAME), "Alice Example");
	assert_string_equal(str(f, t, &m, MP_TAG_SENT_REPRESENTING_EMAIL), "alice@example.org");
	assert_string_equal(str(f, t, &m, MP_TAG_SENT_REPRESENTING_SMTP), "alice@example.org");
	assert_string_equal(str(f, t, &m, MP_TAG_SENT_REPRESENTING_ADDRTYPE), "SMTP");
	assert_string_equal(str(f, t, &m, MP_TAG_SENDER_NAME), "Alice Example");
	assert_string_equal(str(f, t, &m, MP_TAG_SENDER_EMAIL), "alice@example.org");
	assert_string_equal(str(f, t, &m, MP_TAG_SENDER_SMTP_ADDRESS), "alice@example.org");
	assert_string_equal(str(f, t, &m, MP_TAG_SENDER_ADDRTYPE), "SMTP");
	assert_string_equal(str(f, t, &m, MP_TAG_DISPLAY_TO), "Bob; carol@example.org");
	assert_string_equal(str(f, t, &m, MP_TAG_DISPLAY_CC), "Dave");
	assert_string_equal(str(f, t, &m, MP_TAG_DISPLAY_BCC), "");
	assert_string_equal(str(f, t, &m, MP_TAG_INTERNET_MESSAGE_ID), "<plain-1@example.org>");
	assert_string_equal(str(f, t, &m, MP_TAG_IN_REPLY_TO_ID), "<orig-7@example.org>");
	assert_string_equal(str(f, t, &m, MP_TAG_INTERNET_REFERENCES),
			    "<orig-6@example.org> <orig-7@example.org>");
	assert_int_equal(u32(t, &m, MP_TAG_IMPORTANCE), 2);
	/* Date: 2022-03-15 10:30:00 +0100; Received: 10:31:05 +0100. */
	assert_int_equal(u64(t, &m, MP_TAG_CLIENT_SUBMIT_TIME),
			 mp_store_filetime_from_unix(1647336600));
	assert_int_equal(u64(t, &m, MP_TAG_MESSAGE_DELIVERY_TIME),
			 mp_store_filetime_from_unix(1647336665));
	assert_string_equal(str(f, t, &m, MP_TAG_BODY), "Hello Bob,\nSee you at noon.\n");
	assert_int_equal(u32(t, &m, MP_TAG_NATIVE_BODY), 1);
	struct mp_store_prop p;
	CHECK(t, mp_store_prop_get(t, &m, MP_TAG_HTML, &p), MP_ERR_NOTFOUND);
	assert_int_equal(u32(t, &m, MP_TAG_MESSAGE_FLAGS), 0); /* delivered, unread */
	bool b;
	CHECK(t, mp_store_prop_get_bool(t, &m, MP_TAG_HAS_ATTACHMENTS, &b), MP_OK);
	assert_false(b);
	assert_true(u32(t, &m, MP_TAG_MESSAGE_SIZE) > 100);
	char *hdrs = str(f, t, &m, MP_TAG_TRANSPORT_HEADERS);
	assert_non_null(strstr(hdrs, "Message-ID: <plain-1@example.org>"));
	assert_non_null(strstr(hdrs, "Importance: high"));

	/* Recipients: To, To, Cc with SMTP addresses. */
	uint32_t *rows;
	size_t n;
	CHECK(t, mp_store_recip_list(t, f->mbox, mid, f->mem, &rows, &n), MP_OK);
	assert_int_equal(n, 3);
	static const struct {
		uint32_t type;
		const char *name, *smtp;
	} want[] = {{1, "Bob", "bob@example.org"},
		    {1, "carol@example.org", "carol@example.org"},
		    {2, "Dave", "dave@example.net"}};
	for (size_t i = 0; i < n; i++) {
		struct mp_store_obj r = mp_store_obj_recip(f->mbox, mid, rows[i]);
		assert_int_equal(u32(t, &r, MP_TAG_RECIPIENT_TYPE), want[i].type);
		assert_string_equal(str(f, t, &r, MP_TAG_DISPLAY_NAME), want[i].name);
		assert_string_equal(str(f, t, &r, MP_TAG_SMTP_ADDRESS), want[i].smtp);
		assert_string_equal(str(f, t, &r, MP_TAG_EMAIL_ADDRESS), want[i].smtp);
		assert_string_equal(str(f, t, &r, MP_TAG_ADDRTYPE), "SMTP");
		assert_int_equal(u32(t, &r, MP_TAG_OBJECT_TYPE), 6);
		assert_int_equal(u32(t, &r, MP_TAG_ROWID), rows[i]);
	}

	/* In the Inbox, counted unread. */
	struct mp_store_folder_info fi;
	CHECK(t, mp_store_folder_get(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], &fi), MP_OK);
	assert_int_equal(fi.content_count, 1);
	assert_int_equal(fi.unread_count, 1);
	assert_int_equal(mp_store_txn_commit(t), MP_OK);

	/* MP_STORE_IMPORT_READ marks it read. */
	mid = import_sample(f, "plain.eml", MP_STORE_IMPORT_READ, &t);
	m = mp_store_obj_message(f->mbox, mid);
	assert_int_equal(u32(t, &m, MP_TAG_MESSAGE_FLAGS), MP_MSGFLAG_READ);
	CHECK(t, mp_store_folder_get(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], &fi), MP_OK);
	assert_int_equal(fi.content_count, 2);
	assert_int_equal(fi.unread_count, 1);
	mp_store_txn_abort(t);
}

static void test_alternative(void **state)
{
	struct fx *f = *state;
	struct mp_store_txn *t;
	uint64_t mid = import_sample(f, "alternative.eml", 0, &t);
	struct mp_store_obj m = mp_store_obj_message(f->mbox, mid);

	assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT), "Grüße aus Köln");
	assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT_PREFIX), "");
	assert_string_equal(str(f, t, &m, MP_TAG_SENT_REPRESENTING_NAME), "Jürgen");
	/* The line break before a boundary belongs to it (RFC 2046 5.1.1). */
	assert_string_equal(str(f, t, &m, MP_TAG_BODY), "Hallo Welt – grüße");
	size_t n;
	const uint8_t *html = content(t, &m, MP_TAG_HTML, &n);
	const char *want = "<html><body><p>Hallo <b>Welt</b> – grüße</p></body></html>";
	assert_int_equal(n, strlen(want));
	assert_memory_equal(html, want, n);
	assert_int_equal(u32(t, &m, MP_TAG_INTERNET_CODEPAGE), 65001);
	assert_int_equal(u32(t, &m, MP_TAG_NATIVE_BODY), 3);
	assert_int_equal(u32(t, &m, MP_TAG_IMPORTANCE), 1);
	/* No Date and no Received: a submit time is absent, delivery is now. */
	struct mp_store_prop p;
	CHECK(t, mp_store_prop_get(t, &m, MP_TAG_CLIENT_SUBMIT_TIME, &p), MP_ERR_NOTFOUND);
	uint64_t dt = u64(t, &m, MP_TAG_MESSAGE_DELIVERY_TIME);
	assert_true(dt > mp_store_filetime_now() - 600ull * 10000000ull);
	/* The UTF-16 body: U+2013 is 13 20. */
	const uint8_t *body = content(t, &m, MP_TAG_BODY, &n);
	assert_int_equal(n, 2 * strlen("Hallo Welt x grüße") - 2 * 2);
	assert_memory_equal(body + 2 * 11, "\x13\x20", 2);
	mp_store_txn_abort(t);
}

static void test_attachments(void **state)
{
	struct fx *f = *state;
	struct mp_store_txn *t;
	uint64_t mid = import_sample(f, "attachments.eml", 0, &t);
	struct mp_store_obj m = mp_store_obj_message(f->mbox, mid);

	assert_string_equal(str(f, t, &m, MP_TAG_BODY), "See attached.");
	bool b;
	CHECK(t, mp_store_prop_get_bool(t, &m, MP_TAG_HAS_ATTACHMENTS, &b), MP_OK);
	assert_true(b);
	assert_int_equal(u32(t, &m, MP_TAG_MESSAGE_FLAGS), MP_MSGFLAG_HASATTACH);
	uint32_t *nums;
	size_t n;
	CHECK(t, mp_store_attach_list(t, f->mbox, mid, f->mem, &nums, &n), MP_OK);
	assert_int_equal(n, 5);

	uint8_t bin[256];
	for (int i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	static const uint8_t pdf[] = "%PDF-1.4\n% fake pdf for a test\n%%EOF\n";
	static const uint8_t png[16] = {0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A,
					0,    0,    0,    13,   0x49, 0x48, 0x44, 0x52};
	static const char notes[] = "line one\nline two";
	const struct {
		const char *longname, *shortname, *ext, *mime, *cid;
		const uint8_t *data;
		size_t len;
	} want[] = {
		{"data.bin", "DATA.BIN", ".bin", "application/octet-stream", NULL, bin, 256},
		{"résumé final.pdf", "RSUMFI~1.PDF", ".pdf", "application/pdf", NULL, pdf,
		 sizeof(pdf) - 1},
		{"notes.txt", "NOTES.TXT", ".txt", "text/plain", NULL, (const uint8_t *)notes,
		 sizeof(notes) - 1},
		{"logo.png", "LOGO.PNG", ".png", "image/png", "logo@example.org", png, 16},
		{"Forwarded note.eml", "FORWAR~1.EML", ".eml", "message/rfc822", NULL, NULL, 0},
	};
	for (size_t i = 0; i < n; i++) {
		struct mp_store_obj a = mp_store_obj_attach(f->mbox, mid, nums[i]);
		assert_int_equal(nums[i], i);
		assert_int_equal(u32(t, &a, MP_TAG_ATTACH_NUM), i);
		assert_int_equal(u32(t, &a, MP_TAG_ATTACH_METHOD), 1);
		assert_string_equal(str(f, t, &a, MP_TAG_ATTACH_LONG_FILENAME), want[i].longname);
		assert_string_equal(str(f, t, &a, MP_TAG_DISPLAY_NAME), want[i].longname);
		assert_string_equal(str(f, t, &a, MP_TAG_ATTACH_FILENAME), want[i].shortname);
		assert_string_equal(str(f, t, &a, MP_TAG_ATTACH_EXTENSION), want[i].ext);
		assert_string_equal(str(f, t, &a, MP_TAG_ATTACH_MIME_TAG), want[i].mime);
		assert_int_equal(u32(t, &a, MP_TAG_RENDERING_POSITION), 0xffffffffu);
		struct mp_store_prop p;
		if (want[i].cid)
			assert_string_equal(str(f, t, &a, MP_TAG_ATTACH_CONTENT_ID), want[i].cid);
		else
			CHECK(t, mp_store_prop_get(t, &a, MP_TAG_ATTACH_CONTENT_ID, &p),
			      MP_ERR_NOTFOUND);
		size_t len;
		const uint8_t *d = content(t, &a, MP_TAG_ATTACH_DATA_BINARY, &len);
		if (want[i].data) {
			assert_int_equal(len, want[i].len);
			assert_memory_equal(d, want[i].data, len);
		} else {
			/* The embedded message, serialized with its headers. */
			char *s = talloc_strndup(f->mem, (const char *)d, len);
			assert_non_null(strstr(s, "Subject: Forwarded note"));
			assert_non_null(strstr(s, "The original note."));
		}
		uint32_t asize = u32(t, &a, MP_TAG_ATTACH_SIZE);
		assert_true(asize >= len && asize < len + 400);
		/* The stream API reads the same bytes. */
		uint8_t buf[300];
		size_t got;
		CHECK(t, mp_store_stream_read(t, &a, MP_TAG_ATTACH_DATA_BINARY, 0, buf, sizeof(buf),
					      &got), MP_OK);
		assert_int_equal(got, len < sizeof(buf) ? len : sizeof(buf));
		assert_memory_equal(buf, d, got);
	}
	assert_true(u32(t, &m, MP_TAG_MESSAGE_SIZE) > 256 + 16);
	mp_store_txn_abort(t);
}

/* CRLF headers, a base64 part whose lines end in a bare LF: the whole
 * attachment arrives (GMime alone cut its last 3 bytes). */
static void test_mixed_line_ends(void **state)
{
	struct fx *f = *state;
	static const char b64chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t data[3000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	char *eml = talloc_strdup(f->mem,
		"From: Bob <bob@example.test>\r\nTo: Alice <alice@example.test>\r\n"
		"Subject: mixed\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
		"--BB\r\nContent-Type: text/plain\r\n\r\nhi\r\n--BB\r\n"
		"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n");
	/* 3000 bytes = 1000 quanta, 76 characters (19 quanta) per LF line. */
	for (size_t q = 0; q < sizeof(data) / 3; q++) {
		const uint8_t *d = data + 3 * q;
		char quad[5] = {b64chars[d[0] >> 2], b64chars[((d[0] & 3) << 4) | (d[1] >> 4)],
				b64chars[((d[1] & 15) << 2) | (d[2] >> 6)], b64chars[d[2] & 63], 0};
		eml = talloc_strdup_append(eml, quad);
		if (q % 19 == 18 || q == sizeof(data) / 3 - 1)
			eml = talloc_strdup_append(eml, "\n");
	}
	eml = talloc_strdup_append(eml, "--BB--\r\n");
	struct mp_store_txn *t;
	assert_int_equal(mp_store_txn_begin(f->st, true, &t), MP_OK);
	uint64_t mid = 0;
	CHECK(t, mp_store_import_mem(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], eml, strlen(eml),
				      0, &mid), MP_OK);
	uint32_t *nums;
	size_t n, len;
	CHECK(t, mp_store_attach_list(t, f->mbox, mid, f->mem, &nums, &n), MP_OK);
	assert_int_equal(n, 1);
	struct mp_store_obj a = mp_store_obj_attach(f->mbox, mid, nums[0]);
	const uint8_t *got = content(t, &a, MP_TAG_ATTACH_DATA_BINARY, &len);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(got, data, len);
	mp_store_txn_abort(t);
}

static void test_latin1(void **state)
{
	struct fx *f = *state;
	struct mp_store_txn *t;
	uint64_t mid = import_sample(f, "latin1.eml", 0, &t);
	struct mp_store_obj m = mp_store_obj_message(f->mbox, mid);
	assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT), "Café crème");
	assert_string_equal(str(f, t, &m, MP_TAG_SENT_REPRESENTING_NAME), "René");
	assert_string_equal(str(f, t, &m, MP_TAG_BODY), "Un café, s'il vous plaît.\n");
	/* ISO-8859-1 0xE9 became U+00E9 in the UTF-16 property. */
	size_t n;
	const uint8_t *body = content(t, &m, MP_TAG_BODY, &n);
	assert_int_equal(n, 2 * strlen("Un cafe, s'il vous plait.\n"));
	assert_memory_equal(body + 2 * 6, "\xe9\x00", 2);
	/* 18:45 -0400 is 22:45 UTC. */
	assert_int_equal(u64(t, &m, MP_TAG_CLIENT_SUBMIT_TIME),
			 mp_store_filetime_from_unix(1647557100));
	mp_store_txn_abort(t);
}

struct progress {
	unsigned calls, stop_after;
	uint64_t last_done, last_mid;
};

static int on_progress(void *arg, const struct mp_store_import_progress *p)
{
	struct progress *pr = arg;
	pr->calls++;
	assert_non_null(p->path);
	assert_true(p->bytes_done <= p->bytes_total);
	pr->last_done = p->done;
	pr->last_mid = p->last_mid;
	return pr->stop_after && pr->calls >= pr->stop_after;
}

static void test_mbox_file(void **state)
{
	struct fx *f = *state;
	struct mp_store_import_stats stats;
	struct progress pr = {0};
	struct mp_store_import_opts o = {.progress = on_progress, .progress_arg = &pr};
	char err[256];
	int rc = mp_store_import_path(f->st, "alice", data_path(f->mem, "small.mbox"), &o, &stats,
				      err, sizeof(err));
	if (rc != MP_OK)
		fail_msg("import: %s (%s)", mp_status_name(rc), err);
	assert_int_equal(stats.messages, 3);
	assert_int_equal(stats.failed, 0);
	assert_int_equal(stats.files, 1);
	assert_int_equal(pr.calls, 3);
	assert_int_equal(pr.last_done, 3);

	struct mp_store_txn *t;
	assert_int_equal(mp_store_txn_begin(f->st, false, &t), MP_OK);
	uint64_t *mids;
	size_t n;
	CHECK(t, mp_store_folder_contents(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], false,
					  f->mem, &mids, &n), MP_OK);
	assert_int_equal(n, 3);
	assert_int_equal(mids[2], pr.last_mid);
	static const char *subjects[] = {"one", "two", "three"};
	static const char *bodies[] = {"first", "second", "third"};
	for (size_t i = 0; i < 3; i++) {
		struct mp_store_obj m = mp_store_obj_message(f->mbox, mids[i]);
		assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT), subjects[i]);
		char *body = str(f, t, &m, MP_TAG_BODY);
		assert_memory_equal(body, bodies[i], strlen(bodies[i]));
		assert_true(strlen(body) <= strlen(bodies[i]) + 2);
		assert_null(strstr(body, "From "));
	}
	mp_store_txn_abort(t);
}

static void test_directory(void **state)
{
	struct fx *f = *state;
	struct mp_store_import_stats stats;
	struct progress pr = {0};
	struct mp_store_import_opts o = {.progress = on_progress, .progress_arg = &pr,
					 .fid = f->mb.special[MP_STORE_SF_DRAFTS],
					 .flags = MP_STORE_IMPORT_READ};
	char err[256];
	int rc = mp_store_import_path(f->st, "ALICE", data_path(f->mem, ""), &o, &stats, err,
				      sizeof(err));
	if (rc != MP_OK)
		fail_msg("import: %s (%s)", mp_status_name(rc), err);
	/* 4 .eml files and the 3 messages of small.mbox. */
	assert_int_equal(stats.files, 5);
	assert_int_equal(stats.messages, 7);
	assert_int_equal(stats.failed, 0);
	assert_int_equal(pr.calls, 7);

	struct mp_store_txn *t;
	struct mp_store_folder_info fi;
	assert_int_equal(mp_store_txn_begin(f->st, false, &t), MP_OK);
	CHECK(t, mp_store_folder_get(t, f->mbox, f->mb.special[MP_STORE_SF_DRAFTS], &fi), MP_OK);
	assert_int_equal(fi.content_count, 7);
	assert_int_equal(fi.unread_count, 0);
	/* In name order: alternative, attachments, latin1, plain, small.mbox. */
	uint64_t *mids;
	size_t n;
	CHECK(t, mp_store_folder_contents(t, f->mbox, f->mb.special[MP_STORE_SF_DRAFTS], false,
					  f->mem, &mids, &n), MP_OK);
	struct mp_store_obj m = mp_store_obj_message(f->mbox, mids[2]);
	assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT), "Café crème");
	mp_store_txn_abort(t);

	/* The callback can stop an import: what was done stays. */
	struct progress stop = {.stop_after = 2};
	o.progress_arg = &stop;
	o.fid = 0;
	rc = mp_store_import_path(f->st, "alice", data_path(f->mem, ""), &o, &stats, err,
				  sizeof(err));
	assert_int_equal(rc, MP_DONE);
	assert_int_equal(stats.messages, 2);
	assert_int_equal(mp_store_txn_begin(f->st, false, &t), MP_OK);
	CHECK(t, mp_store_folder_get(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], &fi), MP_OK);
	assert_int_equal(fi.content_count, 2);
	mp_store_txn_abort(t);
}

static void test_failures(void **state)
{
	struct fx *f = *state;
	struct mp_store_import_stats stats;
	char err[256], dir[64], path[128];

	/* Unknown user, folder and path. */
	assert_int_equal(mp_store_import_path(f->st, "nobody", data_path(f->mem, "plain.eml"),
					      NULL, &stats, err, sizeof(err)), MP_ERR_NOTFOUND);
	assert_non_null(strstr(err, "nobody"));
	struct mp_store_import_opts o = {.fid = mp_store_make_id(1, 4242)};
	assert_int_equal(mp_store_import_path(f->st, "alice", data_path(f->mem, "plain.eml"), &o,
					      &stats, err, sizeof(err)), MP_ERR_NOTFOUND);
	assert_int_equal(mp_store_import_path(f->st, "alice", "/nonexistent/x.eml", NULL, &stats,
					      err, sizeof(err)), MP_ERR_NOTFOUND);

	/* A file that is no message is counted and skipped. */
	strcpy(dir, "/tmp/mpstore-mime-in-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a-broken.eml", dir);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	fwrite("\x00\x01\x02 not a message\n", 1, 19, fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/b-good.eml", dir);
	struct blob b = {0};
	assert_true(read_path(data_path(f->mem, "plain.eml"), &b));
	assert_true(write_path(path, b.p, b.len));
	free(b.p);
	snprintf(path, sizeof(path), "%s/ignored.txt", dir);
	assert_true(write_path(path, (const uint8_t *)"x", 1));
	assert_int_equal(mp_store_import_path(f->st, "alice", dir, NULL, &stats, err, sizeof(err)),
			 MP_OK);
	assert_int_equal(stats.messages, 1);
	assert_int_equal(stats.failed, 1);
	assert_non_null(strstr(stats.first_error, "a-broken.eml"));
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);

	/* From memory: no header fields is not a message. */
	struct mp_store_txn *t;
	uint64_t mid;
	assert_int_equal(mp_store_txn_begin(f->st, true, &t), MP_OK);
	CHECK(t, mp_store_import_mem(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], "\n\nbody", 6,
				     0, &mid), MP_ERR_PARSE);
	CHECK(t, mp_store_import_mem(t, f->mbox, mp_store_make_id(1, 999), "Subject: x\n\nb", 13,
				     0, &mid), MP_ERR_NOTFOUND);
	/* A leading mbox "From " line is skipped. */
	const char one[] = "From x@y Mon Jan  3 10:00:00 2022\nSubject: hi\n\nbody\n";
	CHECK(t, mp_store_import_mem(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], one,
				     sizeof(one) - 1, 0, &mid), MP_OK);
	struct mp_store_obj m = mp_store_obj_message(f->mbox, mid);
	assert_string_equal(str(f, t, &m, MP_TAG_SUBJECT), "hi");
	/* Failed imports left nothing: only the one message is in the Inbox
	 * besides the earlier good file. */
	struct mp_store_folder_info fi;
	CHECK(t, mp_store_folder_get(t, f->mbox, f->mb.special[MP_STORE_SF_INBOX], &fi), MP_OK);
	assert_int_equal(fi.content_count, 2);
	assert_int_equal(mp_store_txn_commit(t), MP_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alternative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attachments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mixed_line_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latin1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mbox_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
