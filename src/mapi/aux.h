/*
 * Auxiliary buffer blocks (MS-OXCRPC 2.2.2.2, 3.1.4.1.2): the restored
 * payload of rgbAuxIn / rgbAuxOut (see rpc_ext.h) is a sequence of blocks,
 * each an AUX_HEADER
 *
 *	Size u16 (header included), Version u8 (1 or 2), Type u8
 *
 * followed by the structure that Version and Type select together (the
 * table in aux.c, after the spec's table in 2.2.2.2). Strings and byte
 * fields of variable length sit after the fixed part, at offsets counted
 * from the start of the AUX_HEADER; strings are NUL-terminated UTF-16LE.
 *
 * Decoding never drops anything: a block of unknown Version/Type, or a
 * known one whose contents do not fit its structure (an offset outside the
 * block, an unterminated string), is kept as opaque bytes with the reason;
 * bytes after a structure inside its block (padding) are kept too. Only a
 * broken sequence of headers (Size < 4, a block running past the buffer)
 * fails the whole buffer.
 *
 * Byte-exact re-encoding: every decoded block keeps its bytes (`raw`) and
 * mp_aux_build() writes them again. A caller that changes a decoded block
 * calls mp_aux_block_touch() first; the block is then encoded from its
 * fields: fixed part, variable fields in structure order, zero padding to a
 * multiple of 4 bytes, Size recomputed.
 *
 * Memory: blocks hang off the talloc context the caller gives; `raw`,
 * strings and byte fields of decoded blocks point into the caller's buffer,
 * which must outlive them.
 */
#ifndef MP_MAPI_AUX_H
#define MP_MAPI_AUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"
#include "util/printer.h"

#define MP_AUX_HEADER_SIZE 4

/* AUX_HEADER.Version */
#define MP_AUX_VERSION_1 0x01
#define MP_AUX_VERSION_2 0x02

/* AUX_HEADER.Type */
enum mp_aux_type {
	MP_AUX_TYPE_PERF_REQUESTID = 0x01,
	MP_AUX_TYPE_PERF_CLIENTINFO = 0x02,
	MP_AUX_TYPE_PERF_SERVERINFO = 0x03,
	MP_AUX_TYPE_PERF_SESSIONINFO = 0x04,
	MP_AUX_TYPE_PERF_DEFMDB_SUCCESS = 0x05,
	MP_AUX_TYPE_PERF_DEFGC_SUCCESS = 0x06,
	MP_AUX_TYPE_PERF_MDB_SUCCESS = 0x07,
	MP_AUX_TYPE_PERF_GC_SUCCESS = 0x08,
	MP_AUX_TYPE_PERF_FAILURE = 0x09,
	MP_AUX_TYPE_CLIENT_CONTROL = 0x0a,
	MP_AUX_TYPE_PERF_PROCESSINFO = 0x0b,
	MP_AUX_TYPE_PERF_BG_DEFMDB_SUCCESS = 0x0c,
	MP_AUX_TYPE_PERF_BG_DEFGC_SUCCESS = 0x0d,
	MP_AUX_TYPE_PERF_BG_MDB_SUCCESS = 0x0e,
	MP_AUX_TYPE_PERF_BG_GC_SUCCESS = 0x0f,
	MP_AUX_TYPE_PERF_BG_FAILURE = 0x10,
	MP_AUX_TYPE_PERF_FG_DEFMDB_SUCCESS = 0x11,
	MP_AUX_TYPE_PERF_FG_DEFGC_SUCCESS = 0x12,
	MP_AUX_TYPE_PERF_FG_MDB_SUCCESS = 0x13,
	MP_AUX_TYPE_PERF_FG_GC_SUCCESS = 0x14,
	MP_AUX_TYPE_PERF_FG_FAILURE = 0x15,
	MP_AUX_TYPE_OSVERSIONINFO = 0x16,
	MP_AUX_TYPE_EXORGINFO = 0x17,
	MP_AUX_TYPE_PERF_ACCOUNTINFO = 0x18,
	MP_AUX_TYPE_SERVER_CAPABILITIES = 0x46,
	MP_AUX_TYPE_ENDPOINT_CAPABILITIES = 0x48,
	/* Named by Microsoft's MAPI Inspector, not described in MS-OXCRPC:
	 * kept opaque. */
	MP_AUX_TYPE_EXCEPTION_TRACE = 0x49,
	MP_AUX_TYPE_CLIENT_CONNECTION_INFO = 0x4a,
	MP_AUX_TYPE_SERVER_SESSION_INFO = 0x4b,
	MP_AUX_TYPE_PROTOCOL_DEVICE_IDENTIFICATION = 0x4e,
};

