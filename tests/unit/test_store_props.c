/* Unit tests: server/store property bags (every type's stored encoding,
 * multi-valued values, refused encodings, computed properties, string
 * conversion, streams, named properties, UTF-8/UTF-16). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "server/store/store.h"
#include "util/status.h"
#include "hexbytes.h"

struct fx {
	char dir[64];
	struct mp_store *st;
	struct mp_store_txn *t;
	uint32_t mbox, bob;
	uint64_t inbox, mid;
	uint32_t att;
	void *mem;
};

#define CHECK(t, expr, want)                                                                  \
	do {                                                                                  \
		int rc_ = (expr);                                                             \
		if (rc_ != (want))                                                            \
			fail_msg("%s: %s, expected %s (%s)", #expr, mp_status_name(rc_),      \
				 mp_status_name(want), mp_store_txn_errmsg(t));               \
	} while (0)

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	strcpy(f->dir, "/tmp/mpstore-props-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	struct mp_store_opts o = {.create = true};
	if (mp_store_open(&f->st, f->dir, &o, err, sizeof(err)) != MP_OK)
		return -1;
	struct mp_store_user_new u = {.name = "alice", .password = "pw"};
	struct mp_store_user_new b = {.name = "bob", .password = "pw"};
	if (mp_store_user_add_simple(f->st, &u, &f->mbox, err, sizeof(err)) ||
	    mp_store_user_add_simple(f->st, &b, &f->bob, err, sizeof(err)))
		return -1;
	if (mp_store_txn_begin(f->st, true, &f->t))
		return -1;
	struct mp_store_mailbox mb;
	if (mp_store_mailbox_get(f->t, f->mbox, &mb) ||
	    mp_store_msg_create(f->t, f->mbox, mb.special[MP_STORE_SF_INBOX], false, &f->mid) ||
	    mp_store_attach_create(f->t, f->mbox, f->mid, &f->att))
		return -1;
	f->inbox = mb.special[MP_STORE_SF_INBOX];
	f->mem = talloc_new(NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mp_store_txn_abort(f->t);
	mp_store_close(f->st);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	talloc_free(f->mem);
	free(f);
	return 0;
}

/* `out` is sized by the caller for the vector (hexbytes.h aborts past it). */
#define unhex(hex, out) hexbytes((hex), (out), sizeof(out))

/* ---- Every type ---- */

static const struct {
	uint16_t type;
	const char *hex; /* PropertyValue, ROP encoding (MS-OXCDATA 2.11.2) */
} good[] = {
	{0x0002, "3412"},                                   /* PtypInteger16 */
	{0x0003, "78563412"},                               /* PtypInteger32 */
	{0x0004, "0000803f"},                               /* PtypFloating32 1.0 */
	{0x0005, "000000000000f03f"},                       /* PtypFloating64 1.0 */
	{0x0006, "1027000000000000"},                       /* PtypCurrency 1.0000 */
	{0x0007, "0000000000c0e240"},                       /* PtypFloatingTime */
	{0x000B, "01"},                                     /* PtypBoolean */
	{0x0014, "efcdab8967452301"},                       /* PtypInteger64 */
	{0x001E, "6869 00"},                                /* PtypString8 "hi" */
	{0x001F, "6800 6900 0000"},                         /* PtypString "hi" */
	{0x0040, "0080 3ed5 deb1 9d01"},                    /* PtypTime, 1970-01-01 */
	{0x0048, "28030200000000 00c0000000000000 46"},     /* PtypGuid PS_MAPI */
	{0x00FB, "1500 01 0100000000000001 0200000000000001 00000000"}, /* PtypServerId */
	{0x00FD, "08 1f003700"},                            /* PtypRestriction: exists Subject */
	{0x0102, "0300 aabbcc"},                            /* PtypBinary, 16-bit count */
	{0x0102, "0000"},                                   /* empty PtypBinary */
	{0x1002, "02000000 0100 0200"},                     /* PtypMultipleInteger16 */
	{0x1003, "02000000 01000000 02000000"},             /* PtypMultipleInteger32 */
	{0x1004, "01000000 0000803f"},                      /* PtypMultipleFloating32 */
	{0x1005, "01000000 000000000000f03f"},              /* PtypMultipleFloating64 */
	{0x1006, "01000000 1027000000000000"},              /* PtypMultipleCurrency */
	{0x1007, "01000000 0000000000c0e240"},              /* PtypMultipleFloatingTime */
	{0x1014, "02000000 0100000000000000 0200000000000000"}, /* PtypMultipleInteger64 */
	{0x101E, "02000000 6100 626300"},                   /* PtypMultipleString8 */
	{0x101F, "02000000 61000000 62006300 0000"},        /* PtypMultipleString */
	{0x1040, "01000000 00803ed5deb19d01"},              /* PtypMultipleTime */
	{0x1048, "01000000 2803020000000000c000000000000046"}, /* PtypMultipleGuid */
	{0x1102, "02000000 0100 ff 0000"},                  /* PtypMultipleBinary */
	{0x1003, "00000000"},                               /* empty multi-value */
};

