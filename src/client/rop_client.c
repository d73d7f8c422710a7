/*
 * ROP request builders and response readers (see rop_client.h). Layouts
 * are those of MS-OXCROPS 2.2 (section per ROP in the comments).
 */
#include "client/rop_client.h"

#include "client/emsmdb_client.h"
#include "mapi/names.h"
#include "mapi/rop_desc.h" /* struct mp_rop_rows: what RowData decodes to */
#include "util/status.h"

#include <stdio.h>
#include <string.h>
#include <talloc.h>

void mp_rop_req_init(struct mp_rop_req *r)
{
	memset(r, 0, sizeof(*r));
	mp_wb_init(&r->rops);
}

void mp_rop_req_free(struct mp_rop_req *r)
{
	mp_wb_free(&r->rops);
}

uint8_t mp_rop_req_handle(struct mp_rop_req *r, uint32_t server_handle)
{
	if (r->n_handles >= MP_ROP_REQ_MAX_HANDLES) {
		r->bad = true;
		return 0;
	}
	r->handles[r->n_handles] = server_handle;
	return r->n_handles++;
}

uint8_t mp_rop_req_slot(struct mp_rop_req *r)
{
	return mp_rop_req_handle(r, MP_ROP_NO_HANDLE);
}

int mp_rop_req_build(const struct mp_rop_req *r, struct mp_wbuf *out)
{
	if (r->bad || r->rops.bad)
		return MP_ERR_NOMEM;
	if (r->rops.len + 2 > 0xffff)
		return MP_ERR_LIMIT;
	mp_wb_u16(out, (uint16_t)(r->rops.len + 2));
	mp_wb_bytes(out, r->rops.data, r->rops.len);
	for (uint8_t i = 0; i < r->n_handles; i++)
		mp_wb_u32(out, r->handles[i]);
	return out->bad ? MP_ERR_NOMEM : MP_OK;
}

/* RopId, LogonId (0), then the handle indexes. */
static void hdr(struct mp_rop_req *r, uint8_t id, uint8_t in)
{
	mp_wb_u8(&r->rops, id);
	mp_wb_u8(&r->rops, 0);
	mp_wb_u8(&r->rops, in);
	r->n_rops++;
}

static void tags(struct mp_wbuf *w, const uint32_t *t, uint16_t n)
{
	mp_wb_u16(w, n);
	for (uint16_t i = 0; i < n; i++)
		mp_wb_u32(w, t[i]);
}

/* 2.2.3.1.1: LogonFlags, OpenFlags, StoreState, EssdnSize, Essdn (with NUL). */
void mp_rop_add_logon(struct mp_rop_req *r, uint8_t out, uint8_t logon_flags, uint32_t open_flags,
                      const char *essdn)
{
	mp_wb_u8(&r->rops, MP_ROPID_LOGON);
	mp_wb_u8(&r->rops, 0);
	mp_wb_u8(&r->rops, out);
	mp_wb_u8(&r->rops, logon_flags);
	mp_wb_u32(&r->rops, open_flags);
	mp_wb_u32(&r->rops, 0);
	size_t n = essdn ? strlen(essdn) + 1 : 0;
	mp_wb_u16(&r->rops, (uint16_t)n);
	if (n)
		mp_wb_bytes(&r->rops, essdn, n);
	r->n_rops++;
}

/* 2.2.15.3 */
void mp_rop_add_release(struct mp_rop_req *r, uint8_t in)
{
	hdr(r, MP_ROPID_RELEASE, in);
}