/* Which structure a block decoded as (MS-OXCRPC 2.2.2.2.x). */
enum mp_aux_struct {
	MP_AUX_OPAQUE = 0, /* not decoded: body kept as bytes */
	MP_AUX_PERF_REQUESTID,
	MP_AUX_PERF_CLIENTINFO,
	MP_AUX_PERF_SERVERINFO,
	MP_AUX_PERF_SESSIONINFO,
	MP_AUX_PERF_SESSIONINFO_V2,
	MP_AUX_PERF_DEFMDB_SUCCESS,
	MP_AUX_PERF_DEFGC_SUCCESS,
	MP_AUX_PERF_MDB_SUCCESS,
	MP_AUX_PERF_MDB_SUCCESS_V2,
	MP_AUX_PERF_GC_SUCCESS,
	MP_AUX_PERF_GC_SUCCESS_V2,
	MP_AUX_PERF_FAILURE,
	MP_AUX_PERF_FAILURE_V2,
	MP_AUX_CLIENT_CONTROL,
	MP_AUX_PERF_PROCESSINFO,
	MP_AUX_OSVERSIONINFO,
	MP_AUX_EXORGINFO,
	MP_AUX_PERF_ACCOUNTINFO,
	MP_AUX_SERVER_CAPABILITIES,
	MP_AUX_ENDPOINT_CAPABILITIES,
	MP_AUX_CLIENT_CONNECTION_INFO,
	MP_AUX_SERVER_SESSION_INFO,
	MP_AUX_PROTOCOL_DEVICE_IDENTIFICATION,
	MP_AUX_STRUCT_COUNT,
};

/* A NUL-terminated UTF-16LE string at `offset` from the AUX_HEADER (offset
 * 0: absent, utf16 NULL). nbytes excludes the terminator. */
struct mp_aux_str {
	uint16_t offset;
	const uint8_t *utf16;
	size_t nbytes;
};

/* Bytes at `offset` with a separate size field. Offset 0: absent (data
 * NULL; the size field is kept as sent). */
struct mp_aux_blob {
	uint16_t offset;
	uint16_t size;
	const uint8_t *data;
};

/* Values of the enumerations and flags inside blocks. */
#define MP_AUX_CLIENTMODE_UNKNOWN 0x00
#define MP_AUX_CLIENTMODE_CLASSIC 0x01
#define MP_AUX_CLIENTMODE_CACHED 0x02
#define MP_AUX_SERVERTYPE_UNKNOWN 0x00
#define MP_AUX_SERVERTYPE_PRIVATE 0x01
#define MP_AUX_SERVERTYPE_PUBLIC 0x02
#define MP_AUX_SERVERTYPE_DIRECTORY 0x03
#define MP_AUX_SERVERTYPE_REFERRAL 0x04
#define MP_AUX_ENABLE_PERF_SENDTOSERVER 0x00000001
#define MP_AUX_ENABLE_COMPRESSION 0x00000004
#define MP_AUX_ENABLE_HTTP_TUNNELING 0x00000008
#define MP_AUX_ENABLE_PERF_SENDGCDATA 0x00000010
#define MP_AUX_PUBLIC_FOLDERS_ENABLED 0x00000001
#define MP_AUX_USE_AUTODISCOVER_FOR_PUBLIC_FOLDER_CONFIGURATION 0x00000002
#define MP_AUX_PACKED_FAST_TRANSFER_UPLOAD_BUFFERS 0x00000001
#define MP_AUX_PACKED_WRITE_STREAM_UPLOAD_BUFFERS 0x00000002
#define MP_AUX_ULTRA_LARGE_PACKED_DOWNLOAD_BUFFERS 0x00000008
#define MP_AUX_ENDPOINT_CAPABILITIES_SINGLE_ENDPOINT 0x00000001
#define MP_AUX_CONNECTION_FLAG_CLIENT_CACHED_MODE 0x00000001

