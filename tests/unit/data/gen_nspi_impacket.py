#!/usr/bin/python3
"""Generate NSPI and RFR call stubs with impacket's NDR encoder.

Writes tests/unit/data/nspi/<name>.bin: the NDR20 stub of one request or
response, built from impacket.dcerpc.v5.nspi / oxabref structures.
test_nspi_impacket.c and test_rfr.c decode every file with our codecs,
check field values and re-encode byte-exact (impacket picks random referent
IDs and pads alignment gaps with 0xaa/0xbb/0xcc/..., so byte-exactness
depends on our referent-ID and gap replay).

Where impacket's definitions differ from the IDL of MS-OXNSPI section 6
(and from what Exchange, gromox and OpenChange put on the wire), this
script corrects them and says so:

  * FlatUID_r is BYTE ab[16] (byte-aligned); impacket uses its GUID, which
    it aligns to 4.  GUID.getAlignment is patched to 1 here.
  * DateTimeArray_r.lpft points to an array of FILETIME; impacket has an
    array of FILETIME pointers.  DateTimeArray.item is patched.
  * NspiGetProps and NspiGetSpecialTable take [in] STAT* (a reference:
    no referent ID), NspiGetSpecialTable an [in,out] DWORD* lpVersion
    (also a reference); impacket sends unique pointers.
  * NspiSeekEntries' lpETable and pPropTags are [unique] pointers;
    impacket has inline structures.
  * NspiGetIDsFromNames' pNames is [size_is(cPropNames)] PropertyName_r**:
    a conformant array of unique pointers; impacket has a conformant
    varying array of structures.
  * NspiGetMatches, NspiResortRestriction, NspiModProps and opnum 15 are
    commented out in impacket; defined here from the IDL.
  * RfrGetNewDSA's response ends with the method's return value; impacket
    leaves it out.
PropertyTagArray_r's max count is set to cValues + 1 as the IDL asks
(impacket would send the element count).

Run: /usr/bin/python3 tests/unit/data/gen_nspi_impacket.py
"""

import os
import random
import sys

from impacket.dcerpc.v5 import dtypes, nspi, oxabref
from impacket.dcerpc.v5.dtypes import DWORD, LONG, NULL, ULONG, STR, LPSTR
from impacket.dcerpc.v5.ndr import NDRCALL, NDRPOINTER, NDRUniConformantArray

# --- corrections of impacket to the MS-OXNSPI IDL (see above) ------------
dtypes.GUID.getAlignment = lambda self: 1
nspi.DateTimeArray.item = dtypes.FILETIME


class NspiGetProps(NDRCALL):
    opnum = 9
    structure = (
        ('hRpc', nspi.handle_t),
        ('dwFlags', DWORD),
        ('pStat', nspi.STAT),
        ('pPropTags', nspi.PPropertyTagArray_r),
    )


class NspiGetSpecialTable(NDRCALL):
    opnum = 12
    structure = (
        ('hRpc', nspi.handle_t),
        ('dwFlags', DWORD),
        ('pStat', nspi.STAT),
        ('lpVersion', DWORD),
    )


class NspiSeekEntries(NDRCALL):
    opnum = 4
    structure = (
        ('hRpc', nspi.handle_t),
        ('Reserved', DWORD),
        ('pStat', nspi.STAT),
        ('pTarget', nspi.PropertyValue_r),
        ('lpETable', nspi.PPropertyTagArray_r),
        ('pPropTags', nspi.PPropertyTagArray_r),
    )


class NspiGetMatches(NDRCALL):
    opnum = 5
    structure = (
        ('hRpc', nspi.handle_t),
        ('Reserved1', DWORD),
        ('pStat', nspi.STAT),
        ('pReserved', nspi.PPropertyTagArray_r),
        ('Reserved2', DWORD),
        ('Filter', nspi.PRestriction_r),
        ('lpPropName', nspi.PPropertyName_r),
        ('ulRequested', DWORD),
        ('pPropTags', nspi.PPropertyTagArray_r),
    )


