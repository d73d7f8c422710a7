/*
 * Import of RFC 5322 mail into a mailbox with GMime 3: one message from
 * memory, .eml files, mbox files and directories of them. GMime parses the
 * MIME structure and decodes headers, charsets and transfer encodings; this
 * file maps the result to message, recipient and attachment properties
 * (MS-OXCMAIL's mapping, simplified: see store.h).
 */
#include "server/store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <gmime/gmime.h>
#include <talloc.h>

#define MAX_MIME_DEPTH 32
#define MAX_PARTS 4096

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init_once(void)
{
	g_mime_init();
}

/* ---- Building values ---- */

/* A growing list of property values for one recipient row. */
struct plist {
	struct mp_store_prop *p;
	size_t n;
	int rc;
};

static void pl_add(void *mem, struct plist *l, uint32_t tag, const void *data, size_t len)
{
	if (l->rc)
		return;
	struct mp_store_prop *b = talloc_realloc(mem, l->p, struct mp_store_prop, l->n + 1);
	void *copy = talloc_memdup(mem, data, len ? len : 1);
	if (!b || !copy) {
		l->rc = MP_ERR_NOMEM;
		return;
	}
	l->p = b;
	l->p[l->n++] = (struct mp_store_prop){
		.tag = tag, .form = MP_STORE_VAL_WIRE, .data = copy, .len = len};
}

static void pl_u32(void *mem, struct plist *l, uint32_t tag, uint32_t v)
{
	uint8_t b[4];
	mp_put_u32(b, v);
	pl_add(mem, l, tag, b, 4);
}

static void pl_str(void *mem, struct plist *l, uint32_t tag, const char *s)
{
	uint8_t *u;
	size_t n;
	if (l->rc)
		return;
	l->rc = mp_store_utf8_to_utf16(mem, s, strlen(s), true, &u, &n);
	if (l->rc == MP_OK)
		pl_add(mem, l, tag, u, n + 2);
}

/* ---- One message ---- */

struct imp {
	struct mp_store_txn *txn;
	void *mem;
	uint32_t mbox;
	uint64_t mid, gc;
	char *plain;     /* UTF-8, g_free'd */
	char *html;      /* UTF-8, g_free'd */
	unsigned parts;
	unsigned attachments;
	int rc;
};

static int msg_str(struct imp *m, uint32_t tag, const char *s)
{
	return st_prop_str(m->txn, m->mbox, m->gc, MP_STORE_KIND_MESSAGE, 0, tag, s);
}

static int msg_u32(struct imp *m, uint32_t tag, uint32_t v)
{
	return st_prop_u32(m->txn, m->mbox, m->gc, MP_STORE_KIND_MESSAGE, 0, tag, v);
}

static int msg_time(struct imp *m, uint32_t tag, uint64_t v)
{
	return st_prop_u64(m->txn, m->mbox, m->gc, MP_STORE_KIND_MESSAGE, 0, tag, v);
}

/* The first mailbox of an address list (groups flattened), or NULL. */
static InternetAddressMailbox *first_mailbox(InternetAddressList *l, unsigned depth)
{
	int n = l ? internet_address_list_length(l) : 0;
	for (int i = 0; i < n && depth < 4; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(a))
			return INTERNET_ADDRESS_MAILBOX(a);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			InternetAddressMailbox *mb = first_mailbox(
				internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)),
				depth + 1);
			if (mb)
				return mb;
		}
	}
	return NULL;
}

static const char *mb_name(InternetAddressMailbox *mb)
{
	const char *name = internet_address_get_name(INTERNET_ADDRESS(mb));
	const char *addr = internet_address_mailbox_get_addr(mb);
	return name && *name ? name : addr ? addr : "";
}

static int set_person(struct imp *m, InternetAddressMailbox *mb, uint32_t t_name, uint32_t t_type,
		      uint32_t t_email, uint32_t t_smtp)
{
	const char *addr = internet_address_mailbox_get_addr(mb);
	int rc;
	if (!addr)
		addr = "";
	if ((rc = msg_str(m, t_name, mb_name(mb))) || (rc = msg_str(m, t_type, "SMTP")) ||
	    (rc = msg_str(m, t_email, addr)) || (rc = msg_str(m, t_smtp, addr)))
		return rc;
	return MP_OK;
}

