/*
 * Golden vectors: the ROP byte dumps of the protocol-example sections of
 * MS-OXCPRPT, MS-OXCTABL, MS-OXCFOLD and MS-OXOMSG (section 4), decoded
 * field by field and re-encoded byte-exact. The examples show single ROPs;
 * each is wrapped in a ROP buffer (RopSize and a handle table) as it would
 * travel. Where an example has a request and its response, the response
 * is decoded against the request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <talloc.h>

#include "hexbytes.h"
#include "mapi/propval.h"
#include "mapi/rop.h"
#include "util/printer.h"
#include "util/status.h"

static void *mem;

static int setup(void **state)
{
	mem = talloc_new(NULL);
	return 0;
}

static int teardown(void **state)
{
	talloc_free(mem);
	return 0;
}

/* Wrap one example ROP in a buffer with `handles`, decode it, check the
 * re-encoding and that the ROP decoded whole; return it. */
static const struct mp_rop *vector(const char *rop_hex, const char *handles_hex, bool response,
                                   const struct mp_rop_buf *req, struct mp_rop_buf **bufp)
{
	uint8_t b[512];
	size_t n = hexbytes(rop_hex, b + 2, sizeof(b) - 2);
	mp_put_u16(b, (uint16_t)(n + 2));
	size_t len = 2 + n + hexbytes(handles_hex, b + 2 + n, sizeof(b) - 2 - n);
	struct mp_rop_buf *buf = NULL;
	assert_int_equal(mp_rop_buf_decode(mem, b, len, response, req, NULL, &buf), MP_OK);
	assert_int_equal(buf->count, 1);
	assert_false(buf->rops[0]->opaque);
	assert_int_equal(buf->rops[0]->raw_len, n);

	struct mp_wbuf wb;
	mp_wb_init(&wb);
	assert_int_equal(mp_rop_buf_encode(buf, &wb), MP_OK);
	assert_int_equal(wb.len, len);
	assert_memory_equal(wb.data, b, len);
	mp_wb_free(&wb);
	if (bufp)
		*bufp = buf;
	return buf->rops[0];
}

static uint64_t u(const struct mp_rop *rop, const char *name)
{
	uint64_t v = 0;
	if (!mp_rop_get_uint(rop, name, &v))
		fail_msg("%s: no field %s", mp_rop_get_name(rop), name);
	return v;
}

static uint32_t retval(const struct mp_rop *rop)
{
	uint32_t rv = 0xffffffff;
	assert_true(mp_rop_return_value(rop, &rv));
	return rv;
}

/* ---- MS-OXCPRPT ---- */

static void test_oxcprpt_set_properties(void **state)
{
	struct mp_rop_buf *req;
	/* 4.2.1: PidTagSubjectPrefix "" and PidTagNormalizedSubject "Hello World". */
	const struct mp_rop *r = vector(
	    "0A 00 00 24 00 02 00 1F 00 3D 00 00 00 1F 00 1D 0E 48 00 65 00 6C 00 6C 00 6F 00 20"
	    " 00 57 00 6F 00 72 00 6C 00 64 00 00 00",
	    "01 00 00 00", false, NULL, &req);
	assert_int_equal(r->id, 0x0A);
	assert_int_equal(u(r, "PropertyValueSize"), 0x24);
	assert_int_equal(u(r, "PropertyValueCount"), 2);
	const struct mp_rop_val *v = mp_rop_field(r, "PropertyValues");
	const struct mp_tagged_pv *tpv = v->p;
	assert_int_equal(v->n, 2);
	assert_int_equal(tpv[0].tag, 0x003D001F);
	assert_int_equal(tpv[0].val.v.bin.len, 2);
	assert_int_equal(tpv[1].tag, 0x0E1D001F);
	assert_int_equal(tpv[1].val.v.bin.len, 24);
	assert_memory_equal(tpv[1].val.v.bin.data, "H\0e\0l\0l\0o\0 \0W\0o\0r\0l\0d\0\0", 24);

	/* 4.2.2: success, no property problems. */
	r = vector("0A 00 00 00 00 00 00 00", "01 00 00 00", true, req, NULL);
	assert_ptr_equal(r->req, req->rops[0]);
	assert_int_equal(retval(r), 0);
	assert_int_equal(u(r, "PropertyProblemCount"), 0);
}

static void test_oxcprpt_get_properties_specific_request(void **state)
{
	/* 4.3.1: a Boolean and an Integer32 named property, PidTagChangeKey. */
	const struct mp_rop *r =
	    vector("07 00 00 00 00 01 00 03 00 0B 00 3E 86 03 00 3F 86 02 01 E2 65", "01 00 00 00",
	           false, NULL, NULL);
	assert_int_equal(u(r, "PropertySizeLimit"), 0);
	assert_int_equal(u(r, "WantUnicode"), 1);
	const struct mp_rop_val *tags = mp_rop_field(r, "PropertyTags");
	assert_int_equal(tags->n, 3);
	assert_int_equal(((const uint32_t *)tags->p)[0], 0x863E000B);
	assert_int_equal(((const uint32_t *)tags->p)[1], 0x863F0003);
	assert_int_equal(((const uint32_t *)tags->p)[2], 0x65E20102);
}