static void test_every_type_round_trip(void **state)
{
	struct fx *f = *state;
	struct mp_store_obj o = mp_store_obj_message(f->mbox, f->mid);
	uint8_t b[128];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		size_t n = unhex(good[i].hex, b);
		uint32_t tag = ((uint32_t)(0x6800 + i) << 16) | good[i].type;
		CHECK(f->t, mp_store_prop_set(f->t, &o, tag, b, n), MP_OK);
		struct mp_store_prop p;
		CHECK(f->t, mp_store_prop_get(f->t, &o, tag, &p), MP_OK);
		assert_int_equal(p.tag, tag);
		assert_int_equal(p.form, MP_STORE_VAL_WIRE);
		assert_int_equal(p.len, n);
		assert_memory_equal(p.data, b, n);
		/* PtypUnspecified asks for whatever type is stored. */
		CHECK(f->t, mp_store_prop_get(f->t, &o, tag & 0xffff0000u, &p), MP_OK);
		assert_int_equal(p.tag, tag);
		/* The stored bytes decode with the wire codec. */
		struct mp_propval pv;
		assert_int_equal(mp_store_prop_decode(&p, f->mem, &pv), MP_OK);
		assert_int_equal(pv.type, good[i].type);
	}
	/* Decoded multi-values carry their elements. */
	struct mp_store_prop p;
	struct mp_propval pv;
	uint32_t tag = ((uint32_t)(0x6800 + 24) << 16) | 0x101F;
	CHECK(f->t, mp_store_prop_get(f->t, &o, tag, &p), MP_OK);
	assert_int_equal(mp_store_prop_decode(&p, f->mem, &pv), MP_OK);
	assert_int_equal(pv.v.mv.count, 2);
	assert_int_equal(pv.v.mv.bin[1].len, 6); /* "bc" + terminator */

	/* The typed setters produce the same bytes. */
	CHECK(f->t, mp_store_prop_set_i16(f->t, &o, 0x69000002, 0x1234), MP_OK);
	CHECK(f->t, mp_store_prop_set_u32(f->t, &o, 0x69010003, 0x12345678), MP_OK);
	CHECK(f->t, mp_store_prop_set_u64(f->t, &o, 0x69020040, 116444736000000000ull), MP_OK);
	CHECK(f->t, mp_store_prop_set_bool(f->t, &o, 0x6903000B, true), MP_OK);
	CHECK(f->t, mp_store_prop_set_string(f->t, &o, 0x6904001F, "hi"), MP_OK);
	CHECK(f->t, mp_store_prop_set_string(f->t, &o, 0x6905001E, "hi"), MP_OK);
	CHECK(f->t, mp_store_prop_set_binary(f->t, &o, 0x69060102, "\xaa\xbb\xcc", 3), MP_OK);
	static const struct {
		uint32_t tag;
		size_t good_index;
	} same[] = {{0x69000002, 0}, {0x69010003, 1}, {0x69020040, 10}, {0x6903000B, 6},
		    {0x6904001F, 9}, {0x6905001E, 8}, {0x69060102, 14}};
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		uint8_t want[128];
		size_t wn = unhex(good[same[i].good_index].hex, want);
		CHECK(f->t, mp_store_prop_get(f->t, &o, same[i].tag, &p), MP_OK);
		assert_int_equal(p.len, wn);
		assert_memory_equal(p.data, want, wn);
	}
	uint32_t u32;
	uint64_t u64;
	bool bv;
	char *s;
	CHECK(f->t, mp_store_prop_get_u32(f->t, &o, 0x69010003, &u32), MP_OK);
	assert_int_equal(u32, 0x12345678);
	CHECK(f->t, mp_store_prop_get_u64(f->t, &o, 0x69020040, &u64), MP_OK);
	assert_int_equal(u64, 116444736000000000ull);
	CHECK(f->t, mp_store_prop_get_bool(f->t, &o, 0x6903000B, &bv), MP_OK);
	assert_true(bv);
	CHECK(f->t, mp_store_prop_get_string(f->t, &o, 0x6905001F, f->mem, &s), MP_OK);
	assert_string_equal(s, "hi"); /* either string type reads as UTF-8 */
	/* A setter for another type is refused. */
	CHECK(f->t, mp_store_prop_set_u32(f->t, &o, 0x69070014, 1), MP_ERR_PARSE);
	CHECK(f->t, mp_store_prop_set_string(f->t, &o, 0x69070003, "x"), MP_ERR_PARSE);
	CHECK(f->t, mp_store_prop_get_u32(f->t, &o, 0x69040003, &u32), MP_ERR_NOTFOUND);

	/* From a decoded struct mp_propval. */
	struct mp_propval in = {.type = MP_PT_INTEGER32, .v.i4 = 7};
	CHECK(f->t, mp_store_prop_set_pv(f->t, &o, 0x69080003, &in), MP_OK);
	CHECK(f->t, mp_store_prop_get_u32(f->t, &o, 0x69080003, &u32), MP_OK);
	assert_int_equal(u32, 7);
	CHECK(f->t, mp_store_prop_set_pv(f->t, &o, 0x69080014, &in), MP_ERR_PARSE);
}