class NspiGetMatchesResponse(NDRCALL):
    structure = (
        ('pStat', nspi.STAT),
        ('ppOutMIds', nspi.PPropertyTagArray_r),
        ('ppRows', nspi.PPropertyRowSet_r),
        ('ErrorCode', ULONG),
    )


class NspiResortRestriction(NDRCALL):
    opnum = 6
    structure = (
        ('hRpc', nspi.handle_t),
        ('Reserved', DWORD),
        ('pStat', nspi.STAT),
        ('pInMIds', nspi.PropertyTagArray_r),
        ('ppOutMIds', nspi.PPropertyTagArray_r),
    )


class NspiResortRestrictionResponse(NDRCALL):
    structure = (
        ('pStat', nspi.STAT),
        ('ppOutMIds', nspi.PPropertyTagArray_r),
        ('ErrorCode', ULONG),
    )


class NspiModProps(NDRCALL):
    opnum = 11
    structure = (
        ('hRpc', nspi.handle_t),
        ('Reserved', DWORD),
        ('pStat', nspi.STAT),
        ('pPropTags', nspi.PPropertyTagArray_r),
        ('pRow', nspi.PropertyRow_r),
    )


class NspiDeleteEntries(NDRCALL):
    opnum = 15
    structure = (
        ('Reserved1', nspi.handle_t),
        ('Reserved2', DWORD),
        ('Reserved3', DWORD),
        ('Reserved4', nspi.BinaryArray_r),
    )


class ErrorCodeResponse(NDRCALL):
    structure = (
        ('ErrorCode', ULONG),
    )


class PropertyNamePtrs(NDRUniConformantArray):
    item = nspi.PPropertyName_r


class NspiGetIDsFromNames(NDRCALL):
    opnum = 18
    structure = (
        ('hRpc', nspi.handle_t),
        ('Reserved', DWORD),
        ('dwFlags', DWORD),
        ('cPropNames', DWORD),
        ('pNames', PropertyNamePtrs),
    )


class RfrGetNewDSAResponse(NDRCALL):
    structure = (
        ('ppszUnused', oxabref.PPUCHAR_ARRAY),
        ('ppszServer', oxabref.PPUCHAR_ARRAY),
        ('ErrorCode', ULONG),
    )


# --- values ----------------------------------------------------------------
# pServerGuid of the NspiBind example in MS-OXNSPI section 4.
SERVER_GUID = bytes.fromhex('abbc8b867933c448a1ef1b53e63bdc46')
GUID_NSPI = bytes.fromhex('dca740c8c042101ab4b908002b2fe182')
HANDLE_UUID = bytes.fromhex('00112233445566778899aabbccddeeff')
ORG = '/o=First Organization/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)'
USER_DN = ORG + '/cn=Recipients/cn=jdoe'
SERVER_DN = ORG + '/cn=Configuration/cn=Servers/cn=EXCH01'


def ephemeral_entryid(mid, display_type=0):
    return (bytes([0x87, 0, 0, 0]) + SERVER_GUID + (1).to_bytes(4, 'little') +
            display_type.to_bytes(4, 'little') + mid.to_bytes(4, 'little'))


def permanent_entryid(dn, display_type=0):
    return (bytes(4) + GUID_NSPI + (1).to_bytes(4, 'little') +
            display_type.to_bytes(4, 'little') + dn.encode() + b'\0')


def set_handle(h):
    h['context_handle_attributes'] = 0
    h['context_handle_uuid'] = HANDLE_UUID


def set_stat(s, container=0, cur=0, delta=0, codepage=0x4e4):
    s['SortType'] = 0
    s['ContainerID'] = container
    s['CurrentRec'] = cur
    s['Delta'] = delta
    s['NumPos'] = 0
    s['TotalRecs'] = 0
    s['CodePage'] = codepage
    s['TemplateLocale'] = 0x409
    s['SortLocale'] = 0x409


def set_proptags(pta, tags):
    """PropertyTagArray_r (or a pointer to one): max count cValues + 1."""
    pta['cValues'] = len(tags)
    for t in tags:
        d = DWORD()
        d['Data'] = t
        pta['aulPropTag'].append(d)
    arr = pta.fields['Data'] if isinstance(pta, NDRPOINTER) else pta
    arr.fields['aulPropTag'].fields['MaximumCount'] = len(tags) + 1


