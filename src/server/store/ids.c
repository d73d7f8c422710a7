/*
 * Identifiers (MS-OXCDATA 2.2): Folder/Message IDs (ReplicaId + GLOBCNT),
 * LongTermIds, XIDs, Folder and Message EntryIDs, Address Book EntryIDs,
 * FILETIMEs and random GUIDs. Pure functions over bytes.
 */
#include "server/store/store_int.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <talloc.h>

/* The id's 8 wire bytes are ReplicaId (LE) then the GLOBCNT most significant
 * byte first; as a little-endian uint64_t the GLOBCNT bytes land reversed. */
uint64_t mp_store_make_id(uint16_t replid, uint64_t gc)
{
	uint64_t id = replid;
	for (int i = 0; i < 6; i++)
		id |= ((gc >> (8 * (5 - i))) & 0xff) << (8 * (2 + i));
	return id;
}

uint16_t mp_store_id_replid(uint64_t id)
{
	return (uint16_t)id;
}

uint64_t mp_store_id_gc(uint64_t id)
{
	uint64_t gc = 0;
	for (int i = 0; i < 6; i++)
		gc = (gc << 8) | ((id >> (8 * (2 + i))) & 0xff);
	return gc;
}

void mp_store_gc_put(uint8_t out[6], uint64_t gc)
{
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)(gc >> (8 * (5 - i)));
}

uint64_t mp_store_gc_get(const uint8_t in[6])
{
	uint64_t gc = 0;
	for (int i = 0; i < 6; i++)
		gc = (gc << 8) | in[i];
	return gc;
}

void mp_store_ltid_build(const uint8_t replguid[16], uint64_t id, uint8_t out[MP_STORE_LTID_LEN])
{
	memcpy(out, replguid, 16);
	mp_store_gc_put(out + 16, mp_store_id_gc(id));
	out[22] = 0;
	out[23] = 0;
}

int mp_store_ltid_parse(const uint8_t ltid[MP_STORE_LTID_LEN], uint8_t replguid[16], uint64_t *gc)
{
	if (ltid[22] || ltid[23])
		return MP_ERR_PARSE;
	memcpy(replguid, ltid, 16);
	*gc = mp_store_gc_get(ltid + 16);
	return MP_OK;
}

void mp_store_xid_build(const uint8_t guid[16], uint64_t gc, uint8_t out[MP_STORE_XID_LEN])
{
	memcpy(out, guid, 16);
	mp_store_gc_put(out + 16, gc);
}

void mp_store_folder_eid_build(const uint8_t provider[16], uint16_t type, const uint8_t db[16],
			       uint64_t gc, uint8_t out[MP_STORE_FOLDER_EID_LEN])
{
	memset(out, 0, 4);            /* Flags: long-term */
	memcpy(out + 4, provider, 16);
	mp_put_u16(out + 20, type);
	memcpy(out + 22, db, 16);
	mp_store_gc_put(out + 38, gc);
	out[44] = 0;
	out[45] = 0;
}

void mp_store_message_eid_build(const uint8_t provider[16], uint16_t type,
				const uint8_t folder_db[16], uint64_t folder_gc,
				const uint8_t message_db[16], uint64_t message_gc,
				uint8_t out[MP_STORE_MESSAGE_EID_LEN])
{
	memset(out, 0, 4);
	memcpy(out + 4, provider, 16);
	mp_put_u16(out + 20, type);
	memcpy(out + 22, folder_db, 16);
	mp_store_gc_put(out + 38, folder_gc);
	out[44] = 0;
	out[45] = 0;
	memcpy(out + 46, message_db, 16);
	mp_store_gc_put(out + 62, message_gc);
	out[68] = 0;
	out[69] = 0;
}

int mp_store_eid_parse(const uint8_t *p, size_t len, struct mp_store_eid *out)
{
	memset(out, 0, sizeof(*out));
	if (len != MP_STORE_FOLDER_EID_LEN && len != MP_STORE_MESSAGE_EID_LEN)
		return MP_ERR_PARSE;
	out->flags = mp_get_u32(p);
	memcpy(out->provider, p + 4, 16);
	out->type = mp_get_u16(p + 20);
	memcpy(out->folder_db, p + 22, 16);
	out->folder_gc = mp_store_gc_get(p + 38);
	if (p[44] || p[45])
		return MP_ERR_PARSE;
	bool folder = out->type == MP_EID_PRIVATE_FOLDER || out->type == MP_EID_PUBLIC_FOLDER;
	bool message = out->type == MP_EID_PRIVATE_MESSAGE || out->type == MP_EID_PUBLIC_MESSAGE;
	if (len == MP_STORE_FOLDER_EID_LEN)
		return folder ? MP_OK : MP_ERR_PARSE;
	if (!message)
		return MP_ERR_PARSE;
	memcpy(out->message_db, p + 46, 16);
	out->message_gc = mp_store_gc_get(p + 62);
	if (p[68] || p[69])
		return MP_ERR_PARSE;
	return MP_OK;
}

/* MS-OXNSPI 2.2.1.9 / MS-OXCDATA 2.2.5.2: the NSPI provider GUID
 * {C840A7DC-42C0-1A10-B4B9-08002B2FE182} in wire order. */
