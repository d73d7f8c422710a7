/*
 * The names the ROP and property printers show (property tags, error codes,
 * ROP ids), behind one small interface so that the codecs do not depend on
 * how the name tables are built. Defined in propval.c; they forward to
 * mapi/names.h where it has the name and return NULL otherwise.
 */
#ifndef MP_MAPI_NAMES_GLUE_H
#define MP_MAPI_NAMES_GLUE_H

#include <stdbool.h>
#include <stdint.h>

/* "PidTagSubject" or NULL. */
const char *mp_glue_prop_name(uint32_t tag);
/* "ecNullObject", "MAPI_E_NOT_FOUND", ... or NULL. */
const char *mp_glue_error_name(uint32_t code);
/* "RopLogon", ... or NULL. */
const char *mp_glue_rop_name(uint8_t id);
/* True for properties whose values are secrets (passwords): printers redact them. */
bool mp_glue_prop_is_secret(uint32_t tag);

#endif
