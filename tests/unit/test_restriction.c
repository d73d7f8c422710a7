/* Unit tests: restrictions (MS-OXCDATA 2.12) and rule actions (MS-OXORULE 2.2.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "hexbytes.h"
#include "mapi/restriction.h"
#include "mapi/rule_action.h"
#include "util/printer.h"
#include "util/status.h"

struct fixture {
	void *mem;
	uint8_t in[8192];
	size_t len;
	struct mp_rcursor rc;
	struct mp_pv_rd rd;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->mem = talloc_new(NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	talloc_free(f->mem);
	free(f);
	return 0;
}

static struct mp_pv_rd *reader(struct fixture *f, const char *hex, enum mp_pv_ctx ctx)
{
	f->len = hexbytes(hex, f->in, sizeof(f->in));
	mp_rc_init(&f->rc, f->in, f->len);
	f->rd = (struct mp_pv_rd){.rc = &f->rc, .mem = f->mem, .ctx = ctx};
	return &f->rd;
}

/* Decode one restriction, check everything was read, encode it back. */
static void res_roundtrip(struct fixture *f, const char *hex, enum mp_pv_ctx ctx,
                          struct mp_restriction *r)
{
	struct mp_wbuf wb;
	assert_int_equal(mp_restriction_read(reader(f, hex, ctx), r), MP_OK);
	assert_int_equal(mp_rc_left(&f->rc), 0);
	mp_wb_init(&wb);
	assert_int_equal(mp_restriction_write(&wb, ctx, r), MP_OK);
	assert_int_equal(wb.len, f->len);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);
}

static void test_each_restriction_type(void **state)
{
	struct fixture *f = *state;
	struct mp_restriction r;

	/* And(Exist(PidTagSubject), Not(Bitmask NEZ PidTagMessageFlags & 1)). */
	res_roundtrip(f, "00 02 00 08 1f 00 37 00 02 06 01 03 00 07 0e 01 00 00 00", MP_PV_ROP, &r);
	assert_int_equal(r.rt, MP_RES_AND);
	assert_int_equal(r.u.andor.count, 2);
	assert_int_equal(r.u.andor.subs[0].rt, MP_RES_EXIST);
	assert_int_equal(r.u.andor.subs[1].u.not_->rt, MP_RES_BITMASK);
	assert_int_equal(r.u.andor.subs[1].u.not_->u.bitmask.mask, 1);

	/* Or with no member. */
	res_roundtrip(f, "01 00 00", MP_PV_ROP, &r);
	assert_int_equal(r.u.andor.count, 0);

	/* Content: substring + ignore case, PidTagSubject contains "ab". */
	res_roundtrip(f, "03 01 00 01 00 1f 00 37 00 1f 00 37 00 61 00 62 00 00 00", MP_PV_ROP, &r);
	assert_int_equal(r.u.content.fuzzy_low, 1);
	assert_int_equal(r.u.content.fuzzy_high, 1);
	assert_int_equal(r.u.content.pv.val.v.bin.len, 6);

	/* Property: PidTagImportance == 2. */
	res_roundtrip(f, "04 04 03 00 17 00 03 00 17 00 02 00 00 00", MP_PV_ROP, &r);
	assert_int_equal(r.u.prop.relop, MP_RELOP_EQ);
	assert_int_equal(r.u.prop.pv.val.v.i4, 2);

	/* CompareProperties, Size. */
	res_roundtrip(f, "05 02 40 00 39 00 40 00 06 0e", MP_PV_ROP, &r);
	assert_int_equal(r.u.cmp.tag2, 0x0E060040);
	res_roundtrip(f, "07 02 03 00 08 0e 00 10 00 00", MP_PV_ROP, &r);
	assert_int_equal(r.u.size.size, 4096);

	/* SubObject(PidTagMessageRecipients, Exist(PidTagEmailAddress)). */
	res_roundtrip(f, "09 0d 00 12 0e 08 1f 00 03 30", MP_PV_ROP, &r);
	assert_int_equal(r.u.subobj.subobject, 0x0E12000D);
	assert_int_equal(r.u.subobj.sub->rt, MP_RES_EXIST);

	/* Comment with one tagged value and a restriction, then without. */
	res_roundtrip(f, "0a 01 03 00 01 66 07 00 00 00 01 08 1f 00 37 00", MP_PV_ROP, &r);
	assert_int_equal(r.u.comment.count, 1);
	assert_int_equal(r.u.comment.present, 1);
	assert_non_null(r.u.comment.sub);
	res_roundtrip(f, "0a 01 03 00 01 66 07 00 00 00 00", MP_PV_ROP, &r);
	assert_null(r.u.comment.sub);

	/* Count: at most 5 matches of Exist. */
	res_roundtrip(f, "0b 05 00 00 00 08 1f 00 37 00", MP_PV_ROP, &r);
	assert_int_equal(r.u.count.count, 5);
}

