/* Unit tests: server/store identifiers (FID/MID, LongTermId, XID, Folder and
 * Message EntryIDs, Address Book EntryIDs, FILETIME). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <talloc.h>

#include "server/store/store.h"
#include "util/status.h"

/*
 * MS-OXODLGT 4.1.1 (Identify Delegator Special Folders) shows, from one
 * mailbox, the Inbox FID "0001-00174ea8cda0" in the RopLogon response and
 * PidTagIpmAppointmentEntryId as these 46 bytes.
 */
static const uint8_t oxodlgt_calendar_eid[46] = {
	0x00, 0x00, 0x00, 0x00, 0xC3, 0xE1, 0x78, 0x57, 0x96, 0x52, 0xCE, 0x46, 0xA3, 0x53, 0xB3, 0xE0,
	0x7F, 0x9B, 0x97, 0xBC, 0x01, 0x00, 0x8B, 0x8D, 0xB1, 0x82, 0xAF, 0x2E, 0xD0, 0x48, 0x93, 0x47,
	0x07, 0xED, 0x54, 0x48, 0x84, 0x0F, 0x00, 0x17, 0x4E, 0xA8, 0x9C, 0x98, 0x00, 0x00};
static const uint8_t oxodlgt_provider[16] = {0xC3, 0xE1, 0x78, 0x57, 0x96, 0x52, 0xCE, 0x46,
					     0xA3, 0x53, 0xB3, 0xE0, 0x7F, 0x9B, 0x97, 0xBC};
static const uint8_t oxodlgt_db[16] = {0x8B, 0x8D, 0xB1, 0x82, 0xAF, 0x2E, 0xD0, 0x48,
				       0x93, 0x47, 0x07, 0xED, 0x54, 0x48, 0x84, 0x0F};

static void le64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* The Inbox FID 0001-00174ea8cda0: ReplicaId 1, GLOBCNT 0x00174ea8cda0, whose
 * 8 wire bytes are 01 00 | 00 17 4E A8 CD A0 (GLOBCNT most significant first). */
static void test_fid_wire_layout(void **state)
{
	(void)state;
	uint64_t fid = mp_store_make_id(1, 0x00174ea8cda0ull);
	uint8_t wire[8];
	static const uint8_t expect[8] = {0x01, 0x00, 0x00, 0x17, 0x4E, 0xA8, 0xCD, 0xA0};
	le64(wire, fid);
	assert_memory_equal(wire, expect, 8);
	assert_int_equal(fid, 0xA0CDA84E17000001ull);
	assert_int_equal(mp_store_id_replid(fid), 1);
	assert_int_equal(mp_store_id_gc(fid), 0x00174ea8cda0ull);

	uint8_t gc6[6];
	mp_store_gc_put(gc6, 0x00174ea8cda0ull);
	assert_memory_equal(gc6, expect + 2, 6);
	assert_int_equal(mp_store_gc_get(gc6), 0x00174ea8cda0ull);

	/* Extremes survive the round trip. */
	uint64_t max = mp_store_make_id(0xffff, MP_STORE_MAX_GC);
	assert_int_equal(max, UINT64_MAX);
	assert_int_equal(mp_store_id_gc(max), MP_STORE_MAX_GC);
	assert_int_equal(mp_store_id_replid(mp_store_make_id(0x1234, 1)), 0x1234);
	assert_int_equal(mp_store_make_id(1, 1), 0x0100000000000001ull);
}

static void test_folder_eid_spec_vector(void **state)
{
	(void)state;
	struct mp_store_eid e;
	assert_int_equal(mp_store_eid_parse(oxodlgt_calendar_eid, 46, &e), MP_OK);
	assert_int_equal(e.flags, 0);
	assert_memory_equal(e.provider, oxodlgt_provider, 16);
	assert_int_equal(e.type, MP_EID_PRIVATE_FOLDER);
	assert_memory_equal(e.folder_db, oxodlgt_db, 16);
	assert_int_equal(e.folder_gc, 0x00174EA89C98ull);
	assert_int_equal(e.message_gc, 0);

	uint8_t out[MP_STORE_FOLDER_EID_LEN];
	mp_store_folder_eid_build(oxodlgt_provider, MP_EID_PRIVATE_FOLDER, oxodlgt_db,
				  0x00174EA89C98ull, out);
	assert_memory_equal(out, oxodlgt_calendar_eid, 46);

	/* Through a mailbox whose GUIDs are these: the FID comes back. */
	struct mp_store_mailbox mb = {.id = 1, .replid = 1};
	memcpy(mb.mailbox_guid, oxodlgt_provider, 16);
	memcpy(mb.replica_guid, oxodlgt_db, 16);
	uint64_t fid, mid;
	assert_int_equal(mp_store_eid_to_ids(&mb, oxodlgt_calendar_eid, 46, &fid, &mid), MP_OK);
	assert_int_equal(fid, mp_store_make_id(1, 0x00174EA89C98ull));
	assert_int_equal(mid, 0);
	mp_store_folder_eid(&mb, fid, out);
	assert_memory_equal(out, oxodlgt_calendar_eid, 46);

	/* Another mailbox's entry ID is not ours. */
	mb.mailbox_guid[0] ^= 1;
	assert_int_equal(mp_store_eid_to_ids(&mb, oxodlgt_calendar_eid, 46, &fid, &mid),
			 MP_ERR_NOTFOUND);
	mb.mailbox_guid[0] ^= 1;
	mb.replica_guid[15] ^= 1;
	assert_int_equal(mp_store_eid_to_ids(&mb, oxodlgt_calendar_eid, 46, &fid, &mid),
			 MP_ERR_NOTFOUND);
}

