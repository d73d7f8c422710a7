#include "util/config.h"

#include "util/status.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MP_CONFIG_MAX_FILE (4u << 20) /* a config larger than 4 MiB is a mistake */

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (!errbuf || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

void mp_config_normalise_key(char *key)
{
	char *w = key;
	for (char *r = key; *r; r++) {
		if (*r == ' ' || *r == '\t')
			continue;
		*w++ = (char)tolower((unsigned char)*r);
	}
	*w = '\0';
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int add_entry(struct mp_config *cfg, const char *section, const char *key,
		     const char *value, int line)
{
	if (cfg->n_entries == cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap * 2 : 32;
		struct mp_config_entry *e = realloc(cfg->entries, cap * sizeof(*e));
		if (!e)
			return MP_ERR_NOMEM;
		cfg->entries = e;
		cfg->cap = cap;
	}
	struct mp_config_entry *e = &cfg->entries[cfg->n_entries];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		return MP_ERR_NOMEM;
	}
	cfg->n_entries++;
	return MP_OK;
}

int mp_config_parse(struct mp_config *cfg, const char *path, const char *text, size_t len,
		    char *errbuf, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path ? path : "<memory>");
	char section[128] = "global";
	char *logical = NULL; /* the current logical line, continuations joined */
	size_t logical_len = 0;
	int rc = MP_OK;
	int lineno = 0, start_line = 0;
	size_t pos = 0;

	if (!cfg->path)
		return MP_ERR_NOMEM;
	while (pos < len) {
		size_t end = pos;
		while (end < len && text[end] != '\n')
			end++;
		lineno++;
		size_t n = end - pos;
		if (memchr(text + pos, '\0', n)) {
			set_err(errbuf, errlen, "%s:%d: NUL byte in configuration", cfg->path,
				lineno);
			rc = MP_ERR_CONFIG;
			goto out;
		}
		if (!logical)
			start_line = lineno;
		char *grown = realloc(logical, logical_len + n + 1);
		if (!grown) {
			rc = MP_ERR_NOMEM;
			goto out;
		}
		logical = grown;
		memcpy(logical + logical_len, text + pos, n);
		logical_len += n;
		logical[logical_len] = '\0';
		pos = end < len ? end + 1 : end;

		/* A trailing backslash joins the next physical line. */
		while (logical_len && (logical[logical_len - 1] == '\r' ||
				       logical[logical_len - 1] == ' ' ||
				       logical[logical_len - 1] == '\t'))
			logical[--logical_len] = '\0';
		if (logical_len && logical[logical_len - 1] == '\\') {
			logical[--logical_len] = '\0';
			if (pos < len)
				continue; /* at the end of the file the backslash joins nothing */
		}

		char *s = trim(logical);
		if (*s == '\0' || *s == ';' || *s == '#') {
			/* blank or comment */
		} else if (*s == '[') {
			char *close = strchr(s, ']');
			if (!close || close == s + 1 || (size_t)(close - s - 1) >= sizeof(section)) {
				set_err(errbuf, errlen,
					"%s:%d: malformed section header (expected [name])",
					cfg->path, start_line);
				rc = MP_ERR_CONFIG;
				goto out;
			}
			if (*trim(close + 1) != '\0' && *trim(close + 1) != ';' && *trim(close + 1) != '#') {
				set_err(errbuf, errlen, "%s:%d: text after the section header ']'",
					cfg->path, start_line);
				rc = MP_ERR_CONFIG;
				goto out;
			}
			*close = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			mp_config_normalise_key(section);
		} else {
			char *eq = strchr(s, '=');
			if (!eq) {
				set_err(errbuf, errlen,
					"%s:%d: expected 'key = value', found '%.40s'",
					cfg->path, start_line, s);
				rc = MP_ERR_CONFIG;
				goto out;
			}
			*eq = '\0';
			char *key = trim(s);
			char *value = trim(eq + 1);
			if (*key == '\0') {
				set_err(errbuf, errlen, "%s:%d: empty option name before '='",
					cfg->path, start_line);
				rc = MP_ERR_CONFIG;
				goto out;
			}
			mp_config_normalise_key(key);
			rc = add_entry(cfg, section, key, value, start_line);
			if (rc != MP_OK)
				goto out;
		}
		free(logical);
		logical = NULL;
		logical_len = 0;
	}
out:
	free(logical);
	if (rc != MP_OK) {
		char *p = cfg->path;
		cfg->path = NULL;
		mp_config_free(cfg);
		cfg->path = p;
	}
	return rc;
}