static void test_bad_encodings_refused(void **state)
{
	struct fx *f = *state;
	struct mp_store_obj o = mp_store_obj_message(f->mbox, f->mid);
	static const struct {
		uint16_t type;
		const char *hex;
	} bad[] = {
		{0x0003, "785634"},           /* short */
		{0x0003, "7856341200"},       /* trailing byte */
		{0x000B, "02"},               /* boolean neither 0 nor 1 */
		{0x0014, "01020304"},
		{0x001F, "68006900"},         /* no terminator */
		{0x001F, "680069000000 00"},  /* odd */
		{0x001F, "4100 0000 4200 0000"}, /* embedded U+0000 */
		{0x001E, "6869"},             /* no NUL */
		{0x001E, "68 00 69 00"},      /* embedded NUL */
		{0x0048, "2803020000000000c0000000000000"}, /* 15-byte GUID */
		{0x0102, "0400 aabbcc"},      /* count above the bytes */
		{0x0102, "0200 aabbcc"},      /* count below the bytes */
		{0x0102, "04"},
		{0x00FB, "0000"},             /* empty server id */
		{0x1003, "e8030000 01000000"}, /* 1000 values claimed */
		{0x1003, "ffffffff"},
		{0x101F, "01000000 4100"},    /* unterminated element */
		{0x1102, "02000000 0100ff"},  /* second element missing */
		{0x00FD, "ff"},               /* unknown restriction type */
		{0x0003, ""},
	};
	uint8_t b[64];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = unhex(bad[i].hex, b);
		uint32_t tag = ((uint32_t)(0x6A00 + i) << 16) | bad[i].type;
		int rc = mp_store_prop_set(f->t, &o, tag, b, n);
		if (rc != MP_ERR_PARSE)
			fail_msg("bad[%zu] type 0x%04x: %s (%s)", i, bad[i].type, mp_status_name(rc),
				 mp_store_txn_errmsg(f->t));
		assert_int_equal(mp_store_txn_ec(f->t), MP_STORE_EC_INVALID_PARAM);
		struct mp_store_prop p;
		CHECK(f->t, mp_store_prop_get(f->t, &o, tag, &p), MP_ERR_NOTFOUND);
	}
	/* Types that are never stored. */
	static const uint16_t unsupported[] = {0x0000, 0x0001, 0x000A, 0x000D, 0x3003, 0x0099,
					       0x1001, 0x10FB};
	b[0] = b[1] = b[2] = b[3] = 0;
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		uint32_t tag = 0x6B000000u | unsupported[i];
		CHECK(f->t, mp_store_prop_set(f->t, &o, tag, b, 4), MP_ERR_UNSUPPORTED);
		assert_int_equal(mp_store_txn_ec(f->t), MP_STORE_EC_NOT_SUPPORTED);
	}
	/* Prop id 0 is reserved; raw form only for strings and binaries. */
	CHECK(f->t, mp_store_prop_set(f->t, &o, 0x00000003, b, 4), MP_ERR_PARSE);
	struct mp_store_prop raw = {.tag = 0x6B010003, .form = MP_STORE_VAL_RAW, .data = b, .len = 4};
	CHECK(f->t, mp_store_prop_put(f->t, &o, &raw), MP_ERR_PARSE);
	raw.form = 7;
	CHECK(f->t, mp_store_prop_put(f->t, &o, &raw), MP_ERR_PARSE);
}

