/*
 * mapidump's output: calls, association PDUs, notes and the summary, as the
 * tree text of util/printer.h or as JSON lines (one object per line, with a
 * "type" member: "call", "pdu", "note", "summary").
 *
 * Call stubs of the ExchangeRPC interfaces (EMSMDB, AsyncEMSMDB, NSPI, RFR)
 * are decoded with mp_mapi_decode / mp_mapi_print (mapi/call.h). A stub that
 * has no codec, does not decode, is NDR64, was cut, or stayed sealed is
 * printed as bytes with the reason; nothing stops the dump.
 */
#ifndef MP_CAPTURE_MAPIDUMP_PRINT_H
#define MP_CAPTURE_MAPIDUMP_PRINT_H

#include "capture/dce_stream.h"
#include "capture/pcap_source.h"
#include "capture/tcp_reasm.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct mp_dump_opts {
	bool json;
	bool quiet;       /* the summary only */
	bool pdus;        /* also every request/response/fault fragment */
	size_t max_bytes; /* text: bytes shown per stub (0: the printer's default) */
	FILE *out;        /* NULL: stdout */
};

struct mp_dump;

/* talloc'd under mem; NULL on allocation failure. */
struct mp_dump *mp_dump_new(void *mem, const struct mp_dump_opts *o);

/*
 * Show only calls matching one of the filters (PDUs and notes of other
 * interfaces are left out too, warnings stay). SPEC is IFACE or
 * IFACE:OPNUM; IFACE a name ("samr", "EMSMDB", "exchange_nsp"), or a
 * UUID; OPNUM a number or an operation name ("EcDoRpcExt2"). Returns MP_OK
 * or MP_ERR_PARSE with a sentence in err.
 */
int mp_dump_add_filter(struct mp_dump *d, const char *spec, char *err, size_t errlen);

/* The callbacks that print (arg = d). */
void mp_dump_sink(struct mp_dump *d, struct mp_dce_sink *out);

/* Totals at the end; any argument may be NULL. */
void mp_dump_summary(struct mp_dump *d, const struct mp_pcap_stats *pcap,
                     const struct mp_tcp_stats *tcp, const struct mp_dce_tracker_stats *dce);

/* Name of an operation: the codec's for ExchangeRPC, a table for a few
 * others (samr, epmapper, mgmt); NULL if unknown. */
const char *mp_dump_opnum_name(const struct mp_dce_ctx *ctx, uint16_t opnum);

/* Warnings printed so far (notes of level WARN). */
unsigned long mp_dump_warnings(const struct mp_dump *d);

#endif
