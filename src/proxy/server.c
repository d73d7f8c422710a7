#include "proxy/server.h"

#include <string.h>

const struct mp_server_module *const mp_server_modules[] = {
	&mp_server_rfr,
	NULL,
};

const struct mp_server_module *mp_server_module_for(const char *name)
{
	for (size_t i = 0; mp_server_modules[i]; i++)
		if (strcmp(mp_server_modules[i]->iface, name) == 0)
			return mp_server_modules[i];
	return NULL;
}
