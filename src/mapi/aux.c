/*
 * Auxiliary buffer blocks (MS-OXCRPC 2.2.2.2): see aux.h.
 *
 * Every structure is a table of fields in wire order; one generic reader,
 * writer and printer walk the tables, so a structure is described once.
 */
#include "mapi/aux.h"

#include "ndr/ndr.h"
#include "util/status.h"

#include <stddef.h>
#include <string.h>
#include <talloc.h>

/* ---- structure tables ---------------------------------------------------- */

enum fkind {
	FK_U8,
	FK_U16,
	FK_U32,
	FK_GUID,
	FK_BYTES,     /* n bytes inline (reserved arrays) */
	FK_STR,       /* u16 offset of a struct mp_aux_str */
	FK_BLOB_SIZE, /* u16 size of the struct mp_aux_blob at `off` */
	FK_BLOB,      /* u16 offset of the same struct mp_aux_blob */
};

enum ffmt {
	FF_DEC,
	FF_HEX,
	FF_ENUM,  /* sym: struct sym[] */
	FF_FLAGS, /* sym: struct mp_flag_name[] */
};

struct sym {
	uint64_t v;
	const char *name;
};

struct field {
	const char *name;     /* the value ("MachineName") */
	const char *off_name; /* FK_STR / FK_BLOB: the offset field */
	uint8_t kind;
	uint8_t fmt;
	uint16_t n;   /* FK_BYTES: byte count */
	uint16_t off; /* offset inside the union member */
	const void *sym;
};

struct sdesc {
	const char *name;
	const struct field *fields;
	size_t nfields;
};

#define F_U8(s, m, nm)                                                                             \
	{                                                                                          \
		nm, NULL, FK_U8, FF_DEC, 0, offsetof(struct s, m), NULL                            \
	}
#define F_U16(s, m, nm)                                                                            \
	{                                                                                          \
		nm, NULL, FK_U16, FF_DEC, 0, offsetof(struct s, m), NULL                           \
	}
#define F_U32(s, m, nm)                                                                            \
	{                                                                                          \
		nm, NULL, FK_U32, FF_DEC, 0, offsetof(struct s, m), NULL                           \
	}
#define F_X16(s, m, nm)                                                                            \
	{                                                                                          \
		nm, NULL, FK_U16, FF_HEX, 0, offsetof(struct s, m), NULL                           \
	}
#define F_X32(s, m, nm)                                                                            \
	{                                                                                          \
		nm, NULL, FK_U32, FF_HEX, 0, offsetof(struct s, m), NULL                           \
	}
#define F_E16(s, m, nm, t)                                                                         \
	{                                                                                          \
		nm, NULL, FK_U16, FF_ENUM, 0, offsetof(struct s, m), t                             \
	}
#define F_FL32(s, m, nm, t)                                                                        \
	{                                                                                          \
		nm, NULL, FK_U32, FF_FLAGS, 0, offsetof(struct s, m), t                            \
	}
#define F_GUID(s, m, nm)                                                                           \
	{                                                                                          \
		nm, NULL, FK_GUID, FF_DEC, 0, offsetof(struct s, m), NULL                          \
	}
#define F_BYTES(s, m, nm, k)                                                                       \
	{                                                                                          \
		nm, NULL, FK_BYTES, FF_DEC, k, offsetof(struct s, m), NULL                         \
	}
#define F_STR(s, m, nm, onm)                                                                       \
	{                                                                                          \
		nm, onm, FK_STR, FF_DEC, 0, offsetof(struct s, m), NULL                            \
	}
#define F_BSIZE(s, m, nm)                                                                          \
	{                                                                                          \
		nm, NULL, FK_BLOB_SIZE, FF_DEC, 0, offsetof(struct s, m), NULL                     \
	}
#define F_BLOB(s, m, nm, onm)                                                                      \
	{                                                                                          \
		nm, onm, FK_BLOB, FF_DEC, 0, offsetof(struct s, m), NULL                           \
	}
#define FIELDS(a) a, sizeof(a) / sizeof((a)[0])

static const struct sym client_modes[] = {
    {MP_AUX_CLIENTMODE_UNKNOWN, "CLIENTMODE_UNKNOWN"},
    {MP_AUX_CLIENTMODE_CLASSIC, "CLIENTMODE_CLASSIC"},
    {MP_AUX_CLIENTMODE_CACHED, "CLIENTMODE_CACHED"},
    {0, NULL},
};

static const struct sym server_types[] = {
    {MP_AUX_SERVERTYPE_UNKNOWN, "SERVERTYPE_UNKNOWN"},
    {MP_AUX_SERVERTYPE_PRIVATE, "SERVERTYPE_PRIVATE"},
    {MP_AUX_SERVERTYPE_PUBLIC, "SERVERTYPE_PUBLIC"},
    {MP_AUX_SERVERTYPE_DIRECTORY, "SERVERTYPE_DIRECTORY"},
    {MP_AUX_SERVERTYPE_REFERRAL, "SERVERTYPE_REFERRAL"},
    {0, NULL},
};

static const struct mp_flag_name enable_flags[] = {
    {MP_AUX_ENABLE_PERF_SENDTOSERVER, "ENABLE_PERF_SENDTOSERVER"},
    {MP_AUX_ENABLE_COMPRESSION, "ENABLE_COMPRESSION"},
    {MP_AUX_ENABLE_HTTP_TUNNELING, "ENABLE_HTTP_TUNNELING"},
    {MP_AUX_ENABLE_PERF_SENDGCDATA, "ENABLE_PERF_SENDGCDATA"},
    {0, NULL},
};

