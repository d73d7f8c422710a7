/* Unit tests: property values (MS-OXCDATA 2.6-2.11), mapi/propval.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <talloc.h>

#include "hexbytes.h"
#include "mapi/propval.h"
#include "mapi/restriction.h"
#include "mapi/rule_action.h"
#include "util/printer.h"
#include "util/status.h"

struct fixture {
	void *mem;
	uint8_t in[4096];
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

/* Encoding what was decoded gives back the input, all of it consumed. */
static void assert_value_roundtrip(struct fixture *f, uint16_t type, enum mp_pv_ctx ctx,
                                   const char *hex, struct mp_propval *out)
{
	struct mp_wbuf wb;
	assert_int_equal(mp_pv_read(reader(f, hex, ctx), type, out), MP_OK);
	assert_int_equal(mp_rc_left(&f->rc), 0);
	mp_wb_init(&wb);
	assert_int_equal(mp_pv_write(&wb, ctx, out), MP_OK);
	assert_int_equal(wb.len, f->len);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);
}

static void test_fixed_size_types(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;

	assert_value_roundtrip(f, MP_PT_INTEGER16, MP_PV_ROP, "fe ff", &v);
	assert_int_equal((int16_t)v.v.i2, -2);
	assert_value_roundtrip(f, MP_PT_INTEGER32, MP_PV_ROP, "78 56 34 12", &v);
	assert_int_equal(v.v.i4, 0x12345678);
	assert_value_roundtrip(f, MP_PT_ERRORCODE, MP_PV_ROP, "0f 01 04 80", &v);
	assert_int_equal(v.v.i4, 0x8004010F);
	assert_value_roundtrip(f, MP_PT_INTEGER64, MP_PV_ROP, "08 07 06 05 04 03 02 01", &v);
	assert_true(v.v.i8 == 0x0102030405060708ull);
	/* Booleans keep the byte sent, even when it is neither 0 nor 1. */
	assert_value_roundtrip(f, MP_PT_BOOLEAN, MP_PV_ROP, "02", &v);
	assert_int_equal(v.v.b, 2);
	/* 1.5f and 2.5 as bit patterns; a NaN payload survives too. */
	assert_value_roundtrip(f, MP_PT_FLOATING32, MP_PV_ROP, "00 00 c0 3f", &v);
	float fl;
	memcpy(&fl, &v.v.i4, 4);
	assert_true(fl == 1.5f);
	assert_value_roundtrip(f, MP_PT_FLOATING64, MP_PV_ROP, "00 00 00 00 00 00 04 40", &v);
	assert_value_roundtrip(f, MP_PT_FLOATINGTIME, MP_PV_ROP, "01 00 00 00 00 00 f8 7f", &v);
	assert_value_roundtrip(f, MP_PT_CURRENCY, MP_PV_ROP, "10 27 00 00 00 00 00 00", &v);
	assert_int_equal(v.v.i8, 10000);
	assert_value_roundtrip(f, MP_PT_TIME, MP_PV_ROP, "00 80 3e d5 de b1 9d 01", &v);
	assert_value_roundtrip(f, MP_PT_GUID, MP_PV_ROP,
	                       "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", &v);
	assert_int_equal(v.v.bin.len, 16);
	assert_int_equal(v.v.bin.data[15], 0x0f);
	assert_value_roundtrip(f, MP_PT_NULL, MP_PV_ROP, "", &v);
}

static void test_strings_keep_terminator(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;

	/* "Hi" in UTF-16LE; the terminator is found on an even offset only. */
	assert_value_roundtrip(f, MP_PT_STRING, MP_PV_ROP, "48 00 69 00 00 00", &v);
	assert_int_equal(v.v.bin.len, 6);
	assert_value_roundtrip(f, MP_PT_STRING8, MP_PV_ROP, "48 69 00", &v);
	assert_int_equal(v.v.bin.len, 3);
	/* 0x00 0x48 then 0x00 0x00 at offset 2: the odd-offset pair is no terminator. */
	assert_value_roundtrip(f, MP_PT_STRING, MP_PV_ROP, "41 00 00 48 00 00", &v);
	assert_int_equal(v.v.bin.len, 6);
	/* Empty strings. */
	assert_value_roundtrip(f, MP_PT_STRING, MP_PV_ROP, "00 00", &v);
	assert_value_roundtrip(f, MP_PT_STRING8, MP_PV_ROP, "00", &v);
}

