/*
 * Loading stackable modules: dlopen each name of dcerpc_mapiproxy:modules
 * from the modules directory, check the descriptor (symbol, ABI version,
 * name), keep them in configured order; init() after the daemon detached,
 * fini() and dlclose at exit.
 */
#include "proxy/module.h"
#include "util/log.h"
#include "util/status.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MP_MODULES_DIR
#define MP_MODULES_DIR "/usr/local/lib/mapiproxy/modules"
#endif

static struct mp_loaded_module loaded[MP_MAX_MODULES];
static size_t n_loaded;

size_t mp_modules_count(void)
{
	return n_loaded;
}

struct mp_loaded_module *mp_module_at(size_t i)
{
	return i < n_loaded ? &loaded[i] : NULL;
}

const char *mp_modules_default_dir(void)
{
	static char dir[PATH_MAX + 16];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			struct stat st;
			/* A build tree: the programs sit next to modules/. */
			snprintf(dir, sizeof(dir), "%s/modules", exe);
			if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
				return dir;
		}
	}
	return MP_MODULES_DIR;
}

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return MP_ERR_CONFIG;
}

/* Open one shared object and check its descriptor. On failure the reason
 * goes to errbuf and NULL is returned. */
static const struct mp_module *open_module(const char *path, void **dl, char *errbuf,
					   size_t errlen)
{
	*dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!*dl) {
		fail(errbuf, errlen, "%s", dlerror());
		return NULL;
	}
	const struct mp_module *m = dlsym(*dl, MP_MODULE_SYMBOL);
	const char *why = NULL;
	char buf[160];
	if (!m) {
		why = "no '" MP_MODULE_SYMBOL "' symbol: not a mapiproxy module (see docs/modules.md)";
	} else if ((m->abi >> 16) != MP_MODULE_ABI_MAJOR ||
		   (m->abi & 0xffff) > MP_MODULE_ABI_MINOR) {
		snprintf(buf, sizeof(buf),
			 "built for module ABI %u.%u, this mapiproxy has %u.%u: rebuild it against "
			 "this version's <mapiproxy/module.h>",
			 m->abi >> 16, m->abi & 0xffff, MP_MODULE_ABI_MAJOR, MP_MODULE_ABI_MINOR);
		why = buf;
	} else if (!m->name || !m->name[0] || !m->endpoint) {
		why = "its descriptor has no name or no endpoint";
	}
	if (why) {
		fail(errbuf, errlen, "%s: %s", path, why);
		dlclose(*dl);
		*dl = NULL;
		return NULL;
	}
	return m;
}

/* Next item of a comma-separated endpoint list: *len bytes at the returned
 * position (spaces trimmed), NULL at the end; *rest is where to go on. */
