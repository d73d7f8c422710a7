/* Test helper: bytes from a hex string ("0A 00 ff", spaces and dashes ignored). */
#ifndef MP_TEST_HEXBYTES_H
#define MP_TEST_HEXBYTES_H

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Returns the number of bytes written to `out` (at most `cap`); aborts on
 * a malformed string so that a typo in a vector cannot pass silently. */
static inline size_t hexbytes(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *s; s++) {
		int c = (unsigned char)*s, v;
		if (isspace(c) || c == '-' || c == ':')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			abort();
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			abort();
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0)
		abort();
	return n;
}

#endif
