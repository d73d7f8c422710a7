/*
 * ROP requests built as bytes from the layouts of MS-OXCROPS 2.2 and their
 * responses decoded by the ROP codec (mapi/rop.h), which is given the
 * decoded request so that rows follow their columns and the logon kind.
 *
 * A request (struct mp_rop_req) is a list of ROPs and a server object
 * handle table. mp_rop_req_handle() puts a known server handle in a slot
 * (an InputHandleIndex); mp_rop_req_slot() reserves a slot for an object a
 * ROP creates (an OutputHandleIndex; 0xFFFFFFFF until the server fills it).
 * mp_rop_client_exec() sends the buffer through EMSMDB and returns the
 * decoded response buffer; mp_rop_client_result() finds the response of
 * the i-th ROP and checks its ReturnValue.
 *
 * Logon id is always 0 (one logon per session).
 */
#ifndef MP_CLIENT_ROP_CLIENT_H
#define MP_CLIENT_ROP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapi/propval.h"
#include "mapi/rop.h"
#include "util/cursor.h"

struct mp_emsmdb_client;

#define MP_ROP_REQ_MAX_HANDLES 32
#define MP_ROP_NO_HANDLE 0xFFFFFFFFu

struct mp_rop_req {
	struct mp_wbuf rops;
	uint32_t handles[MP_ROP_REQ_MAX_HANDLES];
	uint8_t n_handles;
	uint8_t n_rops;
	bool bad; /* too many handles */
};

void mp_rop_req_init(struct mp_rop_req *r);
void mp_rop_req_free(struct mp_rop_req *r);
/* A slot holding a server object handle; returns its index. */
uint8_t mp_rop_req_handle(struct mp_rop_req *r, uint32_t server_handle);
/* A slot for a ROP's output object. */
uint8_t mp_rop_req_slot(struct mp_rop_req *r);
/* The whole ROP buffer: RopSize | RopsList | ServerObjectHandleTable. */
int mp_rop_req_build(const struct mp_rop_req *r, struct mp_wbuf *out);

/* One recipient for RopModifyRecipients. */
struct mp_rop_recipient {
	uint8_t type;             /* 1 To, 2 Cc, 3 Bcc */
	const char *display_name; /* UTF-8 */
	const char *smtp;         /* UTF-8 */
};

/* Builders: each appends one ROP request. */
void mp_rop_add_logon(struct mp_rop_req *r, uint8_t out, uint8_t logon_flags, uint32_t open_flags,
                      const char *essdn);
void mp_rop_add_release(struct mp_rop_req *r, uint8_t in);
void mp_rop_add_open_folder(struct mp_rop_req *r, uint8_t in, uint8_t out, uint64_t fid);
void mp_rop_add_get_hierarchy_table(struct mp_rop_req *r, uint8_t in, uint8_t out,
                                    uint8_t table_flags);
void mp_rop_add_get_contents_table(struct mp_rop_req *r, uint8_t in, uint8_t out,
                                   uint8_t table_flags);
void mp_rop_add_set_columns(struct mp_rop_req *r, uint8_t in, const uint32_t *tags, uint16_t n);
void mp_rop_add_query_rows(struct mp_rop_req *r, uint8_t in, uint16_t count);
void mp_rop_add_open_message(struct mp_rop_req *r, uint8_t in, uint8_t out, uint64_t fid,
                             uint64_t mid);
void mp_rop_add_get_props_specific(struct mp_rop_req *r, uint8_t in, const uint32_t *tags,
                                   uint16_t n);
void mp_rop_add_get_attachment_table(struct mp_rop_req *r, uint8_t in, uint8_t out);
void mp_rop_add_open_attachment(struct mp_rop_req *r, uint8_t in, uint8_t out, uint32_t num);
void mp_rop_add_open_stream(struct mp_rop_req *r, uint8_t in, uint8_t out, uint32_t tag,
                            uint8_t mode);
