/*
 * NDR20 marshalling primitives (C706 chapter 14, MS-RPCE 2.2.5) for the
 * hand-written call codecs of src/mapi/.
 *
 * Pull: reads from a bounds-checked cursor (src/util/cursor.h); the first
 * error sets `bad` and every later read returns zeros, so a codec reads a
 * whole structure and checks mp_ndr_pull_ok() once. Decoded memory comes from
 * talloc, under the context the caller passes, so that one talloc_free()
 * releases a whole decoded call.
 *
 * Push: appends to a growable buffer (mp_wbuf). Alignment is counted from the
 * start of the stub, as NDR requires.
 *
 * Byte-exact re-encoding: NDR lets the sender choose the referent IDs of
 * full/unique pointers (Samba counts 0x00020000 + 4n, Windows uses other
 * values) and the padding bytes (impacket fills alignment gaps with 0xaa,
 * 0xcc, ...). A pull records every referent ID it reads in order, and every
 * alignment gap that is not all zeros (mp_ndr_refs); a push given those refs
 * writes the same IDs in the same order and the same gap bytes at the same
 * gaps, so decode → encode gives back the received bytes. Without refs (a
 * call built from scratch) the push counts like Samba and pads with zeros.
 *
 * Counts read from the wire are checked against the bytes left before any
 * allocation (mp_ndr_pull_count), so a peer cannot make us allocate more
 * than it sent.
 */
#ifndef MP_NDR_NDR_H
#define MP_NDR_NDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/cursor.h"

/* An alignment gap that was not all zeros. Gaps are numbered in stub order,
 * counting only gaps of at least one byte. */
struct mp_ndr_pad {
	size_t gap;
	uint8_t len;
	uint8_t bytes[7];
};

/* Referent IDs and non-zero gaps seen by a pull, replayed by a push. Owned
 * by talloc. */
struct mp_ndr_refs {
	uint32_t *ids;
	size_t count;
	struct mp_ndr_pad *pads;
	size_t npads;
};

struct mp_ndr_pull {
	struct mp_rcursor rc;
	void *mem;		/* talloc context for decoded data */
	struct mp_ndr_refs refs;
	size_t refs_cap;
	size_t pads_cap;
	size_t gaps;		/* non-empty alignment gaps so far */
	const char *error;	/* first error, static string */
};

struct mp_ndr_push {
	struct mp_wbuf wb;
	const struct mp_ndr_refs *replay; /* may be NULL */
	size_t replay_next;
	size_t pads_next;
	size_t gaps;
	uint32_t next_ref;
};

/* Largest element count we accept for any conformant array or string. */
#define MP_NDR_MAX_COUNT 0x1000000u

void mp_ndr_pull_init(struct mp_ndr_pull *pull, const void *data, size_t len, void *mem);
static inline bool mp_ndr_pull_ok(const struct mp_ndr_pull *pull)
{
	return !pull->rc.bad;
}
/* Mark the pull failed with a reason (kept if it is the first). */
void mp_ndr_pull_fail(struct mp_ndr_pull *pull, const char *why);
/* True when every byte was consumed (a stub with trailing bytes is suspect). */
bool mp_ndr_pull_at_end(const struct mp_ndr_pull *pull);

void mp_ndr_pull_align(struct mp_ndr_pull *pull, size_t n);
uint8_t mp_ndr_pull_u8(struct mp_ndr_pull *pull);
uint16_t mp_ndr_pull_u16(struct mp_ndr_pull *pull);	/* aligns to 2 */
uint32_t mp_ndr_pull_u32(struct mp_ndr_pull *pull);	/* aligns to 4 */
uint64_t mp_ndr_pull_u64(struct mp_ndr_pull *pull);	/* hyper: aligns to 8 */
/* Raw bytes, no alignment; returns a pointer into the input (or NULL). */
const uint8_t *mp_ndr_pull_bytes(struct mp_ndr_pull *pull, size_t n);
/* Raw bytes copied into talloc memory under pull->mem (NULL on error; a
 * zero-length read returns a valid empty allocation). */