static void test_computed_and_special(void **state)
{
	struct fx *f = *state;
	struct mp_store_obj m = mp_store_obj_message(f->mbox, f->mid);
	struct mp_store_obj fo = mp_store_obj_folder(f->mbox, f->inbox);
	uint8_t four[4] = {1, 0, 0, 0}, eight[8] = {0};
	static const uint32_t refused[] = {MP_TAG_MESSAGE_SIZE, MP_TAG_CONTENT_COUNT,
					   MP_TAG_CONTENT_UNREAD_COUNT, MP_TAG_ATTACH_SIZE,
					   MP_TAG_ROWID, MP_TAG_FOLDER_CHILD_COUNT};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_true(mp_store_tag_is_computed(refused[i]));
		CHECK(f->t, mp_store_prop_set(f->t, &m, refused[i], four, 4), MP_ERR_PROTO);
		assert_int_equal(mp_store_txn_ec(f->t), MP_STORE_EC_ACCESS_DENIED);
		CHECK(f->t, mp_store_prop_set(f->t, &fo, refused[i], four, 4), MP_ERR_PROTO);
	}
	CHECK(f->t, mp_store_prop_set(f->t, &m, MP_TAG_MID, eight, 8), MP_ERR_PROTO);
	CHECK(f->t, mp_store_prop_set(f->t, &fo, MP_TAG_FOLDER_ID, eight, 8), MP_ERR_PROTO);
	uint8_t eid[] = {0x02, 0x00, 0xaa, 0xbb};
	CHECK(f->t, mp_store_prop_set(f->t, &m, MP_TAG_ENTRYID, eid, 4), MP_ERR_PROTO);
	CHECK(f->t, mp_store_prop_delete(f->t, &m, MP_TAG_ENTRYID), MP_ERR_PROTO);
	CHECK(f->t, mp_store_prop_delete(f->t, &m, MP_TAG_MESSAGE_FLAGS), MP_ERR_PROTO);
	CHECK(f->t, mp_store_prop_delete(f->t, &fo, MP_TAG_CONTENT_COUNT), MP_ERR_PROTO);
	assert_false(mp_store_tag_is_computed(MP_TAG_SUBJECT));

	/* The values are there to read. */
	struct mp_store_prop p;
	CHECK(f->t, mp_store_prop_get(f->t, &m, MP_TAG_ENTRYID, &p), MP_OK);
	assert_int_equal(p.len, 2 + MP_STORE_MESSAGE_EID_LEN);
	uint32_t v;
	CHECK(f->t, mp_store_prop_get_u32(f->t, &fo, MP_TAG_CONTENT_COUNT, &v), MP_OK);
	assert_int_equal(v, 0);

	/* The mailbox object has id 0 only. */
	struct mp_store_obj so = mp_store_obj_mailbox(f->mbox);
	CHECK(f->t, mp_store_prop_get(f->t, &so, MP_TAG_DISPLAY_NAME, &p), MP_OK);
	so.id = 1;
	CHECK(f->t, mp_store_prop_get(f->t, &so, MP_TAG_DISPLAY_NAME, &p), MP_ERR_NOTFOUND);

	/* Raw content that fits the wire form is stored in wire form. */
	struct mp_store_prop raw = {.tag = 0x6C000102, .form = MP_STORE_VAL_RAW,
				    .data = (const uint8_t *)"abc", .len = 3};
	CHECK(f->t, mp_store_prop_put(f->t, &m, &raw), MP_OK);
	CHECK(f->t, mp_store_prop_get(f->t, &m, raw.tag, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_WIRE);
	assert_int_equal(p.len, 5);
	assert_memory_equal(p.data, "\x03\x00" "abc", 5);

	/* Delete, delete again, replace with another type. */
	CHECK(f->t, mp_store_prop_set_string(f->t, &m, MP_TAG_SUBJECT, "x"), MP_OK);
	CHECK(f->t, mp_store_prop_delete(f->t, &m, MP_TAG_SUBJECT), MP_OK);
	CHECK(f->t, mp_store_prop_get(f->t, &m, MP_TAG_SUBJECT, &p), MP_ERR_NOTFOUND);
	assert_non_null(strstr(mp_store_txn_errmsg(f->t), "not set"));
	CHECK(f->t, mp_store_prop_delete(f->t, &m, MP_TAG_SUBJECT), MP_OK);
	CHECK(f->t, mp_store_prop_set_string(f->t, &m, 0x0037001E, "eight"), MP_OK);
	CHECK(f->t, mp_store_prop_set_string(f->t, &m, 0x0037001F, "wide"), MP_OK);
	CHECK(f->t, mp_store_prop_get(f->t, &m, 0x0037001E, &p), MP_ERR_NOTFOUND);
	CHECK(f->t, mp_store_prop_get(f->t, &m, 0x00370000, &p), MP_OK);
	assert_int_equal(p.tag, 0x0037001F);
}

