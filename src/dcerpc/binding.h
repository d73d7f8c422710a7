/*
 * Binding strings, as Samba and the original MAPIProxy spell them:
 *   [UUID@]ncacn_ip_tcp:HOST[PORT,flag,flag...]
 * HOST is a name, an IPv4 address or an IPv6 address (the text between the
 * first ':' and the '['). A numeric option is the TCP port; without one the
 * port is found through the host's endpoint mapper.
 */
#ifndef MP_DCERPC_BINDING_H
#define MP_DCERPC_BINDING_H

#include "dcerpc/uuid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mp_binding_flag {
	MP_BF_PRINT = 1u << 0,   /* dump each call (the original's [print]) */
	MP_BF_SIGN = 1u << 1,    /* PKT_INTEGRITY */
	MP_BF_SEAL = 1u << 2,    /* PKT_PRIVACY */
	MP_BF_CONNECT = 1u << 3, /* auth level CONNECT */
	MP_BF_NTLM = 1u << 4,
	MP_BF_SPNEGO = 1u << 5,
	MP_BF_KRB5 = 1u << 6,
	MP_BF_NDR64 = 1u << 7,
	MP_BF_PADCHECK = 1u << 8,
	MP_BF_VALIDATE = 1u << 9,
	MP_BF_BIGENDIAN = 1u << 10,
};

struct mp_binding {
	bool has_object;
	struct mp_uuid object;
	char transport[32]; /* "ncacn_ip_tcp" */
	char host[256];
	uint16_t port; /* 0: ask the endpoint mapper */
	uint32_t flags;
};

/* Parse `s`. On error returns MP_ERR_PARSE and a reason in errbuf. */
int mp_binding_parse(const char *s, struct mp_binding *out, char *errbuf, size_t errlen);
/* Canonical text form, for logs and tests. */
void mp_binding_format(const struct mp_binding *b, char *out, size_t len);

#endif