static const struct mp_flag_name org_flags[] = {
    {MP_AUX_PUBLIC_FOLDERS_ENABLED, "PUBLIC_FOLDERS_ENABLED"},
    {MP_AUX_USE_AUTODISCOVER_FOR_PUBLIC_FOLDER_CONFIGURATION,
     "USE_AUTODISCOVER_FOR_PUBLIC_FOLDER_CONFIGURATION"},
    {0, NULL},
};

static const struct mp_flag_name server_caps[] = {
    {MP_AUX_PACKED_FAST_TRANSFER_UPLOAD_BUFFERS, "PACKED_FAST_TRANSFER_UPLOAD_BUFFERS"},
    {MP_AUX_PACKED_WRITE_STREAM_UPLOAD_BUFFERS, "PACKED_WRITE_STREAM_UPLOAD_BUFFERS"},
    {MP_AUX_ULTRA_LARGE_PACKED_DOWNLOAD_BUFFERS, "ULTRA_LARGE_PACKED_DOWNLOAD_BUFFERS"},
    {0, NULL},
};

static const struct mp_flag_name endpoint_caps[] = {
    {MP_AUX_ENDPOINT_CAPABILITIES_SINGLE_ENDPOINT, "ENDPOINT_CAPABILITIES_SINGLE_ENDPOINT"},
    {0, NULL},
};

static const struct mp_flag_name connection_flags[] = {
    {MP_AUX_CONNECTION_FLAG_CLIENT_CACHED_MODE, "CLIENT_CACHED_MODE"},
    {0, NULL},
};

/* 2.2.2.2.1 */
static const struct field f_requestid[] = {
    F_U16(mp_aux_perf_requestid, session_id, "SessionID"),
    F_U16(mp_aux_perf_requestid, request_id, "RequestID"),
};

/* 2.2.2.2.4 */
#define S mp_aux_perf_clientinfo
static const struct field f_clientinfo[] = {
    F_U32(S, adapter_speed, "AdapterSpeed"),
    F_U16(S, client_id, "ClientID"),
    F_STR(S, machine_name, "MachineName", "MachineNameOffset"),
    F_STR(S, user_name, "UserName", "UserNameOffset"),
    F_BSIZE(S, client_ip, "ClientIPSize"),
    F_BLOB(S, client_ip, "ClientIP", "ClientIPOffset"),
    F_BSIZE(S, client_ip_mask, "ClientIPMaskSize"),
    F_BLOB(S, client_ip_mask, "ClientIPMask", "ClientIPMaskOffset"),
    F_STR(S, adapter_name, "AdapterName", "AdapterNameOffset"),
    F_BSIZE(S, mac_address, "MacAddressSize"),
    F_BLOB(S, mac_address, "MacAddress", "MacAddressOffset"),
    F_E16(S, client_mode, "ClientMode", client_modes),
    F_X16(S, reserved, "Reserved"),
};
#undef S

/* 2.2.2.2.5 */
#define S mp_aux_perf_serverinfo
static const struct field f_serverinfo[] = {
    F_U16(S, server_id, "ServerID"),
    F_E16(S, server_type, "ServerType", server_types),
    F_STR(S, server_dn, "ServerDN", "ServerDNOffset"),
    F_STR(S, server_name, "ServerName", "ServerNameOffset"),
};
#undef S

/* 2.2.2.2.2, 2.2.2.2.3 */
#define S mp_aux_perf_sessioninfo
static const struct field f_sessioninfo[] = {
    F_U16(S, session_id, "SessionID"),
    F_X16(S, reserved, "Reserved"),
    F_GUID(S, session_guid, "SessionGuid"),
};
static const struct field f_sessioninfo_v2[] = {
    F_U16(S, session_id, "SessionID"),
    F_X16(S, reserved, "Reserved"),
    F_GUID(S, session_guid, "SessionGuid"),
    F_U32(S, connection_id, "ConnectionID"),
};
#undef S

/* 2.2.2.2.7 */
#define S mp_aux_perf_defmdb_success
static const struct field f_defmdb[] = {
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_complete_request, "TimeToCompleteRequest"),
    F_U16(S, request_id, "RequestID"),
    F_X16(S, reserved, "Reserved"),
};
#undef S

/* 2.2.2.2.8 */
#define S mp_aux_perf_defgc_success
static const struct field f_defgc[] = {
    F_U16(S, server_id, "ServerID"),
    F_U16(S, session_id, "SessionID"),
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_complete_request, "TimeToCompleteRequest"),
    F_U8(S, request_operation, "RequestOperation"),
    F_BYTES(S, reserved, "Reserved", 3),
};
#undef S

/* 2.2.2.2.9, 2.2.2.2.10 */
#define S mp_aux_perf_mdb_success
static const struct field f_mdb[] = {
    F_U16(S, client_id, "ClientID"),
    F_U16(S, server_id, "ServerID"),
    F_U16(S, session_id, "SessionID"),
    F_U16(S, request_id, "RequestID"),
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_complete_request, "TimeToCompleteRequest"),
};
static const struct field f_mdb_v2[] = {
    F_U16(S, process_id, "ProcessID"),
    F_U16(S, client_id, "ClientID"),
    F_U16(S, server_id, "ServerID"),
    F_U16(S, session_id, "SessionID"),
    F_U16(S, request_id, "RequestID"),
    F_X16(S, reserved, "Reserved"),
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_complete_request, "TimeToCompleteRequest"),
};
#undef S

