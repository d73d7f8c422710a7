/*
 * Tree printer shared by every decoder: one set of calls produces either an
 * indented, readable text tree (the log, mapidump) or one JSON object (the
 * dump module's JSON lines file).
 *
 * A decoder describes what it decoded:
 *
 *	mp_pr_begin(p, "EcDoConnectEx");
 *	mp_pr_str(p, "szUserDN", dn);
 *	mp_pr_hex(p, "ulFlags", flags, 8);
 *	mp_pr_begin_array(p, "rgwClientVersion");
 *	mp_pr_uint(p, NULL, v[0]); ...
 *	mp_pr_end_array(p);
 *	mp_pr_end(p);
 *
 * Text output (two spaces per level):
 *
 *	EcDoConnectEx
 *	  szUserDN: "/o=First Organization/..."
 *	  ulFlags: 0x00000000
 *	  rgwClientVersion: [3]
 *	    [0]: 12
 *
 * JSON output: {"EcDoConnectEx":{"szUserDN":"/o=...","ulFlags":0,...}}
 * The top level is one implicit JSON object holding every top-level item;
 * mp_printer_output() returns it closed (levels still open are closed too),
 * on one line, with no newline. Text output ends every line with "\n".
 * Members of an array take no name (pass NULL); a named member of an array
 * (say, each ROP of a buffer) prints as "[i] name" in text and as a
 * one-member object {"name":value} in JSON; a member of a structure given
 * no name prints as "-" in text and with the key "" in JSON. Numbers are JSON numbers,
 * mp_pr_hex and mp_pr_flags values too (JSON has no hex). An enum prints as
 * "symbol (0x02)" in text and as the symbol string in JSON when the symbol
 * is known (the number otherwise), so that every field stays one scalar for
 * jq. Strings are quoted in both formats: in text, control characters and
 * ill-formed UTF-8 bytes show as \xNN; JSON escapes per RFC 8259 and
 * replaces ill-formed UTF-8 with U+FFFD, so the output is always valid.
 * Bytes are lower-case hex, GUIDs "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}",
 * FILETIMEs "2009-03-13T09:45:00Z" (".fffffff" when not whole seconds).
 *
 * Secrets never reach the output: a decoder that meets a password, a key or a
 * hash calls mp_pr_secret(), which prints "<redacted>" (and the length).
 *
 * Output accumulates in one growing buffer (no allocation per field); the
 * caller takes it with mp_printer_output() and clears it with
 * mp_printer_reset(). Allocation failure sets an error flag that sticks
 * until the reset; output then stops at the last complete item (still valid
 * JSON in JSON mode), never invalid memory. A printer is not thread-safe;
 * use one per thread or per call.
 */
#ifndef MP_UTIL_PRINTER_H
#define MP_UTIL_PRINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mp_printer_format {
	MP_PRINT_TEXT,
	MP_PRINT_JSON,
};

struct mp_printer;

struct mp_printer *mp_printer_new(enum mp_printer_format fmt);
void mp_printer_free(struct mp_printer *p);
/* NUL-terminated output so far; *len (if not NULL) gets its length. */
const char *mp_printer_output(const struct mp_printer *p, size_t *len);
void mp_printer_reset(struct mp_printer *p);
bool mp_printer_failed(const struct mp_printer *p);
/* Text mode: bytes fields longer than this are cut ("... (N more bytes)");
 * default 64. JSON always carries every byte. */
void mp_printer_set_max_bytes(struct mp_printer *p, size_t max);
/* Text mode: indentation of the outermost level, in spaces (default 0). */
void mp_printer_set_indent(struct mp_printer *p, unsigned spaces);
/* Bound the output to about `max_len` bytes (0, the default: no bound). An
 * item that would pass it is dropped and the printer fails, as on an
 * allocation failure: a huge decoded buffer cannot make a dump unbounded. */
void mp_printer_set_limit(struct mp_printer *p, size_t max_len);

/* Structures (JSON objects) and arrays. Nesting depth is bounded (64);
 * deeper levels are folded into "..." rather than overflowing. An end
 * without a matching begin is ignored. */
void mp_pr_begin(struct mp_printer *p, const char *name);
void mp_pr_end(struct mp_printer *p);
/* `count` is shown in text mode ("name: [count]"); pass SIZE_MAX if unknown. */
void mp_pr_begin_array(struct mp_printer *p, const char *name, size_t count);
void mp_pr_end_array(struct mp_printer *p);

void mp_pr_uint(struct mp_printer *p, const char *name, uint64_t v);
void mp_pr_int(struct mp_printer *p, const char *name, int64_t v);
/* Hex with `digits` digits in text ("0x0000002a"; 0: as many as needed);
 * a number in JSON. */
void mp_pr_hex(struct mp_printer *p, const char *name, uint64_t v, int digits);
void mp_pr_bool(struct mp_printer *p, const char *name, bool v);
void mp_pr_double(struct mp_printer *p, const char *name, double v);
/* A value with a symbolic name (symbol may be NULL when unknown). */
void mp_pr_enum(struct mp_printer *p, const char *name, uint64_t v, int digits,
		const char *symbol);
/* Flags: v with the names of the set bits, "0x00000003 (A|B)" in text (bits
 * without a name are appended as hex), the number in JSON. `names` is a
 * table of {bit mask, name} terminated by {0, NULL}. */
struct mp_flag_name {
	uint64_t mask;
	const char *name;
};
void mp_pr_flags(struct mp_printer *p, const char *name, uint64_t v, int digits,
		 const struct mp_flag_name *names);
/* UTF-8 text (escaped as needed); NULL prints as null. strn takes exactly n
 * bytes (NULs included, shown escaped). */
void mp_pr_str(struct mp_printer *p, const char *name, const char *s);
void mp_pr_strn(struct mp_printer *p, const char *name, const char *s, size_t n);
/* UTF-16LE text of `nbytes` bytes, converted for display (bad units → U+FFFD). */
void mp_pr_utf16(struct mp_printer *p, const char *name, const uint8_t *le, size_t nbytes);
/* Raw bytes: hex in text (cut after the max; "(empty)" when n is 0), a hex
 * string in JSON. */
void mp_pr_bytes(struct mp_printer *p, const char *name, const void *data, size_t n);
/* 16 bytes in MS-DTYP GUID layout (first three fields little-endian). */
void mp_pr_guid(struct mp_printer *p, const char *name, const uint8_t guid[16]);
/* FILETIME (100 ns since 1601) as ISO 8601 UTC: text adds the raw value
 * "2009-03-13T09:45:00Z (0x01c9a3b0...)"; JSON is the string alone, which is
 * exact (seven fraction digits). */
void mp_pr_filetime(struct mp_printer *p, const char *name, uint64_t ft);
/* A secret: "<redacted, N bytes>" whatever the format. */
void mp_pr_secret(struct mp_printer *p, const char *name, size_t n);

#endif