static const char *endpoint_item(const char *list, size_t *len, const char **rest)
{
	while (*list == ' ' || *list == '\t' || *list == ',')
		list++;
	if (!*list)
		return NULL;
	const char *end = strchr(list, ',');
	if (!end)
		end = list + strlen(list);
	*rest = end;
	while (end > list && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*len = (size_t)(end - list);
	return list;
}

bool mp_module_endpoint_matches(const char *list, const char *name)
{
	size_t len;
	for (const char *e = endpoint_item(list, &len, &list); e;
	     e = endpoint_item(list, &len, &list))
		if ((len == strlen(MP_ENDPOINT_ANY) && strncasecmp(e, MP_ENDPOINT_ANY, len) == 0) ||
		    (name && strlen(name) == len && strncasecmp(e, name, len) == 0))
			return true;
	return false;
}

static int endpoint_known(const char *list)
{
	static const char *const known[] = {MP_ENDPOINT_EMSMDB, MP_ENDPOINT_ASYNC_EMSMDB,
					    MP_ENDPOINT_NSPI, MP_ENDPOINT_RFR, MP_ENDPOINT_ANY};
	size_t len, n = 0;
	for (const char *e = endpoint_item(list, &len, &list); e;
	     e = endpoint_item(list, &len, &list), n++) {
		size_t i = 0;
		while (i < sizeof(known) / sizeof(known[0]) &&
		       !(strlen(known[i]) == len && strncasecmp(e, known[i], len) == 0))
			i++;
		if (i == sizeof(known) / sizeof(known[0]))
			return 0;
	}
	return n > 0;
}

int mp_modules_load(const char *dir, char *const *names, char *errbuf, size_t errlen)
{
	for (size_t i = 0; names && names[i]; i++) {
		const char *name = names[i];
		if (n_loaded == MP_MAX_MODULES)
			return fail(errbuf, errlen, "dcerpc_mapiproxy:modules: more than %d modules",
				    MP_MAX_MODULES);
		if (strchr(name, '/') || !name[0])
			return fail(errbuf, errlen,
				    "dcerpc_mapiproxy:modules: '%s' is not a module name (modules "
				    "are found in mapiproxy:modules dir)",
				    name);
		for (size_t j = 0; j < n_loaded; j++)
			if (strcasecmp(loaded[j].desc->name, name) == 0)
				return fail(errbuf, errlen,
					    "dcerpc_mapiproxy:modules: '%s' is listed twice", name);
		struct mp_loaded_module *lm = &loaded[n_loaded];
		memset(lm, 0, sizeof(*lm));
		snprintf(lm->path, sizeof(lm->path), "%s/%s.so", dir, name);
		if (access(lm->path, F_OK) != 0)
			return fail(errbuf, errlen,
				    "dcerpc_mapiproxy:modules: no module '%s' (%s: %s); "
				    "mapiproxy --list-modules shows what %s has",
				    name, lm->path, strerror(errno), dir);
		char why[600];
		lm->desc = open_module(lm->path, &lm->dl, why, sizeof(why));
		if (!lm->desc)
			return fail(errbuf, errlen, "module '%s' refused: %s", name, why);
		if (strcasecmp(lm->desc->name, name) != 0) {
			fail(errbuf, errlen, "module '%s' refused: %s calls itself '%s'", name,
			     lm->path, lm->desc->name);
			dlclose(lm->dl);
			return MP_ERR_CONFIG;
		}
		if (!endpoint_known(lm->desc->endpoint)) {
			fail(errbuf, errlen,
			     "module '%s' refused: unknown endpoint '%s' (exchange_emsmdb, "
			     "exchange_async_emsmdb, exchange_nsp, exchange_ds_rfr or any, "
			     "or a comma-separated list of them)",
			     name, lm->desc->endpoint);
			dlclose(lm->dl);
			return MP_ERR_CONFIG;
		}
		n_loaded++;
	}
	return MP_OK;
}

struct mp_module_ctx {
	const struct mp_config *cfg;
	const struct mp_proxy_conf *conf;
	struct mp_loaded_module *lm;
	char *err;
	size_t errlen;
};

int mp_modules_init(const struct mp_config *cfg, const struct mp_proxy_conf *conf,
		    char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < n_loaded; i++) {
		struct mp_loaded_module *lm = &loaded[i];
		if (lm->started || !lm->desc->init) {
			lm->started = true;
			continue;
		}
		char why[400] = "";
		struct mp_module_ctx ctx = {cfg, conf, lm, why, sizeof(why)};
		mp_module_current = (int)i;
		int rc = lm->desc->init(&ctx);
		mp_module_current = -1;
		if (rc != MP_MODULE_OK)
			return fail(errbuf, errlen, "module '%s' failed to start: %s",
				    lm->desc->name, why[0] ? why : "its init() returned an error");
		lm->started = true;
		mp_info("module %s started (%s)", lm->desc->name, lm->path);
	}
	return MP_OK;
}

void mp_modules_unload(void)
{
	while (n_loaded) {
		size_t i = n_loaded - 1;
		struct mp_loaded_module *lm = &loaded[i];
		if (lm->started && lm->desc->fini) {
			struct mp_module_ctx ctx = {NULL, NULL, lm, NULL, 0};
			mp_module_current = (int)i;
			lm->desc->fini(&ctx);
			mp_module_current = -1;
		}
		/* Leave the code mapped under sanitizers: leak reports need the
		 * symbols of the module that allocated. */
#if !defined(__SANITIZE_ADDRESS__)
		dlclose(lm->dl);
#endif
		memset(lm, 0, sizeof(*lm));
		n_loaded = i;
	}
}