void mp_rop_add_read_stream(struct mp_rop_req *r, uint8_t in, uint16_t count);
/* 2.2.9.3 WriteStream (DataSize u16, Data) and 2.2.9.4 CommitStream. */
void mp_rop_add_write_stream(struct mp_rop_req *r, uint8_t in, const uint8_t *data, uint16_t n);
void mp_rop_add_commit_stream(struct mp_rop_req *r, uint8_t in);
void mp_rop_add_create_message(struct mp_rop_req *r, uint8_t in, uint8_t out, uint64_t fid);
/* Values are written with mp_tagged_pvs_write (ROP context). */
void mp_rop_add_set_properties(struct mp_rop_req *r, uint8_t in, const struct mp_tagged_pv *v,
                               uint16_t n);
void mp_rop_add_modify_recipients(struct mp_rop_req *r, uint8_t in,
                                  const struct mp_rop_recipient *rcpt, uint16_t n);
void mp_rop_add_save_changes_message(struct mp_rop_req *r, uint8_t resp, uint8_t in, uint8_t flags);
void mp_rop_add_submit_message(struct mp_rop_req *r, uint8_t in);
void mp_rop_add_create_attachment(struct mp_rop_req *r, uint8_t in, uint8_t out);
void mp_rop_add_save_changes_attachment(struct mp_rop_req *r, uint8_t resp, uint8_t in,
                                        uint8_t flags);
/* 2.2.14.1: subscribe to `types` (NotificationTypes, MS-OXCNOTIF 2.2.1.2.1)
 * on folder `fid` (message `mid`, or 0), or with whole the whole store. */
void mp_rop_add_register_notification(struct mp_rop_req *r, uint8_t in, uint8_t out, uint8_t types,
                                      bool whole, uint64_t fid, uint64_t mid);
#define MP_NOTIFY_NEW_MAIL 0x02

struct mp_rop_client {
	struct mp_emsmdb_client *em; /* borrowed */
	struct mp_rop_session *state;
	const struct mp_rop_buf *last_req; /* decoded request of the last exec */
	uint32_t rv;                       /* last failed ReturnValue */
	char err[256];
};

int mp_rop_client_init(struct mp_rop_client *rc, void *mem, struct mp_emsmdb_client *em);
/* Send `r`, decode the answer (under mem). MP_OK, or an error with rc->err. */
int mp_rop_client_exec(struct mp_rop_client *rc, void *mem, const struct mp_rop_req *r,
                       struct mp_rop_buf **rsp);
/* The response to the i-th ROP of the last request (counting every ROP the
 * request holds); MP_OK when found with ReturnValue 0, MP_CLIENT_ERESULT
 * (rc->rv) or MP_ERR_PARSE (missing or not decoded) with rc->err. */
int mp_rop_client_result(struct mp_rop_client *rc, const struct mp_rop_buf *rsp, size_t i,
                         const char *what, const struct mp_rop **rop);

/* Values of a decoded row (RowData of RopQueryRows / GetPropertiesSpecific). */
struct mp_rop_rows_view {
	uint32_t ncols;
	const uint32_t *cols;
	uint32_t count;
	const struct mp_prop_row *rows;
};
bool mp_rop_client_rows(const struct mp_rop *rop, struct mp_rop_rows_view *out);
/* The value of column `tag` in a row, NULL when absent or flagged as error. */
const struct mp_propval *mp_rop_row_value(const struct mp_rop_rows_view *v, uint32_t row,
                                          uint32_t tag);

/* A NewMail notification of a RopNotify response (MS-OXCNOTIF 2.2.1.4.1.2). */
struct mp_rop_new_mail {
	uint32_t handle; /* the subscription's */
	uint64_t fid;
	uint64_t mid;
};
/* The NewMail notifications a response buffer carries (RopNotify responses
 * follow the answers to the request), in order, at most max (rsp->count
 * holds them all); *more when a RopPending says the server holds more.
 * Returns how many. */
size_t mp_rop_client_new_mail(const struct mp_rop_buf *rsp, struct mp_rop_new_mail *out, size_t max,
                              bool *more);

/* UTF-16LE bytes (n bytes, a terminator optional) to a UTF-8 string under mem. */
char *mp_client_utf16_to_utf8(void *mem, const uint8_t *p, size_t n);
/* UTF-8 to UTF-16LE with a terminator under mem; *n bytes. NULL on bad UTF-8. */
uint8_t *mp_client_utf8_to_utf16(void *mem, const char *s, size_t *n);

#endif