/* 2.2.2.2.11, 2.2.2.2.12 */
#define S mp_aux_perf_gc_success
static const struct field f_gc[] = {
    F_U16(S, client_id, "ClientID"),
    F_U16(S, server_id, "ServerID"),
    F_U16(S, session_id, "SessionID"),
    F_X16(S, reserved1, "Reserved_1"),
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_complete_request, "TimeToCompleteRequest"),
    F_U8(S, request_operation, "RequestOperation"),
    F_BYTES(S, reserved2, "Reserved_2", 3),
};
static const struct field f_gc_v2[] = {
    F_U16(S, process_id, "ProcessID"),
    F_U16(S, client_id, "ClientID"),
    F_U16(S, server_id, "ServerID"),
    F_U16(S, session_id, "SessionID"),
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_complete_request, "TimeToCompleteRequest"),
    F_U8(S, request_operation, "RequestOperation"),
    F_BYTES(S, reserved2, "Reserved", 3),
};
#undef S

/* 2.2.2.2.13, 2.2.2.2.14 */
#define S mp_aux_perf_failure
static const struct field f_failure[] = {
    F_U16(S, client_id, "ClientID"),
    F_U16(S, server_id, "ServerID"),
    F_U16(S, session_id, "SessionID"),
    F_U16(S, request_id, "RequestID"),
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_fail_request, "TimeToFailRequest"),
    F_X32(S, result_code, "ResultCode"),
    F_U8(S, request_operation, "RequestOperation"),
    F_BYTES(S, reserved2, "Reserved", 3),
};
static const struct field f_failure_v2[] = {
    F_U16(S, process_id, "ProcessID"),
    F_U16(S, client_id, "ClientID"),
    F_U16(S, server_id, "ServerID"),
    F_U16(S, session_id, "SessionID"),
    F_U16(S, request_id, "RequestID"),
    F_X16(S, reserved1, "Reserved_1"),
    F_U32(S, time_since_request, "TimeSinceRequest"),
    F_U32(S, time_to_fail_request, "TimeToFailRequest"),
    F_X32(S, result_code, "ResultCode"),
    F_U8(S, request_operation, "RequestOperation"),
    F_BYTES(S, reserved2, "Reserved_2", 3),
};
#undef S

/* 2.2.2.2.15 */
static const struct field f_client_control[] = {
    F_FL32(mp_aux_client_control, enable_flags, "EnableFlags", enable_flags),
    F_U32(mp_aux_client_control, expiry_time, "ExpiryTime"),
};

/* 2.2.2.2.6 */
#define S mp_aux_perf_processinfo
static const struct field f_processinfo[] = {
    F_U16(S, process_id, "ProcessID"),
    F_X16(S, reserved1, "Reserved_1"),
    F_GUID(S, process_guid, "ProcessGuid"),
    F_STR(S, process_name, "ProcessName", "ProcessNameOffset"),
    F_X16(S, reserved2, "Reserved_2"),
};
#undef S

/* 2.2.2.2.16 */
#define S mp_aux_osversioninfo
static const struct field f_osversioninfo[] = {
    F_U32(S, os_version_info_size, "OSVersionInfoSize"),
    F_U32(S, major_version, "MajorVersion"),
    F_U32(S, minor_version, "MinorVersion"),
    F_U32(S, build_number, "BuildNumber"),
    F_BYTES(S, reserved1, "Reserved_1", 132),
    F_U16(S, service_pack_major, "ServicePackMajor"),
    F_U16(S, service_pack_minor, "ServicePackMinor"),
    F_X32(S, reserved2, "Reserved_2"),
};
#undef S

/* 2.2.2.2.17 */
static const struct field f_exorginfo[] = {
    F_FL32(mp_aux_exorginfo, org_flags, "OrgFlags", org_flags),
};

/* 2.2.2.2.18 */
static const struct field f_accountinfo[] = {
    F_U16(mp_aux_perf_accountinfo, client_id, "ClientID"),
    F_X16(mp_aux_perf_accountinfo, reserved, "Reserved"),
    F_GUID(mp_aux_perf_accountinfo, account, "Account"),
};

/* 2.2.2.2.19 */
static const struct field f_server_caps[] = {
    F_FL32(mp_aux_server_capabilities, server_capability_flags, "ServerCapabilityFlags",
           server_caps),
};

/* 2.2.2.2.20 */
static const struct field f_endpoint_caps[] = {
    F_FL32(mp_aux_endpoint_capabilities, endpoint_capability_flag, "EndpointCapabilityFlag",
           endpoint_caps),
};

/* 2.2.2.2.21 */
#define S mp_aux_client_connection_info
static const struct field f_client_connection_info[] = {
    F_GUID(S, connection_guid, "ConnectionGUID"),
    F_STR(S, connection_context_info, "ConnectionContextInfo", "OffsetConnectionContextInfo"),
    F_X16(S, reserved, "Reserved"),
    F_U32(S, connection_attempts, "ConnectionAttempts"),
    F_FL32(S, connection_flags, "ConnectionFlags", connection_flags),
};
#undef S