static void test_oxcprpt_get_property_ids_from_names_response(void **state)
{
	/* 4.1.2: two named properties mapped to 0x863E and 0x863F. */
	const struct mp_rop *r =
	    vector("56 00 00 00 00 00 02 00 3E 86 3F 86", "01 00 00 00", true, NULL, NULL);
	assert_int_equal(retval(r), 0);
	assert_int_equal(u(r, "PropertyIdCount"), 2);
	const struct mp_rop_val *ids = mp_rop_field(r, "PropertyIds");
	struct mp_rop_vals *const *e = ids->p;
	assert_int_equal(ids->n, 2);
	assert_int_equal(e[0]->v[0].u, 0x863E);
	assert_int_equal(e[1]->v[0].u, 0x863F);
}

/* ---- MS-OXCTABL ---- */

static void test_oxctabl_contents_table_and_columns(void **state)
{
	/* 4.1.1 RopGetContentsTable: folder at index 0, table to index 1. */
	const struct mp_rop *r =
	    vector("05 00 00 01 00", "01 00 00 00 ff ff ff ff", false, NULL, NULL);
	assert_int_equal(mp_rop_input_index(r), 0);
	assert_int_equal(mp_rop_output_index(r), 1);
	assert_int_equal(u(r, "TableFlags"), 0);

	/* 4.2.1 RopSetColumns: six columns on the table at index 1. */
	r = vector("12 00 01 00 06 00 14 00 48 67 14 00 4a 67 14 00 4d 67 03 00 4e 67 1f 00 37 00"
	           " 40 00 06 0e",
	           "01 00 00 00 02 00 00 00", false, NULL, NULL);
	assert_int_equal(mp_rop_input_index(r), 1);
	assert_int_equal(u(r, "SetColumnsFlags"), 0);
	const struct mp_rop_val *tags = mp_rop_field(r, "PropertyTags");
	assert_int_equal(tags->n, 6);
	assert_int_equal(((const uint32_t *)tags->p)[0], 0x67480014);
	assert_int_equal(((const uint32_t *)tags->p)[5], 0x0E060040);
}

static void test_oxctabl_sort_table(void **state)
{
	struct mp_rop_buf *req;
	/* 4.3.1: two sort orders, one category, expanded. */
	const struct mp_rop *r =
	    vector("13 00 00 00 02 00 01 00 01 00 1f 30 08 80 00 40 00 06 0e 01", "01 00 00 00",
	           false, NULL, &req);
	assert_int_equal(u(r, "SortOrderCount"), 2);
	assert_int_equal(u(r, "CategoryCount"), 1);
	assert_int_equal(u(r, "ExpandedCount"), 1);
	const struct mp_rop_val *so = mp_rop_field(r, "SortOrders");
	struct mp_rop_vals *const *e = so->p;
	assert_int_equal(so->n, 2);
	assert_int_equal(e[0]->v[0].u, 0x8008301F);
	assert_int_equal(e[0]->v[1].u, 0x00);
	assert_int_equal(e[1]->v[0].u, 0x0E060040);
	assert_int_equal(e[1]->v[1].u, 0x01);

	/* 4.3.2: TBLSTAT_COMPLETE. */
	r = vector("13 01 00 00 00 00 00", "01 00 00 00", true, req, NULL);
	assert_ptr_equal(r->req, req->rops[0]);
	assert_int_equal(retval(r), 0);
	assert_int_equal(u(r, "TableStatus"), 0);
}

/* ---- MS-OXCFOLD ---- */

static void test_oxcfold_create_folder(void **state)
{
	struct mp_rop_buf *req;
	/* 4.1.1: generic folder "Folder1", Unicode, empty comment. */
	const struct mp_rop *r =
	    vector("1C 00 00 01 01 01 00 00 46 00 6F 00 6C 00 64 00 65 00 72 00 31 00 00 00 00 00",
	           "01 00 00 00 ff ff ff ff", false, NULL, &req);
	assert_int_equal(u(r, "FolderType"), 1);
	assert_int_equal(u(r, "UseUnicodeStrings"), 1);
	assert_int_equal(u(r, "OpenExisting"), 0);
	const struct mp_rop_val *name = mp_rop_field(r, "DisplayName");
	assert_int_equal(name->n, 16);
	assert_memory_equal(name->bytes,
	                    "F\0o\0l\0d\0e\0r\0"
	                    "1\0\0",
	                    16);
	assert_int_equal(mp_rop_field(r, "Comment")->n, 2);

	/* 4.1.2: FolderId 0001-00000E915212, a new folder. */
	r = vector("1C 01 00 00 00 00 01 00 00 00 0E 91 52 12 00", "01 00 00 00 22 00 00 00", true,
	           req, NULL);
	assert_ptr_equal(r->req, req->rops[0]);
	assert_int_equal(mp_rop_response_index(r), 1);
	assert_int_equal(u(r, "FolderId"), 0x1252910E00000001ull);
	assert_int_equal(u(r, "IsExistingFolder"), 0);
	assert_null(mp_rop_field(r, "HasRules"));
	/* Printed the way the example writes it. */
	struct mp_printer *p = mp_printer_new(MP_PRINT_TEXT);
	mp_rop_print(p, NULL, r);
	assert_non_null(strstr(mp_printer_output(p, NULL), "FolderId: 0001-00000E915212"));
	mp_printer_free(p);
}

