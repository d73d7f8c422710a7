/*
 * smb.conf-syntax configuration: `[section]` headers, `key = value` lines,
 * `;` and `#` comments, `\` line continuation. Keys are case-insensitive and
 * spaces inside keys are insignificant ("Log Level" == "loglevel"), as in
 * Samba. Every entry remembers its file and line for error messages.
 */
#ifndef MP_UTIL_CONFIG_H
#define MP_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct mp_config_entry {
	char *section; /* lower-case, "global" for lines before any header */
	char *key;     /* normalised: lower-case, no spaces */
	char *value;   /* trimmed */
	int line;
};

struct mp_config {
	char *path; /* for messages; "<memory>" when parsed from a buffer */
	struct mp_config_entry *entries;
	size_t n_entries;
	size_t cap;
};

/* Parse a whole buffer. On error returns MP_ERR_CONFIG and writes
 * "file:line: what" into errbuf; the config is then empty. */
int mp_config_parse(struct mp_config *cfg, const char *path, const char *text, size_t len,
		    char *errbuf, size_t errlen);
/* Read and parse a file. */
int mp_config_load(struct mp_config *cfg, const char *path, char *errbuf, size_t errlen);
void mp_config_free(struct mp_config *cfg);

/* Last value of `key` in [global] (later lines override earlier ones), or NULL. */
const char *mp_config_get(const struct mp_config *cfg, const char *key);
const struct mp_config_entry *mp_config_find(const struct mp_config *cfg, const char *key);
const char *mp_config_get_str(const struct mp_config *cfg, const char *key, const char *def);
/* Typed getters: on a malformed value they return MP_ERR_CONFIG and describe
 * the problem (with file:line) in errbuf; an absent key yields `def`. */
int mp_config_get_bool(const struct mp_config *cfg, const char *key, bool def, bool *out,
		       char *errbuf, size_t errlen);
int mp_config_get_uint(const struct mp_config *cfg, const char *key, unsigned long def,
		       unsigned long min, unsigned long max, unsigned long *out, char *errbuf,
		       size_t errlen);

/* Normalise a key the way the parser does (in place). */
void mp_config_normalise_key(char *key);

/* Split a comma/space separated list value into a NULL-terminated array of
 * malloc'd strings (free with mp_strv_free). */
char **mp_config_split_list(const char *value);
void mp_strv_free(char **v);

#endif
