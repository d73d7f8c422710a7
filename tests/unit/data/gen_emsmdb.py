#!/usr/bin/python3
"""Regenerate tests/unit/data/emsmdb/*.bin and the seeds in tests/fuzz/corpus/emsmdb/.

    /usr/bin/python3 tests/unit/data/gen_emsmdb.py

MS-OXCRPC has no NDR byte dumps (its section 4 examples give parameter
values only), so the vectors are made here, by two producers that share no
code with our C codec (src/mapi/emsmdb.c):

 1. idl_<call>_{req,rsp}.bin: packed field by field below with `struct`,
    following the IDL of MS-OXCRPC Appendix A (and, for the legacy opnums 0,
    2, 3, 5, 7, 8, 9, the layouts of OpenChange's exchange.idl and
    Wireshark's mapi.idl) and the NDR20 rules of C706 chapter 14: every
    primitive aligned to its size from the stub start, zero padding,
    [size_is] arrays as max_count + elements, [size_is, length_is] arrays as
    max_count + offset + actual_count + elements, [string] char* as
    max_count + offset + actual_count + chars + NUL, unique pointers as a
    referent ID (counted 0x00020000, +4, like Samba), context handles as 20
    bytes. These are what our encoder must write from scratch for the same
    fields.
 2. imp_<call>_{req,rsp}.bin: the same calls declared as impacket NDRCALLs
    (impacket 0.10, Debian's python3-impacket) and marshalled by impacket's
    NDR engine, which pads alignment gaps with 0xbf/0xcc/... rather than
    zeros: our decoder must read them and re-encode them byte for byte.
    Impacket cannot express the [out] conformant-varying arrays of a
    response with a max_count other than the length; that case is built by
    hand in the C test.

Values: EcDoConnectEx's request and EcDoRpcExt2's request/response follow
MS-OXCRPC 4.1 and 4.2 (szUserDN, ulConMod 0x00340567, ulCpid 1252, LCIDs
0x409, ulIcxrLink 0xFFFFFFFF, rgwClientVersion 12.6206.1000, pcbAuxOut
0x1008; pulFlags 3, cbIn 0x15A with RPC_HEADER_EXT {0, Last, 0x152, 0x152},
RopSize 0x142, pcbOut 0x18008; response RPC_HEADER_EXT {0, Last, 0x52,
0x52}, RopSize 0x42). The spec's abstract session handle 0x00001234 is put in
the first field of the handle's UUID. ROP bytes, which the examples do not
list, and every other value are ours (see VALUES in test_emsmdb.c).

The fuzz seeds are <selector><direction><stub> (see tests/fuzz/fuzz_emsmdb.c).
"""
import os
import struct
import sys
import uuid

from impacket.dcerpc.v5.ndr import (NDRCALL, NDRSTRUCT, NDRUniConformantArray,
                                    NDRUniConformantVaryingArray, NDRUniFixedArray)
from impacket.dcerpc.v5.dtypes import LPSTR, STR, ULONG, USHORT

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'emsmdb')
SEEDS = os.path.join(HERE, '..', '..', 'fuzz', 'corpus', 'emsmdb')

# ---- values (mirrored in test_emsmdb.c) -------------------------------------

USER_DN = b'/o=First Organization/ou=First Administrative Group/CN=recipients/CN=janedow'
# The spec's session handle 0x00001234 as a context handle.
CXH = struct.pack('<I', 0) + struct.pack('<I', 0x00001234) + bytes(12)
ACXH = struct.pack('<I', 0) + uuid.UUID('5ee1a5e0-0f9b-4d1a-9b1c-00aa00bbccdd').bytes_le
DN_PREFIX = b'/o=First Organization/ou=First Administrative Group'
DISPLAY_NAME = b'Jane Dow'


def rpc_header_ext(flags, payload):
    return struct.pack('<HHHH', 0, flags, len(payload), len(payload)) + payload


def pattern(n, seed):
    return bytes((seed + 7 * i) & 0xff for i in range(n))