/* The structures. Where a _V2 structure only adds fields, both share one C
 * structure and the V1 form leaves the extra fields 0. */
struct mp_aux_perf_requestid {
	uint16_t session_id;
	uint16_t request_id;
};

struct mp_aux_perf_clientinfo {
	uint32_t adapter_speed;
	uint16_t client_id;
	struct mp_aux_str machine_name;
	struct mp_aux_str user_name;
	struct mp_aux_blob client_ip;
	struct mp_aux_blob client_ip_mask;
	struct mp_aux_str adapter_name;
	struct mp_aux_blob mac_address;
	uint16_t client_mode;
	uint16_t reserved;
};

struct mp_aux_perf_serverinfo {
	uint16_t server_id;
	uint16_t server_type;
	struct mp_aux_str server_dn;
	struct mp_aux_str server_name;
};

struct mp_aux_perf_sessioninfo {
	uint16_t session_id;
	uint16_t reserved;
	uint8_t session_guid[16];
	uint32_t connection_id; /* _V2 */
};

struct mp_aux_perf_defmdb_success {
	uint32_t time_since_request;
	uint32_t time_to_complete_request;
	uint16_t request_id;
	uint16_t reserved;
};

struct mp_aux_perf_defgc_success {
	uint16_t server_id;
	uint16_t session_id;
	uint32_t time_since_request;
	uint32_t time_to_complete_request;
	uint8_t request_operation;
	uint8_t reserved[3];
};

struct mp_aux_perf_mdb_success {
	uint16_t process_id; /* _V2 */
	uint16_t client_id;
	uint16_t server_id;
	uint16_t session_id;
	uint16_t request_id;
	uint16_t reserved; /* _V2 */
	uint32_t time_since_request;
	uint32_t time_to_complete_request;
};

struct mp_aux_perf_gc_success {
	uint16_t process_id; /* _V2 */
	uint16_t client_id;
	uint16_t server_id;
	uint16_t session_id;
	uint16_t reserved1; /* V1 only */
	uint32_t time_since_request;
	uint32_t time_to_complete_request;
	uint8_t request_operation;
	uint8_t reserved2[3];
};

struct mp_aux_perf_failure {
	uint16_t process_id; /* _V2 */
	uint16_t client_id;
	uint16_t server_id;
	uint16_t session_id;
	uint16_t request_id;
	uint16_t reserved1; /* _V2 */
	uint32_t time_since_request;
	uint32_t time_to_fail_request;
	uint32_t result_code;
	uint8_t request_operation;
	uint8_t reserved2[3];
};

struct mp_aux_client_control {
	uint32_t enable_flags;
	uint32_t expiry_time;
};

struct mp_aux_perf_processinfo {
	uint16_t process_id;
	uint16_t reserved1;
	uint8_t process_guid[16];
	struct mp_aux_str process_name;
	uint16_t reserved2;
};

struct mp_aux_osversioninfo {
	uint32_t os_version_info_size;
	uint32_t major_version;
	uint32_t minor_version;
	uint32_t build_number;
	uint8_t reserved1[132];
	uint16_t service_pack_major;
	uint16_t service_pack_minor;
	uint32_t reserved2;
};

struct mp_aux_exorginfo {
	uint32_t org_flags;
};

struct mp_aux_perf_accountinfo {
	uint16_t client_id;
	uint16_t reserved;
	uint8_t account[16];
};

struct mp_aux_server_capabilities {
	uint32_t server_capability_flags;
};

struct mp_aux_endpoint_capabilities {
	uint32_t endpoint_capability_flag;
};

struct mp_aux_client_connection_info {
	uint8_t connection_guid[16];
	struct mp_aux_str connection_context_info;
	uint16_t reserved;
	uint32_t connection_attempts;
	uint32_t connection_flags;
};

struct mp_aux_server_session_info {
	struct mp_aux_str server_session_context_info;
};

struct mp_aux_protocol_device_identification {
	struct mp_aux_str device_manufacturer;
	struct mp_aux_str device_model;
	struct mp_aux_str device_serial_number;
	struct mp_aux_str device_version;
	struct mp_aux_str device_firmware_version;
};