static int add_recipients(struct imp *m, InternetAddressList *l, uint32_t type, uint32_t *row,
			  unsigned depth)
{
	int n = l ? internet_address_list_length(l) : 0;
	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		int rc;
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			if (depth >= 4)
				continue;
			rc = add_recipients(
				m, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)),
				type, row, depth + 1);
			if (rc)
				return rc;
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(a))
			continue;
		InternetAddressMailbox *mb = INTERNET_ADDRESS_MAILBOX(a);
		const char *addr = internet_address_mailbox_get_addr(mb);
		if (!addr)
			addr = "";
		void *tmp = talloc_new(m->mem);
		struct plist pl = {0};
		if (!tmp)
			return MP_ERR_NOMEM;
		pl_u32(tmp, &pl, MP_TAG_RECIPIENT_TYPE, type);
		pl_str(tmp, &pl, MP_TAG_DISPLAY_NAME, mb_name(mb));
		pl_str(tmp, &pl, MP_TAG_RECIPIENT_DISPLAY_NAME, mb_name(mb));
		pl_str(tmp, &pl, MP_TAG_ADDRTYPE, "SMTP");
		pl_str(tmp, &pl, MP_TAG_EMAIL_ADDRESS, addr);
		pl_str(tmp, &pl, MP_TAG_SMTP_ADDRESS, addr);
		pl_u32(tmp, &pl, MP_TAG_OBJECT_TYPE, 6);    /* MAPI_MAILUSER */
		pl_u32(tmp, &pl, MP_TAG_DISPLAY_TYPE, 0);   /* DT_MAILUSER */
		pl_u32(tmp, &pl, MP_TAG_RECIPIENT_FLAGS, 1); /* recipSendable */
		rc = pl.rc ? pl.rc : mp_store_recip_set(m->txn, m->mbox, m->mid, *row, pl.p, pl.n);
		talloc_free(tmp);
		if (rc)
			return rc;
		++*row;
	}
	return MP_OK;
}

/* "RE: x" -> prefix "RE: ": 1-3 letters, a colon and a space (MS-OXCMAIL's
 * rule, simplified). Returns the prefix length, 0 for none. */
