/*
 * The reference server's modules (issue 5), answered on the proxy's call
 * pipeline (src/proxy/server.h): mapiserver registers them; a hybrid
 * mapiproxy may register one to serve that interface locally.
 */
#ifndef MP_SERVER_SERVER_MODULES_H
#define MP_SERVER_SERVER_MODULES_H

#include "proxy/server.h"

/* NSPI (MS-OXNSPI): the GAL of the store's users (nspi_server.c). */
extern const struct mp_server_module mp_server_nspi;
/* EMSMDB (MS-OXCRPC) with the ROP handlers over the store (emsmdb_server.c). */
extern const struct mp_server_module mp_server_emsmdb;
/* AsyncEMSMDB: EcDoAsyncWaitEx for notifications (asyncemsmdb_server.c). */
extern const struct mp_server_module mp_server_asyncemsmdb;

#endif