static void test_unterminated_strings_refused(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;
	assert_int_equal(mp_pv_read(reader(f, "48 00 69 00", MP_PV_ROP), MP_PT_STRING, &v),
	                 MP_ERR_PARSE);
	assert_int_equal(mp_pv_read(reader(f, "48 69", MP_PV_ROP), MP_PT_STRING8, &v),
	                 MP_ERR_PARSE);
	/* An odd byte count cannot hold a UTF-16 terminator. */
	assert_int_equal(mp_pv_read(reader(f, "00", MP_PV_ROP), MP_PT_STRING, &v), MP_ERR_PARSE);
}

static void test_binary_count_width_by_context(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;

	/* ROP buffers: 16-bit count. */
	assert_value_roundtrip(f, MP_PT_BINARY, MP_PV_ROP, "03 00 aa bb cc", &v);
	assert_int_equal(v.v.bin.len, 3);
	/* Extended rules: 32-bit count. */
	assert_value_roundtrip(f, MP_PT_BINARY, MP_PV_EXT, "03 00 00 00 aa bb cc", &v);
	assert_int_equal(v.v.bin.len, 3);
	/* The same bytes read in the wrong context do not fit. */
	assert_int_equal(mp_pv_read(reader(f, "03 00 aa bb cc", MP_PV_EXT), MP_PT_BINARY, &v),
	                 MP_ERR_PARSE);
}

static void test_serverid(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;
	uint64_t fid, mid;
	uint32_t inst;

	/* COUNT 21, Ours 1, FolderId, MessageId, Instance. */
	assert_value_roundtrip(f, MP_PT_SERVERID, MP_PV_ROP,
	                       "15 00 01 01 00 00 00 00 00 00 01 02 00 00 00 00 00 00 02"
	                       " 03 00 00 00",
	                       &v);
	assert_true(mp_serverid_ids(&v.v.bin, &fid, &mid, &inst));
	assert_true(fid == 0x0100000000000001ull);
	assert_true(mid == 0x0200000000000002ull);
	assert_int_equal(inst, 3);
	/* Ours 0: client data. */
	assert_value_roundtrip(f, MP_PT_SERVERID, MP_PV_ROP, "04 00 00 aa bb cc", &v);
	assert_false(mp_serverid_ids(&v.v.bin, &fid, &mid, &inst));
	/* COUNT 0 has no Ours byte: malformed. */
	assert_int_equal(mp_pv_read(reader(f, "00 00", MP_PV_ROP), MP_PT_SERVERID, &v),
	                 MP_ERR_PARSE);
}

static void test_multivalued(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;

	assert_value_roundtrip(f, MP_PT_MV | MP_PT_INTEGER16, MP_PV_ROP, "02 00 00 00 01 00 02 00",
	                       &v);
	assert_int_equal(v.v.mv.count, 2);
	assert_int_equal(v.v.mv.i2[1], 2);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_INTEGER32, MP_PV_ROP, "01 00 00 00 ff ff ff ff",
	                       &v);
	assert_int_equal(v.v.mv.i4[0], 0xffffffff);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_FLOATING32, MP_PV_ROP, "01 00 00 00 00 00 80 3f",
	                       &v);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_FLOATING64, MP_PV_ROP,
	                       "01 00 00 00 00 00 00 00 00 00 f0 3f", &v);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_CURRENCY, MP_PV_ROP,
	                       "01 00 00 00 01 00 00 00 00 00 00 00", &v);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_FLOATINGTIME, MP_PV_ROP,
	                       "01 00 00 00 00 00 00 00 00 00 f0 3f", &v);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_INTEGER64, MP_PV_ROP,
	                       "02 00 00 00 01 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00", &v);
	assert_int_equal(v.v.mv.i8[1], 2);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_TIME, MP_PV_ROP,
	                       "01 00 00 00 00 80 3e d5 de b1 9d 01", &v);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_GUID, MP_PV_ROP,
	                       "01 00 00 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", &v);
	assert_int_equal(v.v.mv.guid[0][1], 1);
	/* Strings: a 32-bit count, then terminated strings. */
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_STRING, MP_PV_ROP,
	                       "02 00 00 00 61 00 00 00 62 00 63 00 00 00", &v);
	assert_int_equal(v.v.mv.count, 2);
	assert_int_equal(v.v.mv.bin[1].len, 6);
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_STRING8, MP_PV_ROP, "02 00 00 00 61 00 00", &v);
	/* Binary: 32-bit value count, 16-bit byte counts in ROP buffers ... */
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_BINARY, MP_PV_ROP, "02 00 00 00 01 00 aa 00 00",
	                       &v);
	assert_int_equal(v.v.mv.bin[0].len, 1);
	assert_int_equal(v.v.mv.bin[1].len, 0);
	/* ... and 32-bit ones in extended rules. */
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_BINARY, MP_PV_EXT, "01 00 00 00 01 00 00 00 aa",
	                       &v);
	/* An empty multi-value. */
	assert_value_roundtrip(f, MP_PT_MV | MP_PT_INTEGER32, MP_PV_ROP, "00 00 00 00", &v);
	assert_int_equal(v.v.mv.count, 0);
}