# MS-OXCRPC 4.2: RopSize 0x142 (itself included) + 320 bytes of ROPs + a
# 16-byte ServerObjectHandleTable; 8-byte RPC_HEADER_EXT before it.
RGB_IN = rpc_header_ext(0x0004, struct.pack('<H', 0x142) + pattern(320, 1) + pattern(16, 2))
assert len(RGB_IN) == 0x15A
RGB_OUT = rpc_header_ext(0x0004, struct.pack('<H', 0x42) + pattern(64, 3) + pattern(16, 4))
assert len(RGB_OUT) == 0x5A
# An AUX_EXORGINFO block (MS-OXCRPC 2.2.2.2.17) in an RPC_HEADER_EXT.
AUX_OUT = rpc_header_ext(0x0004, struct.pack('<HBB', 8, 1, 0x17) + struct.pack('<I', 1))
AUX_IN = rpc_header_ext(0x0004, struct.pack('<HBB', 8, 1, 0x01) + struct.pack('<HH', 7, 9))
# EcDoRpc's payload: RopSize (u16, itself included), ROPs, handle table, the
# whole XORed with 0xA5 (OpenChange's ndr_mapi.c). A RopRelease of handle
# index 0 going out, no ROP coming back; one server object handle each way.
LEGACY_IN = bytes(b ^ 0xA5 for b in struct.pack('<H', 5) + bytes([0x01, 0, 0]) + struct.pack('<I', 1))
LEGACY_OUT = bytes(b ^ 0xA5 for b in struct.pack('<H', 2) + struct.pack('<I', 1))
LEGACY_MORE = bytes(b ^ 0xA5 for b in pattern(13, 5))
DC_NAME = b'DC01'.ljust(16, b'\0')

# ---- a small NDR20 packer, written from C706 14 -----------------------------


class Stub:
    def __init__(self):
        self.b = bytearray()
        self.ref = 0x00020000

    def align(self, n):
        while len(self.b) % n:
            self.b.append(0)

    def u16(self, v):
        self.align(2)
        self.b += struct.pack('<H', v)

    def u32(self, v):
        self.align(4)
        self.b += struct.pack('<I', v)

    def handle(self, h):
        self.align(4)
        self.b += h

    def raw(self, data):
        self.b += data

    def conformant(self, data):
        self.u32(len(data))
        self.raw(data)

    def varying(self, data, max_count=None):
        self.u32(len(data) if max_count is None else max_count)
        self.u32(0)
        self.u32(len(data))
        self.raw(data)

    def string(self, s):
        self.varying(s + b'\0')

    def ptr(self):
        self.u32(self.ref)
        self.ref += 4

    def words(self, w):
        for v in w:
            self.u16(v)