/* 2.2.4.1: OutputHandleIndex, FolderId, OpenModeFlags. */
void mp_rop_add_open_folder(struct mp_rop_req *r, uint8_t in, uint8_t out, uint64_t fid)
{
	hdr(r, 0x02, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u32(&r->rops, (uint32_t)fid);
	mp_wb_u32(&r->rops, (uint32_t)(fid >> 32));
	mp_wb_u8(&r->rops, 0);
}

/* 2.2.4.13 / 2.2.4.14: OutputHandleIndex, TableFlags. */
void mp_rop_add_get_hierarchy_table(struct mp_rop_req *r, uint8_t in, uint8_t out,
                                    uint8_t table_flags)
{
	hdr(r, 0x04, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u8(&r->rops, table_flags);
}

void mp_rop_add_get_contents_table(struct mp_rop_req *r, uint8_t in, uint8_t out,
                                   uint8_t table_flags)
{
	hdr(r, 0x05, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u8(&r->rops, table_flags);
}

/* 2.2.5.1: SetColumnsFlags (0: wait), PropertyTagCount, PropertyTags. */
void mp_rop_add_set_columns(struct mp_rop_req *r, uint8_t in, const uint32_t *t, uint16_t n)
{
	hdr(r, 0x12, in);
	mp_wb_u8(&r->rops, 0);
	tags(&r->rops, t, n);
}

/* 2.2.5.4: QueryRowsFlags (0: advance), ForwardRead (1), RowCount. */
void mp_rop_add_query_rows(struct mp_rop_req *r, uint8_t in, uint16_t count)
{
	hdr(r, 0x15, in);
	mp_wb_u8(&r->rops, 0);
	mp_wb_u8(&r->rops, 1);
	mp_wb_u16(&r->rops, count);
}

/* 2.2.6.1: OutputHandleIndex, CodePageId, FolderId, OpenModeFlags, MessageId. */
void mp_rop_add_open_message(struct mp_rop_req *r, uint8_t in, uint8_t out, uint64_t fid,
                             uint64_t mid)
{
	hdr(r, 0x03, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u16(&r->rops, 0x0FFF); /* the logon's code page */
	mp_wb_u32(&r->rops, (uint32_t)fid);
	mp_wb_u32(&r->rops, (uint32_t)(fid >> 32));
	mp_wb_u8(&r->rops, 0); /* read-only */
	mp_wb_u32(&r->rops, (uint32_t)mid);
	mp_wb_u32(&r->rops, (uint32_t)(mid >> 32));
}

/* 2.2.8.3: PropertySizeLimit (0: none), WantUnicode, tags. */
void mp_rop_add_get_props_specific(struct mp_rop_req *r, uint8_t in, const uint32_t *t, uint16_t n)
{
	hdr(r, 0x07, in);
	mp_wb_u16(&r->rops, 0);
	mp_wb_u16(&r->rops, 1);
	tags(&r->rops, t, n);
}

/* 2.2.6.17: OutputHandleIndex, TableFlags. */
void mp_rop_add_get_attachment_table(struct mp_rop_req *r, uint8_t in, uint8_t out)
{
	hdr(r, 0x21, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u8(&r->rops, 0);
}

/* 2.2.6.12: OutputHandleIndex, OpenAttachmentFlags (0 read-only), AttachmentID. */
void mp_rop_add_open_attachment(struct mp_rop_req *r, uint8_t in, uint8_t out, uint32_t num)
{
	hdr(r, 0x22, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u8(&r->rops, 0);
	mp_wb_u32(&r->rops, num);
}

/* 2.2.9.1: OutputHandleIndex, PropertyTag, OpenModeFlags. */
void mp_rop_add_open_stream(struct mp_rop_req *r, uint8_t in, uint8_t out, uint32_t tag,
                            uint8_t mode)
{
	hdr(r, 0x2B, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u32(&r->rops, tag);
	mp_wb_u8(&r->rops, mode);
}

/* 2.2.9.2: ByteCount. */
void mp_rop_add_read_stream(struct mp_rop_req *r, uint8_t in, uint16_t count)
{
	hdr(r, 0x2C, in);
	mp_wb_u16(&r->rops, count);
}

void mp_rop_add_write_stream(struct mp_rop_req *r, uint8_t in, const uint8_t *data, uint16_t n)
{
	hdr(r, 0x2D, in);
	mp_wb_u16(&r->rops, n);
	mp_wb_bytes(&r->rops, data, n);
}

void mp_rop_add_commit_stream(struct mp_rop_req *r, uint8_t in)
{
	hdr(r, 0x5D, in);
}

/* 2.2.6.2: OutputHandleIndex, CodePageId, FolderId, AssociatedFlag. */
void mp_rop_add_create_message(struct mp_rop_req *r, uint8_t in, uint8_t out, uint64_t fid)
{
	hdr(r, 0x06, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u16(&r->rops, 0x0FFF);
	mp_wb_u32(&r->rops, (uint32_t)fid);
	mp_wb_u32(&r->rops, (uint32_t)(fid >> 32));
	mp_wb_u8(&r->rops, 0);
}

/* 2.2.8.6: PropertyValueSize (bytes of count + values), PropertyValueCount, values. */
void mp_rop_add_set_properties(struct mp_rop_req *r, uint8_t in, const struct mp_tagged_pv *v,
                               uint16_t n)
{
	hdr(r, 0x0A, in);
	size_t at = r->rops.len;
	mp_wb_u16(&r->rops, 0);
	mp_wb_u16(&r->rops, n);
	if (mp_tagged_pvs_write(&r->rops, MP_PV_ROP, v, n) != MP_OK)
		r->bad = true;
	size_t size = r->rops.len - at - 2;
	if (size > 0xffff)
		r->bad = true;
	if (!r->rops.bad)
		mp_wb_put_u16_at(&r->rops, at, (uint16_t)size);
}

/*
 * 2.2.6.5: ColumnCount (0), RowCount, rows of RowId, RecipientType,
 * RecipientRowSize, RecipientRow (MS-OXCDATA 2.8.3.1): RecipientFlags =
 * Type SMTP (3) | E | D | U, then EmailAddress and DisplayName in UTF-16,
 * RecipientColumnCount 0 and an empty standard PropertyRow.
 */
void mp_rop_add_modify_recipients(struct mp_rop_req *r, uint8_t in,
                                  const struct mp_rop_recipient *rcpt, uint16_t n)
{
	hdr(r, 0x0E, in);
	mp_wb_u16(&r->rops, 0);
	mp_wb_u16(&r->rops, n);
	void *mem = talloc_new(NULL);
	for (uint16_t i = 0; i < n; i++) {
		size_t el = 0, dl = 0;
		uint8_t *e = mp_client_utf8_to_utf16(mem, rcpt[i].smtp, &el);
		uint8_t *d = mp_client_utf8_to_utf16(
		    mem, rcpt[i].display_name ? rcpt[i].display_name : rcpt[i].smtp, &dl);
		if (!e || !d) {
			r->bad = true;
			break;
		}
		mp_wb_u32(&r->rops, i);
		mp_wb_u8(&r->rops, rcpt[i].type);
		size_t at = r->rops.len;
		mp_wb_u16(&r->rops, 0);
		mp_wb_u16(&r->rops, 0x0003 | 0x0008 | 0x0010 | 0x0200);
		mp_wb_bytes(&r->rops, e, el);
		mp_wb_bytes(&r->rops, d, dl);
		mp_wb_u16(&r->rops, 0);
		mp_wb_u8(&r->rops, 0);
		if (!r->rops.bad)
			mp_wb_put_u16_at(&r->rops, at, (uint16_t)(r->rops.len - at - 2));
	}
	talloc_free(mem);
}

/* 2.2.6.3: ResponseHandleIndex, InputHandleIndex, SaveFlags. */
void mp_rop_add_save_changes_message(struct mp_rop_req *r, uint8_t resp, uint8_t in, uint8_t flags)
{
	hdr(r, 0x0C, resp);
	mp_wb_u8(&r->rops, in);
	mp_wb_u8(&r->rops, flags);
}

/* 2.2.7.1: SubmitFlags (0). */
void mp_rop_add_submit_message(struct mp_rop_req *r, uint8_t in)
{
	hdr(r, 0x32, in);
	mp_wb_u8(&r->rops, 0);
}

/* 2.2.6.13: OutputHandleIndex. */
void mp_rop_add_create_attachment(struct mp_rop_req *r, uint8_t in, uint8_t out)
{
	hdr(r, 0x23, in);
	mp_wb_u8(&r->rops, out);
}

/* 2.2.6.15: ResponseHandleIndex, InputHandleIndex, SaveFlags. */
void mp_rop_add_save_changes_attachment(struct mp_rop_req *r, uint8_t resp, uint8_t in,
                                        uint8_t flags)
{
	hdr(r, 0x25, resp);
	mp_wb_u8(&r->rops, in);
	mp_wb_u8(&r->rops, flags);
}

/* 2.2.14.1: OutputHandleIndex, NotificationTypes, Reserved, WantWholeStore,
 * and without it FolderId, MessageId. */
void mp_rop_add_register_notification(struct mp_rop_req *r, uint8_t in, uint8_t out, uint8_t types,
                                      bool whole, uint64_t fid, uint64_t mid)
{
	hdr(r, 0x29, in);
	mp_wb_u8(&r->rops, out);
	mp_wb_u8(&r->rops, types);
	mp_wb_u8(&r->rops, 0); /* Reserved */
	mp_wb_u8(&r->rops, whole ? 1 : 0);
	if (!whole) {
		mp_wb_u32(&r->rops, (uint32_t)fid);
		mp_wb_u32(&r->rops, (uint32_t)(fid >> 32));
		mp_wb_u32(&r->rops, (uint32_t)mid);
		mp_wb_u32(&r->rops, (uint32_t)(mid >> 32));
	}
}

int mp_rop_client_init(struct mp_rop_client *rc, void *mem, struct mp_emsmdb_client *em)
{
	memset(rc, 0, sizeof(*rc));
	rc->em = em;
	rc->state = mp_rop_session_new(mem);
	return rc->state ? MP_OK : MP_ERR_NOMEM;
}

int mp_rop_client_exec(struct mp_rop_client *rc, void *mem, const struct mp_rop_req *r,
                       struct mp_rop_buf **rsp)
{
	struct mp_wbuf w;
	mp_wb_init(&w);
	rc->err[0] = 0;
	rc->last_req = NULL;
	int st = mp_rop_req_build(r, &w);
	struct mp_rop_buf *req = NULL;
	if (st == MP_OK)
		st = mp_rop_buf_decode(mem, w.data, w.len, false, NULL, rc->state, &req);
	if (st != MP_OK) {
		snprintf(rc->err, sizeof(rc->err), "cannot build the ROP request (%s)",
		         mp_status_name(st));
		mp_wb_free(&w);
		return st;
	}
	uint8_t *out = NULL;
	size_t out_len = 0;
	st = mp_emsmdb_client_rpc(rc->em, mem, w.data, w.len, &out, &out_len);
	mp_wb_free(&w);
	if (st != MP_OK) {
		snprintf(rc->err, sizeof(rc->err), "%s", rc->em->err);
		return st;
	}
	st = mp_rop_buf_decode(mem, out, out_len, true, req, rc->state, rsp);
	if (st != MP_OK) {
		snprintf(rc->err, sizeof(rc->err), "the server's ROP response buffer is malformed");
		return st;
	}
	mp_rop_session_update(rc->state, req, *rsp);
	rc->last_req = req;
	return MP_OK;
}

int mp_rop_client_result(struct mp_rop_client *rc, const struct mp_rop_buf *rsp, size_t i,
                         const char *what, const struct mp_rop **rop)
{
	*rop = NULL;
	const struct mp_rop *want =
	    rc->last_req && i < rc->last_req->count ? rc->last_req->rops[i] : NULL;
	for (size_t k = 0; want && k < rsp->count; k++) {
		const struct mp_rop *x = rsp->rops[k];
		if (x->req != want)
			continue;
		uint32_t rv = 0;
		if (x->opaque || !mp_rop_return_value(x, &rv)) {
			snprintf(rc->err, sizeof(rc->err),
			         "%s: the server's %s response cannot be decoded (%s)", what,
			         mp_rop_get_name(x), x->why ? x->why : "?");
			return MP_ERR_PARSE;
		}
		if (rv != 0) {
			const char *n = mp_error_name(rv);
			rc->rv = rv;
			snprintf(rc->err, sizeof(rc->err), "%s: %s failed with 0x%08x (%s)", what,
			         mp_rop_get_name(x), rv, n ? n : "unknown error");
			return MP_CLIENT_ERESULT;
		}
		*rop = x;
		return MP_OK;
	}
	snprintf(rc->err, sizeof(rc->err), "%s: the server did not answer ROP %zu", what, i);
	return MP_ERR_PARSE;
}

bool mp_rop_client_rows(const struct mp_rop *rop, struct mp_rop_rows_view *out)
{
	const struct mp_rop_val *v = mp_rop_field(rop, "RowData");
	if (!v || !v->p)
		return false;
	const struct mp_rop_rows *rows = v->p;
	out->ncols = rows->ncols;
	out->cols = rows->cols;
	out->count = rows->count;
	out->rows = rows->rows;
	return true;
}

const struct mp_propval *mp_rop_row_value(const struct mp_rop_rows_view *v, uint32_t row,
                                          uint32_t tag)
{
	if (row >= v->count)
		return NULL;
	const struct mp_prop_row *r = &v->rows[row];
	for (uint32_t c = 0; c < v->ncols && c < r->count; c++) {
		if (v->cols[c] != tag)
			continue;
		const struct mp_row_value *x = &r->vals[c];
		if (r->flag == MP_ROW_FLAGGED && x->flag != MP_PV_FLAG_VALUE)
			return NULL;
		if (x->val.type == MP_PT_ERRORCODE && MP_PROP_TYPE(tag) != MP_PT_ERRORCODE)
			return NULL;
		return &x->val;
	}
	return NULL;
}

size_t mp_rop_client_new_mail(const struct mp_rop_buf *rsp, struct mp_rop_new_mail *out, size_t max,
                              bool *more)
{
	size_t n = 0;
	*more = false;
	for (size_t i = 0; i < rsp->count; i++) {
		const struct mp_rop *x = rsp->rops[i];
		uint64_t flags = 0, handle = 0, fid = 0, mid = 0;
		if (x->id == MP_ROPID_PENDING)
			*more = true;
		if (x->id != MP_ROPID_NOTIFY || x->opaque ||
		    !mp_rop_get_uint(x, "NotificationFlags", &flags) ||
		    !(flags & MP_NOTIFY_NEW_MAIL) ||
		    !mp_rop_get_uint(x, "NotificationHandle", &handle) ||
		    !mp_rop_get_uint(x, "FolderId", &fid) || !mp_rop_get_uint(x, "MessageId", &mid))
			continue;
		if (n == max)
			continue;
		out[n].handle = (uint32_t)handle;
		out[n].fid = fid;
		out[n].mid = mid;
		n++;
	}
	return n;
}

char *mp_client_utf16_to_utf8(void *mem, const uint8_t *p, size_t n)
{
	char *s = talloc_array(mem, char, n / 2 * 3 + 1);
	if (!s)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t c = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8;
		if (c == 0)
			break;
		if (c >= 0xD800 && c < 0xDC00 && i + 3 < n) {
			uint32_t lo = (uint32_t)p[i + 2] | (uint32_t)p[i + 3] << 8;
			if (lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			} else {
				c = 0xFFFD;
			}
		} else if (c >= 0xD800 && c < 0xE000) {
			c = 0xFFFD;
		}
		if (c < 0x80) {
			s[o++] = (char)c;
		} else if (c < 0x800) {
			s[o++] = (char)(0xC0 | c >> 6);
			s[o++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			s[o++] = (char)(0xE0 | c >> 12);
			s[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (c & 0x3F));
		} else {
			/* a surrogate pair is 4 input bytes for 4 output bytes */
			s[o++] = (char)(0xF0 | c >> 18);
			s[o++] = (char)(0x80 | ((c >> 12) & 0x3F));
			s[o++] = (char)(0x80 | ((c >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (c & 0x3F));
		}
	}
	s[o] = 0;
	return s;
}

uint8_t *mp_client_utf8_to_utf16(void *mem, const char *s, size_t *n)
{
	size_t len = strlen(s);
	uint8_t *out = talloc_array(mem, uint8_t, len * 4 + 2);
	if (!out)
		return NULL;
	const uint8_t *p = (const uint8_t *)s;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		uint32_t c = p[i];
		size_t k;
		if (c < 0x80)
			k = 0;
		else if ((c & 0xE0) == 0xC0)
			k = 1, c &= 0x1F;
		else if ((c & 0xF0) == 0xE0)
			k = 2, c &= 0x0F;
		else if ((c & 0xF8) == 0xF0)
			k = 3, c &= 0x07;
		else
			goto bad;
		if (i + k >= len + (k == 0))
			goto bad;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				goto bad;
			c = c << 6 | (p[i + j] & 0x3F);
		}
		i += k + 1;
		if (c > 0x10FFFF || (c >= 0xD800 && c < 0xE000))
			goto bad;
		if (c >= 0x10000) {
			c -= 0x10000;
			uint32_t hi = 0xD800 + (c >> 10), lo = 0xDC00 + (c & 0x3FF);
			out[o++] = (uint8_t)hi;
			out[o++] = (uint8_t)(hi >> 8);
			out[o++] = (uint8_t)lo;
			out[o++] = (uint8_t)(lo >> 8);
		} else {
			out[o++] = (uint8_t)c;
			out[o++] = (uint8_t)(c >> 8);
		}
	}
	out[o++] = 0;
	out[o++] = 0;
	*n = o;
	return out;
bad:
	talloc_free(out);
	return NULL;
}
