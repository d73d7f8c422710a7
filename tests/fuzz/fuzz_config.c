/*
 * libFuzzer target: the smb.conf-syntax parser and everything a daemon does
 * with the values (typed getters, lists, binding strings, interface names).
 * Nothing here logs or touches files.
 */
#include "dcerpc/binding.h"
#include "dcerpc/iface.h"
#include "util/config.h"
#include "util/status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static const char *const keys[] = {
	"log level",
	"mapiproxy:max frag",
	"mapiproxy:upstream max frag",
	"mapiproxy:max call size",
	"mapiproxy:idle timeout",
	"mapiproxy:interfaces",
	"dcerpc_mapiproxy:binding",
	"dcerpc_mapiproxy:interfaces",
	"mapiproxy:listen",
	"mapiproxy:port",
	"mapiproxy:interface ports",
	"mapiproxy:log level",
	"a",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	struct mp_config cfg;
	char err[256];
	int rc = mp_config_parse(&cfg, "fuzz.conf", (const char *)data, size, err, sizeof(err));
	if (rc != MP_OK) {
		check(rc == MP_ERR_CONFIG || rc == MP_ERR_NOMEM);
		check(cfg.n_entries == 0);
		check(rc != MP_ERR_CONFIG || strncmp(err, "fuzz.conf:", 10) == 0);
		mp_config_free(&cfg);
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		bool b;
		unsigned long v;
		const char *s = mp_config_get_str(&cfg, keys[i], "default");
		check(s != NULL);
		if (mp_config_get_bool(&cfg, keys[i], false, &b, err, sizeof(err)) != MP_OK)
			check(strncmp(err, "fuzz.conf:", 10) == 0);
		rc = mp_config_get_uint(&cfg, keys[i], 7, 2048, 65535, &v, err, sizeof(err));
		if (rc == MP_OK)
			check(v == 7 || (v >= 2048 && v <= 65535));
		else
			check(strncmp(err, "fuzz.conf:", 10) == 0 && v == 7);
		rc = mp_config_get_uint(&cfg, keys[i], 0, 0, ~0ul, &v, err, sizeof(err));
		(void)rc;
	}
	for (size_t i = 0; i < cfg.n_entries; i++) {
		const struct mp_config_entry *e = &cfg.entries[i];
		check(e->line >= 1);
		/* Keys come out normalised: no spaces, lower case; values trimmed. */
		check(strchr(e->key, ' ') == NULL && strchr(e->key, '\t') == NULL);
		for (const char *k = e->key; *k; k++)
			check(!(*k >= 'A' && *k <= 'Z'));
		size_t vl = strlen(e->value);
		check(vl == 0 || (e->value[0] != ' ' && e->value[vl - 1] != ' '));
		/* A lookup by the stored key finds this entry or a later one. */
		if (strcmp(e->section, "global") == 0 && strlen(e->key) < 200) {
			const struct mp_config_entry *f = mp_config_find(&cfg, e->key);
			check(f != NULL && f >= e);
		}

		struct mp_binding bind;
		if (mp_binding_parse(e->value, &bind, err, sizeof(err)) == MP_OK) {
			char out[1024];
			mp_binding_format(&bind, out, sizeof(out));
		}
		char **list = mp_config_split_list(e->value);
		if (list) {
			for (char **p = list; *p; p++) {
				check(**p != '\0');
				struct mp_syntax syn;
				(void)mp_iface_resolve(*p, &syn);
			}
			mp_strv_free(list);
		}
	}
	mp_config_free(&cfg);
	return 0;
}