/* 2.2.2.2.22 */
static const struct field f_server_session_info[] = {
    F_STR(mp_aux_server_session_info, server_session_context_info, "ServerSessionContextInfo",
          "OffsetServerSessionContextInfo"),
};

/* 2.2.2.2.23 */
#define S mp_aux_protocol_device_identification
static const struct field f_device_id[] = {
    F_STR(S, device_manufacturer, "DeviceManufacturer", "DeviceManufacturerOffset"),
    F_STR(S, device_model, "DeviceModel", "DeviceModelOffset"),
    F_STR(S, device_serial_number, "DeviceSerialNumber", "DeviceSerialNumberOffset"),
    F_STR(S, device_version, "DeviceVersion", "DeviceVersionOffset"),
    F_STR(S, device_firmware_version, "DeviceFirmwareVersion", "DeviceFirmwareVersionOffset"),
};
#undef S

static const struct sdesc structs[MP_AUX_STRUCT_COUNT] = {
    [MP_AUX_OPAQUE] = {NULL, NULL, 0},
    [MP_AUX_PERF_REQUESTID] = {"AUX_PERF_REQUESTID", FIELDS(f_requestid)},
    [MP_AUX_PERF_CLIENTINFO] = {"AUX_PERF_CLIENTINFO", FIELDS(f_clientinfo)},
    [MP_AUX_PERF_SERVERINFO] = {"AUX_PERF_SERVERINFO", FIELDS(f_serverinfo)},
    [MP_AUX_PERF_SESSIONINFO] = {"AUX_PERF_SESSIONINFO", FIELDS(f_sessioninfo)},
    [MP_AUX_PERF_SESSIONINFO_V2] = {"AUX_PERF_SESSIONINFO_V2", FIELDS(f_sessioninfo_v2)},
    [MP_AUX_PERF_DEFMDB_SUCCESS] = {"AUX_PERF_DEFMDB_SUCCESS", FIELDS(f_defmdb)},
    [MP_AUX_PERF_DEFGC_SUCCESS] = {"AUX_PERF_DEFGC_SUCCESS", FIELDS(f_defgc)},
    [MP_AUX_PERF_MDB_SUCCESS] = {"AUX_PERF_MDB_SUCCESS", FIELDS(f_mdb)},
    [MP_AUX_PERF_MDB_SUCCESS_V2] = {"AUX_PERF_MDB_SUCCESS_V2", FIELDS(f_mdb_v2)},
    [MP_AUX_PERF_GC_SUCCESS] = {"AUX_PERF_GC_SUCCESS", FIELDS(f_gc)},
    [MP_AUX_PERF_GC_SUCCESS_V2] = {"AUX_PERF_GC_SUCCESS_V2", FIELDS(f_gc_v2)},
    [MP_AUX_PERF_FAILURE] = {"AUX_PERF_FAILURE", FIELDS(f_failure)},
    [MP_AUX_PERF_FAILURE_V2] = {"AUX_PERF_FAILURE_V2", FIELDS(f_failure_v2)},
    [MP_AUX_CLIENT_CONTROL] = {"AUX_CLIENT_CONTROL", FIELDS(f_client_control)},
    [MP_AUX_PERF_PROCESSINFO] = {"AUX_PERF_PROCESSINFO", FIELDS(f_processinfo)},
    [MP_AUX_OSVERSIONINFO] = {"AUX_OSVERSIONINFO", FIELDS(f_osversioninfo)},
    [MP_AUX_EXORGINFO] = {"AUX_EXORGINFO", FIELDS(f_exorginfo)},
    [MP_AUX_PERF_ACCOUNTINFO] = {"AUX_PERF_ACCOUNTINFO", FIELDS(f_accountinfo)},
    [MP_AUX_SERVER_CAPABILITIES] = {"AUX_SERVER_CAPABILITIES", FIELDS(f_server_caps)},
    [MP_AUX_ENDPOINT_CAPABILITIES] = {"AUX_ENDPOINT_CAPABILITIES", FIELDS(f_endpoint_caps)},
    [MP_AUX_CLIENT_CONNECTION_INFO] = {"AUX_CLIENT_CONNECTION_INFO",
                                       FIELDS(f_client_connection_info)},
    [MP_AUX_SERVER_SESSION_INFO] = {"AUX_SERVER_SESSION_INFO", FIELDS(f_server_session_info)},
    [MP_AUX_PROTOCOL_DEVICE_IDENTIFICATION] = {"AUX_PROTOCOL_DEVICE_IDENTIFICATION",
                                               FIELDS(f_device_id)},
};

/* ---- (Version, Type) -> structure ---------------------------------------- */

struct type_entry {
	uint8_t type;
	const char *name;
	enum mp_aux_struct v1, v2; /* MP_AUX_OPAQUE: not defined for that Version */
};

/* MS-OXCRPC 2.2.2.2. AUX_PERF_PROCESSINFO is Version 2 in the spec; Version
 * 1 is decoded too, with the same layout, as Microsoft's MAPI Inspector
 * does. */
