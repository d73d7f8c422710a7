/*
 * mapiserver's own settings (the `mapiserver:` options) and the one store
 * every server module of the process shares: LMDB allows one open per data
 * directory per process, so NSPI and EMSMDB take references on it.
 */
#ifndef MP_SERVER_SERVER_CONF_H
#define MP_SERVER_SERVER_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/config.h"

struct mp_store;

struct mp_server_conf {
	char data_dir[512];    /* mapiserver:data dir (required) */
	char org[64];          /* mapiserver:organization ("" = store default) */
	char admin_group[64];  /* mapiserver:admin group */
	char mail_domain[254]; /* mapiserver:mail domain */
	size_t map_size;       /* mapiserver:map size, bytes; 0 = default */
};

/* Read the mapiserver: options.
 * MP_OK or MP_ERR_CONFIG with "file:line: what to do" in errbuf. */
int mp_server_conf_load(struct mp_server_conf *sc, const struct mp_config *cfg, char *errbuf,
                        size_t errlen);

/* Open the store the configuration names (created when missing if `create`),
 * standalone: for the CLI subcommands. mp_store_close() it. */
int mp_server_store_open(const struct mp_server_conf *sc, bool create, struct mp_store **out,
                         char *errbuf, size_t errlen);

/* The process-wide store for server modules: the first call opens (and
 * creates) it, later calls add a reference. When emsmdb_server.c is linked
 * its shared store (server_store.h) is the one taken, so that NSPI and
 * EMSMDB hold the same LMDB environment. MP_OK or an error in errbuf. */
int mp_server_store_acquire(const struct mp_config *cfg, struct mp_store **out, char *errbuf,
                            size_t errlen);
/* Drop a reference; the last one closes the store. */
void mp_server_store_release(struct mp_store *st);
/* The shared store while some module holds it, else NULL. */
struct mp_store *mp_server_store_current(void);

#endif