def idl_vectors():
    v = {}

    def req_connect(ex):
        s = Stub()
        s.string(USER_DN)
        for x in (0, 0x00340567, 0, 1252, 0x409, 0x409, 0xFFFFFFFF):
            s.u32(x)
        s.u16(1)
        s.words((0x000C, 0x183E, 0x03E8))
        s.u32(0)
        if ex:
            s.conformant(b'')
            s.u32(0)
            s.u32(0x1008)
        return bytes(s.b)

    def rsp_connect(ex):
        s = Stub()
        s.handle(CXH)
        s.u32(60000)
        s.u32(6)
        s.u32(10000)
        s.u16(7)
        s.ptr()
        s.string(DN_PREFIX)
        s.ptr()
        s.string(DISPLAY_NAME)
        s.words((0x000F, 0x0001, 0x0225))
        s.words((0x000C, 0x183E, 0x03E8))
        s.u32(0x5AB0C1D2)
        if ex:
            s.varying(AUX_OUT)
            s.u32(len(AUX_OUT))
        s.u32(0)
        return bytes(s.b)

    v['connect_ex_req'] = req_connect(True)
    v['connect_ex_rsp'] = rsp_connect(True)
    v['connect_req'] = req_connect(False)
    v['connect_rsp'] = rsp_connect(False)

    s = Stub()
    s.handle(CXH)
    v['disconnect_req'] = bytes(s.b)
    s = Stub()
    s.handle(bytes(20))
    s.u32(0)
    v['disconnect_rsp'] = bytes(s.b)

    # EcDoRpc: [in, out, size_is(usSize), length_is(*pusLength)] rgb,
    # [in, out] *pusLength, [in] usSize.
    s = Stub()
    s.handle(CXH)
    s.varying(LEGACY_IN, max_count=0x8000)
    s.u16(len(LEGACY_IN))
    s.u16(0x8000)
    v['rpc_req'] = bytes(s.b)
    s = Stub()
    s.handle(CXH)
    s.varying(LEGACY_OUT, max_count=0x8000)
    s.u16(len(LEGACY_OUT))
    s.u32(0)
    v['rpc_rsp'] = bytes(s.b)

    s = Stub()
    s.handle(CXH)
    s.varying(b'', max_count=0x8000)
    s.u16(0)
    s.u16(0x8000)
    v['get_more_rpc_req'] = bytes(s.b)
    s = Stub()
    s.handle(CXH)
    s.varying(LEGACY_MORE, max_count=0x8000)
    s.u16(len(LEGACY_MORE))
    s.u32(0)
    v['get_more_rpc_rsp'] = bytes(s.b)

    # EcRRegisterPushNotification: rgbContext/cbContext (u16),
    # rgbCallbackAddress/cbCallbackAddress (u16; a SOCKADDR_IN here).
    sockaddr = struct.pack('<H', 2) + struct.pack('>H', 6002) + bytes([127, 0, 0, 1]) + bytes(8)
    s = Stub()
    s.handle(CXH)
    s.u32(1)
    s.conformant(b'\x01\x02\x03')
    s.u16(3)
    s.u32(0xFFFFFFFF)
    s.conformant(sockaddr)
    s.u16(len(sockaddr))
    v['register_push_req'] = bytes(s.b)
    s = Stub()
    s.handle(CXH)
    s.u32(0x00000A01)
    s.u32(0)
    v['register_push_rsp'] = bytes(s.b)

    s = Stub()
    s.handle(CXH)
    s.u32(1)
    s.u32(0x00000A01)
    v['unregister_push_req'] = bytes(s.b)
    s = Stub()
    s.handle(CXH)
    s.u32(0)
    v['unregister_push_rsp'] = bytes(s.b)

    v['dummy_req'] = b''
    v['dummy_rsp'] = struct.pack('<I', 0)

    s = Stub()
    s.handle(CXH)
    s.string(b'EXAMPLE')
    v['get_dc_name_req'] = bytes(s.b)
    s = Stub()
    s.handle(CXH)
    s.raw(DC_NAME)
    s.u32(0)
    v['get_dc_name_rsp'] = bytes(s.b)

    s = Stub()
    s.string(b'EXAMPLE')
    v['net_get_dc_name_req'] = bytes(s.b)
    s = Stub()
    s.raw(DC_NAME)
    s.u32(0x000003EB)
    v['net_get_dc_name_rsp'] = bytes(s.b)

    # EcDoRpcExt (OpenChange's layout): Reserved0 [in, out] sized by *Reserved1.
    s = Stub()
    s.handle(CXH)
    s.u32(3)
    s.conformant(RGB_IN)
    s.u32(len(RGB_IN))
    s.u32(0x8000)
    s.varying(b'')
    s.u32(0)
    v['rpc_ext_req'] = bytes(s.b)
    s = Stub()
    s.handle(CXH)
    s.u32(0)
    s.varying(RGB_OUT)
    s.u32(len(RGB_OUT))
    s.varying(b'')
    s.u32(0)
    s.u32(15)
    s.u32(0)
    v['rpc_ext_rsp'] = bytes(s.b)

    s = Stub()
    s.handle(CXH)
    s.u32(3)
    s.conformant(RGB_IN)
    s.u32(len(RGB_IN))
    s.u32(0x00018008)
    s.conformant(b'')
    s.u32(0)
    s.u32(0x1008)
    v['rpc_ext2_req'] = bytes(s.b)
    s = Stub()
    s.handle(CXH)
    s.u32(0)
    s.varying(RGB_OUT)
    s.u32(len(RGB_OUT))
    s.varying(b'')
    s.u32(0)
    s.u32(15)
    s.u32(0)
    v['rpc_ext2_rsp'] = bytes(s.b)

    s = Stub()
    s.handle(CXH)
    v['async_connect_ex_req'] = bytes(s.b)
    s = Stub()
    s.handle(ACXH)
    s.u32(0)
    v['async_connect_ex_rsp'] = bytes(s.b)

    s = Stub()
    s.handle(ACXH)
    s.u32(0)
    v['async_wait_ex_req'] = bytes(s.b)
    s = Stub()
    s.u32(1)
    s.u32(0)
    v['async_wait_ex_rsp'] = bytes(s.b)
    return v


# ---- the same calls through impacket's NDR engine ---------------------------


class HANDLE(NDRSTRUCT):
    structure = (('Data', '20s=b""'),)

    def getAlignment(self):
        return 4


class BYTES(NDRUniConformantArray):
    item = 'c'


class VBYTES(NDRUniConformantVaryingArray):
    item = 'c'