def pv(tag, arm=None, val=None):
    v = nspi.PropertyValue_r()
    v['ulPropTag'] = tag
    v['ulReserved'] = 0
    v['Value']['tag'] = tag & 0xFFFF
    if arm is not None:
        v['Value'][arm] = val
    return v


def binary(b):
    x = nspi.Binary_r()
    x['cValues'] = len(b)
    x['lpb'] = b
    return x


def pv_bin(tag, b):
    v = pv(tag)
    v['Value']['bin']['cValues'] = len(b)
    v['Value']['bin']['lpb'] = b
    return v


def pv_guid(tag, g):
    v = pv(tag)
    v['Value']['lpguid'] = g
    return v


def pv_filetime(tag, ft):
    v = pv(tag)
    v['Value']['ft']['dwLowDateTime'] = ft & 0xFFFFFFFF
    v['Value']['ft']['dwHighDateTime'] = ft >> 32
    return v


def pv_mv(tag, arm, field, items):
    v = pv(tag)
    v['Value'][arm]['cValues'] = len(items)
    for it in items:
        v['Value'][arm][field].append(it)
    return v


def dword(x, cls=DWORD):
    d = cls()
    d['Data'] = x
    return d


def lpstr(s):
    p = LPSTR()
    if s is None:
        return NULL
    p['Data'] = s + '\0'
    return p


def lpwstr(s):
    p = dtypes.LPWSTR()
    p['Data'] = s + '\0'
    return p


def filetime(ft):
    f = dtypes.FILETIME()
    f['dwLowDateTime'] = ft & 0xFFFFFFFF
    f['dwHighDateTime'] = ft >> 32
    return f


def guid_ptr(g):
    p = dtypes.PGUID()
    p['Data'] = g
    return p


FT1 = 0x01D9A1B2C3D4E5F6
FT2 = 0x01C0000000000001


def rich_row():
    """A PropertyRow_r with every value type NSPI allows."""
    row = nspi.PropertyRow_r()
    row['Reserved'] = 0
    props = [
        pv(0x3001001F, 'lpszW', 'J\u00f6rg Doe\0'),             # DisplayName, non-ASCII
        pv(0x3A00001E, 'lpszA', 'jdoe\0'),                       # Account (PtypString8)
        pv(0x0FFE0003, 'l', 6),                                  # ObjectType
        pv(0x39000003, 'l', -2),                                 # DisplayType, negative
        pv(0x3A4D0002, 'i', -5),                                 # Integer16
        pv(0x3A40000B, 'b', 1),                                  # SendRichInfo
        pv_bin(0x0FFF0102, permanent_entryid(USER_DN)),          # EntryId (permanent)
        pv_guid(0x8C6D0048, SERVER_GUID),                        # a GUID
        pv_filetime(0x30070040, FT1),                            # CreationTime
        pv(0x3A5D000A, 'err', 0x8004010F),                       # PtypErrorCode: not found
        pv_mv(0x80081002, 'MVi', 'lpi', [dword(1, dtypes.SHORT), dword(-2, dtypes.SHORT),
                                         dword(3, dtypes.SHORT)]),
        pv_mv(0x80091003, 'MVl', 'lpl', [dword(10, LONG), dword(-20, LONG)]),
        pv_mv(0x8170101E, 'MVszA', 'lppszA', [lpstr('ncacn_ip_tcp:exch01.example.com'),
                                              lpstr('ncacn_http:exch01')]),
        pv_mv(0x80111102, 'MVbin', 'lpbin', [binary(b'\x01\x02\x03'),
                                                          binary(b''),
                                                          binary(ephemeral_entryid(0x1234))]),
        pv_mv(0x80131048, 'MVguid', 'lpguid', [guid_ptr(GUID_NSPI), guid_ptr(SERVER_GUID)]),
        pv_mv(0x8170101F, 'MVszW', 'lppszW', [lpwstr('SMTP:jdoe@example.com'),
                                              lpwstr('X400:c=US;\u20ac')]),
        pv_mv(0x80141040, 'MVft', 'lpft', [filetime(FT1), filetime(FT2)]),
        pv(0x80150001, 'lReserved', 0),                          # PtypNull
        pv(0x8016000D, 'lReserved', 0),                          # PtypEmbeddedTable
        pv(0x3A4D0002, 'i', 7),                                  # short, then a string8
        pv(0x3A06001E, 'lpszA', 'odd\0'),                        # string of odd length ...
        pv_guid(0x8C6E0048, GUID_NSPI),                          # ... then a byte-aligned GUID
    ]
    row['cValues'] = len(props)
    for p in props:
        row['lpProps'].append(p)
    return row