static const struct type_entry types[] = {
    {0x01, "AUX_TYPE_PERF_REQUESTID", MP_AUX_PERF_REQUESTID, MP_AUX_OPAQUE},
    {0x02, "AUX_TYPE_PERF_CLIENTINFO", MP_AUX_PERF_CLIENTINFO, MP_AUX_OPAQUE},
    {0x03, "AUX_TYPE_PERF_SERVERINFO", MP_AUX_PERF_SERVERINFO, MP_AUX_OPAQUE},
    {0x04, "AUX_TYPE_PERF_SESSIONINFO", MP_AUX_PERF_SESSIONINFO, MP_AUX_PERF_SESSIONINFO_V2},
    {0x05, "AUX_TYPE_PERF_DEFMDB_SUCCESS", MP_AUX_PERF_DEFMDB_SUCCESS, MP_AUX_OPAQUE},
    {0x06, "AUX_TYPE_PERF_DEFGC_SUCCESS", MP_AUX_PERF_DEFGC_SUCCESS, MP_AUX_OPAQUE},
    {0x07, "AUX_TYPE_PERF_MDB_SUCCESS", MP_AUX_PERF_MDB_SUCCESS, MP_AUX_PERF_MDB_SUCCESS_V2},
    {0x08, "AUX_TYPE_PERF_GC_SUCCESS", MP_AUX_PERF_GC_SUCCESS, MP_AUX_PERF_GC_SUCCESS_V2},
    {0x09, "AUX_TYPE_PERF_FAILURE", MP_AUX_PERF_FAILURE, MP_AUX_PERF_FAILURE_V2},
    {0x0a, "AUX_TYPE_CLIENT_CONTROL", MP_AUX_CLIENT_CONTROL, MP_AUX_OPAQUE},
    {0x0b, "AUX_TYPE_PERF_PROCESSINFO", MP_AUX_PERF_PROCESSINFO, MP_AUX_PERF_PROCESSINFO},
    {0x0c, "AUX_TYPE_PERF_BG_DEFMDB_SUCCESS", MP_AUX_PERF_DEFMDB_SUCCESS, MP_AUX_OPAQUE},
    {0x0d, "AUX_TYPE_PERF_BG_DEFGC_SUCCESS", MP_AUX_PERF_DEFGC_SUCCESS, MP_AUX_OPAQUE},
    {0x0e, "AUX_TYPE_PERF_BG_MDB_SUCCESS", MP_AUX_PERF_MDB_SUCCESS, MP_AUX_PERF_MDB_SUCCESS_V2},
    {0x0f, "AUX_TYPE_PERF_BG_GC_SUCCESS", MP_AUX_PERF_GC_SUCCESS, MP_AUX_PERF_GC_SUCCESS_V2},
    {0x10, "AUX_TYPE_PERF_BG_FAILURE", MP_AUX_PERF_FAILURE, MP_AUX_PERF_FAILURE_V2},
    {0x11, "AUX_TYPE_PERF_FG_DEFMDB_SUCCESS", MP_AUX_PERF_DEFMDB_SUCCESS, MP_AUX_OPAQUE},
    {0x12, "AUX_TYPE_PERF_FG_DEFGC_SUCCESS", MP_AUX_PERF_DEFGC_SUCCESS, MP_AUX_OPAQUE},
    {0x13, "AUX_TYPE_PERF_FG_MDB_SUCCESS", MP_AUX_PERF_MDB_SUCCESS, MP_AUX_PERF_MDB_SUCCESS_V2},
    {0x14, "AUX_TYPE_PERF_FG_GC_SUCCESS", MP_AUX_PERF_GC_SUCCESS, MP_AUX_PERF_GC_SUCCESS_V2},
    {0x15, "AUX_TYPE_PERF_FG_FAILURE", MP_AUX_PERF_FAILURE, MP_AUX_PERF_FAILURE_V2},
    {0x16, "AUX_TYPE_OSVERSIONINFO", MP_AUX_OSVERSIONINFO, MP_AUX_OPAQUE},
    {0x17, "AUX_TYPE_EXORGINFO", MP_AUX_EXORGINFO, MP_AUX_OPAQUE},
    {0x18, "AUX_TYPE_PERF_ACCOUNTINFO", MP_AUX_PERF_ACCOUNTINFO, MP_AUX_OPAQUE},
    {0x46, "AUX_TYPE_SERVER_CAPABILITIES", MP_AUX_SERVER_CAPABILITIES, MP_AUX_OPAQUE},
    {0x48, "AUX_TYPE_ENDPOINT_CAPABILITIES", MP_AUX_ENDPOINT_CAPABILITIES, MP_AUX_OPAQUE},
    {0x49, "AUX_TYPE_EXCEPTION_TRACE", MP_AUX_OPAQUE, MP_AUX_OPAQUE},
    {0x4a, "AUX_CLIENT_CONNECTION_INFO", MP_AUX_CLIENT_CONNECTION_INFO, MP_AUX_OPAQUE},
    {0x4b, "AUX_SERVER_SESSION_INFO", MP_AUX_SERVER_SESSION_INFO, MP_AUX_OPAQUE},
    {0x4e, "AUX_PROTOCOL_DEVICE_IDENTIFICATION", MP_AUX_PROTOCOL_DEVICE_IDENTIFICATION,
     MP_AUX_OPAQUE},
};