static size_t subject_prefix(const char *s)
{
	size_t i = 0;
	while (i < 3 && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
		i++;
	if (i == 0 || s[i] != ':' || s[i + 1] != ' ')
		return 0;
	return i + 2;
}

static uint64_t gdt_filetime(GDateTime *dt)
{
	return mp_store_filetime_from_unix(g_date_time_to_unix(dt)) +
	       (uint64_t)g_date_time_get_microsecond(dt) * 10;
}

/* Date of the first (most recent) Received header, or 0. */
static uint64_t received_time(GMimeMessage *msg)
{
	const char *rcv = g_mime_object_get_header(GMIME_OBJECT(msg), "Received");
	const char *semi = rcv ? strrchr(rcv, ';') : NULL;
	if (!semi)
		return 0;
	GDateTime *dt = g_mime_utils_header_decode_date(semi + 1);
	if (!dt)
		return 0;
	uint64_t t = gdt_filetime(dt);
	g_date_time_unref(dt);
	return t;
}

static uint32_t importance(GMimeMessage *msg)
{
	const char *imp = g_mime_object_get_header(GMIME_OBJECT(msg), "Importance");
	const char *prio = g_mime_object_get_header(GMIME_OBJECT(msg), "X-Priority");
	while (imp && *imp == ' ')
		imp++;
	while (prio && *prio == ' ')
		prio++;
	if (imp && !strncasecmp(imp, "high", 4))
		return 2;
	if (imp && !strncasecmp(imp, "low", 3))
		return 0;
	if (prio && (*prio == '1' || *prio == '2'))
		return 2;
	if (prio && (*prio == '4' || *prio == '5'))
		return 0;
	return 1;
}

/* A header value, unfolded and trimmed, under mem (NULL when absent). */
static char *header_text(void *mem, GMimeMessage *msg, const char *name)
{
	const char *v = g_mime_object_get_header(GMIME_OBJECT(msg), name);
	if (!v)
		return NULL;
	char *u = g_mime_utils_header_unfold(v);
	if (!u)
		return NULL;
	char *s = u;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	char *r = n ? talloc_strndup(mem, s, n) : NULL;
	g_free(u);
	return r;
}

/* 8.3 form of a file name: upper-case ASCII letters and digits of the base
 * (6 + "~1" when it does not fit) and of up to 3 extension characters. */
static char *short_name(void *mem, const char *longname)
{
	const char *dot = strrchr(longname, '.');
	size_t blen = dot ? (size_t)(dot - longname) : strlen(longname);
	char base[9], ext[4];
	size_t b = 0, e = 0, kept = 0;
	for (size_t i = 0; i < blen; i++) {
		char c = longname[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (ok) {
			kept++;
			if (b < 8)
				base[b++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
		}
	}
	bool exact = kept == blen && kept <= 8;
	for (const char *p = dot ? dot + 1 : ""; *p && e < 3; p++) {
		char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			ext[e++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
		else
			exact = false;
	}
	if (dot && strlen(dot + 1) > 3)
		exact = false;
	if (b == 0) {
		memcpy(base, "ATTACH", 6);
		b = 6;
		exact = false;
	}
	if (!exact) {
		if (b > 6)
			b = 6;
		base[b++] = '~';
		base[b++] = '1';
	}
	base[b] = '\0';
	ext[e] = '\0';
	return e ? talloc_asprintf(mem, "%s.%s", base, ext) : talloc_strdup(mem, base);
}

static int add_attachment(struct imp *m, const char *filename, const char *mime_type,
			  const char *content_id, const uint8_t *data, size_t len)
{
	const uint8_t A = MP_STORE_KIND_ATTACHMENT;
	uint32_t num;
	int rc;
	if (len > MP_STORE_MAX_STREAM)
		return st_fail(m->txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "attachment %s: %zu bytes is above the %u-byte limit", filename, len,
			       MP_STORE_MAX_STREAM);
	if ((rc = mp_store_attach_create(m->txn, m->mbox, m->mid, &num)))
		return rc;
	char *sn = short_name(m->mem, filename);
	const char *dot = strrchr(filename, '.');
	if (!sn)
		return st_fail(m->txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	struct mp_store_txn *t = m->txn;
	if ((rc = st_prop_u32(t, m->mbox, m->gc, A, num, MP_TAG_ATTACH_METHOD, 1)) || /* afByValue */
	    (rc = st_prop_str(t, m->mbox, m->gc, A, num, MP_TAG_ATTACH_LONG_FILENAME, filename)) ||
	    (rc = st_prop_str(t, m->mbox, m->gc, A, num, MP_TAG_ATTACH_FILENAME, sn)) ||
	    (rc = st_prop_str(t, m->mbox, m->gc, A, num, MP_TAG_DISPLAY_NAME, filename)) ||
	    (dot && dot[1] && strlen(dot) <= 16 &&
	     (rc = st_prop_str(t, m->mbox, m->gc, A, num, MP_TAG_ATTACH_EXTENSION, dot))) ||
	    (rc = st_prop_str(t, m->mbox, m->gc, A, num, MP_TAG_ATTACH_MIME_TAG, mime_type)) ||
	    (content_id && *content_id &&
	     (rc = st_prop_str(t, m->mbox, m->gc, A, num, MP_TAG_ATTACH_CONTENT_ID, content_id))) ||
	    (rc = st_prop_u32(t, m->mbox, m->gc, A, num, MP_TAG_RENDERING_POSITION, 0xffffffffu)) ||
	    (rc = st_prop_bin(t, m->mbox, m->gc, A, num, MP_TAG_ATTACH_DATA_BINARY, data, len)))
		return rc;
	talloc_free(sn);
	m->attachments++;
	return MP_OK;
}

/* Decoded content of a leaf part, bounded; *out is the caller's
 * (g_byte_array_free). */
static int part_bytes(struct imp *m, GMimePart *part, GByteArray **out)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	*out = NULL;
	if (!dw) {
		*out = g_byte_array_new();
		return MP_OK;
	}
	GMimeStream *src = g_mime_data_wrapper_get_stream(dw);
	gint64 enc = src ? g_mime_stream_length(src) : 0;
	/* Base64 shrinks by a quarter; anything longer than twice the limit
	 * cannot decode under it. */
	if (enc > 2 * (gint64)MP_STORE_MAX_STREAM)
		return st_fail(m->txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
			       "a MIME part is above the %u-byte limit", MP_STORE_MAX_STREAM);
	GMimeStream *ms = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(dw, ms) < 0) {
		g_object_unref(ms);
		return st_fail(m->txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "a MIME part cannot be decoded");
	}
	/* Take the bytes over: the stream would free them with itself. */
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
	g_object_unref(ms);
	*out = ba;
	return MP_OK;
}

static void walk(struct imp *m, GMimeObject *obj, unsigned depth);

static void leaf(struct imp *m, GMimePart *part)
{
	GMimeObject *obj = GMIME_OBJECT(part);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *fname = g_mime_part_get_filename(part);
	bool attach = g_mime_part_is_attachment(part) || (fname && *fname);
	bool is_plain = ct && g_mime_content_type_is_type(ct, "text", "plain");
	bool is_html = ct && g_mime_content_type_is_type(ct, "text", "html");

	if (!attach && GMIME_IS_TEXT_PART(obj) && ((is_plain && !m->plain) || (is_html && !m->html))) {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
		if (!text)
			text = g_strdup("");
		if (is_plain)
			m->plain = text;
		else
			m->html = text;
		return;
	}
	GByteArray *ba;
	char *mt = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("application/octet-stream");
	m->rc = part_bytes(m, part, &ba);
	if (m->rc == MP_OK) {
		char *name = fname && *fname ? talloc_strdup(m->mem, fname)
			     : talloc_asprintf(m->mem, "attachment-%u%s", m->attachments + 1,
					       is_plain ? ".txt" : is_html ? ".html" : "");
		if (!name)
			m->rc = st_fail(m->txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
		else
			m->rc = add_attachment(m, name, mt ? mt : "application/octet-stream",
					       g_mime_object_get_content_id(obj), ba->data, ba->len);
		talloc_free(name);
		g_byte_array_free(ba, TRUE);
	}
	g_free(mt);
}

static void message_part(struct imp *m, GMimeMessagePart *mp)
{
	GMimeObject *obj = GMIME_OBJECT(mp);
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	const char *fname = g_mime_object_get_content_disposition_parameter(obj, "filename");
	if (!fname)
		fname = g_mime_object_get_content_type_parameter(obj, "name");
	const char *subj = inner ? g_mime_message_get_subject(inner) : NULL;
	char *name = fname && *fname ? talloc_strdup(m->mem, fname)
		     : subj && *subj ? talloc_asprintf(m->mem, "%s.eml", subj)
				      : talloc_strdup(m->mem, "message.eml");
	if (!name) {
		m->rc = st_fail(m->txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
		return;
	}
	/* A '/' would make the name a path for whoever saves it. */
	for (char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			*p = '_';
	GMimeStream *ms = g_mime_stream_mem_new();
	if (inner)
		g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, ms);
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
	m->rc = add_attachment(m, name, "message/rfc822", g_mime_object_get_content_id(obj),
			       ba->data, ba->len);
	g_object_unref(ms);
	talloc_free(name);
}

static void walk(struct imp *m, GMimeObject *obj, unsigned depth)
{
	if (!obj || m->rc)
		return;
	if (depth > MAX_MIME_DEPTH || ++m->parts > MAX_PARTS) {
		m->rc = st_fail(m->txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG,
				"MIME structure too deep or too many parts");
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n && !m->rc; i++)
			walk(m, g_mime_multipart_get_part(mp, i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		message_part(m, GMIME_MESSAGE_PART(obj));
	} else if (GMIME_IS_PART(obj)) {
		leaf(m, GMIME_PART(obj));
	}
}

static int import_message(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, GMimeMessage *msg,
			  uint32_t flags, uint64_t *out_mid)
{
	struct imp m = {.txn = txn, .mbox = mbox};
	int rc;

	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	if (!hl || g_mime_header_list_get_count(hl) == 0)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "not a message: no header fields");
	m.mem = talloc_new(txn->mem);
	if (!m.mem)
		return st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
	if ((rc = mp_store_msg_create(txn, mbox, fid, false, &m.mid)))
		goto out;
	m.gc = mp_store_id_gc(m.mid);

	/* Envelope. */
	const char *subj = g_mime_message_get_subject(msg);
	if (subj) {
		size_t pl = subject_prefix(subj);
		char *prefix = talloc_strndup(m.mem, subj, pl);
		if (!prefix) {
			rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
			goto out;
		}
		if ((rc = msg_str(&m, MP_TAG_SUBJECT, subj)) ||
		    (rc = msg_str(&m, MP_TAG_SUBJECT_PREFIX, prefix)) ||
		    (rc = msg_str(&m, MP_TAG_NORMALIZED_SUBJECT, subj + pl)) ||
		    (rc = msg_str(&m, MP_TAG_CONVERSATION_TOPIC, subj + pl)))
			goto out;
	}
	InternetAddressMailbox *from = first_mailbox(g_mime_message_get_from(msg), 0);
	InternetAddressMailbox *sender = first_mailbox(g_mime_message_get_sender(msg), 0);
	if (!sender)
		sender = from;
	if (from && (rc = set_person(&m, from, MP_TAG_SENT_REPRESENTING_NAME,
				     MP_TAG_SENT_REPRESENTING_ADDRTYPE,
				     MP_TAG_SENT_REPRESENTING_EMAIL, MP_TAG_SENT_REPRESENTING_SMTP)))
		goto out;
	if (sender && (rc = set_person(&m, sender, MP_TAG_SENDER_NAME, MP_TAG_SENDER_ADDRTYPE,
				       MP_TAG_SENDER_EMAIL, MP_TAG_SENDER_SMTP_ADDRESS)))
		goto out;
	uint32_t row = 0;
	if ((rc = add_recipients(&m, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO), 1,
				 &row, 0)) ||
	    (rc = add_recipients(&m, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_CC), 2,
				 &row, 0)) ||
	    (rc = add_recipients(&m, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_BCC), 3,
				 &row, 0)))
		goto out;

	GDateTime *date = g_mime_message_get_date(msg);
	uint64_t submit = date ? gdt_filetime(date) : 0;
	uint64_t delivery = received_time(msg);
	if (!delivery)
		delivery = submit ? submit : mp_store_filetime_now();
	if ((submit && (rc = msg_time(&m, MP_TAG_CLIENT_SUBMIT_TIME, submit))) ||
	    (rc = msg_time(&m, MP_TAG_MESSAGE_DELIVERY_TIME, delivery)))
		goto out;

	const char *msgid = g_mime_message_get_message_id(msg);
	char *irt = header_text(m.mem, msg, "In-Reply-To");
	char *refs = header_text(m.mem, msg, "References");
	if (msgid && *msgid) {
		char *v = talloc_asprintf(m.mem, "<%s>", msgid);
		if (!v || (rc = msg_str(&m, MP_TAG_INTERNET_MESSAGE_ID, v)))
			goto out_nomem;
	}
	if ((irt && (rc = msg_str(&m, MP_TAG_IN_REPLY_TO_ID, irt))) ||
	    (refs && (rc = msg_str(&m, MP_TAG_INTERNET_REFERENCES, refs))) ||
	    (rc = msg_u32(&m, MP_TAG_IMPORTANCE, importance(msg))) ||
	    (rc = msg_str(&m, MP_TAG_MESSAGE_CLASS, "IPM.Note")))
		goto out;
	char *headers = g_mime_object_get_headers(GMIME_OBJECT(msg), NULL);
	if (headers) {
		rc = msg_str(&m, MP_TAG_TRANSPORT_HEADERS, headers);
		g_free(headers);
		if (rc)
			goto out;
	}

	/* Body and attachments. */
	walk(&m, g_mime_message_get_mime_part(msg), 0);
	if ((rc = m.rc))
		goto out;
	if (m.plain) {
		uint8_t *u;
		size_t n;
		if ((rc = mp_store_utf8_to_utf16(m.mem, m.plain, strlen(m.plain), false, &u, &n)))
			goto out_nomem;
		if (n > MP_STORE_MAX_STREAM) {
			rc = st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "text body too big");
			goto out;
		}
		if ((rc = st_prop_bin(txn, mbox, m.gc, MP_STORE_KIND_MESSAGE, 0, MP_TAG_BODY, u, n)))
			goto out;
		talloc_free(u);
	}
	if (m.html) {
		size_t n = strlen(m.html);
		if (n > MP_STORE_MAX_STREAM) {
			rc = st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "HTML body too big");
			goto out;
		}
		if ((rc = st_prop_bin(txn, mbox, m.gc, MP_STORE_KIND_MESSAGE, 0, MP_TAG_HTML, m.html,
				      n)) ||
		    (rc = msg_u32(&m, MP_TAG_INTERNET_CODEPAGE, 65001)))
			goto out;
	}
	if ((m.html || m.plain) &&
	    (rc = msg_u32(&m, MP_TAG_NATIVE_BODY, m.html ? 3 : 1))) /* HTML / plain text */
		goto out;

	/* Delivered mail: not unsent, read only on request. */
	if ((rc = st_msg_set_flags(txn, mbox, m.gc,
				   (flags & MP_STORE_IMPORT_READ) ? MP_MSGFLAG_READ : 0)) ||
	    (rc = mp_store_msg_save(txn, mbox, m.mid, out_mid)))
		goto out;
	goto out;
out_nomem:
	rc = st_fail(txn, MP_ERR_NOMEM, MP_STORE_EC_OOM, "out of memory");
out:
	g_free(m.plain);
	g_free(m.html);
	talloc_free(m.mem);
	return rc;
}

