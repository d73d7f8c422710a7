#include "server/server_conf.h"

#include "server/server_store.h"
#include "server/store/store.h"
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return MP_ERR_CONFIG;
}

static int copy_opt(const struct mp_config *cfg, const char *key, char *dst, size_t n, char *errbuf,
                    size_t errlen)
{
	const struct mp_config_entry *e = mp_config_find(cfg, key);
	const char *v = mp_config_get_str(cfg, key, "");
	if (strlen(v) >= n)
		return fail(errbuf, errlen, "%s:%d: %s is longer than %zu bytes", cfg->path,
		            e ? e->line : 0, key, n - 1);
	snprintf(dst, n, "%s", v);
	return MP_OK;
}

int mp_server_conf_load(struct mp_server_conf *sc, const struct mp_config *cfg, char *errbuf,
                        size_t errlen)
{
	memset(sc, 0, sizeof(*sc));
	int rc;
	if ((rc = copy_opt(cfg, "mapiserver:data dir", sc->data_dir, sizeof(sc->data_dir), errbuf,
	                   errlen)) != MP_OK ||
	    (rc = copy_opt(cfg, "mapiserver:organization", sc->org, sizeof(sc->org), errbuf,
	                   errlen)) != MP_OK ||
	    (rc = copy_opt(cfg, "mapiserver:admin group", sc->admin_group, sizeof(sc->admin_group),
	                   errbuf, errlen)) != MP_OK ||
	    (rc = copy_opt(cfg, "mapiserver:mail domain", sc->mail_domain, sizeof(sc->mail_domain),
	                   errbuf, errlen)) != MP_OK)
		return rc;
	if (!sc->data_dir[0])
		return fail(
		    errbuf, errlen,
		    "%s: mapiserver:data dir is not set (a directory for the mailbox store, "
		    "e.g. mapiserver:data dir = /var/lib/mapiserver; it is created mode 0700)",
		    cfg->path);
	unsigned long bytes;
	rc = mp_config_get_uint(cfg, "mapiserver:map size", 0, 0, ~0ul, &bytes, errbuf, errlen);
	if (rc != MP_OK)
		return rc;
	if (bytes && bytes < MP_STORE_MIN_MAP_SIZE)
		return fail(errbuf, errlen,
		            "%s: mapiserver:map size is in bytes and must be at least %zu "
		            "(default %zu)",
		            cfg->path, MP_STORE_MIN_MAP_SIZE, MP_STORE_DEFAULT_MAP_SIZE);
	sc->map_size = bytes;
	return MP_OK;
}

int mp_server_store_open(const struct mp_server_conf *sc, bool create, struct mp_store **out,
                         char *errbuf, size_t errlen)
{
	struct mp_store_opts o = {
	    .map_size = sc->map_size,
	    .create = create,
	    .org = sc->org[0] ? sc->org : NULL,
	    .admin_group = sc->admin_group[0] ? sc->admin_group : NULL,
	    .mail_domain = sc->mail_domain[0] ? sc->mail_domain : NULL,
	};
	char why[400];
	int rc = mp_store_open(out, sc->data_dir, &o, why, sizeof(why));
	if (rc == MP_ERR_NOTFOUND)
		snprintf(errbuf, errlen,
		         "mapiserver:data dir %s: no store there yet (create it with "
		         "`mapiserver useradd -c FILE NAME`)",
		         sc->data_dir);
	else if (rc != MP_OK)
		snprintf(errbuf, errlen, "mapiserver:data dir %s: %s", sc->data_dir, why);
	return rc;
}

static struct mp_store *shared;
static unsigned shared_refs;
static bool shared_theirs; /* taken from emsmdb_server.c's shared store */

/* emsmdb_server.c keeps the process's shared store too (server_store.h):
 * when it is linked, both modules must hold the same one. */
#pragma weak mp_server_store_get
#pragma weak mp_server_store_put

int mp_server_store_acquire(const struct mp_config *cfg, struct mp_store **out, char *errbuf,
                            size_t errlen)
{
	if (shared) {
		shared_refs++;
		*out = shared;
		return MP_OK;
	}
	if (mp_server_store_get) {
		struct mp_store *st = mp_server_store_get(cfg, errbuf, errlen);
		if (!st)
			return MP_ERR_CONFIG;
		shared = st;
		shared_refs = 1;
		shared_theirs = true;
		*out = st;
		return MP_OK;
	}
	struct mp_server_conf sc;
	int rc = mp_server_conf_load(&sc, cfg, errbuf, errlen);
	if (rc == MP_OK)
		rc = mp_server_store_open(&sc, true, &shared, errbuf, errlen);
	if (rc != MP_OK)
		return rc;
	shared_refs = 1;
	*out = shared;
	return MP_OK;
}

void mp_server_store_release(struct mp_store *st)
{
	if (!st || st != shared || !shared_refs)
		return;
	if (--shared_refs == 0) {
		if (shared_theirs && mp_server_store_put)
			mp_server_store_put(shared);
		else
			mp_store_close(shared);
		shared = NULL;
		shared_theirs = false;
	}
}

struct mp_store *mp_server_store_current(void)
{
	return shared;
}