static void test_eid_malformed(void **state)
{
	(void)state;
	struct mp_store_eid e;
	uint8_t b[80];
	memcpy(b, oxodlgt_calendar_eid, 46);
	/* Wrong lengths. */
	for (size_t n = 0; n < sizeof(b); n++)
		if (n != 46 && n != 70)
			assert_int_equal(mp_store_eid_parse(b, n, &e), MP_ERR_PARSE);
	/* Non-zero pad. */
	b[45] = 1;
	assert_int_equal(mp_store_eid_parse(b, 46, &e), MP_ERR_PARSE);
	b[45] = 0;
	/* A message type in a folder-sized ID, an unknown type. */
	b[20] = 0x07;
	assert_int_equal(mp_store_eid_parse(b, 46, &e), MP_ERR_PARSE);
	b[20] = 0x02;
	assert_int_equal(mp_store_eid_parse(b, 46, &e), MP_ERR_PARSE);
	/* Short-term flags are reported, not refused. */
	b[20] = 0x01;
	b[0] = 0x80;
	assert_int_equal(mp_store_eid_parse(b, 46, &e), MP_OK);
	assert_int_equal(e.flags, 0x80);
}

static void test_message_eid(void **state)
{
	(void)state;
	struct mp_store_mailbox mb = {.id = 7, .replid = 1};
	memcpy(mb.mailbox_guid, oxodlgt_provider, 16);
	memcpy(mb.replica_guid, oxodlgt_db, 16);
	uint64_t fid = mp_store_make_id(1, 0x00174ea8cda0ull); /* the Inbox above */
	uint64_t mid = mp_store_make_id(1, 0x000000000123ull);
	uint8_t out[MP_STORE_MESSAGE_EID_LEN];
	mp_store_message_eid(&mb, fid, mid, out);

	/* MS-OXCDATA 2.2.4.2: Flags, ProviderUID, MessageType 0x0007,
	 * FolderDatabaseGuid, FolderGlobalCounter, Pad, MessageDatabaseGuid,
	 * MessageGlobalCounter, Pad. */
	static const uint8_t tail_folder[8] = {0x00, 0x17, 0x4E, 0xA8, 0xCD, 0xA0, 0, 0};
	static const uint8_t tail_msg[8] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x23, 0, 0};
	assert_memory_equal(out, "\0\0\0\0", 4);
	assert_memory_equal(out + 4, oxodlgt_provider, 16);
	assert_int_equal(out[20], 0x07);
	assert_int_equal(out[21], 0x00);
	assert_memory_equal(out + 22, oxodlgt_db, 16);
	assert_memory_equal(out + 38, tail_folder, 8);
	assert_memory_equal(out + 46, oxodlgt_db, 16);
	assert_memory_equal(out + 62, tail_msg, 8);

	struct mp_store_eid e;
	assert_int_equal(mp_store_eid_parse(out, 70, &e), MP_OK);
	assert_int_equal(e.type, MP_EID_PRIVATE_MESSAGE);
	assert_int_equal(e.folder_gc, 0x00174ea8cda0ull);
	assert_int_equal(e.message_gc, 0x123);
	uint64_t f2, m2;
	assert_int_equal(mp_store_eid_to_ids(&mb, out, 70, &f2, &m2), MP_OK);
	assert_int_equal(f2, fid);
	assert_int_equal(m2, mid);

	out[69] = 1;
	assert_int_equal(mp_store_eid_parse(out, 70, &e), MP_ERR_PARSE);
	out[69] = 0;
	out[20] = 0x01; /* folder type with message length */
	assert_int_equal(mp_store_eid_parse(out, 70, &e), MP_ERR_PARSE);
}

