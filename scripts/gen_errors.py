#!/usr/bin/python3
"""Generate src/mapi/names_errors.c: names of MAPI error codes and RPC status codes.

Usage: /usr/bin/python3 scripts/gen_errors.py SRCDIR > src/mapi/names_errors.c

SRCDIR holds local copies of public lists of MS-OXCDATA 2.4 facts:

  ErrorCodes.cs, AdditionalErrorCodes.cs, PropertyErrorCodes.cs, WarningCodes.cs
      OfficeDev/Office-Inspectors-for-Fiddler,
      MAPIInspector/Source/Parsers/MSOXCDATA/2.4 Error Codes/
      (Microsoft: the error code names and values of MS-OXCDATA sections
      2.4, 2.4.1, 2.4.2 and 2.4.3)
  mapi-codes
      openchange/openchange libmapi/conf/mapi-codes (the "ec" names that
      MS-OXCDATA 2.4.1 gives as alternate names)

The alternate names of the 2.4 / 2.4.2 / 2.4.3 rows (ecXxx, and the Windows
SDK constants MAPI_E_..., MAPI_W_..., SYNC_..., STG_E_...) and the RPC status
codes (C706 appendix E, MS-RPCE 2.2.2.10, MS-ERREF 2.2) are listed below.
When two tables give one value, the first of 2.4, 2.4.1, 2.4.2, 2.4.3 wins.
"""

import os
import re
import sys

# ec names of MS-OXCDATA 2.4 / 2.4.2 / 2.4.3 rows (their alternate names).
EC_NAMES = {
    0x00000000: 'ecNone',
    0x80004005: 'ecError',
    0x8007000E: 'ecMAPIOOM',
    0x80070057: 'ecInvalidParam',
    0x80004002: 'ecInterfaceNotSupported',
    0x80070005: 'ecAccessDenied',
    0x80030070: 'ecStreamSizeError',
    0x80040102: 'ecNotSupported',
    0x80040103: 'ecBadCharwidth',
    0x80040105: 'ecStringTooLarge',
    0x80040106: 'ecUnknownFlags',
    0x80040107: 'ecInvalidEntryId',
    0x80040108: 'ecInvalidObject',
    0x80040109: 'ecObjectModified',
    0x8004010A: 'ecObjectDeleted',
    0x8004010B: 'ecBusy',
    0x8004010D: 'ecDiskFull',
    0x8004010E: 'ecInsufficientResrc',
    0x8004010F: 'ecNotFound',
    0x80040110: 'ecVersion',
    0x80040111: 'ecLoginFailure',
    0x80040112: 'ecTooManySessions',
    0x80040113: 'ecUserAbort',
    0x80040114: 'ecUnableToAbort',
    0x80040115: 'ecRpcFailed',
    0x80040116: 'ecReadFault',
    0x80040117: 'ecTooComplex',
    0x8004011A: 'ecComputed',
    0x8004011B: 'ecCorruptData',
    0x80040123: 'ecTimeSkew',
    0x80040301: 'ecPropBadValue',
    0x80040302: 'ecInvalidType',
    0x80040303: 'ecTypeNotSupported',
    0x80040304: 'ecPropType',
    0x80040305: 'ecTooBig',
    0x80040400: 'ecUnableToComplete',
    0x80040401: 'ecTimeout',
    0x80040402: 'ecTableEmpty',
    0x80040403: 'ecTableTooBig',
    0x80040405: 'ecInvalidBookmark',
    0x80040500: 'ecWait',
    0x80040501: 'ecCancel',
    0x80040601: 'ecNotInQueue',
    0x80040604: 'ecDuplicateName',
    0x80040605: 'ecNotInitialized',
    0x80040608: 'ecSubmitted',
    0x80040609: 'ecFolderHasChildren',
    0x8004060A: 'ecFolderHasContents',
    0x8004060B: 'ecRootFolder',
    0x8004060D: 'ecLockIdLimit',
    0x80040700: 'ecAmbiguousRecip',
    0x80040900: 'ecNPQuotaExceeded',
    0x00040380: 'ecWarnWithErrors',
    0x00040481: 'ecWarnPositionChanged',
    0x00040482: 'ecWarnApproxCount',
    0x00040680: 'ecPartialCompletion',
    0x000003F0: 'ecServerOOM',  # 2.4.1 lists ecServerOOM before ecMemory
}

