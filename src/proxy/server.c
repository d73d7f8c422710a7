#include "proxy/server.h"

#include "proxy/conf.h"
#include "util/status.h"

#include <stdio.h>
#include <string.h>

static const struct mp_server_module *registry[MP_MAX_SERVER_MODULES + 1];
static void *globals[MP_MAX_SERVER_MODULES];
static bool started[MP_MAX_SERVER_MODULES];
static size_t n_registered;

int mp_server_register(const struct mp_server_module *m)
{
	if (mp_server_index(m) >= 0)
		return MP_OK;
	if (n_registered == MP_MAX_SERVER_MODULES)
		return MP_ERR_LIMIT;
	registry[n_registered++] = m;
	return MP_OK;
}

const struct mp_server_module *const *mp_server_modules(void)
{
	return registry;
}

int mp_server_index(const struct mp_server_module *m)
{
	for (size_t i = 0; i < n_registered; i++)
		if (registry[i] == m)
			return (int)i;
	return -1;
}

static bool serves(const struct mp_proxy_conf *conf, const struct mp_server_module *m)
{
	for (size_t i = 0; i < conf->n_ifaces; i++)
		if (conf->ifaces[i].server == m)
			return true;
	return false;
}

int mp_server_init_all(const struct mp_config *cfg, const struct mp_proxy_conf *conf,
		       char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < n_registered; i++) {
		const struct mp_server_module *m = registry[i];
		if (!serves(conf, m) || started[i])
			continue;
		if (m->init) {
			int rc = m->init(cfg, conf, &globals[i], errbuf, errlen);
			if (rc != MP_OK) {
				mp_server_shutdown_all();
				return rc;
			}
		}
		started[i] = true;
	}
	return MP_OK;
}

void mp_server_shutdown_all(void)
{
	for (size_t i = 0; i < n_registered; i++) {
		if (started[i] && registry[i]->shutdown)
			registry[i]->shutdown(globals[i]);
		started[i] = false;
		globals[i] = NULL;
	}
}

void *mp_server_global(int index)
{
	return index >= 0 && (size_t)index < n_registered ? globals[index] : NULL;
}