uint8_t *mp_ndr_pull_bytes_dup(struct mp_ndr_pull *pull, size_t n);

/* A unique/full pointer's referent ID (aligned u32). Returns true when the
 * pointer is non-NULL; records the ID for replay. */
bool mp_ndr_pull_ptr(struct mp_ndr_pull *pull);
/* A conformance or variance count (aligned u32), refused when larger than
 * MP_NDR_MAX_COUNT or than the bytes left allow at `min_elem_size` bytes per
 * element (0: no byte check, for arrays of pointers-to-nothing). */
uint32_t mp_ndr_pull_count(struct mp_ndr_pull *pull, size_t min_elem_size);

/* [string] char* / [string] wchar_t*: max_count, offset (must be 0),
 * actual_count, then the characters including the terminating NUL.
 * Returns a talloc'd NUL-terminated copy (UTF-8 for the wide form;
 * invalid UTF-16 fails the pull). `*max_count` (may be NULL) gets the
 * declared maximum so that a push can repeat it. */
char *mp_ndr_pull_string8(struct mp_ndr_pull *pull, uint32_t *max_count);
char *mp_ndr_pull_string16(struct mp_ndr_pull *pull, uint32_t *max_count);

/* A context handle: 4-byte attributes + 16-byte UUID, 4-aligned. */
struct mp_ndr_handle {
	uint32_t attributes;
	uint8_t uuid[16];
};
void mp_ndr_pull_handle(struct mp_ndr_pull *pull, struct mp_ndr_handle *h);
/* A GUID/FlatUID embedded as 16 raw bytes (4-aligned like its first u32). */
void mp_ndr_pull_guid(struct mp_ndr_pull *pull, uint8_t out[16]);

/* Take the recorded referent IDs and gaps (moved under `mem`). */
struct mp_ndr_refs mp_ndr_pull_take_refs(struct mp_ndr_pull *pull, void *mem);

void mp_ndr_push_init(struct mp_ndr_push *push, const struct mp_ndr_refs *replay);
void mp_ndr_push_free(struct mp_ndr_push *push);
static inline bool mp_ndr_push_ok(const struct mp_ndr_push *push)
{
	return !push->wb.bad;
}
void mp_ndr_push_align(struct mp_ndr_push *push, size_t n);
void mp_ndr_push_u8(struct mp_ndr_push *push, uint8_t v);
void mp_ndr_push_u16(struct mp_ndr_push *push, uint16_t v);
void mp_ndr_push_u32(struct mp_ndr_push *push, uint32_t v);
void mp_ndr_push_u64(struct mp_ndr_push *push, uint64_t v);
void mp_ndr_push_bytes(struct mp_ndr_push *push, const void *p, size_t n);
/* Writes a referent ID (replayed or counted) when present, 0 otherwise. */
void mp_ndr_push_ptr(struct mp_ndr_push *push, bool present);
/* `max_count` 0 means "same as the actual length". */
void mp_ndr_push_string8(struct mp_ndr_push *push, const char *s, uint32_t max_count);
/* UTF-8 in, UTF-16LE on the wire; invalid UTF-8 fails the push. */
void mp_ndr_push_string16(struct mp_ndr_push *push, const char *s, uint32_t max_count);
void mp_ndr_push_handle(struct mp_ndr_push *push, const struct mp_ndr_handle *h);
void mp_ndr_push_guid(struct mp_ndr_push *push, const uint8_t guid[16]);

/* UTF-16LE ⇄ UTF-8 helpers (also used by the ROP and property codecs).
 * Both return a talloc'd NUL-terminated string / buffer, or NULL when the
 * input is not valid (unpaired surrogate, bad UTF-8) or memory runs out. */
char *mp_utf16le_to_utf8(void *mem, const uint8_t *le, size_t nbytes);
/* *nbytes gets the UTF-16 length in bytes, without a terminator. */
uint8_t *mp_utf8_to_utf16le(void *mem, const char *s, size_t *nbytes);

#endif