class WORD3(NDRSTRUCT):
    # unsigned short [3]: three aligned u16 (a NDRUniFixedArray would not align).
    structure = (('w0', USHORT), ('w1', USHORT), ('w2', USHORT))


class DC16(NDRUniFixedArray):
    def getDataLen(self, data, offset=0):
        return 16


def handle(h):
    x = HANDLE()
    x['Data'] = h
    return x


def words(w):
    x = WORD3()
    x['w0'], x['w1'], x['w2'] = w
    return x


class EcDoConnectEx(NDRCALL):
    structure = (('szUserDN', STR), ('ulFlags', ULONG), ('ulConMod', ULONG), ('cbLimit', ULONG),
                 ('ulCpid', ULONG), ('ulLcidString', ULONG), ('ulLcidSort', ULONG),
                 ('ulIcxrLink', ULONG), ('usFCanConvertCodePages', USHORT),
                 ('rgwClientVersion', WORD3), ('pulTimeStamp', ULONG), ('rgbAuxIn', BYTES),
                 ('cbAuxIn', ULONG), ('pcbAuxOut', ULONG))


class EcDoConnectExResponse(NDRCALL):
    structure = (('pcxh', HANDLE), ('pcmsPollsMax', ULONG), ('pcRetry', ULONG),
                 ('pcmsRetryDelay', ULONG), ('picxr', USHORT), ('szDNPrefix', LPSTR),
                 ('szDisplayName', LPSTR), ('rgwServerVersion', WORD3),
                 ('rgwBestVersion', WORD3), ('pulTimeStamp', ULONG), ('rgbAuxOut', VBYTES),
                 ('pcbAuxOut', ULONG), ('ErrorCode', ULONG))


class EcDoRpcExt2(NDRCALL):
    structure = (('pcxh', HANDLE), ('pulFlags', ULONG), ('rgbIn', BYTES), ('cbIn', ULONG),
                 ('pcbOut', ULONG), ('rgbAuxIn', BYTES), ('cbAuxIn', ULONG),
                 ('pcbAuxOut', ULONG))


class EcDoRpcExt2Response(NDRCALL):
    structure = (('pcxh', HANDLE), ('pulFlags', ULONG), ('rgbOut', VBYTES), ('pcbOut', ULONG),
                 ('rgbAuxOut', VBYTES), ('pcbAuxOut', ULONG), ('pulTransTime', ULONG),
                 ('ErrorCode', ULONG))


class EcRRegisterPushNotification(NDRCALL):
    structure = (('pcxh', HANDLE), ('iRpc', ULONG), ('rgbContext', BYTES),
                 ('cbContext', USHORT), ('grbitAdviseBits', ULONG),
                 ('rgbCallbackAddress', BYTES), ('cbCallbackAddress', USHORT))


class EcRGetDCName(NDRCALL):
    structure = (('pcxh', HANDLE), ('szDomainName', STR))


class EcRGetDCNameResponse(NDRCALL):
    structure = (('pcxh', HANDLE), ('rgchDomainController', DC16), ('ErrorCode', ULONG))


class EcDoRpc(NDRCALL):
    structure = (('pcxh', HANDLE), ('rgb', VBYTES), ('pusLength', USHORT), ('usSize', USHORT))


class EcDoAsyncWaitEx(NDRCALL):
    structure = (('acxh', HANDLE), ('ulFlagsIn', ULONG))


