/* Unit tests: util/cursor (bounds-checked reader, growable writer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/cursor.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t sample[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e};

static void test_reads_little_and_big_endian(void **state)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, sample, sizeof(sample));
	assert_int_equal(mp_rc_left(&rc), 14);
	assert_int_equal(mp_rc_u8(&rc), 0x01);
	assert_int_equal(mp_rc_u16(&rc), 0x0302);
	assert_int_equal(mp_rc_u32(&rc), 0x07060504);
	assert_int_equal(mp_rc_u16be(&rc), 0x0809);
	assert_int_equal(mp_rc_u32be(&rc), 0x0a0b0c0d);
	assert_int_equal(rc.off, 13);
	assert_int_equal(mp_rc_left(&rc), 1);
	assert_false(rc.bad);
	assert_int_equal(mp_rc_u8(&rc), 0x0e);
	assert_int_equal(mp_rc_left(&rc), 0);
	assert_false(rc.bad);
}

static void test_take_and_skip(void **state)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, sample, sizeof(sample));
	const uint8_t *p = mp_rc_take(&rc, 4);
	assert_ptr_equal(p, sample);
	mp_rc_skip(&rc, 6);
	assert_int_equal(rc.off, 10);
	p = mp_rc_take(&rc, 4);
	assert_ptr_equal(p, sample + 10);
	/* A zero-length take at the very end is allowed. */
	p = mp_rc_take(&rc, 0);
	assert_non_null(p);
	assert_false(rc.bad);
}

static void test_out_of_bounds_sets_bad_and_returns_zero(void **state)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, sample, 3);
	assert_int_equal(mp_rc_u32(&rc), 0); /* only 3 bytes: fails whole */
	assert_true(rc.bad);
	assert_int_equal(mp_rc_left(&rc), 0);
	/* Once bad, even reads that would fit return zero. */
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_int_equal(mp_rc_u16(&rc), 0);
	assert_int_equal(mp_rc_u16be(&rc), 0);
	assert_int_equal(mp_rc_u32be(&rc), 0);
	assert_null(mp_rc_take(&rc, 0));
	assert_true(rc.bad);

	/* Each reader on its own, one byte short. */
	mp_rc_init(&rc, sample, 1);
	assert_int_equal(mp_rc_u16(&rc), 0);
	assert_true(rc.bad);
	mp_rc_init(&rc, sample, 1);
	assert_int_equal(mp_rc_u16be(&rc), 0);
	assert_true(rc.bad);
	mp_rc_init(&rc, sample, 3);
	assert_int_equal(mp_rc_u32be(&rc), 0);
	assert_true(rc.bad);
	mp_rc_init(&rc, sample, 0);
	assert_int_equal(mp_rc_u8(&rc), 0);
	assert_true(rc.bad);
}

static void test_huge_take_does_not_wrap(void **state)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, sample, sizeof(sample));
	mp_rc_skip(&rc, 2);
	assert_null(mp_rc_take(&rc, SIZE_MAX));
	assert_true(rc.bad);
	mp_rc_init(&rc, sample, sizeof(sample));
	mp_rc_skip(&rc, 15);
	assert_true(rc.bad);
	assert_int_equal(mp_rc_left(&rc), 0);
}

static void test_reader_align(void **state)
{
	struct mp_rcursor rc;
	mp_rc_init(&rc, sample, sizeof(sample));
	mp_rc_align(&rc, 4); /* already aligned at 0 */
	assert_int_equal(rc.off, 0);
	mp_rc_skip(&rc, 1);
	mp_rc_align(&rc, 4);
	assert_int_equal(rc.off, 4);
	mp_rc_align(&rc, 4);
	assert_int_equal(rc.off, 4);
	mp_rc_skip(&rc, 1);
	mp_rc_align(&rc, 8);
	assert_int_equal(rc.off, 8);
	mp_rc_skip(&rc, 5); /* off 13 */
	mp_rc_align(&rc, 2);
	assert_int_equal(rc.off, 14);
	assert_false(rc.bad);
	mp_rc_init(&rc, sample, 14);
	mp_rc_skip(&rc, 13);
	mp_rc_align(&rc, 4); /* would need 3 more bytes, only 1 left */
	assert_true(rc.bad);
}

static void test_writer_encodings(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_u8(&wb, 0xaa);
	mp_wb_u16(&wb, 0x0201);
	mp_wb_u32(&wb, 0x06050403);
	mp_wb_u16be(&wb, 0x0708);
	mp_wb_u32be(&wb, 0x090a0b0c);
	mp_wb_bytes(&wb, "xy", 2);
	mp_wb_zeros(&wb, 3);
	const uint8_t want[] = {0xaa, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
				0x09, 0x0a, 0x0b, 0x0c, 'x',  'y',  0,    0,    0};
	assert_false(wb.bad);
	assert_int_equal(wb.len, sizeof(want));
	assert_memory_equal(wb.data, want, sizeof(want));
	mp_wb_free(&wb);
	assert_null(wb.data);
	assert_int_equal(wb.len, 0);
}