/* Parse and import the next message of `parser`. */
static int import_parsed(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid,
			 GMimeParser *parser, uint32_t flags, uint64_t *mid)
{
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	if (!msg)
		return st_fail(txn, MP_ERR_PARSE, MP_STORE_EC_INVALID_PARAM,
			       "not a message (MIME parser failed)");
	int rc = st_op_begin(txn);
	if (rc == MP_OK)
		rc = st_op_end(txn, import_message(txn, mbox, fid, msg, flags, mid));
	g_object_unref(msg);
	return rc;
}

/* A parser over `s` with line ends made LF: GMime takes a message with
 * CRLF headers to use CRLF throughout and cuts two bytes before each
 * boundary, which loses the last base64 quantum of a part whose lines end
 * in a bare LF (mail that went through tools mixing the two). LF alone is
 * parsed the same either way. */
static GMimeParser *new_parser(GMimeStream *s)
{
	GMimeStream *f = g_mime_stream_filter_new(s);
	GMimeFilter *lf = g_mime_filter_dos2unix_new(FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), lf);
	g_object_unref(lf);
	GMimeParser *parser = g_mime_parser_new_with_stream(f);
	g_object_unref(f);
	return parser;
}

int mp_store_import_mem(struct mp_store_txn *txn, uint32_t mbox, uint64_t fid, const void *data,
			size_t len, uint32_t flags, uint64_t *mid)
{
	pthread_once(&gmime_once, gmime_init_once);
	const char *p = data;
	/* A lone message may still carry its mbox "From " line. */
	if (len >= 5 && memcmp(p, "From ", 5) == 0) {
		const char *nl = memchr(p, '\n', len);
		size_t skip = nl ? (size_t)(nl - p) + 1 : len;
		p += skip;
		len -= skip;
	}
	if (len > MP_STORE_IMPORT_MAX_FILE)
		return st_fail(txn, MP_ERR_LIMIT, MP_STORE_EC_TOO_BIG, "message above %u bytes",
			       MP_STORE_IMPORT_MAX_FILE);
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(p, len);
	GMimeParser *parser = new_parser(s);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	int rc = import_parsed(txn, mbox, fid, parser, flags, mid);
	g_object_unref(parser);
	g_object_unref(s);
	return rc;
}

