#include "dcerpc/uuid.h"

#include "util/status.h"

#include <stdio.h>
#include <string.h>

/* "8a885d04-1ceb-11c9-9fe8-08002b104860" v2.0 */
const struct mp_syntax mp_syntax_ndr20 = {
	.uuid = {{0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10,
		  0x48, 0x60}},
	.major = 2,
	.minor = 0,
};

/* "71710533-beba-4937-8319-b5dbef9ccc36" v1.0 */
const struct mp_syntax mp_syntax_ndr64 = {
	.uuid = {{0x33, 0x05, 0x71, 0x71, 0xba, 0xbe, 0x37, 0x49, 0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c,
		  0xcc, 0x36}},
	.major = 1,
	.minor = 0,
};

/* "e1af8308-5d1f-11c9-91a4-08002b14a0fa" v3.0 */
const struct mp_syntax mp_syntax_epmapper = {
	.uuid = {{0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14,
		  0xa0, 0xfa}},
	.major = 3,
	.minor = 0,
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mp_uuid_parse(const char *s, struct mp_uuid *out)
{
	uint8_t be[16]; /* textual (big-endian) order */
	int n = 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return MP_ERR_PARSE;
			continue;
		}
		int hi = hexval(s[i]);
		if (hi < 0)
			return MP_ERR_PARSE;
		int lo = hexval(s[++i]);
		if (lo < 0)
			return MP_ERR_PARSE;
		be[n++] = (uint8_t)(hi << 4 | lo);
	}
	if (s[36] != '\0')
		return MP_ERR_PARSE;
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	for (int i = 0; i < 16; i++)
		out->b[i] = be[order[i]];
	return MP_OK;
}

void mp_uuid_format(const struct mp_uuid *u, char out[MP_UUID_STR_LEN])
{
	const uint8_t *b = u->b;
	snprintf(out, MP_UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[3], b[2],
		 b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
}

bool mp_uuid_equal(const struct mp_uuid *a, const struct mp_uuid *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

bool mp_uuid_is_nil(const struct mp_uuid *u)
{
	static const struct mp_uuid nil;
	return mp_uuid_equal(u, &nil);
}

bool mp_syntax_equal(const struct mp_syntax *a, const struct mp_syntax *b)
{
	return mp_uuid_equal(&a->uuid, &b->uuid) && a->major == b->major && a->minor == b->minor;
}

bool mp_syntax_is_btfn(const struct mp_syntax *s, uint16_t *features)
{
	static const uint8_t prefix[8] = {0x2c, 0x1c, 0xb7, 0x6c, 0x12, 0x98, 0x40, 0x45};
	static const uint8_t tail[6] = {0, 0, 0, 0, 0, 0};
	if (memcmp(s->uuid.b, prefix, 8) != 0 || memcmp(s->uuid.b + 10, tail, 6) != 0)
		return false;
	if (features)
		*features = (uint16_t)(s->uuid.b[8] | s->uuid.b[9] << 8);
	return true;
}