static void test_counts_checked_before_allocating(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;
	size_t before = talloc_total_size(f->mem);

	/* 0x7fffffff values announced, 4 bytes sent. */
	assert_int_equal(mp_pv_read(reader(f, "ff ff ff 7f 01 00 02 00", MP_PV_ROP),
	                            MP_PT_MV | MP_PT_INTEGER64, &v),
	                 MP_ERR_PARSE);
	assert_int_equal(
	    mp_pv_read(reader(f, "ff ff ff ff 00", MP_PV_ROP), MP_PT_MV | MP_PT_STRING8, &v),
	    MP_ERR_PARSE);
	assert_int_equal(mp_pv_read(reader(f, "ff ff 01", MP_PV_ROP), MP_PT_BINARY, &v),
	                 MP_ERR_PARSE);
	assert_true(talloc_total_size(f->mem) - before < 1024);
}

static void test_multivalue_instance_reads_one_value(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;
	/* A PtypMultipleString column with the MVI bit: one string per row. */
	assert_value_roundtrip(f, MP_PT_MVI | MP_PT_MV | MP_PT_STRING, MP_PV_ROP, "61 00 00 00",
	                       &v);
	assert_int_equal(v.type, MP_PT_STRING);
	/* MVI without MV is not a type. */
	assert_int_equal(mp_pv_read(reader(f, "00 00", MP_PV_ROP), MP_PT_MVI | MP_PT_INTEGER16, &v),
	                 MP_ERR_PARSE);
}

static void test_types_without_wire_form(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;
	assert_int_equal(mp_pv_read(reader(f, "00 00", MP_PV_ROP), MP_PT_OBJECT, &v),
	                 MP_ERR_UNSUPPORTED);
	assert_int_equal(mp_pv_read(reader(f, "00 00", MP_PV_ROP), MP_PT_UNSPECIFIED, &v),
	                 MP_ERR_UNSUPPORTED);
	assert_int_equal(mp_pv_read(reader(f, "00 00", MP_PV_ROP), 0x0099, &v), MP_ERR_UNSUPPORTED);
	assert_int_equal(mp_pv_read(reader(f, "00 00 00 00", MP_PV_ROP), MP_PT_MV | 0x0099, &v),
	                 MP_ERR_UNSUPPORTED);
}

static void test_restriction_and_rule_action_values(void **state)
{
	struct fixture *f = *state;
	struct mp_propval v;
	/* PtypRestriction: an Exist restriction on PidTagSubject. */
	assert_value_roundtrip(f, MP_PT_RESTRICTION, MP_PV_ROP, "08 1f 00 37 00", &v);
	assert_int_equal(v.v.res->rt, MP_RES_EXIST);
	assert_int_equal(v.v.res->u.exist.tag, 0x0037001F);
	/* PtypRuleAction: one OP_MARK_AS_READ block. */
	assert_value_roundtrip(f, MP_PT_RULEACTION, MP_PV_ROP,
	                       "01 00 09 00 0b 00 00 00 00 00 00 00 00", &v);
	assert_int_equal(v.v.act->count, 1);
	assert_int_equal(v.v.act->blocks[0].type, MP_OP_MARK_AS_READ);
	assert_true(v.v.act->blocks[0].parsed);
}