/* ---- Files and directories ---- */

struct run {
	struct mp_store *st;
	uint32_t mbox;
	uint64_t fid;
	const struct mp_store_import_opts *opts;
	struct mp_store_import_stats *stats;
	struct mp_store_txn *txn; /* the open batch, or NULL */
	unsigned in_batch;
	char *err;
	size_t errlen;
};

static void seterr(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(struct run *r, const char *fmt, ...)
{
	va_list ap;
	if (!r->err || !r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
}

static int batch_commit(struct run *r)
{
	if (!r->txn)
		return MP_OK;
	int rc = mp_store_txn_commit(r->txn);
	r->txn = NULL;
	r->in_batch = 0;
	if (rc)
		seterr(r, "import: commit failed (%s)", mp_status_name(rc));
	return rc;
}

/* Import every message a parser yields. Returns MP_OK, MP_DONE (stopped by
 * the callback) or a store error that ends the import. */
static int import_stream(struct run *r, const char *path, GMimeStream *s, bool mbox,
			 uint64_t total)
{
	GMimeParser *parser = new_parser(s);
	g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
	int rc = MP_OK;
	unsigned in_file = 0;
	while (rc == MP_OK) {
		if (mbox && g_mime_parser_eos(parser))
			break;
		if (!mbox && in_file == 1)
			break;
		gint64 before = g_mime_parser_tell(parser);
		if (!r->txn) {
			rc = mp_store_txn_begin(r->st, true, &r->txn);
			if (rc) {
				seterr(r, "import: cannot begin a write transaction (%s)",
				       mp_status_name(rc));
				break;
			}
		}
		uint64_t mid = 0;
		int mrc = import_parsed(r->txn, r->mbox, r->fid, parser, r->opts->flags, &mid);
		in_file++;
		if (mrc == MP_OK) {
			r->stats->messages++;
			r->in_batch++;
		} else if (mrc == MP_ERR_NOMEM || mrc == MP_ERR_IO ||
			   mp_store_txn_ec(r->txn) == MP_STORE_EC_DISK_FULL) {
			seterr(r, "%s: message %u: %s", path, in_file,
			       mp_store_txn_errmsg(r->txn));
			batch_commit(r); /* keep what was imported */
			rc = mrc;
			break;
		} else {
			if (r->stats->failed++ == 0)
				snprintf(r->stats->first_error, sizeof(r->stats->first_error),
					 "%s: message %u: %s", path, in_file,
					 mp_store_txn_errmsg(r->txn));
		}
		if (r->in_batch >= MP_STORE_IMPORT_BATCH && (rc = batch_commit(r)))
			break;
		if (r->opts->progress) {
			struct mp_store_import_progress p = {
				.path = path,
				.done = r->stats->messages,
				.failed = r->stats->failed,
				.bytes_done = (uint64_t)g_mime_parser_tell(parser),
				.bytes_total = total,
				.last_mid = mid,
			};
			if (r->opts->progress(r->opts->progress_arg, &p)) {
				rc = batch_commit(r);
				if (rc == MP_OK)
					rc = MP_DONE;
				break;
			}
		}
		/* A parser that cannot move on would loop forever. */
		if (mbox && g_mime_parser_tell(parser) <= before)
			break;
	}
	g_object_unref(parser);
	return rc;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	return n > s && strcasecmp(name + n - s, suffix) == 0;
}

static int import_file(struct run *r, const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		seterr(r, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO;
	}
	if (!S_ISREG(sb.st_mode)) {
		seterr(r, "%s: not a regular file", path);
		return MP_ERR_NOTFOUND;
	}
	GError *gerr = NULL;
	GMimeStream *s = g_mime_stream_fs_open(path, O_RDONLY, 0, &gerr);
	if (!s) {
		seterr(r, "%s: %s", path, gerr ? gerr->message : "cannot open");
		if (gerr)
			g_error_free(gerr);
		return MP_ERR_IO;
	}
	char head[5] = {0};
	bool mbox = has_suffix(path, ".mbox");
	if (!mbox && g_mime_stream_read(s, head, 5) == 5 && memcmp(head, "From ", 5) == 0)
		mbox = true;
	g_mime_stream_reset(s);
	if (!mbox && (uint64_t)sb.st_size > MP_STORE_IMPORT_MAX_FILE) {
		g_object_unref(s);
		if (r->stats->failed++ == 0)
			snprintf(r->stats->first_error, sizeof(r->stats->first_error),
				 "%s: above %u bytes", path, MP_STORE_IMPORT_MAX_FILE);
		return MP_OK;
	}
	r->stats->files++;
	int rc = import_stream(r, path, s, mbox, (uint64_t)sb.st_size);
	g_object_unref(s);
	return rc;
}

static int import_filter(const struct dirent *d)
{
	return d->d_name[0] != '.' && (has_suffix(d->d_name, ".eml") || has_suffix(d->d_name, ".mbox"));
}

static int import_dir(struct run *r, const char *dir)
{
	struct dirent **list;
	int n = scandir(dir, &list, import_filter, alphasort);
	if (n < 0) {
		seterr(r, "%s: %s", dir, strerror(errno));
		return MP_ERR_IO;
	}
	int rc = MP_OK;
	for (int i = 0; i < n; i++) {
		if (rc == MP_OK) {
			char *path = talloc_asprintf(NULL, "%s/%s", dir, list[i]->d_name);
			struct stat sb;
			if (!path)
				rc = MP_ERR_NOMEM;
			else if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				rc = import_file(r, path);
			talloc_free(path);
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

int mp_store_import_path(struct mp_store *st, const char *user, const char *path,
			 const struct mp_store_import_opts *opts, struct mp_store_import_stats *stats,
			 char *err, size_t errlen)
{
	static const struct mp_store_import_opts no_opts;
	struct mp_store_import_stats dummy;
	struct run r = {.st = st, .opts = opts ? opts : &no_opts, .stats = stats ? stats : &dummy,
			.err = err, .errlen = errlen};
	struct mp_store_txn *txn;
	struct mp_store_user *u;
	int rc;

	pthread_once(&gmime_once, gmime_init_once);
	memset(r.stats, 0, sizeof(*r.stats));
	if (err && errlen)
		err[0] = '\0';

	/* Resolve the user and the folder first. */
	if ((rc = mp_store_txn_begin(st, false, &txn))) {
		seterr(&r, "import: cannot read the store (%s)", mp_status_name(rc));
		return rc;
	}
	rc = mp_store_user_by_name(txn, user, txn->mem, &u);
	if (rc == MP_OK) {
		r.mbox = u->id;
		if (r.opts->fid) {
			struct mp_store_folder_info fi;
			r.fid = r.opts->fid;
			rc = mp_store_folder_get(txn, r.mbox, r.fid, &fi);
		} else {
			rc = mp_store_receive_folder_get(txn, r.mbox, "IPM.Note", NULL, &r.fid, NULL);
		}
	}
	if (rc)
		seterr(&r, "import: %s", txn->err);
	mp_store_txn_abort(txn);
	if (rc)
		return rc;

	struct stat sb;
	if (stat(path, &sb) != 0) {
		seterr(&r, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? MP_ERR_NOTFOUND : MP_ERR_IO;
	}
	rc = S_ISDIR(sb.st_mode) ? import_dir(&r, path) : import_file(&r, path);
	if (rc == MP_OK || rc == MP_DONE) {
		int crc = batch_commit(&r);
		if (crc)
			rc = crc;
	} else if (r.txn) {
		mp_store_txn_abort(r.txn);
		r.txn = NULL;
	}
	return rc;
}