static void test_and_or_count_width_by_context(void **state)
{
	struct fixture *f = *state;
	struct mp_restriction r;
	/* Extended rules: 4-byte counts. */
	res_roundtrip(f, "01 01 00 00 00 08 1f 00 37 00", MP_PV_EXT, &r);
	assert_int_equal(r.u.andor.count, 1);
	/* The same bytes are malformed in a ROP buffer (count 1, then a
	 * restriction of type 0x00 whose count runs out). */
	assert_int_equal(
	    mp_restriction_read(reader(f, "01 01 00 00 00 08 1f 00 37 00", MP_PV_ROP), &r),
	    MP_ERR_PARSE);
}

static void test_nesting_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct mp_restriction r;
	char hex[512] = "";
	/* 40 nested Not, then Exist: deeper than MP_PV_MAX_DEPTH. */
	for (int i = 0; i < 40; i++)
		strcat(hex, "02 ");
	strcat(hex, "08 1f 00 37 00");
	assert_int_equal(mp_restriction_read(reader(f, hex, MP_PV_ROP), &r), MP_ERR_LIMIT);
	/* 20 deep is fine. */
	hex[0] = 0;
	for (int i = 0; i < 20; i++)
		strcat(hex, "02 ");
	strcat(hex, "08 1f 00 37 00");
	res_roundtrip(f, hex, MP_PV_ROP, &r);
}

static void test_malformed_restrictions(void **state)
{
	struct fixture *f = *state;
	struct mp_restriction r;
	size_t before = talloc_total_size(f->mem);
	/* Unknown type, truncated fields, a count far past the bytes sent. */
	assert_int_equal(mp_restriction_read(reader(f, "0c", MP_PV_ROP), &r), MP_ERR_PARSE);
	assert_int_equal(mp_restriction_read(reader(f, "08 1f 00", MP_PV_ROP), &r), MP_ERR_PARSE);
	assert_int_equal(mp_restriction_read(reader(f, "00 ff ff 08", MP_PV_ROP), &r),
	                 MP_ERR_PARSE);
	assert_int_equal(mp_restriction_read(reader(f, "01 ff ff ff 7f", MP_PV_EXT), &r),
	                 MP_ERR_PARSE);
	assert_true(talloc_total_size(f->mem) - before < 4096);
	/* A property restriction whose value type has no wire form. */
	assert_int_equal(
	    mp_restriction_read(reader(f, "04 04 0d 00 01 37 0d 00 01 37", MP_PV_ROP), &r),
	    MP_ERR_UNSUPPORTED);
}

static void actions_roundtrip(struct fixture *f, const char *hex, enum mp_pv_ctx ctx,
                              struct mp_rule_actions *a)
{
	struct mp_wbuf wb;
	assert_int_equal(mp_rule_actions_read(reader(f, hex, ctx), a), MP_OK);
	assert_int_equal(mp_rc_left(&f->rc), 0);
	mp_wb_init(&wb);
	assert_int_equal(mp_rule_actions_write(&wb, ctx, a), MP_OK);
	assert_int_equal(wb.len, f->len);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);
}

static void test_standard_rule_actions(void **state)
{
	struct fixture *f = *state;
	struct mp_rule_actions a;

	/* OP_MOVE: FolderInThisStore 1, StoreEID (0 bytes), FolderEID (3 bytes). */
	actions_roundtrip(f, "01 00 11 00 01 00 00 00 00 00 00 00 00 01 00 00 03 00 aa bb cc",
	                  MP_PV_ROP, &a);
	assert_int_equal(a.blocks[0].type, MP_OP_MOVE);
	assert_true(a.blocks[0].parsed);
	assert_int_equal(a.blocks[0].u.movecopy.in_this_store, 1);
	assert_int_equal(a.blocks[0].u.movecopy.folder_eid.len, 3);

	/* OP_REPLY: FID, MID, GUID; then OP_BOUNCE with its code. */
	actions_roundtrip(f,
	                  "02 00"
	                  " 29 00 03 00 00 00 00 00 00 00 00"
	                  " 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00"
	                  " 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
	                  " 0d 00 06 00 00 00 00 00 00 00 00 26 00 00 00",
	                  MP_PV_ROP, &a);
	assert_int_equal(a.count, 2);
	assert_int_equal(a.blocks[0].u.reply.mid, 2);
	assert_int_equal(a.blocks[1].u.bounce, 0x26);

	/* OP_FORWARD to one recipient block with one value; OP_TAG; OP_DELETE. */
	actions_roundtrip(f,
	                  "03 00"
	                  " 16 00 07 00 00 00 00 00 00 00 00 01 00 01 01 00 1f 00 01 30 61 00 00 00"
	                  " 11 00 09 00 00 00 00 00 00 00 00 03 00 17 00 01 00 00 00"
	                  " 09 00 0a 00 00 00 00 00 00 00 00",
	                  MP_PV_ROP, &a);
	assert_int_equal(a.blocks[0].u.fwd.count, 1);
	assert_int_equal(a.blocks[0].u.fwd.blocks[0].count, 1);
	assert_int_equal(a.blocks[1].u.tag.tag, 0x00170003);
	assert_int_equal(a.blocks[2].type, MP_OP_DELETE);

	/* OP_DEFER_ACTION: opaque data, kept as sent. */
	actions_roundtrip(f, "01 00 0c 00 05 00 00 00 00 00 00 00 00 de ad be", MP_PV_ROP, &a);
	assert_int_equal(a.blocks[0].data.len, 3);
}

