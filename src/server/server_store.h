/*
 * The mailbox store shared by the server modules of one process. LMDB
 * refuses a second open of a data directory in one process, so the EMSMDB
 * and NSPI modules (and any other) take the store through these functions:
 * the first caller opens "mapiserver:data dir" (with "mapiserver:map size",
 * bytes, optional), later callers get the same store, and the last put
 * closes it. Implemented in emsmdb_server.c. Not thread-safe: modules call
 * it from init()/shutdown(), which the daemon runs on one thread.
 */
#ifndef MP_SERVER_SERVER_STORE_H
#define MP_SERVER_SERVER_STORE_H

#include <stddef.h>

#include "server/store/store.h"
#include "util/config.h"

/* The shared store (reference counted), or NULL with a message in err. */
struct mp_store *mp_server_store_get(const struct mp_config *cfg, char *err, size_t len);
/* Drop one reference; the last closes the store. NULL is fine. */
void mp_server_store_put(struct mp_store *st);
/* Tests and embedders: make `st` the shared store (taking no ownership);
 * mp_server_store_get then returns it without opening anything. NULL
 * forgets it. */
void mp_server_store_set(struct mp_store *st);

#endif