static const uint8_t nspi_guid[16] = {0xDC, 0xA7, 0x40, 0xC8, 0xC0, 0x42, 0x10, 0x1A,
				      0xB4, 0xB9, 0x08, 0x00, 0x2B, 0x2F, 0xE1, 0x82};

int mp_store_ab_eid_build(void *mem, const char *dn, uint32_t display_type, uint8_t **out,
			  size_t *len)
{
	size_t n = strlen(dn);
	if (n > 1024)
		return MP_ERR_PARSE;
	uint8_t *p = talloc_array(mem, uint8_t, 28 + n + 1);
	if (!p)
		return MP_ERR_NOMEM;
	memset(p, 0, 4);
	memcpy(p + 4, nspi_guid, 16);
	mp_put_u32(p + 20, 1);
	mp_put_u32(p + 24, display_type);
	memcpy(p + 28, dn, n + 1);
	*out = p;
	*len = 28 + n + 1;
	return MP_OK;
}

/* 11644473600 s between 1601-01-01 and 1970-01-01. */
uint64_t mp_store_filetime_from_unix(int64_t t)
{
	if (t < -11644473600LL)
		return 0;
	return (uint64_t)(t + 11644473600LL) * 10000000ull;
}

uint64_t mp_store_filetime_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return mp_store_filetime_from_unix(ts.tv_sec) + (uint64_t)ts.tv_nsec / 100;
}

int mp_store_guid_random(uint8_t guid[16])
{
	size_t got = 0;
	while (got < 16) {
		ssize_t n = getrandom(guid + got, 16 - got, 0);
		if (n < 0)
			return MP_ERR_IO;
		got += (size_t)n;
	}
	/* Version 4 in Data3's high nibble (byte 7 as Data3 is little-endian),
	 * RFC 4122 variant in Data4[0]. */
	guid[7] = (uint8_t)((guid[7] & 0x0f) | 0x40);
	guid[8] = (uint8_t)((guid[8] & 0x3f) | 0x80);
	return MP_OK;
}

/* ---- Bound to a mailbox ---- */

int mp_store_ltid_from_id(const struct mp_store_mailbox *mb, uint64_t id,
			  uint8_t out[MP_STORE_LTID_LEN])
{
	if (mp_store_id_replid(id) != mb->replid)
		return MP_ERR_NOTFOUND;
	mp_store_ltid_build(mb->replica_guid, id, out);
	return MP_OK;
}

int mp_store_id_from_ltid(const struct mp_store_mailbox *mb, const uint8_t ltid[MP_STORE_LTID_LEN],
			  uint64_t *id)
{
	uint8_t guid[16];
	uint64_t gc;
	if (mp_store_ltid_parse(ltid, guid, &gc) != MP_OK)
		return MP_ERR_PARSE;
	if (memcmp(guid, mb->replica_guid, 16) != 0)
		return MP_ERR_NOTFOUND;
	*id = mp_store_make_id(mb->replid, gc);
	return MP_OK;
}

void mp_store_folder_eid(const struct mp_store_mailbox *mb, uint64_t fid,
			 uint8_t out[MP_STORE_FOLDER_EID_LEN])
{
	mp_store_folder_eid_build(mb->mailbox_guid, MP_EID_PRIVATE_FOLDER, mb->replica_guid,
				  mp_store_id_gc(fid), out);
}

void mp_store_message_eid(const struct mp_store_mailbox *mb, uint64_t fid, uint64_t mid,
			  uint8_t out[MP_STORE_MESSAGE_EID_LEN])
{
	mp_store_message_eid_build(mb->mailbox_guid, MP_EID_PRIVATE_MESSAGE, mb->replica_guid,
				   mp_store_id_gc(fid), mb->replica_guid, mp_store_id_gc(mid), out);
}

int mp_store_eid_to_ids(const struct mp_store_mailbox *mb, const uint8_t *p, size_t len,
			uint64_t *fid, uint64_t *mid)
{
	struct mp_store_eid e;
	if (mp_store_eid_parse(p, len, &e) != MP_OK)
		return MP_ERR_PARSE;
	if (e.type != MP_EID_PRIVATE_FOLDER && e.type != MP_EID_PRIVATE_MESSAGE)
		return MP_ERR_NOTFOUND;
	if (memcmp(e.provider, mb->mailbox_guid, 16) != 0 ||
	    memcmp(e.folder_db, mb->replica_guid, 16) != 0)
		return MP_ERR_NOTFOUND;
	if (e.type == MP_EID_PRIVATE_MESSAGE && memcmp(e.message_db, mb->replica_guid, 16) != 0)
		return MP_ERR_NOTFOUND;
	if (e.folder_gc == 0 || e.folder_gc > MP_STORE_MAX_GC)
		return MP_ERR_NOTFOUND;
	*fid = mp_store_make_id(mb->replid, e.folder_gc);
	*mid = e.type == MP_EID_PRIVATE_MESSAGE ? mp_store_make_id(mb->replid, e.message_gc) : 0;
	if (e.type == MP_EID_PRIVATE_MESSAGE && e.message_gc == 0)
		return MP_ERR_NOTFOUND;
	return MP_OK;
}