static void test_tagged_and_typed(void **state)
{
	struct fixture *f = *state;
	struct mp_tagged_pv tpv;
	struct mp_propval v;
	struct mp_wbuf wb;

	/* From the MS-OXCPRPT 4.2.1 example: PidTagSubject "Hello World". */
	const char *hex = "1f 00 37 00 48 00 65 00 6c 00 6c 00 6f 00 00 00";
	assert_int_equal(mp_tagged_pv_read(reader(f, hex, MP_PV_ROP), &tpv), MP_OK);
	assert_int_equal(tpv.tag, 0x0037001F);
	assert_int_equal(tpv.val.v.bin.len, 12);
	mp_wb_init(&wb);
	assert_int_equal(mp_tagged_pv_write(&wb, MP_PV_ROP, &tpv), MP_OK);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);

	/* A tagged value cannot carry PtypUnspecified. */
	assert_int_equal(mp_tagged_pv_read(reader(f, "00 00 37 00", MP_PV_ROP), &tpv),
	                 MP_ERR_PARSE);

	/* TypedPropertyValue: the type, then the value. */
	assert_int_equal(mp_typed_pv_read(reader(f, "03 00 2a 00 00 00", MP_PV_ROP), &v), MP_OK);
	assert_int_equal(v.type, MP_PT_INTEGER32);
	assert_int_equal(v.v.i4, 42);
	mp_wb_init(&wb);
	assert_int_equal(mp_typed_pv_write(&wb, MP_PV_ROP, &v), MP_OK);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);
}

static void test_standard_and_flagged_rows(void **state)
{
	struct fixture *f = *state;
	struct mp_prop_row row;
	struct mp_wbuf wb;
	const uint32_t cols[] = {0x0E080003, 0x0037001F, 0x00000000};

	/* Standard row: Integer32, String, then a PtypUnspecified column that
	 * sends its type (TypedPropertyValue). */
	const char *std = "00 10 00 00 00 41 00 00 00 0b 00 01";
	assert_int_equal(mp_prop_row_read(reader(f, std, MP_PV_ROP), cols, 3, &row), MP_OK);
	assert_int_equal(row.flag, MP_ROW_STANDARD);
	assert_int_equal(row.vals[0].val.v.i4, 16);
	assert_true(row.vals[2].has_type);
	assert_int_equal(row.vals[2].type_sent, MP_PT_BOOLEAN);
	assert_int_equal(row.vals[2].val.v.b, 1);
	mp_wb_init(&wb);
	assert_int_equal(mp_prop_row_write(&wb, MP_PV_ROP, &row), MP_OK);
	assert_int_equal(wb.len, f->len);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);

	/* Flagged row: a value, "no value", and (FlaggedPropertyValueWithType)
	 * type + error flag + error code. */
	const char *flg = "01 00 10 00 00 00 01 0b 00 0a 0f 01 04 80";
	assert_int_equal(mp_prop_row_read(reader(f, flg, MP_PV_ROP), cols, 3, &row), MP_OK);
	assert_int_equal(row.flag, MP_ROW_FLAGGED);
	assert_int_equal(row.vals[0].flag, MP_PV_FLAG_VALUE);
	assert_int_equal(row.vals[1].flag, MP_PV_FLAG_NONE);
	assert_int_equal(row.vals[2].flag, MP_PV_FLAG_ERROR);
	assert_int_equal(row.vals[2].val.v.i4, 0x8004010F);
	mp_wb_init(&wb);
	assert_int_equal(mp_prop_row_write(&wb, MP_PV_ROP, &row), MP_OK);
	assert_int_equal(wb.len, f->len);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);

	/* Unknown row flag, unknown value flag. */
	assert_int_equal(mp_prop_row_read(reader(f, "02 00", MP_PV_ROP), cols, 1, &row),
	                 MP_ERR_PARSE);
	assert_int_equal(mp_prop_row_read(reader(f, "01 07", MP_PV_ROP), cols, 1, &row),
	                 MP_ERR_PARSE);
}