int mp_config_load(struct mp_config *cfg, const char *path, char *errbuf, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	FILE *fp = fopen(path, "r");
	if (!fp) {
		set_err(errbuf, errlen, "%s: cannot open configuration: %s", path,
			strerror(errno));
		return MP_ERR_CONFIG;
	}
	char *buf = malloc(MP_CONFIG_MAX_FILE + 1);
	if (!buf) {
		fclose(fp);
		return MP_ERR_NOMEM;
	}
	size_t n = fread(buf, 1, MP_CONFIG_MAX_FILE + 1, fp);
	int err = ferror(fp);
	fclose(fp);
	int rc;
	if (err) {
		set_err(errbuf, errlen, "%s: read error", path);
		rc = MP_ERR_CONFIG;
	} else if (n > MP_CONFIG_MAX_FILE) {
		set_err(errbuf, errlen, "%s: file larger than %u bytes", path, MP_CONFIG_MAX_FILE);
		rc = MP_ERR_CONFIG;
	} else {
		rc = mp_config_parse(cfg, path, buf, n, errbuf, errlen);
	}
	free(buf);
	return rc;
}

void mp_config_free(struct mp_config *cfg)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		free(cfg->entries[i].section);
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

const struct mp_config_entry *mp_config_find(const struct mp_config *cfg, const char *key)
{
	char norm[256];
	snprintf(norm, sizeof(norm), "%s", key);
	mp_config_normalise_key(norm);
	for (size_t i = cfg->n_entries; i-- > 0;) {
		const struct mp_config_entry *e = &cfg->entries[i];
		if (strcmp(e->section, "global") == 0 && strcmp(e->key, norm) == 0)
			return e;
	}
	return NULL;
}

const char *mp_config_get(const struct mp_config *cfg, const char *key)
{
	const struct mp_config_entry *e = mp_config_find(cfg, key);
	return e ? e->value : NULL;
}

const char *mp_config_get_str(const struct mp_config *cfg, const char *key, const char *def)
{
	const char *v = mp_config_get(cfg, key);
	return v ? v : def;
}

int mp_config_get_bool(const struct mp_config *cfg, const char *key, bool def, bool *out,
		       char *errbuf, size_t errlen)
{
	const struct mp_config_entry *e = mp_config_find(cfg, key);
	*out = def;
	if (!e)
		return MP_OK;
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(e->value, yes[i]) == 0) {
			*out = true;
			return MP_OK;
		}
		if (strcasecmp(e->value, no[i]) == 0) {
			*out = false;
			return MP_OK;
		}
	}
	set_err(errbuf, errlen, "%s:%d: %s: expected yes or no, found '%.40s'", cfg->path,
		e->line, key, e->value);
	return MP_ERR_CONFIG;
}

int mp_config_get_uint(const struct mp_config *cfg, const char *key, unsigned long def,
		       unsigned long min, unsigned long max, unsigned long *out, char *errbuf,
		       size_t errlen)
{
	const struct mp_config_entry *e = mp_config_find(cfg, key);
	*out = def;
	if (!e)
		return MP_OK;
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(e->value, &end, 0);
	bool digits = end != e->value; /* a bare "k" is not a number */
	bool too_big = false;
	/* Accept k/m suffixes for sizes: "64k", "16M". */
	if (digits && (*end == 'k' || *end == 'K')) {
		too_big = v > ULONG_MAX / 1024;
		v = too_big ? ULONG_MAX : v * 1024;
		end++;
	} else if (digits && (*end == 'm' || *end == 'M')) {
		too_big = v > ULONG_MAX / (1024 * 1024);
		v = too_big ? ULONG_MAX : v * 1024 * 1024;
		end++;
	}
	if (errno || !digits || *end != '\0' || e->value[0] == '-') {
		set_err(errbuf, errlen, "%s:%d: %s: expected a number, found '%.40s'", cfg->path,
			e->line, key, e->value);
		return MP_ERR_CONFIG;
	}
	if (too_big || v < min || v > max) {
		set_err(errbuf, errlen, "%s:%d: %s: %.40s is out of range [%lu, %lu]", cfg->path,
			e->line, key, e->value, min, max);
		return MP_ERR_CONFIG;
	}
	*out = v;
	return MP_OK;
}

char **mp_config_split_list(const char *value)
{
	size_t cap = 8, n = 0;
	char **v = calloc(cap, sizeof(*v));
	if (!v)
		return NULL;
	const char *p = value;
	while (*p) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		const char *start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		if (p == start)
			break;
		if (n + 1 >= cap) {
			char **g = realloc(v, cap * 2 * sizeof(*v));
			if (!g)
				goto fail;
			v = g;
			cap *= 2;
		}
		v[n] = strndup(start, (size_t)(p - start));
		if (!v[n])
			goto fail;
		v[++n] = NULL;
	}
	return v;
fail:
	mp_strv_free(v);
	return NULL;
}

void mp_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