# Windows SDK constants (mapicode.h, edkmdb.h, winerror.h) for the codes.
SDK_NAMES = {
    0x00000000: 'S_OK',
    0x80004002: 'MAPI_E_INTERFACE_NOT_SUPPORTED',
    0x80004005: 'MAPI_E_CALL_FAILED',
    0x80030001: 'STG_E_INVALIDFUNCTION',
    0x80030005: 'STG_E_ACCESSDENIED',
    0x80030008: 'STG_E_INSUFFICIENTMEMORY',
    0x80030009: 'STG_E_INVALIDPOINTER',
    0x8003001E: 'STG_E_READFAULT',
    0x80030021: 'STG_E_LOCKVIOLATION',
    0x80030057: 'STG_E_INVALIDPARAMETER',
    0x80030070: 'STG_E_MEDIUMFULL',
    0x800300FF: 'STG_E_INVALIDFLAG',
    0x80030103: 'STG_E_CANTSAVE',
    0x80040102: 'MAPI_E_NO_SUPPORT',
    0x80040103: 'MAPI_E_BAD_CHARWIDTH',
    0x80040105: 'MAPI_E_STRING_TOO_LONG',
    0x80040106: 'MAPI_E_UNKNOWN_FLAGS',
    0x80040107: 'MAPI_E_INVALID_ENTRYID',
    0x80040108: 'MAPI_E_INVALID_OBJECT',
    0x80040109: 'MAPI_E_OBJECT_CHANGED',
    0x8004010A: 'MAPI_E_OBJECT_DELETED',
    0x8004010B: 'MAPI_E_BUSY',
    0x8004010D: 'MAPI_E_NOT_ENOUGH_DISK',
    0x8004010E: 'MAPI_E_NOT_ENOUGH_RESOURCES',
    0x8004010F: 'MAPI_E_NOT_FOUND',
    0x80040110: 'MAPI_E_VERSION',
    0x80040111: 'MAPI_E_LOGON_FAILED',
    0x80040112: 'MAPI_E_SESSION_LIMIT',
    0x80040113: 'MAPI_E_USER_CANCEL',
    0x80040114: 'MAPI_E_UNABLE_TO_ABORT',
    0x80040115: 'MAPI_E_NETWORK_ERROR',
    0x80040116: 'MAPI_E_DISK_ERROR',
    0x80040117: 'MAPI_E_TOO_COMPLEX',
    0x80040118: 'MAPI_E_BAD_COLUMN',
    0x80040119: 'MAPI_E_EXTENDED_ERROR',
    0x8004011A: 'MAPI_E_COMPUTED',
    0x8004011B: 'MAPI_E_CORRUPT_DATA',
    0x8004011C: 'MAPI_E_UNCONFIGURED',
    0x8004011D: 'MAPI_E_FAILONEPROVIDER',
    0x8004011E: 'MAPI_E_UNKNOWN_CPID',
    0x8004011F: 'MAPI_E_UNKNOWN_LCID',
    0x80040120: 'MAPI_E_PASSWORD_CHANGE_REQUIRED',
    0x80040121: 'MAPI_E_PASSWORD_EXPIRED',
    0x80040122: 'MAPI_E_INVALID_WORKSTATION_ACCOUNT',
    0x80040123: 'MAPI_E_INVALID_ACCESS_TIME',
    0x80040124: 'MAPI_E_ACCOUNT_DISABLED',
    0x80040200: 'MAPI_E_END_OF_SESSION',
    0x80040201: 'MAPI_E_UNKNOWN_ENTRYID',
    0x80040202: 'MAPI_E_MISSING_REQUIRED_COLUMN',
    0x00040203: 'MAPI_W_NO_SERVICE',
    0x80040301: 'MAPI_E_BAD_VALUE',
    0x80040302: 'MAPI_E_INVALID_TYPE',
    0x80040303: 'MAPI_E_TYPE_NO_SUPPORT',
    0x80040304: 'MAPI_E_UNEXPECTED_TYPE',
    0x80040305: 'MAPI_E_TOO_BIG',
    0x80040306: 'MAPI_E_DECLINE_COPY',
    0x80040307: 'MAPI_E_UNEXPECTED_ID',
    0x00040380: 'MAPI_W_ERRORS_RETURNED',
    0x80040400: 'MAPI_E_UNABLE_TO_COMPLETE',
    0x80040401: 'MAPI_E_TIMEOUT',
    0x80040402: 'MAPI_E_TABLE_EMPTY',
    0x80040403: 'MAPI_E_TABLE_TOO_BIG',
    0x80040405: 'MAPI_E_INVALID_BOOKMARK',
    0x00040481: 'MAPI_W_POSITION_CHANGED',
    0x00040482: 'MAPI_W_APPROX_COUNT',
    0x80040500: 'MAPI_E_WAIT',
    0x80040501: 'MAPI_E_CANCEL',
    0x80040502: 'MAPI_E_NOT_ME',
    0x00040580: 'MAPI_W_CANCEL_MESSAGE',
    0x80040600: 'MAPI_E_CORRUPT_STORE',
    0x80040601: 'MAPI_E_NOT_IN_QUEUE',
    0x80040602: 'MAPI_E_NO_SUPPRESS',
    0x80040604: 'MAPI_E_COLLISION',
    0x80040605: 'MAPI_E_NOT_INITIALIZED',
    0x80040606: 'MAPI_E_NON_STANDARD',
    0x80040607: 'MAPI_E_NO_RECIPIENTS',
    0x80040608: 'MAPI_E_SUBMITTED',
    0x80040609: 'MAPI_E_HAS_FOLDERS',
    0x8004060A: 'MAPI_E_HAS_MESSAGES',
    0x8004060B: 'MAPI_E_FOLDER_CYCLE',
    0x8004060C: 'MAPI_E_STORE_FULL',
    0x8004060D: 'MAPI_E_LOCKID_LIMIT',
    0x00040680: 'MAPI_W_PARTIAL_COMPLETION',
    0x80040700: 'MAPI_E_AMBIGUOUS_RECIP',
    0x80040800: 'SYNC_E_OBJECT_DELETED',
    0x80040801: 'SYNC_E_IGNORE',
    0x80040802: 'SYNC_E_CONFLICT',
    0x80040803: 'SYNC_E_NO_PARENT',
    0x80040804: 'SYNC_E_CYCLE',
    0x80040805: 'SYNC_E_UNSYNCHRONIZED',
    0x00040820: 'SYNC_W_PROGRESS',
    0x00040821: 'SYNC_W_CLIENT_CHANGE_NEWER',
    0x80040900: 'MAPI_E_NAMED_PROP_QUOTA_EXCEEDED',
    0x80040FFF: 'MAPI_E_NOT_IMPLEMENTED',
    0x80070005: 'MAPI_E_NO_ACCESS',
    0x8007000E: 'MAPI_E_NOT_ENOUGH_MEMORY',
    0x80070057: 'MAPI_E_INVALID_PARAMETER',
}