def imp_vectors():
    v = {}
    r = EcDoConnectEx()
    r['szUserDN'] = USER_DN.decode() + '\0'
    r['ulFlags'] = 0
    r['ulConMod'] = 0x00340567
    r['cbLimit'] = 0
    r['ulCpid'] = 1252
    r['ulLcidString'] = 0x409
    r['ulLcidSort'] = 0x409
    r['ulIcxrLink'] = 0xFFFFFFFF
    r['usFCanConvertCodePages'] = 1
    r['rgwClientVersion'] = words((0x000C, 0x183E, 0x03E8))
    r['pulTimeStamp'] = 0
    r['rgbAuxIn'] = list(AUX_IN)
    r['cbAuxIn'] = len(AUX_IN)
    r['pcbAuxOut'] = 0x1008
    v['connect_ex_req'] = r.getData()

    r = EcDoConnectExResponse()
    r['pcxh'] = handle(CXH)
    r['pcmsPollsMax'] = 60000
    r['pcRetry'] = 6
    r['pcmsRetryDelay'] = 10000
    r['picxr'] = 7
    r['szDNPrefix'] = DN_PREFIX.decode() + '\0'
    r['szDisplayName'] = DISPLAY_NAME.decode() + '\0'
    r['rgwServerVersion'] = words((0x000F, 0x0001, 0x0225))
    r['rgwBestVersion'] = words((0x000C, 0x183E, 0x03E8))
    r['pulTimeStamp'] = 0x5AB0C1D2
    r['rgbAuxOut'] = list(AUX_OUT)
    r['pcbAuxOut'] = len(AUX_OUT)
    r['ErrorCode'] = 0
    v['connect_ex_rsp'] = r.getData()

    r = EcDoRpcExt2()
    r['pcxh'] = handle(CXH)
    r['pulFlags'] = 3
    r['rgbIn'] = list(RGB_IN)
    r['cbIn'] = len(RGB_IN)
    r['pcbOut'] = 0x00018008
    r['rgbAuxIn'] = list(AUX_IN[:7])  # odd sizes: padding after both arrays
    r['cbAuxIn'] = 7
    r['pcbAuxOut'] = 0x1008
    v['rpc_ext2_req'] = r.getData()

    r = EcDoRpcExt2Response()
    r['pcxh'] = handle(CXH)
    r['pulFlags'] = 0
    r['rgbOut'] = list(RGB_OUT[:0x59])
    r['pcbOut'] = 0x59
    r['rgbAuxOut'] = list(AUX_OUT[:15])
    r['pcbAuxOut'] = 15
    r['pulTransTime'] = 15
    r['ErrorCode'] = 0x000004B6
    v['rpc_ext2_rsp'] = r.getData()

    r = EcRRegisterPushNotification()
    r['pcxh'] = handle(CXH)
    r['iRpc'] = 1
    r['rgbContext'] = list(b'\x01\x02\x03')
    r['cbContext'] = 3
    r['grbitAdviseBits'] = 0xFFFFFFFF
    sockaddr = struct.pack('<H', 2) + struct.pack('>H', 6002) + bytes([127, 0, 0, 1]) + bytes(8)
    r['rgbCallbackAddress'] = list(sockaddr)
    r['cbCallbackAddress'] = len(sockaddr)
    v['register_push_req'] = r.getData()

    r = EcRGetDCName()
    r['pcxh'] = handle(CXH)
    r['szDomainName'] = 'EXAMPLE\0'
    v['get_dc_name_req'] = r.getData()
    r = EcRGetDCNameResponse()
    r['pcxh'] = handle(CXH)
    r['rgchDomainController'] = DC_NAME
    r['ErrorCode'] = 0
    v['get_dc_name_rsp'] = r.getData()

    r = EcDoRpc()
    r['pcxh'] = handle(CXH)
    r['rgb'] = list(LEGACY_IN)
    r['pusLength'] = len(LEGACY_IN)
    r['usSize'] = len(LEGACY_IN)  # impacket writes max_count = length
    v['rpc_req'] = r.getData()

    r = EcDoAsyncWaitEx()
    r['acxh'] = handle(ACXH)
    r['ulFlagsIn'] = 0
    v['async_wait_ex_req'] = r.getData()
    return v


# (selector, direction) of each call for the fuzz seeds: selector = EMSMDB
# opnum, or 0x80 | opnum for AsyncEMSMDB.
SELECTORS = {
    'connect': 0, 'disconnect': 1, 'rpc': 2, 'get_more_rpc': 3, 'register_push': 4,
    'unregister_push': 5, 'dummy': 6, 'get_dc_name': 7, 'net_get_dc_name': 8, 'rpc_ext': 9,
    'connect_ex': 10, 'rpc_ext2': 11, 'async_connect_ex': 14, 'async_wait_ex': 0x80,
}


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(SEEDS, exist_ok=True)
    for prefix, vecs in (('idl', idl_vectors()), ('imp', imp_vectors())):
        for name, data in sorted(vecs.items()):
            with open(os.path.join(OUT, '%s_%s.bin' % (prefix, name)), 'wb') as f:
                f.write(data)
            call, d = name.rsplit('_', 1)
            seed = bytes([SELECTORS[call], 0 if d == 'req' else 1]) + data
            with open(os.path.join(SEEDS, '%s_%s' % (prefix, name)), 'wb') as f:
                f.write(seed)
    print('wrote %s and %s' % (OUT, SEEDS), file=sys.stderr)


if __name__ == '__main__':
    main()