def small_row(mid, name):
    row = nspi.PropertyRow_r()
    row['Reserved'] = 0
    props = [
        pv_bin(0x0FFF0102, ephemeral_entryid(mid)),
        pv(0x3001001F, 'lpszW', name + '\0'),
        pv(0x39000003, 'l', 0),
        pv_mv(0x8170101F, 'MVszW', 'lppszW', [lpwstr('ncacn_ip_tcp:exch01.example.com'),
                                              lpwstr('ncacn_http:exch01')]),
    ]
    row['cValues'] = len(props)
    for p in props:
        row['lpProps'].append(p)
    return row


def hierarchy_row(cid, name, depth, flags):
    row = nspi.PropertyRow_r()
    row['Reserved'] = 0
    props = [
        pv_bin(0x0FFF0102, permanent_entryid('/guid=%032x' % cid, 0x100)),
        pv(0x36000003, 'l', flags),
        pv(0x30050003, 'l', depth),
        pv(0xFFFD0003, 'l', cid),
        pv(0x3001001F, 'lpszW', name + '\0'),
    ]
    row['cValues'] = len(props)
    for p in props:
        row['lpProps'].append(p)
    return row


def res(rt):
    r = nspi.Restriction_r()
    r['rt'] = rt
    r['res']['tag'] = rt
    return r


def res_filter():
    """And(Content, Or(Exist, Not(Property)), BitMask, Size, CompareProps,
    Sub(Exist)): every restriction type, nested three levels."""
    content = res(3)
    content['res']['resContent']['ulFuzzyLevel'] = 0x00010001
    content['res']['resContent']['ulPropTag'] = 0x3001001F
    content['res']['resContent']['lpProp'] = pv(0x3001001F, 'lpszW', 'Doe\0')

    exist = res(8)
    exist['res']['resExist']['ulReserved1'] = 0
    exist['res']['resExist']['ulPropTag'] = 0x39FE001F
    exist['res']['resExist']['ulReserved2'] = 0

    prop = res(4)
    prop['res']['resProperty']['relop'] = 4
    prop['res']['resProperty']['ulPropTag'] = 0x39000003
    prop['res']['resProperty']['lpProp'] = pv(0x39000003, 'l', 1)

    not_ = res(2)
    not_['res']['resNot']['lpRes'] = prop

    or_ = res(1)
    or_['res']['resOr']['cRes'] = 2
    or_['res']['resOr']['lpRes'].append(exist)
    or_['res']['resOr']['lpRes'].append(not_)

    bitmask = res(6)
    bitmask['res']['resBitMask']['relBMR'] = 1
    bitmask['res']['resBitMask']['ulPropTag'] = 0x36000003
    bitmask['res']['resBitMask']['ulMask'] = 0x4

    size = res(7)
    size['res']['resSize']['relop'] = 2
    size['res']['resSize']['ulPropTag'] = 0x0FFF0102
    size['res']['resSize']['cb'] = 32

    cmp_ = res(5)
    cmp_['res']['resCompareProps']['relop'] = 0
    cmp_['res']['resCompareProps']['ulPropTag1'] = 0x3001001F
    cmp_['res']['resCompareProps']['ulPropTag2'] = 0x3A00001F

    exist2 = res(8)
    exist2['res']['resExist']['ulReserved1'] = 0
    exist2['res']['resExist']['ulPropTag'] = 0x3003001F
    exist2['res']['resExist']['ulReserved2'] = 0
    sub = res(9)
    sub['res']['resSubRestriction']['ulSubObject'] = 0x0E12000D
    sub['res']['resSubRestriction']['lpRes'] = exist2

    and_ = res(0)
    items = [content, or_, bitmask, size, cmp_, sub]
    and_['res']['resAnd']['cRes'] = len(items)
    for it in items:
        and_['res']['resAnd']['lpRes'].append(it)
    return and_