# RPC status codes: C706 appendix E (nca_s_*), and the Win32 RPC status
# values (MS-ERREF 2.2) that RPC runtimes return or put in fault PDUs.
RPC_STATUS = [
    (0x00000005, 'RPC_S_ACCESS_DENIED'),
    (0x0000000E, 'RPC_S_OUT_OF_MEMORY'),
    (0x00000057, 'RPC_S_INVALID_ARG'),
    (0x000006A4, 'RPC_S_INVALID_STRING_BINDING'),
    (0x000006A5, 'RPC_S_WRONG_KIND_OF_BINDING'),
    (0x000006A6, 'RPC_S_INVALID_BINDING'),
    (0x000006A7, 'RPC_S_PROTSEQ_NOT_SUPPORTED'),
    (0x000006A8, 'RPC_S_INVALID_RPC_PROTSEQ'),
    (0x000006A9, 'RPC_S_INVALID_STRING_UUID'),
    (0x000006AA, 'RPC_S_INVALID_ENDPOINT_FORMAT'),
    (0x000006AB, 'RPC_S_INVALID_NET_ADDR'),
    (0x000006AC, 'RPC_S_NO_ENDPOINT_FOUND'),
    (0x000006AD, 'RPC_S_INVALID_TIMEOUT'),
    (0x000006AE, 'RPC_S_OBJECT_NOT_FOUND'),
    (0x000006B5, 'RPC_S_UNKNOWN_IF'),
    (0x000006B9, 'RPC_S_OUT_OF_RESOURCES'),
    (0x000006BA, 'RPC_S_SERVER_UNAVAILABLE'),
    (0x000006BB, 'RPC_S_SERVER_TOO_BUSY'),
    (0x000006BD, 'RPC_S_NO_CALL_ACTIVE'),
    (0x000006BE, 'RPC_S_CALL_FAILED'),
    (0x000006BF, 'RPC_S_CALL_FAILED_DNE'),
    (0x000006C0, 'RPC_S_PROTOCOL_ERROR'),
    (0x000006C2, 'RPC_S_UNSUPPORTED_TRANS_SYN'),
    (0x000006C4, 'RPC_S_UNSUPPORTED_TYPE'),
    (0x000006C5, 'RPC_S_INVALID_TAG'),
    (0x000006C6, 'RPC_S_INVALID_BOUND'),
    (0x000006D1, 'RPC_S_PROCNUM_OUT_OF_RANGE'),
    (0x000006D8, 'EPT_S_CANT_PERFORM_OP'),
    (0x000006D9, 'EPT_S_NOT_REGISTERED'),
    (0x000006E4, 'RPC_S_CANNOT_SUPPORT'),
    (0x000006F4, 'RPC_X_NULL_REF_POINTER'),
    (0x000006F5, 'RPC_X_ENUM_VALUE_OUT_OF_RANGE'),
    (0x000006F6, 'RPC_X_BYTE_COUNT_TOO_SMALL'),
    (0x000006F7, 'RPC_X_BAD_STUB_DATA'),
    (0x0000071A, 'RPC_S_CALL_CANCELLED'),
    (0x00000721, 'RPC_S_SEC_PKG_ERROR'),
    (0x1C000001, 'nca_s_fault_int_div_by_zero'),
    (0x1C000002, 'nca_s_fault_addr_error'),
    (0x1C000003, 'nca_s_fault_fp_div_zero'),
    (0x1C000004, 'nca_s_fault_fp_underflow'),
    (0x1C000005, 'nca_s_fault_fp_overflow'),
    (0x1C000006, 'nca_s_fault_invalid_tag'),
    (0x1C000007, 'nca_s_fault_invalid_bound'),
    (0x1C000008, 'nca_s_rpc_version_mismatch'),
    (0x1C000009, 'nca_s_unspec_reject'),
    (0x1C00000A, 'nca_s_bad_actid'),
    (0x1C00000B, 'nca_s_who_are_you_failed'),
    (0x1C00000C, 'nca_s_manager_not_entered'),
    (0x1C00000D, 'nca_s_fault_cancel'),
    (0x1C00000E, 'nca_s_fault_ill_inst'),
    (0x1C00000F, 'nca_s_fault_fp_error'),
    (0x1C000010, 'nca_s_fault_int_overflow'),
    (0x1C000012, 'nca_s_fault_unspec'),
    (0x1C000013, 'nca_s_fault_remote_comm_failure'),
    (0x1C000014, 'nca_s_fault_pipe_empty'),
    (0x1C000015, 'nca_s_fault_pipe_closed'),
    (0x1C000016, 'nca_s_fault_pipe_order'),
    (0x1C000017, 'nca_s_fault_pipe_discipline'),
    (0x1C000018, 'nca_s_fault_pipe_comm_error'),
    (0x1C000019, 'nca_s_fault_pipe_memory'),
    (0x1C00001A, 'nca_s_fault_context_mismatch'),
    (0x1C00001B, 'nca_s_fault_remote_no_memory'),
    (0x1C00001C, 'nca_s_invalid_pres_context_id'),
    (0x1C00001D, 'nca_s_unsupported_authn_level'),
    (0x1C00001F, 'nca_s_invalid_checksum'),
    (0x1C000020, 'nca_s_invalid_crc'),
    (0x1C000021, 'nca_s_fault_user_defined'),
    (0x1C000022, 'nca_s_fault_tx_open_failed'),
    (0x1C000023, 'nca_s_fault_codeset_conv_error'),
    (0x1C000024, 'nca_s_fault_object_not_found'),
    (0x1C000025, 'nca_s_fault_no_client_stub'),
    (0x1C010001, 'nca_s_comm_failure'),
    (0x1C010002, 'nca_s_op_rng_error'),
    (0x1C010003, 'nca_s_unk_if'),
    (0x1C010006, 'nca_s_wrong_boot_time'),
    (0x1C010009, 'nca_s_you_crashed'),
    (0x1C01000B, 'nca_s_proto_error'),
    (0x1C010013, 'nca_s_out_args_too_big'),
    (0x1C010014, 'nca_s_server_too_busy'),
    (0x1C010015, 'nca_s_fault_string_too_long'),
    (0x1C010017, 'nca_s_unsupported_type'),
]

