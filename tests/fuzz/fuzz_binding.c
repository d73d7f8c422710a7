/*
 * libFuzzer target: binding strings. Whatever parses must format to a
 * canonical string that parses back to the same binding.
 */
#include "dcerpc/binding.h"
#include "util/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct mp_binding b;
	char err[256];
	err[0] = '\0';
	int rc = mp_binding_parse(s, &b, err, sizeof(err));
	if (rc != MP_OK) {
		check(rc == MP_ERR_PARSE);
		check(err[0] != '\0');
		free(s);
		return 0;
	}
	check(b.host[0] != '\0');
	check(b.transport[0] != '\0');

	char out[1024];
	mp_binding_format(&b, out, sizeof(out));
	struct mp_binding b2;
	rc = mp_binding_parse(out, &b2, err, sizeof(err));
	check(rc == MP_OK);
	check(b2.has_object == b.has_object);
	check(!b.has_object || memcmp(b2.object.b, b.object.b, 16) == 0);
	check(strcmp(b2.transport, b.transport) == 0);
	check(strcmp(b2.host, b.host) == 0);
	check(b2.port == b.port);
	check(b2.flags == b.flags);

	/* Formatting is a fixed point. */
	char out2[1024];
	mp_binding_format(&b2, out2, sizeof(out2));
	check(strcmp(out, out2) == 0);

	/* Truncated output stays NUL-terminated. */
	char small[8];
	mp_binding_format(&b, small, sizeof(small));
	check(strlen(small) < sizeof(small));
	free(s);
	return 0;
}
