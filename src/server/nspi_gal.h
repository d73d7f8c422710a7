/*
 * The Global Address List of mapiserver (MS-OXNSPI over the store's users):
 * a snapshot of the users sorted by display name (the only sort NSPI
 * tables have here), their properties as PropertyValue_r, restrictions and
 * name resolution. nspi_server.c turns calls into these.
 */
#ifndef MP_SERVER_NSPI_GAL_H
#define MP_SERVER_NSPI_GAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapi/nspi_types.h"

struct mp_store;

/* Special MIds and code pages (MS-OXNSPI 2.2.1.8, 2.2.1.3). */
#define MP_NSPI_MID_BEGINNING 0u
#define MP_NSPI_MID_CURRENT 1u
#define MP_NSPI_MID_END 2u
#define MP_NSPI_MID_UNRESOLVED 0u
#define MP_NSPI_MID_AMBIGUOUS 1u
#define MP_NSPI_MID_RESOLVED 2u
#define MP_NSPI_CP_TELETEX 20261u
#define MP_NSPI_CP_WINUNICODE 1200u
#define MP_NSPI_CP_UTF8 65001u

/* Error codes (MS-OXNSPI 2.2.1.2). */
#define MP_NSPI_SUCCESS 0x00000000u
#define MP_NSPI_WARN_WITH_ERRORS 0x00040380u
#define MP_NSPI_E_NOT_FOUND 0x8004010Fu
#define MP_NSPI_E_INVALID_PARAMETER 0x80070057u
#define MP_NSPI_E_NO_ACCESS 0x80070005u
#define MP_NSPI_E_TABLE_TOO_BIG 0x80040403u
#define MP_NSPI_E_UNKNOWN_CPID 0x8004011Eu
#define MP_NSPI_E_CALL_FAILED 0x80004005u
#define MP_NSPI_E_NOT_ENOUGH_MEMORY 0x8007000Eu
#define MP_NSPI_E_TOO_COMPLEX 0x80040117u
#define MP_NSPI_E_NO_SUPPORT 0x80040102u

/* dwFlags bits. */
#define MP_NSPI_F_SKIP_OBJECTS 0x1u
#define MP_NSPI_F_EPH_ID 0x2u
#define MP_NSPI_F_UNICODE_PROPTYPES 0x80000000u
#define MP_NSPI_F_UNICODE_STRINGS 0x4u /* NspiGetSpecialTable */
#define MP_NSPI_F_ADDR_TEMPLATES 0x2u  /* NspiGetSpecialTable */

/* Property tags the GAL answers. */
#define MP_PR_OBJECT_TYPE 0x0FFE0003u
#define MP_PR_ENTRYID 0x0FFF0102u
#define MP_PR_RECORD_KEY 0x0FF90102u
#define MP_PR_INSTANCE_KEY 0x0FF60102u
#define MP_PR_MAPPING_SIGNATURE 0x0FF80102u
#define MP_PR_DISPLAY_NAME 0x3001001Fu
#define MP_PR_ADDRTYPE 0x3002001Fu
#define MP_PR_EMAIL_ADDRESS 0x3003001Fu
#define MP_PR_DEPTH 0x30050003u
#define MP_PR_SEARCH_KEY 0x300B0102u
#define MP_PR_CONTAINER_FLAGS 0x36000003u
#define MP_PR_ANR 0x360C001Fu
#define MP_PR_DISPLAY_TYPE 0x39000003u
#define MP_PR_TEMPLATEID 0x39020102u
#define MP_PR_DISPLAY_TYPE_EX 0x39050003u
#define MP_PR_SMTP_ADDRESS 0x39FE001Fu
#define MP_PR_EMS_AB_DISPLAY_NAME_PRINTABLE 0x39FF001Fu
#define MP_PR_ACCOUNT 0x3A00001Fu
#define MP_PR_TRANSMITABLE_DISPLAY_NAME 0x3A20001Fu
#define MP_PR_SEND_RICH_INFO 0x3A40000Bu
#define MP_PR_EMS_AB_HOME_MDB 0x8006001Fu
#define MP_PR_EMS_AB_PROXY_ADDRESSES 0x800F101Fu
#define MP_PR_EMS_AB_NETWORK_ADDRESS 0x8170101Fu
#define MP_PR_EMS_AB_OBJECT_GUID 0x8C6D0102u
#define MP_PR_EMS_AB_IS_MASTER 0xFFFB000Bu
#define MP_PR_EMS_AB_CONTAINERID 0xFFFD0003u