static void test_writer_growth(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	for (unsigned i = 0; i < 100000; i++)
		mp_wb_u8(&wb, (uint8_t)(i * 7));
	assert_false(wb.bad);
	assert_int_equal(wb.len, 100000);
	assert_true(wb.cap >= wb.len);
	for (unsigned i = 0; i < 100000; i++)
		if (wb.data[i] != (uint8_t)(i * 7))
			fail_msg("byte %u corrupted after growth", i);
	/* A large single append after many small ones. */
	uint8_t *big = malloc(300000);
	assert_non_null(big);
	memset(big, 0x5c, 300000);
	mp_wb_bytes(&wb, big, 300000);
	assert_int_equal(wb.len, 400000);
	assert_int_equal(wb.data[399999], 0x5c);
	assert_int_equal(wb.data[99999], (uint8_t)(99999 * 7));
	free(big);
	/* grow returns a pointer to the reserved tail. */
	uint8_t *p = mp_wb_grow(&wb, 4);
	assert_ptr_equal(p, wb.data + 400000);
	mp_wb_free(&wb);
}

static void test_writer_zero_length_and_null(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_bytes(&wb, NULL, 0);
	mp_wb_zeros(&wb, 0);
	assert_false(wb.bad);
	assert_int_equal(wb.len, 0);
	mp_wb_free(&wb);
}

static void test_writer_align(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_align(&wb, 4);
	assert_int_equal(wb.len, 0);
	mp_wb_u8(&wb, 0xff);
	mp_wb_align(&wb, 4);
	assert_int_equal(wb.len, 4);
	assert_int_equal(wb.data[1], 0);
	assert_int_equal(wb.data[2], 0);
	assert_int_equal(wb.data[3], 0);
	mp_wb_u8(&wb, 0xff);
	mp_wb_align(&wb, 8);
	assert_int_equal(wb.len, 8);
	mp_wb_align(&wb, 8);
	assert_int_equal(wb.len, 8);
	mp_wb_free(&wb);
}

static void test_writer_put_at(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_zeros(&wb, 8);
	mp_wb_put_u16_at(&wb, 2, 0xbeef);
	mp_wb_put_u32_at(&wb, 4, 0x11223344);
	const uint8_t want[] = {0, 0, 0xef, 0xbe, 0x44, 0x33, 0x22, 0x11};
	assert_memory_equal(wb.data, want, 8);
	/* Out of range: ignored, nothing written, length unchanged. */
	mp_wb_put_u16_at(&wb, 7, 0xffff);
	mp_wb_put_u32_at(&wb, 5, 0xffffffff);
	mp_wb_put_u32_at(&wb, SIZE_MAX - 1, 0xffffffff);
	assert_int_equal(wb.len, 8);
	assert_memory_equal(wb.data, want, 8);
	/* Exactly at the end is in range. */
	mp_wb_put_u16_at(&wb, 6, 0x0102);
	assert_int_equal(wb.data[6], 0x02);
	assert_int_equal(wb.data[7], 0x01);
	mp_wb_free(&wb);
}

static void test_writer_bad_is_sticky(void **state)
{
	struct mp_wbuf wb;
	mp_wb_init(&wb);
	mp_wb_u32(&wb, 1);
	assert_null(mp_wb_grow(&wb, SIZE_MAX - 8)); /* impossible size */
	assert_true(wb.bad);
	assert_int_equal(wb.len, 4);
	mp_wb_u32(&wb, 2);
	assert_int_equal(wb.len, 4);
	assert_null(mp_wb_grow(&wb, 1));
	mp_wb_free(&wb);
	assert_false(wb.bad);
}

static void test_get_put_helpers(void **state)
{
	uint8_t b[4];
	mp_put_u16(b, 0xa1b2);
	assert_int_equal(b[0], 0xb2);
	assert_int_equal(b[1], 0xa1);
	assert_int_equal(mp_get_u16(b), 0xa1b2);
	mp_put_u32(b, 0xfedcba98);
	assert_int_equal(b[0], 0x98);
	assert_int_equal(b[3], 0xfe);
	assert_int_equal(mp_get_u32(b), 0xfedcba98u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_little_and_big_endian),
		cmocka_unit_test(test_take_and_skip),
		cmocka_unit_test(test_out_of_bounds_sets_bad_and_returns_zero),
		cmocka_unit_test(test_huge_take_does_not_wrap),
		cmocka_unit_test(test_reader_align),
		cmocka_unit_test(test_writer_encodings),
		cmocka_unit_test(test_writer_growth),
		cmocka_unit_test(test_writer_zero_length_and_null),
		cmocka_unit_test(test_writer_align),
		cmocka_unit_test(test_writer_put_at),
		cmocka_unit_test(test_writer_bad_is_sticky),
		cmocka_unit_test(test_get_put_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