static void test_extended_rule_actions(void **state)
{
	struct fixture *f = *state;
	struct mp_rule_actions a;
	/* Extended OP_COPY: 4-byte counts and sizes, no FolderInThisStore. */
	actions_roundtrip(f,
	                  "01 00 00 00 13 00 00 00 02 00 00 00 00 00 00 00 00"
	                  " 01 00 00 00 aa 01 00 00 00 bb",
	                  MP_PV_EXT, &a);
	assert_true(a.extended);
	assert_true(a.blocks[0].parsed);
	assert_int_equal(a.blocks[0].u.movecopy.store_eid.len, 1);
	/* Extended OP_OOF_REPLY: MessageEIDSize, MessageEID, GUID. */
	actions_roundtrip(f,
	                  "01 00 00 00 1e 00 00 00 04 00 00 00 00 00 00 00 00"
	                  " 01 00 00 00 ee 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
	                  MP_PV_EXT, &a);
	assert_int_equal(a.blocks[0].u.ext_reply.msg_eid.len, 1);
}

static void test_undecodable_action_data_kept(void **state)
{
	struct fixture *f = *state;
	struct mp_rule_actions a;
	/* Unknown ActionType 0x20, and an OP_BOUNCE with two bytes too many:
	 * both stay as bytes and are written back unchanged. */
	actions_roundtrip(f,
	                  "02 00 0b 00 20 00 00 00 00 00 00 00 00 01 02"
	                  " 0f 00 06 00 00 00 00 00 00 00 00 26 00 00 00 ff ff",
	                  MP_PV_ROP, &a);
	assert_false(a.blocks[0].parsed);
	assert_false(a.blocks[1].parsed);
	assert_int_equal(a.blocks[1].data.len, 6);
	/* ActionLength shorter than the block header, or past the end. */
	assert_int_equal(mp_rule_actions_read(reader(f, "01 00 04 00 01 00 00 00", MP_PV_ROP), &a),
	                 MP_ERR_PARSE);
	assert_int_equal(mp_rule_actions_read(
	                     reader(f, "01 00 ff 00 01 00 00 00 00 00 00 00 00", MP_PV_ROP), &a),
	                 MP_ERR_PARSE);
	/* More actions announced than bytes sent. */
	assert_int_equal(mp_rule_actions_read(reader(f, "ff ff 09 00", MP_PV_ROP), &a),
	                 MP_ERR_PARSE);
}

static void test_print(void **state)
{
	struct fixture *f = *state;
	struct mp_restriction r;
	struct mp_rule_actions a;
	struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);

	res_roundtrip(f, "04 04 03 00 17 00 03 00 17 00 02 00 00 00", MP_PV_ROP, &r);
	mp_restriction_print(p, "r", &r);
	assert_non_null(strstr(mp_printer_output(p, NULL), "RES_PROPERTY"));
	assert_non_null(strstr(mp_printer_output(p, NULL), "RELOP_EQ"));
	mp_printer_reset(p);
	actions_roundtrip(f, "01 00 0d 00 06 00 00 00 00 00 00 00 00 26 00 00 00", MP_PV_ROP, &a);
	mp_rule_actions_print(p, "a", &a);
	assert_non_null(strstr(mp_printer_output(p, NULL), "OP_BOUNCE"));
	assert_false(mp_printer_failed(p));
	mp_printer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_each_restriction_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_and_or_count_width_by_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nesting_is_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_restrictions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_standard_rule_actions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extended_rule_actions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_undecodable_action_data_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_print, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
