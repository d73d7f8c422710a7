/* Reading the committed test vectors (tests/unit/data, $MP_TEST_DATA_DIR). */
#ifndef MP_TEST_DATA_H
#define MP_TEST_DATA_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct blob {
	uint8_t *p; /* malloc'd, never NULL after a successful read */
	size_t len;
};

/* Read a whole file; false if it cannot be opened. */
static inline bool read_path(const char *path, struct blob *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	b->p = NULL;
	b->len = 0;
	uint8_t buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		uint8_t *q = realloc(b->p, b->len + n);
		if (!q)
			abort();
		memcpy(q + b->len, buf, n);
		b->p = q;
		b->len += n;
	}
	fclose(f);
	if (!b->p)
		b->p = malloc(1);
	return true;
}

/* Write a whole file (the tests' --emit modes regenerate vectors); false on error. */
static inline bool write_path(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return false;
	bool ok = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

#endif