static void test_ltid(void **state)
{
	(void)state;
	struct mp_store_mailbox mb = {.id = 1, .replid = 1};
	memcpy(mb.replica_guid, oxodlgt_db, 16);
	uint64_t fid = mp_store_make_id(1, 0x00174ea8cda0ull);
	uint8_t ltid[MP_STORE_LTID_LEN];

	/* MS-OXCSTOR 3.2.5.8: REPLGUID, the 48-bit global counter, 16 bits of 0. */
	assert_int_equal(mp_store_ltid_from_id(&mb, fid, ltid), MP_OK);
	assert_memory_equal(ltid, oxodlgt_db, 16);
	static const uint8_t tail[8] = {0x00, 0x17, 0x4E, 0xA8, 0xCD, 0xA0, 0x00, 0x00};
	assert_memory_equal(ltid + 16, tail, 8);

	uint64_t back;
	assert_int_equal(mp_store_id_from_ltid(&mb, ltid, &back), MP_OK);
	assert_int_equal(back, fid);

	/* Another replica's id, another replica's GUID, a bad pad. */
	assert_int_equal(mp_store_ltid_from_id(&mb, mp_store_make_id(2, 5), ltid), MP_ERR_NOTFOUND);
	mp_store_ltid_build(oxodlgt_provider, fid, ltid);
	assert_int_equal(mp_store_id_from_ltid(&mb, ltid, &back), MP_ERR_NOTFOUND);
	mp_store_ltid_build(oxodlgt_db, fid, ltid);
	ltid[23] = 0x01;
	assert_int_equal(mp_store_id_from_ltid(&mb, ltid, &back), MP_ERR_PARSE);
	uint8_t g[16];
	uint64_t gc;
	assert_int_equal(mp_store_ltid_parse(ltid, g, &gc), MP_ERR_PARSE);
}

static void test_xid(void **state)
{
	(void)state;
	uint8_t x[MP_STORE_XID_LEN];
	mp_store_xid_build(oxodlgt_db, 0x0000000a0b0cull, x);
	assert_memory_equal(x, oxodlgt_db, 16);
	static const uint8_t gc[6] = {0, 0, 0, 0x0a, 0x0b, 0x0c};
	assert_memory_equal(x + 16, gc, 6);
}

static void test_ab_eid(void **state)
{
	(void)state;
	const char *dn = "/o=First Organization/ou=Exchange Administrative Group "
			 "(FYDIBOHF23SPDLT)/cn=Recipients/cn=delegator1";
	void *mem = talloc_new(NULL);
	uint8_t *p;
	size_t n;
	assert_int_equal(mp_store_ab_eid_build(mem, dn, 0, &p, &n), MP_OK);
	/* MS-OXCDATA 2.2.5.2: Flags 0, the NSPI provider
	 * {C840A7DC-42C0-1A10-B4B9-08002B2FE182}, Version 1, Type, X500DN + NUL. */
	static const uint8_t head[28] = {0, 0, 0, 0, 0xDC, 0xA7, 0x40, 0xC8, 0xC0, 0x42,
					 0x10, 0x1A, 0xB4, 0xB9, 0x08, 0x00, 0x2B, 0x2F,
					 0xE1, 0x82, 1, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(n, 28 + strlen(dn) + 1);
	assert_memory_equal(p, head, 28);
	assert_string_equal((const char *)p + 28, dn);

	char longdn[1100];
	memset(longdn, 'a', sizeof(longdn) - 1);
	longdn[sizeof(longdn) - 1] = '\0';
	assert_int_equal(mp_store_ab_eid_build(mem, longdn, 0, &p, &n), MP_ERR_PARSE);
	talloc_free(mem);
}

static void test_filetime(void **state)
{
	(void)state;
	/* The Unix epoch as a FILETIME. */
	assert_int_equal(mp_store_filetime_from_unix(0), 116444736000000000ull);
	/* 2008-02-20 17:16:51 UTC, the creation time MS-OXOCAL 4.1.2 shows as
	 * 50 25 D4 61 E4 73 C8 01 (to the second). */
	uint64_t ft = mp_store_filetime_from_unix(1203527811);
	assert_true(0x01C873E461D42550ull - ft < 10000000ull);
	assert_int_equal(mp_store_filetime_from_unix(-20000000000LL), 0);
	assert_true(mp_store_filetime_now() > mp_store_filetime_from_unix(1600000000));
}

static void test_guid_random(void **state)
{
	(void)state;
	uint8_t a[16], b[16];
	assert_int_equal(mp_store_guid_random(a), MP_OK);
	assert_int_equal(mp_store_guid_random(b), MP_OK);
	assert_memory_not_equal(a, b, 16);
	assert_int_equal(a[7] >> 4, 4);        /* version 4 */
	assert_int_equal(a[8] & 0xc0, 0x80);   /* RFC 4122 variant */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fid_wire_layout),
		cmocka_unit_test(test_folder_eid_spec_vector),
		cmocka_unit_test(test_eid_malformed),
		cmocka_unit_test(test_message_eid),
		cmocka_unit_test(test_ltid),
		cmocka_unit_test(test_xid),
		cmocka_unit_test(test_ab_eid),
		cmocka_unit_test(test_filetime),
		cmocka_unit_test(test_guid_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