struct mp_gal_entry {
	uint32_t mid;
	const char *name; /* account */
	const char *display_name;
	const char *smtp;
	const char *dn;
	uint8_t guid[16]; /* mailbox GUID */
};

struct mp_gal {
	struct mp_gal_entry *e; /* sorted by display name, then MId */
	size_t n;
	const char *org;
	const char *admin_group;
	const char *fqdn;        /* our name: network address and home server */
	uint8_t server_guid[16]; /* ProviderUID of ephemeral entry IDs (NspiBind's) */
};

/* The server object, outside the GAL table: a client derives its DN from
 * PR_EMS_AB_HOME_MDB (without "/cn=Microsoft Private MDB"), asks
 * NspiDNToMId and then NspiGetProps for PR_EMS_AB_NETWORK_ADDRESS.
 * User MIds start at 0x1000, so this one is free. */
#define MP_GAL_MID_SERVER 0x10u
/* "/o=ORG/ou=GROUP/cn=Configuration/cn=Servers/cn=HOST", under mem. */
char *mp_gal_server_dn(void *mem, const struct mp_gal *g);
/* A row of the server object: display name, email address (its DN),
 * network address; other tags are errors (counted in *errors). */
int mp_gal_server_row(void *mem, const struct mp_gal *g, const struct mp_nspi_proptags *tags,
                      uint32_t cp, struct mp_nspi_row *out, size_t *errors);

/* Snapshot of the GAL (enabled users), talloc'd under mem. MP_OK or an error. */
int mp_gal_load(void *mem, struct mp_store *st, const char *fqdn, struct mp_gal **out);
/* Position of a MId in the table, or -1. */
long mp_gal_index(const struct mp_gal *g, uint32_t mid);
/* Index of the first row whose display name is >= s (case-insensitive), n if none. */
size_t mp_gal_seek(const struct mp_gal *g, const char *s);

/* One property of row `idx`: MP_OK, or MP_ERR_NOTFOUND with *out a
 * PtypErrorCode value (MAPI_E_NOT_FOUND). `tag` PtypString8 gets the value
 * in code page `cp`, PtypUnspecified (0) strings as PtypString. */
int mp_gal_prop(void *mem, const struct mp_gal *g, size_t idx, uint32_t tag, uint32_t flags,
                uint32_t cp, struct mp_nspi_propval *out);
/* A row with these tags (each value or an error value). *errors counts the
 * missing ones. */
int mp_gal_row(void *mem, const struct mp_gal *g, size_t idx, const struct mp_nspi_proptags *tags,
               uint32_t flags, uint32_t cp, struct mp_nspi_row *out, size_t *errors);
/* The tags every user has, with string types for `cp` (unicode: PtypString). */
const uint32_t *mp_gal_tags(size_t *n);
uint32_t mp_gal_tag_for_cp(uint32_t tag, bool unicode);
/* Default columns of NspiQueryRows/NspiResolveNames without pPropTags. */
const uint32_t *mp_gal_default_columns(size_t *n);
/* The hierarchy table: one row, the GAL container. */
int mp_gal_hierarchy_row(void *mem, bool unicode, uint32_t cp, struct mp_nspi_row *out);

/* Does row `idx` satisfy the restriction? MP_OK (match in *hit),
 * MP_ERR_UNSUPPORTED for restrictions we cannot evaluate (too complex). */
int mp_gal_match(const struct mp_gal *g, size_t idx, const struct mp_nspi_restriction *r,
                 uint32_t cp, bool *hit);
/* Ambiguous name resolution of `s`: exact account/SMTP/DN/display name
 * first, else prefixes of display name, its words, account and SMTP.
 * Returns the number of matches (0, 1: *idx, more). */
size_t mp_gal_resolve(const struct mp_gal *g, const char *s, size_t *idx);

/* Convert between UTF-8 and an 8-bit code page (1252/ASCII family: Latin-1
 * code points, others '?'; 65001: unchanged). talloc'd under mem. */
char *mp_gal_to_cp(void *mem, const char *utf8, uint32_t cp);
char *mp_gal_from_cp(void *mem, const char *s, uint32_t cp);

#endif