static void test_string_conversion_and_lists(void **state)
{
	struct fx *f = *state;
	struct mp_store_obj m = mp_store_obj_message(f->mbox, f->mid);
	CHECK(f->t, mp_store_prop_set_string(f->t, &m, MP_TAG_SUBJECT, "Grüße € 😀"), MP_OK);
	CHECK(f->t, mp_store_prop_set_content(f->t, &m, 0x3004001E, "caf\xe9", 4), MP_OK);
	uint32_t tags[4] = {0x0037001E, 0x3004001F, 0x0037001F, 0x7777001F};
	struct mp_store_prop out[4];
	CHECK(f->t, mp_store_props_get(f->t, &m, tags, 4, f->mem, out), MP_OK);
	/* UTF-16 -> Latin-1 with '?' for the rest; Latin-1 -> UTF-16. */
	assert_int_equal(out[0].form, MP_STORE_VAL_WIRE);
	assert_int_equal(out[0].len, 10);
	assert_memory_equal(out[0].data, "Gr\xfc\xdf" "e ? ?\0", 10);
	static const uint8_t cafe16[] = {'c', 0, 'a', 0, 'f', 0, 0xe9, 0, 0, 0};
	assert_int_equal(out[1].len, sizeof(cafe16));
	assert_memory_equal(out[1].data, cafe16, sizeof(cafe16));
	assert_int_equal(out[2].tag, 0x0037001F);
	assert_int_equal(out[3].form, MP_STORE_VAL_NONE);
	/* Without mem, a mismatch is missing. */
	CHECK(f->t, mp_store_props_get(f->t, &m, tags, 1, NULL, out), MP_OK);
	assert_int_equal(out[0].form, MP_STORE_VAL_NONE);
	char *s;
	CHECK(f->t, mp_store_prop_get_string(f->t, &m, MP_TAG_SUBJECT, f->mem, &s), MP_OK);
	assert_string_equal(s, "Grüße € 😀");

	/* All properties, in prop id order, without the header record. */
	struct mp_store_prop *all;
	size_t n;
	CHECK(f->t, mp_store_prop_list(f->t, &m, f->mem, &all, &n), MP_OK);
	assert_true(n >= 10);
	bool subject = false;
	for (size_t i = 0; i < n; i++) {
		assert_int_not_equal(all[i].tag >> 16, 0);
		if (i)
			assert_true((all[i].tag >> 16) > (all[i - 1].tag >> 16));
		subject |= all[i].tag == MP_TAG_SUBJECT;
	}
	assert_true(subject);

	/* Per-object property limit. */
	int rc = MP_OK;
	uint32_t added = 0;
	for (uint32_t id = 0x8000; rc == MP_OK && id < 0x8000 + MP_STORE_MAX_PROPS + 10; id++) {
		uint8_t v[4] = {1, 2, 3, 4};
		struct mp_store_obj a = mp_store_obj_attach(f->mbox, f->mid, f->att);
		rc = mp_store_prop_set(f->t, &a, (id << 16) | 3, v, 4);
		added += rc == MP_OK;
	}
	assert_int_equal(rc, MP_ERR_LIMIT);
	assert_true(added > MP_STORE_MAX_PROPS - 10 && added < MP_STORE_MAX_PROPS);
}