static const struct type_entry *type_entry(uint8_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

enum mp_aux_struct mp_aux_struct_of(uint8_t version, uint8_t type)
{
	const struct type_entry *t = type_entry(type);
	if (!t)
		return MP_AUX_OPAQUE;
	if (version == MP_AUX_VERSION_1)
		return t->v1;
	if (version == MP_AUX_VERSION_2)
		return t->v2;
	return MP_AUX_OPAQUE;
}

const char *mp_aux_struct_name(enum mp_aux_struct st)
{
	if ((unsigned)st >= MP_AUX_STRUCT_COUNT)
		return NULL;
	return structs[st].name;
}

const char *mp_aux_type_name(uint8_t type)
{
	const struct type_entry *t = type_entry(type);
	return t ? t->name : NULL;
}

/* ---- field access -------------------------------------------------------- */

static size_t fixed_size(const struct sdesc *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->nfields; i++) {
		switch (d->fields[i].kind) {
		case FK_U8:
			n += 1;
			break;
		case FK_U32:
			n += 4;
			break;
		case FK_GUID:
			n += 16;
			break;
		case FK_BYTES:
			n += d->fields[i].n;
			break;
		default: /* u16 values, offsets and sizes */
			n += 2;
			break;
		}
	}
	return n;
}

static inline void *at(struct mp_aux_block *b, const struct field *f)
{
	return (uint8_t *)&b->u + f->off;
}

static inline const void *cat(const struct mp_aux_block *b, const struct field *f)
{
	return (const uint8_t *)&b->u + f->off;
}

/* A NUL-terminated UTF-16LE string at `off` inside the block: it must lie
 * after the fixed part and end inside the block. */
static bool pull_str(const uint8_t *blk, size_t size, size_t fixed_end, struct mp_aux_str *s)
{
	if (s->offset == 0)
		return true;
	if (s->offset < fixed_end || s->offset >= size)
		return false;
	const uint8_t *p = blk + s->offset;
	size_t left = size - s->offset;
	for (size_t i = 0; i + 1 < left; i += 2) {
		if (p[i] == 0 && p[i + 1] == 0) {
			s->utf16 = p;
			s->nbytes = i;
			return true;
		}
	}
	return false;
}

/* Decode the body of one block with its structure; false (and *why) when
 * it does not fit, the block then stays opaque. */
static bool pull_struct(struct mp_aux_block *b, const struct sdesc *d, const char **why)
{
	const uint8_t *blk = b->raw;
	size_t size = b->size;
	size_t fixed_end = MP_AUX_HEADER_SIZE + fixed_size(d);
	struct mp_rcursor rc;

	if (fixed_end > size) {
		*why = "block shorter than its structure";
		return false;
	}
	mp_rc_init(&rc, blk + MP_AUX_HEADER_SIZE, size - MP_AUX_HEADER_SIZE);
	for (size_t i = 0; i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		void *v = at(b, f);
		switch (f->kind) {
		case FK_U8:
			*(uint8_t *)v = mp_rc_u8(&rc);
			break;
		case FK_U16:
			*(uint16_t *)v = mp_rc_u16(&rc);
			break;
		case FK_U32:
			*(uint32_t *)v = mp_rc_u32(&rc);
			break;
		case FK_GUID:
		case FK_BYTES: {
			size_t n = f->kind == FK_GUID ? 16 : f->n;
			const uint8_t *src = mp_rc_take(&rc, n);
			if (src)
				memcpy(v, src, n);
			break;
		}
		case FK_STR:
			((struct mp_aux_str *)v)->offset = mp_rc_u16(&rc);
			break;
		case FK_BLOB_SIZE:
			((struct mp_aux_blob *)v)->size = mp_rc_u16(&rc);
			break;
		case FK_BLOB:
			((struct mp_aux_blob *)v)->offset = mp_rc_u16(&rc);
			break;
		}
	}
	/* The fixed part fits (checked above), so the cursor never failed;
	 * now the variable fields it points to. */
	for (size_t i = 0; i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		if (f->kind == FK_STR) {
			if (!pull_str(blk, size, fixed_end, at(b, f))) {
				*why = "string offset outside the block or string not terminated";
				return false;
			}
		} else if (f->kind == FK_BLOB) {
			struct mp_aux_blob *bl = at(b, f);
			if (bl->offset == 0)
				continue;
			if (bl->offset < fixed_end || bl->offset > size ||
			    bl->size > size - bl->offset) {
				*why = "byte field outside the block";
				return false;
			}
			bl->data = blk + bl->offset;
		}
	}
	return true;
}

/* ---- parse --------------------------------------------------------------- */

static int fail(const char **why, const char *reason, int status)
{
	if (why)
		*why = reason;
	return status;
}