static void test_property_names(void **state)
{
	struct fixture *f = *state;
	struct mp_prop_name pn;
	struct mp_wbuf wb;
	const char *guid = "29 03 02 00 00 00 00 00 c0 00 00 00 00 00 00 46";
	char hex[256];

	/* Kind LID. */
	snprintf(hex, sizeof(hex), "00 %s 1c 85 00 00", guid);
	assert_int_equal(mp_prop_name_read(reader(f, hex, MP_PV_ROP), &pn), MP_OK);
	assert_int_equal(pn.kind, MP_PNAME_LID);
	assert_int_equal(pn.lid, 0x851C);
	assert_int_equal(mp_rc_left(&f->rc), 0);
	/* Kind Name: NameSize bytes of UTF-16 ("ab" + terminator). */
	snprintf(hex, sizeof(hex), "01 %s 06 61 00 62 00 00 00", guid);
	assert_int_equal(mp_prop_name_read(reader(f, hex, MP_PV_ROP), &pn), MP_OK);
	assert_int_equal(pn.name.len, 6);
	mp_wb_init(&wb);
	assert_int_equal(mp_prop_name_write(&wb, &pn), MP_OK);
	assert_memory_equal(wb.data, f->in, f->len);
	mp_wb_free(&wb);
	/* Kind 0xFF: the GUID only. */
	snprintf(hex, sizeof(hex), "ff %s", guid);
	assert_int_equal(mp_prop_name_read(reader(f, hex, MP_PV_ROP), &pn), MP_OK);
	assert_int_equal(mp_rc_left(&f->rc), 0);
	/* Unknown kind; a name longer than the buffer. */
	snprintf(hex, sizeof(hex), "02 %s", guid);
	assert_int_equal(mp_prop_name_read(reader(f, hex, MP_PV_ROP), &pn), MP_ERR_PARSE);
	snprintf(hex, sizeof(hex), "01 %s 10 61 00", guid);
	assert_int_equal(mp_prop_name_read(reader(f, hex, MP_PV_ROP), &pn), MP_ERR_PARSE);
}

static void test_problems_and_tags(void **state)
{
	struct fixture *f = *state;
	struct mp_prop_problem pp;
	uint32_t *tags;

	assert_int_equal(
	    mp_prop_problem_read(reader(f, "01 00 1f 00 37 00 05 00 07 80", MP_PV_ROP), &pp),
	    MP_OK);
	assert_int_equal(pp.index, 1);
	assert_int_equal(pp.tag, 0x0037001F);
	assert_int_equal(pp.err, 0x80070005);
	assert_int_equal(
	    mp_prop_tags_read(reader(f, "1f 00 37 00 03 00 08 0e", MP_PV_ROP), 2, &tags), MP_OK);
	assert_int_equal(tags[1], 0x0E080003);
	assert_int_equal(mp_prop_tags_read(reader(f, "1f 00 37 00", MP_PV_ROP), 1000000, &tags),
	                 MP_ERR_PARSE);
}

static void test_print_names_and_redaction(void **state)
{
	struct fixture *f = *state;
	struct mp_tagged_pv tpv;
	struct mp_printer *p = mp_printer_new(MP_PRINT_JSON);
	const char *out;

	assert_int_equal(
	    mp_tagged_pv_read(reader(f, "1f 00 37 00 48 00 69 00 00 00", MP_PV_ROP), &tpv), MP_OK);
	mp_tagged_pv_print(p, "v", &tpv);
	out = mp_printer_output(p, NULL);
	assert_non_null(strstr(out, "PidTagSubject"));
	assert_non_null(strstr(out, "\"Hi\""));

	/* PidTagPstPasswordSzNew (0x6704001F) is a password: never printed. */
	mp_printer_reset(p);
	assert_int_equal(
	    mp_tagged_pv_read(reader(f, "1f 00 04 67 73 00 65 00 63 00 00 00", MP_PV_ROP), &tpv),
	    MP_OK);
	mp_tagged_pv_print(p, "v", &tpv);
	out = mp_printer_output(p, NULL);
	assert_null(strstr(out, "sec"));
	assert_non_null(strstr(out, "redacted"));
	mp_printer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fixed_size_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_strings_keep_terminator, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unterminated_strings_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binary_count_width_by_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serverid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multivalued, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counts_checked_before_allocating, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multivalue_instance_reads_one_value, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_types_without_wire_form, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restriction_and_rule_action_values, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_tagged_and_typed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_standard_and_flagged_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_property_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_problems_and_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_print_names_and_redaction, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