static void test_streams(void **state)
{
	struct fx *f = *state;
	struct mp_store_obj a = mp_store_obj_attach(f->mbox, f->mid, f->att);
	const uint32_t T = MP_TAG_ATTACH_DATA_BINARY;
	uint64_t size;
	uint8_t buf[64];
	size_t got;

	CHECK(f->t, mp_store_stream_size(f->t, &a, T, &size), MP_ERR_NOTFOUND);
	CHECK(f->t, mp_store_stream_write(f->t, &a, T, 0, "0123456789", 10), MP_OK);
	CHECK(f->t, mp_store_stream_size(f->t, &a, T, &size), MP_OK);
	assert_int_equal(size, 10);
	struct mp_store_prop p;
	CHECK(f->t, mp_store_prop_get(f->t, &a, T, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_WIRE);
	assert_memory_equal(p.data, "\x0a\x00" "0123456789", 12);

	/* Past 65535 bytes the value is raw; the gap reads as zeros. */
	CHECK(f->t, mp_store_stream_write(f->t, &a, T, 100000, "xyz", 3), MP_OK);
	CHECK(f->t, mp_store_stream_size(f->t, &a, T, &size), MP_OK);
	assert_int_equal(size, 100003);
	CHECK(f->t, mp_store_prop_get(f->t, &a, T, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_RAW);
	CHECK(f->t, mp_store_stream_read(f->t, &a, T, 8, buf, 4, &got), MP_OK);
	assert_int_equal(got, 4);
	assert_memory_equal(buf, "89\0\0", 4);
	CHECK(f->t, mp_store_stream_read(f->t, &a, T, 99999, buf, 64, &got), MP_OK);
	assert_int_equal(got, 4);
	assert_memory_equal(buf, "\0xyz", 4);
	CHECK(f->t, mp_store_stream_read(f->t, &a, T, 100003, buf, 64, &got), MP_OK);
	assert_int_equal(got, 0);
	CHECK(f->t, mp_store_stream_read(f->t, &a, T, UINT64_MAX, buf, 64, &got), MP_OK);
	assert_int_equal(got, 0);

	/* Shrink back to wire form; grow with zeros. */
	CHECK(f->t, mp_store_stream_set_size(f->t, &a, T, 5), MP_OK);
	CHECK(f->t, mp_store_prop_get(f->t, &a, T, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_WIRE);
	assert_memory_equal(p.data, "\x05\x00" "01234", 7);
	CHECK(f->t, mp_store_stream_set_size(f->t, &a, T, 8), MP_OK);
	CHECK(f->t, mp_store_stream_read(f->t, &a, T, 0, buf, 64, &got), MP_OK);
	assert_int_equal(got, 8);
	assert_memory_equal(buf, "01234\0\0\0", 8);

	/* Bounds: MP_STORE_MAX_STREAM. */
	CHECK(f->t, mp_store_stream_set_size(f->t, &a, T, (uint64_t)MP_STORE_MAX_STREAM + 1),
	      MP_ERR_LIMIT);
	assert_int_equal(mp_store_txn_ec(f->t), MP_STORE_EC_STREAM_SIZE);
	CHECK(f->t, mp_store_stream_write(f->t, &a, T, MP_STORE_MAX_STREAM, "x", 1), MP_ERR_LIMIT);
	CHECK(f->t, mp_store_stream_write(f->t, &a, T, UINT64_MAX - 1, "x", 1), MP_ERR_LIMIT);
	uint8_t *huge = calloc(1, (size_t)MP_STORE_MAX_STREAM + 1);
	assert_non_null(huge);
	CHECK(f->t, mp_store_prop_set_binary(f->t, &a, T, huge, (size_t)MP_STORE_MAX_STREAM + 1),
	      MP_ERR_LIMIT);
	free(huge);

	/* A value read in this transaction can be written back elsewhere as is
	 * (RopCopyProperties): the store copies it before writing. */
	uint8_t *pattern = malloc(200000);
	assert_non_null(pattern);
	for (size_t i = 0; i < 200000; i++)
		pattern[i] = (uint8_t)(i * 13 + i / 251);
	CHECK(f->t, mp_store_prop_set_binary(f->t, &a, T, pattern, 200000), MP_OK);
	uint32_t a2;
	CHECK(f->t, mp_store_attach_create(f->t, f->mbox, f->mid, &a2), MP_OK);
	struct mp_store_obj b2 = mp_store_obj_attach(f->mbox, f->mid, a2);
	for (int round = 0; round < 3; round++) {
		CHECK(f->t, mp_store_prop_get(f->t, round ? &b2 : &a, T, &p), MP_OK);
		CHECK(f->t, mp_store_prop_put(f->t, round ? &a : &b2, &p), MP_OK);
	}
	CHECK(f->t, mp_store_prop_get(f->t, &b2, T, &p), MP_OK);
	assert_int_equal(p.len, 200000);
	assert_memory_equal(p.data, pattern, 200000);
	free(pattern);

	/* String streams: UTF-16 content without the terminator. */
	struct mp_store_obj m = mp_store_obj_message(f->mbox, f->mid);
	CHECK(f->t, mp_store_stream_write(f->t, &m, MP_TAG_BODY, 0, "A\0B\0", 4), MP_OK);
	char *s;
	CHECK(f->t, mp_store_prop_get_string(f->t, &m, MP_TAG_BODY, f->mem, &s), MP_OK);
	assert_string_equal(s, "AB");
	CHECK(f->t, mp_store_prop_get(f->t, &m, MP_TAG_BODY, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_WIRE);
	assert_int_equal(p.len, 6);
	CHECK(f->t, mp_store_stream_write(f->t, &m, MP_TAG_BODY, 4, "C", 1), MP_OK);
	CHECK(f->t, mp_store_prop_get(f->t, &m, MP_TAG_BODY, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_RAW); /* odd length: not a wire string yet */
	CHECK(f->t, mp_store_stream_write(f->t, &m, MP_TAG_BODY, 5, "", 1), MP_OK);
	CHECK(f->t, mp_store_prop_get(f->t, &m, MP_TAG_BODY, &p), MP_OK);
	assert_int_equal(p.form, MP_STORE_VAL_WIRE);
	CHECK(f->t, mp_store_prop_get_string(f->t, &m, MP_TAG_BODY, f->mem, &s), MP_OK);
	assert_string_equal(s, "ABC");
	/* Streams are for strings and binaries only. */
	CHECK(f->t, mp_store_stream_write(f->t, &m, MP_TAG_IMPORTANCE, 0, "x", 1),
	      MP_ERR_UNSUPPORTED);
	struct mp_store_obj nobody = mp_store_obj_message(f->mbox, mp_store_make_id(1, 424242));
	CHECK(f->t, mp_store_stream_write(f->t, &nobody, MP_TAG_BODY, 0, "x", 1), MP_ERR_NOTFOUND);
}

static void test_named_properties(void **state)
{
	struct fx *f = *state;
	/* PSETID_Common {00062008-0000-0000-C000-000000000046}, PS_PUBLIC_STRINGS
	 * {00020329-0000-0000-C000-000000000046}, PS_MAPI {00020328-...}. */
	static const uint8_t common[16] = {0x08, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
					   0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
	static const uint8_t pubstr[16] = {0x29, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
					   0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
	static const uint8_t psmapi[16] = {0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
					   0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46};
	struct mp_prop_name lid = {.kind = MP_PNAME_LID, .lid = 0x8580};
	memcpy(lid.guid, common, 16);
	static const uint8_t kw[] = {'K', 0, 'e', 0, 'y', 0, 'w', 0, 'o', 0, 'r', 0, 'd', 0, 's', 0,
				     0, 0};
	struct mp_prop_name name = {.kind = MP_PNAME_NAME, .name = {kw, sizeof(kw)}};
	memcpy(name.guid, pubstr, 16);
	uint16_t id1, id2, id3;
	struct mp_store_txn *t = f->t;

	CHECK(t, mp_store_named_id(t, f->mbox, &lid, false, &id1), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_named_id(t, f->mbox, &lid, true, &id1), MP_OK);
	assert_int_equal(id1, 0x8000);
	CHECK(t, mp_store_named_id(t, f->mbox, &name, true, &id2), MP_OK);
	assert_int_equal(id2, 0x8001);
	CHECK(t, mp_store_named_id(t, f->mbox, &lid, true, &id3), MP_OK);
	assert_int_equal(id3, id1);
	/* The same name without its terminator is the same name. */
	struct mp_prop_name bare = name;
	bare.name.len -= 2;
	CHECK(t, mp_store_named_id(t, f->mbox, &bare, false, &id3), MP_OK);
	assert_int_equal(id3, id2);
	/* Names are exact: another case is another name; another GUID too. */
	static const uint8_t kw2[] = {'k', 0, 'e', 0, 'y', 0, 'w', 0, 'o', 0, 'r', 0, 'd', 0, 's', 0};
	struct mp_prop_name lower = name;
	lower.name.data = kw2;
	lower.name.len = sizeof(kw2);
	CHECK(t, mp_store_named_id(t, f->mbox, &lower, true, &id3), MP_OK);
	assert_int_equal(id3, 0x8002);
	struct mp_prop_name other = lid;
	other.guid[0] ^= 1;
	CHECK(t, mp_store_named_id(t, f->mbox, &other, true, &id3), MP_OK);
	assert_int_equal(id3, 0x8003);
	/* PS_MAPI LIDs are the tag ids themselves. */
	struct mp_prop_name mapi = {.kind = MP_PNAME_LID, .lid = 0x0037};
	memcpy(mapi.guid, psmapi, 16);
	CHECK(t, mp_store_named_id(t, f->mbox, &mapi, true, &id3), MP_OK);
	assert_int_equal(id3, 0x0037);
	mapi.lid = 0x8001;
	CHECK(t, mp_store_named_id(t, f->mbox, &mapi, true, &id3), MP_ERR_PARSE);

	/* Back from ids to names. */
	struct mp_prop_name out;
	CHECK(t, mp_store_named_name(t, f->mbox, id1, f->mem, &out), MP_OK);
	assert_int_equal(out.kind, MP_PNAME_LID);
	assert_int_equal(out.lid, 0x8580);
	assert_memory_equal(out.guid, common, 16);
	CHECK(t, mp_store_named_name(t, f->mbox, id2, f->mem, &out), MP_OK);
	assert_int_equal(out.kind, MP_PNAME_NAME);
	assert_int_equal(out.name.len, sizeof(kw)); /* NameSize counts the terminator */
	assert_memory_equal(out.name.data, kw, sizeof(kw));
	CHECK(t, mp_store_named_name(t, f->mbox, 0x0037, f->mem, &out), MP_OK);
	assert_memory_equal(out.guid, psmapi, 16);
	assert_int_equal(out.lid, 0x0037);
	CHECK(t, mp_store_named_name(t, f->mbox, 0x9000, f->mem, &out), MP_ERR_NOTFOUND);
	CHECK(t, mp_store_named_name(t, f->mbox, 0, f->mem, &out), MP_ERR_NOTFOUND);
	uint16_t *ids;
	size_t n;
	CHECK(t, mp_store_named_list(t, f->mbox, f->mem, &ids, &n), MP_OK);
	assert_int_equal(n, 4);
	assert_int_equal(ids[0], 0x8000);
	assert_int_equal(ids[3], 0x8003);

	/* Maps are per mailbox. */
	CHECK(t, mp_store_named_id(t, f->bob, &name, true, &id3), MP_OK);
	assert_int_equal(id3, 0x8000);
	CHECK(t, mp_store_named_id(t, f->bob, &lid, false, &id3), MP_ERR_NOTFOUND);

	/* Malformed names. */
	struct mp_prop_name none = {.kind = MP_PNAME_NONE};
	CHECK(t, mp_store_named_id(t, f->mbox, &none, true, &id3), MP_ERR_PARSE);
	struct mp_prop_name odd = name;
	odd.name.len = 3;
	CHECK(t, mp_store_named_id(t, f->mbox, &odd, true, &id3), MP_ERR_PARSE);
	static const uint8_t term[] = {0, 0};
	struct mp_prop_name empty = name;
	empty.name.data = term; /* just a terminator */
	empty.name.len = 2;
	CHECK(t, mp_store_named_id(t, f->mbox, &empty, true, &id3), MP_ERR_PARSE);
	static const uint8_t nul[] = {'a', 0, 0, 0, 'b', 0};
	struct mp_prop_name emb = name;
	emb.name.data = nul;
	emb.name.len = sizeof(nul);
	CHECK(t, mp_store_named_id(t, f->mbox, &emb, true, &id3), MP_ERR_PARSE);
	CHECK(t, mp_store_named_id(t, 999, &lid, true, &id3), MP_ERR_NOTFOUND);
}

static void test_utf_conversion(void **state)
{
	struct fx *f = *state;
	uint8_t *u;
	size_t n;
	/* U+1F600 becomes a surrogate pair; a bad byte U+FFFD; NUL is dropped. */
	const char in[] = "a\xF0\x9F\x98\x80" "b\xff" "c\0d";
	assert_int_equal(mp_store_utf8_to_utf16(f->mem, in, sizeof(in) - 1, true, &u, &n), MP_OK);
	static const uint8_t want[] = {'a', 0, 0x3D, 0xD8, 0x00, 0xDE, 'b', 0,
				       0xFD, 0xFF, 'c', 0, 'd', 0};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(u, want, sizeof(want));
	assert_int_equal(u[n], 0);
	assert_int_equal(u[n + 1], 0);
	/* Overlong and surrogate encodings are invalid too. */
	assert_int_equal(mp_store_utf8_to_utf16(f->mem, "\xC0\xAF\xED\xA0\x80", 5, false, &u, &n),
			 MP_OK);
	for (size_t i = 0; i < n; i += 2)
		assert_int_equal(u[i] | u[i + 1] << 8, 0xFFFD);

	char *s;
	assert_int_equal(mp_store_utf16_to_utf8(f->mem, want, sizeof(want), &s), MP_OK);
	assert_string_equal(s, "a\xF0\x9F\x98\x80" "b\xEF\xBF\xBD" "cd");
	static const uint8_t lone[] = {0x00, 0xD8, 'x', 0, 0x00, 0xDC};
	assert_int_equal(mp_store_utf16_to_utf8(f->mem, lone, sizeof(lone), &s), MP_OK);
	assert_string_equal(s, "\xEF\xBF\xBDx\xEF\xBF\xBD");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_type_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_encodings_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_computed_and_special, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_conversion_and_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_properties, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf_conversion, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
