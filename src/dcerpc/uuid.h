/* DCE UUIDs in their NDR wire form: first three fields little-endian. */
#ifndef MP_DCERPC_UUID_H
#define MP_DCERPC_UUID_H

#include <stdbool.h>
#include <stdint.h>

struct mp_uuid {
	uint8_t b[16]; /* wire order */
};

/* An interface or transfer syntax: UUID plus major.minor version. */
struct mp_syntax {
	struct mp_uuid uuid;
	uint16_t major;
	uint16_t minor;
};

#define MP_UUID_STR_LEN 37

/* "a4f1db00-ca47-1067-b31f-00dd010662da" -> wire bytes. 0 or MP_ERR_PARSE. */
int mp_uuid_parse(const char *s, struct mp_uuid *out);
/* Writes 36 characters and a NUL into out (MP_UUID_STR_LEN bytes). */
void mp_uuid_format(const struct mp_uuid *u, char out[MP_UUID_STR_LEN]);
bool mp_uuid_equal(const struct mp_uuid *a, const struct mp_uuid *b);
bool mp_uuid_is_nil(const struct mp_uuid *u);
bool mp_syntax_equal(const struct mp_syntax *a, const struct mp_syntax *b);

extern const struct mp_syntax mp_syntax_ndr20;
extern const struct mp_syntax mp_syntax_ndr64;
extern const struct mp_syntax mp_syntax_epmapper;

/* Bind-time feature negotiation (MS-RPCE 3.3.1.5.3): 6cb71c2c-9812-4540-XXXX-...
 * where the 9th and 10th bytes carry the feature bitmask. */
bool mp_syntax_is_btfn(const struct mp_syntax *s, uint16_t *features);

#endif
