/* Well-known DCE/RPC interfaces, so configs can name them instead of UUIDs. */
#ifndef MP_DCERPC_IFACE_H
#define MP_DCERPC_IFACE_H

#include "dcerpc/uuid.h"

#include <stddef.h>

struct mp_iface {
	const char *name; /* as written in dcerpc_mapiproxy:interfaces */
	const char *uuid;
	uint16_t major;
	uint16_t minor;
	const char *description;
};

/* NULL-terminated table of interfaces known by name. */
extern const struct mp_iface mp_ifaces[];

/* Look up by name ("exchange_nsp"), or parse "UUID/major.minor" or "UUID/major".
 * Fills `out` and returns MP_OK, or MP_ERR_NOTFOUND / MP_ERR_PARSE. */
int mp_iface_resolve(const char *spec, struct mp_syntax *out);
/* Name of a known interface, or NULL. */
const char *mp_iface_name(const struct mp_syntax *s);

#endif