int mp_modules_list(const char *dir, FILE *out)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(out, "no modules directory %s: %s\n", dir, strerror(errno));
		return 0;
	}
	struct dirent *de;
	int n = 0;
	fprintf(out, "Modules in %s:\n", dir);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		char path[PATH_MAX + 300], why[600];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		void *dl;
		const struct mp_module *m = open_module(path, &dl, why, sizeof(why));
		if (!m) {
			fprintf(out, "  %-12.*s (refused: %s)\n", (int)(len - 3), de->d_name, why);
			continue;
		}
		fprintf(out, "  %-12s %-22s ABI %u.%u  %s\n", m->name, m->endpoint, m->abi >> 16,
			m->abi & 0xffff, m->description ? m->description : "");
		dlclose(dl);
		n++;
	}
	closedir(d);
	fprintf(out, "  %-12s %-22s built in  decoded calls on the log / JSON lines (mpm_dump:)\n",
		"dump", "exchange_*");
	return n;
}

/* ---- the init context (public API) ---- */

static const char *option_value(struct mp_module_ctx *ctx, const char *option, int *line)
{
	char key[256];
	const char *name = ctx->lm->desc->name;
	snprintf(key, sizeof(key), "%s:%s", name, option);
	const struct mp_config_entry *e = mp_config_find(ctx->cfg, key);
	if (!e) { /* the original's prefix: mpm_cache:path */
		snprintf(key, sizeof(key), "mpm_%s:%s", name, option);
		e = mp_config_find(ctx->cfg, key);
	}
	if (line)
		*line = e ? e->line : 0;
	return e ? e->value : NULL;
}

const char *mp_module_option(struct mp_module_ctx *ctx, const char *option, const char *def)
{
	if (!ctx || !ctx->cfg)
		return def;
	const char *v = option_value(ctx, option, NULL);
	return v ? v : def;
}

void mp_module_error(struct mp_module_ctx *ctx, const char *fmt, ...)
{
	if (!ctx || !ctx->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx->err, ctx->errlen, fmt, ap);
	va_end(ap);
}

int mp_module_option_int(struct mp_module_ctx *ctx, const char *option, long def, long min,
			 long max, long *out)
{
	int line;
	const char *v = ctx && ctx->cfg ? option_value(ctx, option, &line) : NULL;
	*out = def;
	if (!v)
		return MP_MODULE_OK;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 0);
	if (errno || end == v || *end || n < min || n > max) {
		mp_module_error(ctx, "%s:%d: %s:%s: expected a number from %ld to %ld, found '%s'",
				ctx->cfg->path, line, ctx->lm->desc->name, option, min, max, v);
		return MP_MODULE_ERROR;
	}
	*out = n;
	return MP_MODULE_OK;
}

int mp_module_option_bool(struct mp_module_ctx *ctx, const char *option, bool def, bool *out)
{
	int line;
	const char *v = ctx && ctx->cfg ? option_value(ctx, option, &line) : NULL;
	*out = def;
	if (!v)
		return MP_MODULE_OK;
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return MP_MODULE_OK;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return MP_MODULE_OK;
		}
	}
	mp_module_error(ctx, "%s:%d: %s:%s: expected yes or no, found '%s'", ctx->cfg->path, line,
			ctx->lm->desc->name, option, v);
	return MP_MODULE_ERROR;
}

int mp_module_option_size(struct mp_module_ctx *ctx, const char *option, uint64_t def,
			  uint64_t *out)
{
	int line;
	const char *v = ctx && ctx->cfg ? option_value(ctx, option, &line) : NULL;
	*out = def;
	if (!v)
		return MP_MODULE_OK;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	uint64_t mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024ull * 1024 * 1024, end++;
	if (errno || end == v || *end || v[0] == '-' || n > UINT64_MAX / mul) {
		mp_module_error(ctx, "%s:%d: %s:%s: expected a size (bytes, or with k, M, G), "
				"found '%s'", ctx->cfg->path, line, ctx->lm->desc->name, option, v);
		return MP_MODULE_ERROR;
	}
	*out = n * mul;
	return MP_MODULE_OK;
}

void mp_module_set_global(struct mp_module_ctx *ctx, void *global)
{
	ctx->lm->global = global;
}

void *mp_module_global(struct mp_module_ctx *ctx)
{
	return ctx->lm->global;
}

const char *mp_module_fqdn(struct mp_module_ctx *ctx)
{
	return ctx && ctx->conf ? ctx->conf->fqdn : "localhost";
}