static void test_oxcfold_delete_move_copy(void **state)
{
	struct mp_rop_buf *req;
	/* 4.2.1 / 4.2.2 RopDeleteFolder with DEL_MESSAGES | DEL_FOLDERS. */
	const struct mp_rop *r = vector("1D 00 01 05 01 00 00 00 0E 8E DF 36",
	                                "01 00 00 00 02 00 00 00", false, NULL, &req);
	assert_int_equal(u(r, "DeleteFolderFlags"), 0x05);
	assert_int_equal(u(r, "FolderId"), 0x36DF8E0E00000001ull);
	r = vector("1D 01 00 00 00 00 00", "01 00 00 00 02 00 00 00", true, req, NULL);
	assert_ptr_equal(r->req, req->rops[0]);
	assert_int_equal(u(r, "PartialCompletion"), 0);

	/* 4.5.1 / 4.5.2 RopMoveFolder, asynchronous, Unicode "Folder1". */
	r = vector("35 00 01 02 01 01 01 00 00 00 0E 8E DF 36 46 00 6F 00 6C 00 64 00 65 00 72 00"
	           " 31 00 00 00",
	           "01 00 00 00 02 00 00 00 03 00 00 00", false, NULL, &req);
	assert_int_equal(mp_rop_input_index(r), 1);
	assert_int_equal(mp_rop_dest_index(r), 2);
	assert_int_equal(u(r, "WantAsynchronous"), 1);
	assert_int_equal(mp_rop_field(r, "NewFolderName")->n, 16);
	r = vector("35 01 00 00 00 00 00", "01 00 00 00 02 00 00 00 03 00 00 00", true, req, NULL);
	assert_ptr_equal(r->req, req->rops[0]);
	assert_null(mp_rop_field(r, "DestHandleIndex"));
	assert_int_equal(u(r, "PartialCompletion"), 0);

	/* 4.6.1 / 4.6.2 RopCopyFolder, recursive. */
	r = vector("36 00 00 01 01 01 01 01 00 00 00 0E 8E DF 36 46 00 6F 00 6C 00 64 00 65 00 72"
	           " 00 31 00 00 00",
	           "01 00 00 00 02 00 00 00", false, NULL, &req);
	assert_int_equal(u(r, "WantRecursive"), 1);
	assert_int_equal(u(r, "UseUnicode"), 1);
	r = vector("36 00 00 00 00 00 00", "01 00 00 00 02 00 00 00", true, req, NULL);
	assert_ptr_equal(r->req, req->rops[0]);
}

static void test_oxcfold_tables_and_search(void **state)
{
	/* 4.7.2 RopGetHierarchyTable response: 21 rows, table at index 2. */
	const struct mp_rop *r =
	    vector("04 02 00 00 00 00 15 00 00 00", "01 00 00 00", true, NULL, NULL);
	assert_int_equal(mp_rop_response_index(r), 2);
	assert_int_equal(u(r, "RowCount"), 21);

	/* 4.9.1 RopGetSearchCriteria request, 4.8.2 RopSetSearchCriteria response. */
	r = vector("31 00 00 01 01 00", "01 00 00 00", false, NULL, NULL);
	assert_int_equal(u(r, "UseUnicode"), 1);
	assert_int_equal(u(r, "IncludeRestriction"), 1);
	assert_int_equal(u(r, "IncludeFolders"), 0);
	r = vector("30 01 00 00 00 00", "01 00 00 00", true, NULL, NULL);
	assert_int_equal(retval(r), 0);
}

/* ---- MS-OXOMSG ---- */

static void test_oxomsg_spooler(void **state)
{
	/* 4.6.1.2 RopSetSpooler, 4.6.6.2 RopSpoolerLockMessage: success. */
	const struct mp_rop *r = vector("47 00 00 00 00 00", "01 00 00 00", true, NULL, NULL);
	assert_int_equal(retval(r), 0);
	r = vector("48 00 00 00 00 00", "01 00 00 00", true, NULL, NULL);
	assert_int_equal(retval(r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oxcprpt_set_properties),
	    cmocka_unit_test(test_oxcprpt_get_properties_specific_request),
	    cmocka_unit_test(test_oxcprpt_get_property_ids_from_names_response),
	    cmocka_unit_test(test_oxctabl_contents_table_and_columns),
	    cmocka_unit_test(test_oxctabl_sort_table),
	    cmocka_unit_test(test_oxcfold_create_folder),
	    cmocka_unit_test(test_oxcfold_delete_move_copy),
	    cmocka_unit_test(test_oxcfold_tables_and_search),
	    cmocka_unit_test(test_oxomsg_spooler),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