SPEC_FILES = [
    ('ErrorCodes.cs', '2.4'),
    ('AdditionalErrorCodes.cs', '2.4.1'),
    ('PropertyErrorCodes.cs', '2.4.2'),
    ('WarningCodes.cs', '2.4.3'),
]


def warn(msg):
    print('gen_errors: ' + msg, file=sys.stderr)


def read_enum(path):
    with open(path, encoding='utf-8-sig') as f:
        text = f.read()
    text = re.sub(r'//[^\n]*', '', text)
    return [(m.group(1), int(m.group(2), 16))
            for m in re.finditer(r'\b([A-Za-z]\w*)\s*=\s*0x([0-9A-Fa-f]+)\s*[,}\n]', text)]


def read_mapi_codes(path):
    out = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            w = line.split('#', 1)[0].split()
            if len(w) >= 2 and w[0].lower().startswith('0x') and w[1].startswith('ec'):
                out.setdefault(int(w[0], 16), w[1])
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: gen_errors.py SRCDIR > src/mapi/names_errors.c')
    src = sys.argv[1]
    spec = {}
    for fn, section in SPEC_FILES:
        path = os.path.join(src, fn)
        if not os.path.exists(path):
            sys.exit('gen_errors: missing ' + path)
        for name, code in read_enum(path):
            if code > 0xFFFFFFFF:
                warn('%s: 0x%X too large' % (name, code))
                continue
            if code in spec:
                if spec[code] != name:
                    warn('0x%08X: %s kept, %s (%s) dropped' % (code, spec[code], name, section))
                continue
            spec[code] = name
    ec = {}
    path = os.path.join(src, 'mapi-codes')
    if os.path.exists(path):
        ec.update(read_mapi_codes(path))
    else:
        warn('no mapi-codes: ec names of 2.4.1 rows missing')
    ec.update(EC_NAMES)

    rows = {}
    for code, name in spec.items():
        rows[code] = [name, ec.get(code), SDK_NAMES.get(code)]
    for code, e in ec.items():
        if code not in rows:
            warn('ec name %s 0x%08X has no spec row' % (e, code))
            rows[code] = [None, e, SDK_NAMES.get(code)]
    for code, m in SDK_NAMES.items():
        if code not in rows:  # MAPI_E_STORE_FULL, MAPI_W_NO_SERVICE, ...
            rows[code] = [None, None, m]
    emit(sorted(rows.items()), sorted(RPC_STATUS))