struct mp_aux_block {
	uint16_t size; /* AUX_HEADER.Size as received or last built */
	uint8_t version;
	uint8_t type;
	enum mp_aux_struct st;
	/* Why a block of known Version/Type stayed opaque (static), or NULL. */
	const char *why;
	/* The whole block as received (`size` bytes), NULL once touched or for
	 * a block built from fields. */
	const uint8_t *raw;
	union {
		struct {
			const uint8_t *data; /* body after the AUX_HEADER */
			size_t len;
		} opaque;
		struct mp_aux_perf_requestid perf_requestid;
		struct mp_aux_perf_clientinfo perf_clientinfo;
		struct mp_aux_perf_serverinfo perf_serverinfo;
		struct mp_aux_perf_sessioninfo perf_sessioninfo;
		struct mp_aux_perf_defmdb_success perf_defmdb_success;
		struct mp_aux_perf_defgc_success perf_defgc_success;
		struct mp_aux_perf_mdb_success perf_mdb_success;
		struct mp_aux_perf_gc_success perf_gc_success;
		struct mp_aux_perf_failure perf_failure;
		struct mp_aux_client_control client_control;
		struct mp_aux_perf_processinfo perf_processinfo;
		struct mp_aux_osversioninfo osversioninfo;
		struct mp_aux_exorginfo exorginfo;
		struct mp_aux_perf_accountinfo perf_accountinfo;
		struct mp_aux_server_capabilities server_capabilities;
		struct mp_aux_endpoint_capabilities endpoint_capabilities;
		struct mp_aux_client_connection_info client_connection_info;
		struct mp_aux_server_session_info server_session_info;
		struct mp_aux_protocol_device_identification protocol_device_identification;
	} u;
};

struct mp_aux_list {
	struct mp_aux_block *blocks; /* talloc array */
	size_t count;
};

/*
 * Parse a restored auxiliary payload into *out (talloc'd under mem).
 * Returns MP_OK, MP_ERR_PARSE (a Size below 4, a block running past the
 * end, 1-3 bytes too few for another AUX_HEADER) or MP_ERR_NOMEM; *why (may
 * be NULL) gets a static reason.
 */
int mp_aux_parse(void *mem, const uint8_t *buf, size_t len, struct mp_aux_list **out,
                 const char **why);

/* Append the encoding of every block to `out` (see above). MP_OK,
 * MP_ERR_NOMEM, or MP_ERR_LIMIT (a block over 0xffff bytes). */
int mp_aux_build(const struct mp_aux_list *list, struct mp_wbuf *out);

/* An empty list under mem; a zeroed block appended to it for (version,
 * type), its structure chosen by the same table as decoding (opaque when
 * none). The caller fills the fields; the block pointer is valid until the
 * next add (the array may move). NULL when out of memory. */
struct mp_aux_list *mp_aux_list_new(void *mem);
struct mp_aux_block *mp_aux_add(struct mp_aux_list *list, uint8_t version, uint8_t type);

/* Forget a decoded block's received bytes: it is encoded from its fields
 * from now on. */
void mp_aux_block_touch(struct mp_aux_block *blk);

/* Set a string field from UTF-8 (converted under mem); s NULL clears it.
 * MP_OK, or MP_ERR_PARSE when the text is not valid UTF-8 or memory ran
 * out (the converter does not tell the two apart). */
int mp_aux_str_set(void *mem, struct mp_aux_str *str, const char *s);

/* Structure chosen for (version, type), MP_AUX_OPAQUE when none. */
enum mp_aux_struct mp_aux_struct_of(uint8_t version, uint8_t type);
/* "AUX_PERF_CLIENTINFO", ... (NULL for an unknown value). */
const char *mp_aux_struct_name(enum mp_aux_struct st);
/* "AUX_TYPE_PERF_CLIENTINFO", ... (NULL for an unknown value). */
const char *mp_aux_type_name(uint8_t type);

/* Every block: header, then its structure's fields or its opaque bytes. */
void mp_aux_print(struct mp_printer *p, const char *name, const struct mp_aux_list *list);

#endif