def rowset(ptr, rows):
    ptr['cRows'] = len(rows)
    for r in rows:
        ptr['aRow'].append(r)


# --- the vectors --------------------------------------------------------------

def vectors():
    v = {}

    r = nspi.NspiBind()
    r['dwFlags'] = 0
    set_stat(r['pStat'])
    r['pServerGuid'] = bytes(16)
    v['bind_req'] = r

    r = nspi.NspiBindResponse()
    r['pServerGuid'] = SERVER_GUID
    set_handle(r['contextHandle'])
    r['ErrorCode'] = 0
    v['bind_rsp'] = r

    r = nspi.NspiUnbind()
    set_handle(r['contextHandle'])
    r['Reserved'] = 0
    v['unbind_req'] = r

    r = nspi.NspiUnbindResponse()
    r['contextHandle']['context_handle_attributes'] = 0
    r['contextHandle']['context_handle_uuid'] = bytes(16)
    r['ErrorCode'] = 1
    v['unbind_rsp'] = r

    r = nspi.NspiUpdateStat()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    set_stat(r['pStat'], container=0x10, cur=0x20, delta=-3)
    r['plDelta'] = 5
    v['update_stat_req'] = r

    r = nspi.NspiUpdateStatResponse()
    set_stat(r['pStat'], container=0x10, cur=0x30)
    r['plDelta'] = NULL
    r['ErrorCode'] = 0
    v['update_stat_rsp'] = r

    r = nspi.NspiQueryRows()
    set_handle(r['hRpc'])
    r['dwFlags'] = 1
    set_stat(r['pStat'], container=0x12)
    r['dwETableCount'] = 3
    for m in (0x10, 0x20, 0x30):
        r['lpETable'].append(dword(m))
    r['Count'] = 50
    set_proptags(r['pPropTags'], [0x0FFF0102, 0x3001001F, 0x8170101F])
    v['query_rows_req'] = r

    r = nspi.NspiQueryRowsResponse()
    set_stat(r['pStat'], container=0x12, cur=0x30)
    rowset(r['ppRows'], [small_row(0x10, 'Alice'), small_row(0x20, 'Bob')])
    r['ErrorCode'] = 0
    v['query_rows_rsp'] = r

    r = NspiSeekEntries()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    set_stat(r['pStat'], codepage=0x4b0)
    r['pTarget'] = pv(0x3001001F, 'lpszW', 'Smith\0')
    r['lpETable'] = NULL
    set_proptags(r['pPropTags'], [0x3001001F])
    v['seek_entries_req'] = r

    r = nspi.NspiSeekEntriesResponse()
    set_stat(r['pStat'], cur=0x44)
    r['ppRows'] = NULL
    r['ErrorCode'] = 0x8004010F
    v['seek_entries_rsp'] = r

    r = NspiGetMatches()
    set_handle(r['hRpc'])
    r['Reserved1'] = 0
    set_stat(r['pStat'])
    r['pReserved'] = NULL
    r['Reserved2'] = 0
    r['Filter'] = res_filter()
    r['lpPropName'] = NULL
    r['ulRequested'] = 100
    set_proptags(r['pPropTags'], [0x3001001F, 0x39000003])
    v['get_matches_req'] = r

    # The other arms: no filter, a property to open, reserved MIds.
    r = NspiGetMatches()
    set_handle(r['hRpc'])
    r['Reserved1'] = 0
    set_stat(r['pStat'], cur=0x99)
    set_proptags(r['pReserved'], [0x10])
    r['Reserved2'] = 0
    r['Filter'] = NULL
    r['lpPropName']['lpguid'] = SERVER_GUID
    r['lpPropName']['ulReserved'] = 0
    r['lpPropName']['lID'] = 0x8001
    r['ulRequested'] = 5
    r['pPropTags'] = NULL
    v['get_matches_propname_req'] = r

    r = NspiGetMatchesResponse()
    set_stat(r['pStat'], container=0x12)
    set_proptags(r['ppOutMIds'], [0x10, 0x20])
    rowset(r['ppRows'], [small_row(0x10, 'Alice'), small_row(0x20, 'Bob')])
    r['ErrorCode'] = 0
    v['get_matches_rsp'] = r

    r = NspiResortRestriction()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    set_stat(r['pStat'])
    set_proptags(r['pInMIds'], [0x30, 0x10, 0x20])
    r['ppOutMIds'] = NULL
    v['resort_restriction_req'] = r

    r = NspiResortRestrictionResponse()
    set_stat(r['pStat'])
    set_proptags(r['ppOutMIds'], [0x10, 0x20, 0x30])
    r['ErrorCode'] = 0
    v['resort_restriction_rsp'] = r

    r = nspi.NspiDNToMId()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    r['pNames']['Count'] = 2
    r['pNames']['Strings'].append(lpstr(SERVER_DN))
    r['pNames']['Strings'].append(lpstr(USER_DN))
    v['dn_to_mid_req'] = r

    r = nspi.NspiDNToMIdResponse()
    set_proptags(r['ppOutMIds'], [0x99, 0])
    r['ErrorCode'] = 0
    v['dn_to_mid_rsp'] = r

    r = nspi.NspiGetPropList()
    set_handle(r['hRpc'])
    r['dwFlags'] = 1
    r['dwMId'] = 0x99
    r['CodePage'] = 0x4e4
    v['get_prop_list_req'] = r

    r = nspi.NspiGetPropListResponse()
    set_proptags(r['ppOutMIds'], [0x0FFF0102, 0x3001001E, 0x8170101E])
    r['ErrorCode'] = 0
    v['get_prop_list_rsp'] = r

    r = NspiGetProps()
    set_handle(r['hRpc'])
    r['dwFlags'] = 0
    set_stat(r['pStat'], cur=0x99, codepage=0x4b0)
    set_proptags(r['pPropTags'], [0x3001001F, 0x8170101F, 0x0FFF0102])
    v['get_props_req'] = r

    r = nspi.NspiGetPropsResponse()
    r['ppRows'] = rich_row()
    r['ErrorCode'] = 0x00040380  # ErrorsReturned (a warning)
    v['get_props_rsp'] = r

    r = nspi.NspiCompareMIds()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    set_stat(r['pStat'])
    r['MId1'] = 0x10
    r['MId2'] = 0x20
    v['compare_mids_req'] = r

    r = nspi.NspiCompareMIdsResponse()
    r['plResult'] = -1
    r['ErrorCode'] = 0
    v['compare_mids_rsp'] = r

    r = NspiModProps()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    set_stat(r['pStat'], cur=0x99)
    set_proptags(r['pPropTags'], [0x3A19001F])
    row = nspi.PropertyRow_r()
    row['Reserved'] = 0
    row['cValues'] = 1
    row['lpProps'].append(pv(0x3A19001F, 'lpszW', 'Building 7\0'))
    r['pRow'] = row
    v['mod_props_req'] = r

    r = ErrorCodeResponse()
    r['ErrorCode'] = 0x80070005
    v['mod_props_rsp'] = r

    r = NspiGetSpecialTable()
    set_handle(r['hRpc'])
    r['dwFlags'] = 4
    set_stat(r['pStat'])
    r['lpVersion'] = 0
    v['get_special_table_req'] = r

    r = nspi.NspiGetSpecialTableResponse()
    r['lpVersion'] = 0x1234
    rowset(r['ppRows'], [hierarchy_row(0, 'Global Address List', 0, 0x9),
                         hierarchy_row(0x12, 'All Users', 1, 0x9)])
    r['ErrorCode'] = 0
    v['get_special_table_rsp'] = r

    r = nspi.NspiGetTemplateInfo()
    set_handle(r['hRpc'])
    r['dwFlags'] = 0x11
    r['ulType'] = 0
    r['pDN'] = USER_DN + '\0'
    r['dwCodePage'] = 0x4e4
    r['dwLocaleID'] = 0x409
    v['get_template_info_req'] = r

    r = nspi.NspiGetTemplateInfoResponse()
    row = nspi.PropertyRow_r()
    row['Reserved'] = 0
    row['cValues'] = 2
    row['lpProps'].append(pv_bin(0x00010102, b'\x01\x00\x00\x00template'))
    row['lpProps'].append(pv(0x0002001E, 'lpszA', 'script\0'))
    r['ppData'] = row
    r['ErrorCode'] = 0
    v['get_template_info_rsp'] = r

    r = nspi.NspiModLinkAtt()
    set_handle(r['hRpc'])
    r['dwFlags'] = 1
    r['ulPropTag'] = 0x8009101E
    r['dwMId'] = 0x99
    r['lpEntryIds']['cValues'] = 2
    r['lpEntryIds']['lpbin'].append(binary(permanent_entryid(USER_DN)))
    r['lpEntryIds']['lpbin'].append(binary(ephemeral_entryid(0x55, 6)))
    v['mod_link_att_req'] = r

    r = nspi.NspiModLinkAttResponse()
    r['ErrorCode'] = 0
    v['mod_link_att_rsp'] = r

    r = NspiDeleteEntries()
    set_handle(r['Reserved1'])
    r['Reserved2'] = 0
    r['Reserved3'] = 0x99
    r['Reserved4']['cValues'] = 1
    r['Reserved4']['lpbin'].append(binary(ephemeral_entryid(0x77)))
    v['delete_entries_req'] = r

    r = ErrorCodeResponse()
    r['ErrorCode'] = 0x80040102
    v['delete_entries_rsp'] = r

    r = nspi.NspiQueryColumns()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    r['dwFlags'] = 0x80000000
    v['query_columns_req'] = r

    r = nspi.NspiQueryColumnsResponse()
    set_proptags(r['ppColumns'], [0x3001001F, 0x3A00001F, 0x39FE001F, 0x8170101F])
    r['ErrorCode'] = 0
    v['query_columns_rsp'] = r

    r = nspi.NspiGetNamesFromIDs()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    r['lpguid'] = NULL
    set_proptags(r['pPropTags'], [0x80080003, 0x80090003])
    v['get_names_from_ids_req'] = r

    r = nspi.NspiGetNamesFromIDs()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    r['lpguid'] = SERVER_GUID
    r.fields['pPropTags'] = NULL
    v['get_names_from_ids_guid_req'] = r

    r = nspi.NspiGetNamesFromIDsResponse()
    set_proptags(r['ppReturnedPropTags'], [0x80080003, 0x80090003])
    names = r['ppNames']
    names['cNames'] = 2
    for guid, lid in ((SERVER_GUID, 0x8001), (None, 0x8002)):
        n = nspi.PropertyName_r()
        n['lpguid'] = guid if guid is not None else NULL
        n['ulReserved'] = 0
        n['lID'] = lid
        names['aulPropTag'].append(n)
    r['ErrorCode'] = 0
    v['get_names_from_ids_rsp'] = r

    r = NspiGetIDsFromNames()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    r['dwFlags'] = 2
    r['cPropNames'] = 3
    for guid, lid in ((SERVER_GUID, 0x8001), (None, 0), (GUID_NSPI, -1)):
        if lid == 0:
            r['pNames'].append(NULL)
            continue
        p = nspi.PPropertyName_r()
        p['lpguid'] = guid
        p['ulReserved'] = 0
        p['lID'] = lid
        r['pNames'].append(p)
    v['get_ids_from_names_req'] = r

    r = nspi.NspiGetIDsFromNamesResponse()
    set_proptags(r['ppPropTags'], [0x80080003, 0x0000000A, 0x800A0003])
    r['ErrorCode'] = 0
    v['get_ids_from_names_rsp'] = r

    r = nspi.NspiResolveNames()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    set_stat(r['pStat'])
    set_proptags(r['pPropTags'], [0x3001001E, 0x8170101E])
    r['paStr']['Count'] = 3
    r['paStr']['Strings'].append(lpstr('jdoe'))
    r['paStr']['Strings'].append(NULL)
    r['paStr']['Strings'].append(lpstr('Smith'))
    v['resolve_names_req'] = r

    r = nspi.NspiResolveNamesResponse()
    set_proptags(r['ppMIds'], [0x10, 0, 1])
    rowset(r['ppRows'], [small_row(0x10, 'John Doe')])
    r['ErrorCode'] = 0
    v['resolve_names_rsp'] = r

    r = nspi.NspiResolveNamesW()
    set_handle(r['hRpc'])
    r['Reserved'] = 0
    set_stat(r['pStat'], codepage=0x4b0)
    r['pPropTags'] = NULL
    r['paStr']['Count'] = 2
    r['paStr']['Strings'].append(lpwstr('J\u00f6rg'))
    r['paStr']['Strings'].append(lpwstr('\u674e\U0001F600'))
    v['resolve_names_w_req'] = r

    r = nspi.NspiResolveNamesWResponse()
    set_proptags(r['ppMIds'], [0x10, 2])
    r['ppRows'] = NULL
    r['ErrorCode'] = 0
    v['resolve_names_w_rsp'] = r

    # RFR (MS-OXABREF)
    r = oxabref.RfrGetNewDSA()
    r['ulFlags'] = 0
    r['pUserDN'] = USER_DN + '\0'
    r['ppszUnused'] = NULL
    r['ppszServer'] = '\0'
    v['rfr_get_new_dsa_req'] = r

    r = RfrGetNewDSAResponse()
    r['ppszUnused'] = NULL
    r['ppszServer'] = 'exch01.example.com\0'
    r['ErrorCode'] = 0
    v['rfr_get_new_dsa_rsp'] = r

    r = oxabref.RfrGetFQDNFromServerDN()
    r['ulFlags'] = 0
    r['szMailboxServerDN'] = SERVER_DN + '\0'
    r['cbMailboxServerDN'] = len(SERVER_DN) + 1
    v['rfr_get_fqdn_req'] = r

    r = oxabref.RfrGetFQDNFromServerDNResponse()
    r['ppszServerFQDN'] = 'exch01.example.com\0'
    r['ErrorCode'] = 0
    v['rfr_get_fqdn_rsp'] = r
    return v