def cstr(s):
    return 'NULL' if s is None else '"%s"' % s


def emit(rows, rpc):
    w = sys.stdout.write
    w('/*\n')
    w(' * GENERATED FILE - do not edit. Made by:\n')
    w(' *   /usr/bin/python3 scripts/gen_errors.py SRCDIR > src/mapi/names_errors.c\n')
    w(' * (see the script for what SRCDIR holds and where the names come from).\n')
    w(' * MS-OXCDATA 2.4 error, property error and warning codes: %d values;\n' % len(rows))
    w(' * RPC status codes (C706 appendix E, MS-ERREF): %d values.\n' % len(rpc))
    w(' */\n')
    w('#include "mapi/names_tables.h"\n\n')
    w('/* Sorted by code: {code, MS-OXCDATA name, ec name, Windows SDK name}. */\n')
    w('const struct mp_error_entry mp_error_table[] = {\n')
    for code, (s, e, m) in rows:
        w('\t{0x%08X, %s, %s, %s},\n' % (code, cstr(s), cstr(e), cstr(m)))
    w('};\n')
    w('const size_t mp_error_table_len = sizeof(mp_error_table) / sizeof(mp_error_table[0]);\n\n')
    w('/* Sorted by code. */\n')
    w('const struct mp_code_name mp_rpc_status_table[] = {\n')
    for code, name in rpc:
        w('\t{0x%08X, "%s"},\n' % (code, name))
    w('};\n')
    w('const size_t mp_rpc_status_table_len =\n')
    w('\tsizeof(mp_rpc_status_table) / sizeof(mp_rpc_status_table[0]);\n')


if __name__ == '__main__':
    main()