int mp_aux_parse(void *mem, const uint8_t *buf, size_t len, struct mp_aux_list **out,
                 const char **why)
{
	*out = NULL;

	/* Walk the headers once: count, and refuse a broken sequence before
	 * allocating anything. */
	size_t count = 0;
	for (size_t off = 0; off < len;) {
		if (len - off < MP_AUX_HEADER_SIZE)
			return fail(why, "truncated AUX_HEADER", MP_ERR_PARSE);
		size_t size = mp_get_u16(buf + off);
		if (size < MP_AUX_HEADER_SIZE)
			return fail(why, "AUX_HEADER Size smaller than the header", MP_ERR_PARSE);
		if (size > len - off)
			return fail(why, "auxiliary block runs past the buffer", MP_ERR_PARSE);
		off += size;
		count++;
	}

	struct mp_aux_list *list = talloc_zero(mem, struct mp_aux_list);
	if (!list)
		return fail(why, "out of memory", MP_ERR_NOMEM);
	list->blocks = talloc_zero_array(list, struct mp_aux_block, count ? count : 1);
	if (!list->blocks) {
		talloc_free(list);
		return fail(why, "out of memory", MP_ERR_NOMEM);
	}
	list->count = count;

	const uint8_t *p = buf;
	for (size_t i = 0; i < count; i++) {
		struct mp_aux_block *b = &list->blocks[i];
		b->size = mp_get_u16(p);
		b->version = p[2];
		b->type = p[3];
		b->raw = p;
		enum mp_aux_struct st = mp_aux_struct_of(b->version, b->type);
		if (st != MP_AUX_OPAQUE && pull_struct(b, &structs[st], &b->why)) {
			b->st = st;
		} else {
			/* Unknown, or known but not fitting its structure: the
			 * body as bytes, and whatever pull_struct() filled in
			 * forgotten. */
			memset(&b->u, 0, sizeof(b->u));
			b->st = MP_AUX_OPAQUE;
			b->u.opaque.data = p + MP_AUX_HEADER_SIZE;
			b->u.opaque.len = b->size - MP_AUX_HEADER_SIZE;
		}
		p += b->size;
	}
	*out = list;
	return MP_OK;
}

/* ---- build --------------------------------------------------------------- */

static int push_struct(const struct mp_aux_block *b, const struct sdesc *d, struct mp_wbuf *out)
{
	size_t start = out->len;
	size_t fixed_end = MP_AUX_HEADER_SIZE + fixed_size(d);

	/* Variable fields go after the fixed part, in structure order; their
	 * offsets are known before the fixed part is written. */
	uint16_t offs[32];
	size_t var = fixed_end;
	for (size_t i = 0; i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		offs[i] = 0;
		if (f->kind == FK_STR) {
			const struct mp_aux_str *s = cat(b, f);
			if (s->utf16) {
				offs[i] = (uint16_t)var;
				var += s->nbytes + 2;
			}
		} else if (f->kind == FK_BLOB) {
			const struct mp_aux_blob *bl = cat(b, f);
			if (bl->data) {
				offs[i] = (uint16_t)var;
				var += bl->size;
			}
		}
		if (var > 0xffff)
			return MP_ERR_LIMIT;
	}
	size_t size = (var + 3) & ~(size_t)3;
	if (size > 0xffff)
		return MP_ERR_LIMIT;

	mp_wb_u16(out, (uint16_t)size);
	mp_wb_u8(out, b->version);
	mp_wb_u8(out, b->type);
	for (size_t i = 0; i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		const void *v = cat(b, f);
		switch (f->kind) {
		case FK_U8:
			mp_wb_u8(out, *(const uint8_t *)v);
			break;
		case FK_U16:
			mp_wb_u16(out, *(const uint16_t *)v);
			break;
		case FK_U32:
			mp_wb_u32(out, *(const uint32_t *)v);
			break;
		case FK_GUID:
			mp_wb_bytes(out, v, 16);
			break;
		case FK_BYTES:
			mp_wb_bytes(out, v, f->n);
			break;
		case FK_STR:
		case FK_BLOB:
			mp_wb_u16(out, offs[i]);
			break;
		case FK_BLOB_SIZE:
			mp_wb_u16(out, ((const struct mp_aux_blob *)v)->size);
			break;
		}
	}
	for (size_t i = 0; i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		if (!offs[i])
			continue;
		if (f->kind == FK_STR) {
			const struct mp_aux_str *s = cat(b, f);
			mp_wb_bytes(out, s->utf16, s->nbytes);
			mp_wb_zeros(out, 2);
		} else {
			const struct mp_aux_blob *bl = cat(b, f);
			mp_wb_bytes(out, bl->data, bl->size);
		}
	}
	mp_wb_zeros(out, size - (out->len - start));
	return MP_OK;
}

int mp_aux_build(const struct mp_aux_list *list, struct mp_wbuf *out)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct mp_aux_block *b = &list->blocks[i];
		int ret = MP_OK;
		if (b->raw) {
			mp_wb_bytes(out, b->raw, b->size);
		} else if (b->st != MP_AUX_OPAQUE && (unsigned)b->st < MP_AUX_STRUCT_COUNT) {
			ret = push_struct(b, &structs[b->st], out);
		} else {
			size_t size = MP_AUX_HEADER_SIZE + b->u.opaque.len;
			if (size > 0xffff)
				return MP_ERR_LIMIT;
			mp_wb_u16(out, (uint16_t)size);
			mp_wb_u8(out, b->version);
			mp_wb_u8(out, b->type);
			mp_wb_bytes(out, b->u.opaque.data, b->u.opaque.len);
		}
		if (ret != MP_OK)
			return ret;
	}
	return out->bad ? MP_ERR_NOMEM : MP_OK;
}

struct mp_aux_list *mp_aux_list_new(void *mem)
{
	return talloc_zero(mem, struct mp_aux_list);
}

struct mp_aux_block *mp_aux_add(struct mp_aux_list *list, uint8_t version, uint8_t type)
{
	struct mp_aux_block *blocks =
	    talloc_realloc(list, list->blocks, struct mp_aux_block, list->count + 1);
	if (!blocks)
		return NULL;
	list->blocks = blocks;
	struct mp_aux_block *b = &blocks[list->count++];
	memset(b, 0, sizeof(*b));
	b->version = version;
	b->type = type;
	b->st = mp_aux_struct_of(version, type);
	return b;
}