# Fuzz seeds (tests/fuzz/fuzz_nspi.c): <selector> <direction> <stub>, the
# selector an NSPI opnum or 0x80 | an RFR opnum.
SELECTORS = {
    'bind': 0, 'unbind': 1, 'update_stat': 2, 'query_rows': 3, 'seek_entries': 4,
    'get_matches': 5, 'get_matches_propname': 5, 'resort_restriction': 6, 'dn_to_mid': 7, 'get_prop_list': 8,
    'get_props': 9, 'compare_mids': 10, 'mod_props': 11, 'get_special_table': 12,
    'get_template_info': 13, 'mod_link_att': 14, 'delete_entries': 15, 'query_columns': 16,
    'get_names_from_ids': 17, 'get_names_from_ids_guid': 17, 'get_ids_from_names': 18, 'resolve_names': 19,
    'resolve_names_w': 20, 'rfr_get_new_dsa': 0x80, 'rfr_get_fqdn': 0x81,
}


def main():
    random.seed(20240406)  # impacket's referent IDs come from random
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, 'nspi')
    seeds = os.path.join(here, '..', '..', 'fuzz', 'corpus', 'nspi')
    os.makedirs(out, exist_ok=True)
    os.makedirs(seeds, exist_ok=True)
    for name, call in vectors().items():
        stub = call.getData()
        with open(os.path.join(out, name + '.bin'), 'wb') as f:
            f.write(stub)
        call_name, direction = name.rsplit('_', 1)
        with open(os.path.join(seeds, name), 'wb') as f:
            f.write(bytes([SELECTORS[call_name], direction == 'rsp']) + stub)
    return 0


if __name__ == '__main__':
    sys.exit(main())