void mp_aux_block_touch(struct mp_aux_block *blk)
{
	blk->raw = NULL;
}

int mp_aux_str_set(void *mem, struct mp_aux_str *str, const char *s)
{
	str->offset = 0;
	if (!s) {
		str->utf16 = NULL;
		str->nbytes = 0;
		return MP_OK;
	}
	size_t n = 0;
	uint8_t *w = mp_utf8_to_utf16le(mem, s, &n);
	if (!w)
		return MP_ERR_PARSE; /* or out of memory: the helper does not say */
	str->utf16 = w;
	str->nbytes = n;
	return MP_OK;
}

/* ---- print --------------------------------------------------------------- */

static const char *sym_name(const struct sym *t, uint64_t v)
{
	for (; t->name; t++)
		if (t->v == v)
			return t->name;
	return NULL;
}

static void print_number(struct mp_printer *p, const struct field *f, uint64_t v, int digits)
{
	switch (f->fmt) {
	case FF_HEX:
		mp_pr_hex(p, f->name, v, digits);
		break;
	case FF_ENUM:
		mp_pr_enum(p, f->name, v, digits, sym_name(f->sym, v));
		break;
	case FF_FLAGS:
		mp_pr_flags(p, f->name, v, digits, f->sym);
		break;
	default:
		mp_pr_uint(p, f->name, v);
		break;
	}
}

static void print_struct(struct mp_printer *p, const struct mp_aux_block *b, const struct sdesc *d)
{
	mp_pr_begin(p, d->name);
	for (size_t i = 0; i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		const void *v = cat(b, f);
		switch (f->kind) {
		case FK_U8:
			print_number(p, f, *(const uint8_t *)v, 2);
			break;
		case FK_U16:
			print_number(p, f, *(const uint16_t *)v, 4);
			break;
		case FK_U32:
			print_number(p, f, *(const uint32_t *)v, 8);
			break;
		case FK_GUID:
			mp_pr_guid(p, f->name, v);
			break;
		case FK_BYTES:
			mp_pr_bytes(p, f->name, v, f->n);
			break;
		case FK_STR: {
			const struct mp_aux_str *s = v;
			mp_pr_uint(p, f->off_name, s->offset);
			if (s->utf16)
				mp_pr_utf16(p, f->name, s->utf16, s->nbytes);
			else
				mp_pr_str(p, f->name, NULL);
			break;
		}
		case FK_BLOB_SIZE:
			mp_pr_uint(p, f->name, ((const struct mp_aux_blob *)v)->size);
			break;
		case FK_BLOB: {
			const struct mp_aux_blob *bl = v;
			mp_pr_uint(p, f->off_name, bl->offset);
			if (bl->data)
				mp_pr_bytes(p, f->name, bl->data, bl->size);
			else
				mp_pr_str(p, f->name, NULL);
			break;
		}
		}
	}
	mp_pr_end(p);
}

/* Where the decoded structure ends: after the fixed part or the last of
 * its variable fields, whichever is further. */
static size_t decoded_end(const struct mp_aux_block *b, const struct sdesc *d)
{
	size_t end = MP_AUX_HEADER_SIZE + fixed_size(d);
	for (size_t i = 0; i < d->nfields; i++) {
		const struct field *f = &d->fields[i];
		size_t e = 0;
		if (f->kind == FK_STR) {
			const struct mp_aux_str *s = cat(b, f);
			if (s->utf16)
				e = (size_t)s->offset + s->nbytes + 2;
		} else if (f->kind == FK_BLOB) {
			const struct mp_aux_blob *bl = cat(b, f);
			if (bl->data)
				e = (size_t)bl->offset + bl->size;
		}
		if (e > end)
			end = e;
	}
	return end;
}

void mp_aux_print(struct mp_printer *p, const char *name, const struct mp_aux_list *list)
{
	mp_pr_begin_array(p, name, list->count);
	for (size_t i = 0; i < list->count; i++) {
		const struct mp_aux_block *b = &list->blocks[i];
		mp_pr_begin(p, NULL);
		mp_pr_begin(p, "AUX_HEADER");
		mp_pr_uint(p, "Size", b->size);
		mp_pr_enum(p, "Version", b->version, 2,
		           b->version == MP_AUX_VERSION_1   ? "AUX_VERSION_1"
		           : b->version == MP_AUX_VERSION_2 ? "AUX_VERSION_2"
		                                            : NULL);
		mp_pr_enum(p, "Type", b->type, 2, mp_aux_type_name(b->type));
		mp_pr_end(p);
		if (b->st != MP_AUX_OPAQUE && (unsigned)b->st < MP_AUX_STRUCT_COUNT) {
			print_struct(p, b, &structs[b->st]);
			/* Padding or unknown bytes after the structure. */
			size_t end = decoded_end(b, &structs[b->st]);
			if (b->raw && end < b->size)
				mp_pr_bytes(p, "TrailingBytes", b->raw + end, b->size - end);
		} else {
			if (b->why)
				mp_pr_str(p, "Undecoded", b->why);
			mp_pr_bytes(p, "Body", b->u.opaque.data, b->u.opaque.len);
		}
		mp_pr_end(p);
	}
	mp_pr_end_array(p);
}
