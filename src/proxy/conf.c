#include "proxy/conf.h"
#include "proxy/server.h"

#include "auth/ntlm_crypto.h"
#include "dcerpc/iface.h"
#include "dcerpc/sec.h"
#include "util/log.h"
#include "util/status.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "proxy/module.h"

/* Every option this daemon understands; keys as normalised by the parser. */
static const char *const known_options[] = {
	"dcerpc_mapiproxy:binding",   "dcerpc_mapiproxy:interfaces",
	"dcerpc_mapiproxy:modules",   "dcerpc_mapiproxy:username",
	"dcerpc_mapiproxy:password",  "dcerpc_mapiproxy:domain",
	"dcerpc_mapiproxy:server",    "dcerpc_mapiproxy:delegated_auth",
	"mapiproxy:listen",           "mapiproxy:port",
	"mapiproxy:epmport",          "mapiproxy:upstreamepmport",
	"mapiproxy:interfaceports",   "mapiproxy:maxfrag",
	"mapiproxy:upstreammaxfrag",  "mapiproxy:maxcallsize",
	"mapiproxy:maxbuffered",      "mapiproxy:maxsessions",
	"mapiproxy:maxcalls",         "mapiproxy:idletimeout",
	"mapiproxy:iotimeout",        "mapiproxy:draintimeout",
	"mapiproxy:loglevel",         "mapiproxy:logfile",
	"mapiproxy:pidfile",          "mapiproxy:authrequired",
	"mapiproxy:minauthlevel",     "mapiproxy:allowntlmv1",
	"mapiproxy:userdb",           "mapiproxy:netbiosname",
	"mapiproxy:netbiosdomain",    "dcerpc_mapiproxy:passwordfile",
	"dcerpc_mapiproxy:nthash",    "mapiproxy:authpassthrough",
	"mpm_dump:jsonfile",          "mpm_dump:rops",
	"mpm_dump:maxbytes",          "dcerpc_mapiproxy:nspi_server",
	"dcerpc_mapiproxy:emsmdb_server", "dcerpc_mapiproxy:rfr_server",
	"mapiproxy:fqdn",             "mapiproxy:modulesdir",
	"mapiproxy:moduleerrors",     NULL,
};

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

static int check_unknown(const struct mp_config *cfg, char *errbuf, size_t errlen)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct mp_config_entry *e = &cfg->entries[i];
		if (strncmp(e->key, "mapiproxy:", 10) != 0 &&
		    strncmp(e->key, "dcerpc_mapiproxy:", 17) != 0 &&
		    strncmp(e->key, "mpm_dump:", 9) != 0)
			continue; /* other prefixes belong to modules or to Samba */
		bool known = false;
		for (const char *const *k = known_options; *k; k++)
			if (strcmp(*k, e->key) == 0)
				known = true;
		if (!known)
			return fail(errbuf, errlen,
				    "%s:%d: unknown option '%s' (see docs/configuration.md)",
				    cfg->path, e->line, e->key);
	}
	return MP_OK;
}

static int get_port(const struct mp_config *cfg, const char *key, unsigned long def,
		    unsigned long min, uint16_t *out, char *errbuf, size_t errlen)
{
	unsigned long v;
	int rc = mp_config_get_uint(cfg, key, def, min, 65535, &v, errbuf, errlen);
	*out = (uint16_t)v;
	return rc;
}

static int load_ifaces(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
		       size_t errlen)
{
	const struct mp_config_entry *e = mp_config_find(cfg, "dcerpc_mapiproxy:interfaces");
	const char *def = "exchange_emsmdb, exchange_async_emsmdb, exchange_nsp, exchange_ds_rfr";
	char **names = mp_config_split_list(e ? e->value : def);
	int rc = MP_OK;
	if (!names)
		return MP_ERR_NOMEM;
	for (char **n = names; *n; n++) {
		if (c->n_ifaces == MP_CONF_MAX_IFACES) {
			rc = fail(errbuf, errlen, "%s:%d: more than %d interfaces", cfg->path,
				  e ? e->line : 0, MP_CONF_MAX_IFACES);
			break;
		}
		struct mp_conf_iface *i = &c->ifaces[c->n_ifaces];
		if (mp_iface_resolve(*n, &i->syntax) != MP_OK) {
			rc = fail(errbuf, errlen,
				  "%s:%d: dcerpc_mapiproxy:interfaces: '%s' is neither a known "
				  "interface name (mapiproxy --list-interfaces) nor UUID/major.minor",
				  cfg->path, e ? e->line : 0, *n);
			break;
		}
		snprintf(i->name, sizeof(i->name), "%s", *n);
		i->port = c->port;
		c->n_ifaces++;
	}
	mp_strv_free(names);
	if (rc == MP_OK && c->n_ifaces == 0)
		rc = fail(errbuf, errlen, "%s:%d: dcerpc_mapiproxy:interfaces is empty", cfg->path,
			  e ? e->line : 0);
	return rc;
}

/* mapiproxy:interface ports = exchange_nsp=6004, exchange_ds_rfr=6002 */
static int load_iface_ports(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
			    size_t errlen)
{
	const struct mp_config_entry *e = mp_config_find(cfg, "mapiproxy:interface ports");
	if (!e)
		return MP_OK;
	char **items = mp_config_split_list(e->value);
	int rc = MP_OK;
	if (!items)
		return MP_ERR_NOMEM;
	for (char **it = items; *it && rc == MP_OK; it++) {
		char *eq = strchr(*it, '=');
		char *end = NULL;
		unsigned long port = eq ? strtoul(eq + 1, &end, 10) : 0;
		if (!eq || !end || *end || port == 0 || port > 65535) {
			rc = fail(errbuf, errlen,
				  "%s:%d: mapiproxy:interface ports: expected NAME=PORT, found '%s'",
				  cfg->path, e->line, *it);
			break;
		}
		*eq = '\0';
		bool found = false;
		for (size_t i = 0; i < c->n_ifaces; i++)
			if (strcasecmp(c->ifaces[i].name, *it) == 0) {
				c->ifaces[i].port = (uint16_t)port;
				found = true;
			}
		if (!found)
			rc = fail(errbuf, errlen,
				  "%s:%d: mapiproxy:interface ports: '%s' is not in "
				  "dcerpc_mapiproxy:interfaces",
				  cfg->path, e->line, *it);
	}
	mp_strv_free(items);
	return rc;
}

static int parse_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{"none", MP_AUTH_LEVEL_NONE},          {"connect", MP_AUTH_LEVEL_CONNECT},
		{"integrity", MP_AUTH_LEVEL_PKT_INTEGRITY}, {"sign", MP_AUTH_LEVEL_PKT_INTEGRITY},
		{"privacy", MP_AUTH_LEVEL_PKT_PRIVACY}, {"seal", MP_AUTH_LEVEL_PKT_PRIVACY},
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcasecmp(s, levels[i].name) == 0)
			return levels[i].level;
	return -1;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Read the first line of a password file; it must not be readable by others. */
static int read_password_file(struct mp_proxy_conf *c, const struct mp_config *cfg,
			      const struct mp_config_entry *e, char *errbuf, size_t errlen)
{
	struct stat st;
	FILE *fp = fopen(e->value, "r");
	if (!fp)
		return fail(errbuf, errlen, "%s:%d: dcerpc_mapiproxy:password file: cannot open %s: %s",
			    cfg->path, e->line, e->value, strerror(errno));
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077)) {
		fclose(fp);
		return fail(errbuf, errlen,
			    "%s:%d: dcerpc_mapiproxy:password file: %s is readable by group or "
			    "others; run chmod 600 %s",
			    cfg->path, e->line, e->value, e->value);
	}
	char *line = fgets(c->up_password, sizeof(c->up_password), fp);
	fclose(fp);
	if (!line)
		return fail(errbuf, errlen, "%s:%d: dcerpc_mapiproxy:password file: %s is empty",
			    cfg->path, e->line, e->value);
	c->up_password[strcspn(c->up_password, "\r\n")] = '\0';
	return MP_OK;
}

static int load_auth(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
		     size_t errlen)
{
	int rc;
	if ((rc = mp_config_get_bool(cfg, "mapiproxy:auth required", true, &c->auth_required,
				     errbuf, errlen)) != MP_OK ||
	    (rc = mp_config_get_bool(cfg, "mapiproxy:allow ntlmv1", false, &c->allow_ntlmv1,
				     errbuf, errlen)) != MP_OK ||
	    (rc = mp_config_get_bool(cfg, "mapiproxy:auth passthrough", false,
				     &c->auth_passthrough, errbuf, errlen)) != MP_OK)
		return rc;
	const struct mp_config_entry *e = mp_config_find(cfg, "mapiproxy:min auth level");
	c->min_auth_level = MP_AUTH_LEVEL_PKT_INTEGRITY;
	if (e && (c->min_auth_level = parse_level(e->value)) < 0)
		return fail(errbuf, errlen,
			    "%s:%d: mapiproxy:min auth level: expected none, connect, "
			    "integrity (or sign), privacy (or seal); found '%s'",
			    cfg->path, e->line, e->value);
	snprintf(c->user_db, sizeof(c->user_db), "%s",
		 mp_config_get_str(cfg, "mapiproxy:user db", ""));
	if (c->auth_required && !c->user_db[0] && !c->auth_passthrough && !mp_proxy_has_user_lookup())
		return fail(errbuf, errlen,
			    "%s: mapiproxy:auth required = yes needs mapiproxy:user db (create one "
			    "with mapiproxy-user --db FILE add USER), or set mapiproxy:auth "
			    "required = no to let clients in anonymously",
			    cfg->path);
	snprintf(c->netbios_name, sizeof(c->netbios_name), "%s",
		 mp_config_get_str(cfg, "mapiproxy:netbios name", "MAPIPROXY"));
	snprintf(c->netbios_domain, sizeof(c->netbios_domain), "%s",
		 mp_config_get_str(cfg, "mapiproxy:netbios domain", "MAPIPROXY"));

	snprintf(c->up_user, sizeof(c->up_user), "%s",
		 mp_config_get_str(cfg, "dcerpc_mapiproxy:username", ""));
	snprintf(c->up_domain, sizeof(c->up_domain), "%s",
		 mp_config_get_str(cfg, "dcerpc_mapiproxy:domain", ""));
	const struct mp_config_entry *pw = mp_config_find(cfg, "dcerpc_mapiproxy:password");
	const struct mp_config_entry *pf = mp_config_find(cfg, "dcerpc_mapiproxy:password file");
	const struct mp_config_entry *nh = mp_config_find(cfg, "dcerpc_mapiproxy:nt hash");
	if (pw)
		snprintf(c->up_password, sizeof(c->up_password), "%s", pw->value);
	if (pf && (rc = read_password_file(c, cfg, pf, errbuf, errlen)) != MP_OK)
		return rc;
	if (nh) {
		if (strlen(nh->value) != 32)
			return fail(errbuf, errlen,
				    "%s:%d: dcerpc_mapiproxy:nt hash: expected 32 hex digits",
				    cfg->path, nh->line);
		for (int i = 0; i < 16; i++) {
			int hi = hexval(nh->value[2 * i]), lo = hexval(nh->value[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return fail(errbuf, errlen,
					    "%s:%d: dcerpc_mapiproxy:nt hash: expected 32 hex digits",
					    cfg->path, nh->line);
			c->up_nt_hash[i] = (uint8_t)(hi << 4 | lo);
		}
		c->up_has_hash = true;
	}
	if (c->auth_passthrough && c->up_user[0])
		return fail(errbuf, errlen,
			    "%s: mapiproxy:auth passthrough = yes relays the client's own "
			    "authentication, so dcerpc_mapiproxy:username must not be set (remove "
			    "one of the two)",
			    cfg->path);
	if (c->up_user[0] && !c->up_password[0] && !c->up_has_hash)
		return fail(errbuf, errlen,
			    "%s: dcerpc_mapiproxy:username is set but no password: set "
			    "dcerpc_mapiproxy:password, :password file or :nt hash",
			    cfg->path);
	return MP_OK;
}

void mp_proxy_conf_wipe(struct mp_proxy_conf *c)
{
	mp_ntlm_wipe(c->up_password, sizeof(c->up_password));
	mp_ntlm_wipe(c->up_nt_hash, sizeof(c->up_nt_hash));
}

/* Which interfaces are answered here (server modules), which relayed. */
static int load_servers(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
			size_t errlen)
{
	bool all;
	int rc = mp_config_get_bool(cfg, "dcerpc_mapiproxy:server", false, &all, errbuf, errlen);
	if (rc != MP_OK)
		return rc;
	const struct mp_server_module *const *mods = mp_server_modules();
	for (size_t m = 0; mods[m]; m++) {
		const struct mp_server_module *mod = mods[m];
		bool on;
		if ((rc = mp_config_get_bool(cfg, mod->option, all, &on, errbuf, errlen)) != MP_OK)
			return rc;
		if (!on)
			continue;
		bool listed = false;
		for (size_t i = 0; i < c->n_ifaces; i++) {
			if (strcmp(c->ifaces[i].name, mod->iface) == 0) {
				c->ifaces[i].server = mod;
				listed = true;
			}
		}
		const struct mp_config_entry *e = mp_config_find(cfg, mod->option);
		if (!listed && e)
			return fail(errbuf, errlen,
				    "%s:%d: %s: add %s to dcerpc_mapiproxy:interfaces to serve it",
				    cfg->path, e->line, mod->option, mod->iface);
	}
	for (size_t i = 0; i < c->n_ifaces; i++) {
		if (c->ifaces[i].server)
			continue;
		if (all)
			return fail(errbuf, errlen,
				    "%s: dcerpc_mapiproxy:server = yes, but no server module answers "
				    "%s; remove it from dcerpc_mapiproxy:interfaces",
				    cfg->path, c->ifaces[i].name);
		c->has_upstream = true;
	}
	const char *fqdn = mp_config_get_str(cfg, "mapiproxy:fqdn", "");
	if (!*fqdn) {
		char host[256] = "localhost";
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = 0;
		snprintf(c->fqdn, sizeof(c->fqdn), "%s", host);
	} else {
		snprintf(c->fqdn, sizeof(c->fqdn), "%s", fqdn);
	}
	return MP_OK;
}

/* dcerpc_mapiproxy:modules: the stack, in order. `dump` is built in; the
 * others are shared objects loaded from mapiproxy:modules dir (module.h). */
static int load_modules(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
			size_t errlen)
{
	const struct mp_config_entry *m = mp_config_find(cfg, "dcerpc_mapiproxy:modules");
	if (m && m->value[0]) {
		char **names = mp_config_split_list(m->value);
		if (!names)
			return fail(errbuf, errlen, "out of memory");
		for (size_t i = 0; names[i]; i++) {
			if (strcasecmp(names[i], "dump") == 0) {
				c->dump = true;
				continue;
			}
			if (c->n_modules == sizeof(c->modules) / sizeof(c->modules[0]) ||
			    strlen(names[i]) >= sizeof(c->modules[0])) {
				mp_strv_free(names);
				return fail(errbuf, errlen,
					    "%s:%d: dcerpc_mapiproxy:modules: too many modules, or a "
					    "name longer than 63 characters",
					    cfg->path, m->line);
			}
			snprintf(c->modules[c->n_modules++], sizeof(c->modules[0]), "%s", names[i]);
		}
		mp_strv_free(names);
	}
	snprintf(c->modules_dir, sizeof(c->modules_dir), "%s",
		 mp_config_get_str(cfg, "mapiproxy:modules dir", mp_modules_default_dir()));
	const struct mp_config_entry *e = mp_config_find(cfg, "mapiproxy:module errors");
	if (e && strcasecmp(e->value, "relay") == 0)
		c->module_errors_relay = true;
	else if (e && strcasecmp(e->value, "fault") != 0)
		return fail(errbuf, errlen,
			    "%s:%d: mapiproxy:module errors: expected fault or relay, found '%s'",
			    cfg->path, e->line, e->value);
	return MP_OK;
}

/* The built-in dump (binding flag [print], `dump` in the module list, or
 * mpm_dump: options). */
static int load_dump(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
		     size_t errlen)
{
	int rc = load_modules(c, cfg, errbuf, errlen);
	if (rc != MP_OK)
		return rc;
	if (c->upstream.flags & MP_BF_PRINT)
		c->dump = true;
	snprintf(c->dump_json, sizeof(c->dump_json), "%s",
		 mp_config_get_str(cfg, "mpm_dump:json file", ""));
	if (c->dump_json[0])
		c->dump = true;
	unsigned long max_bytes;
	if ((rc = mp_config_get_bool(cfg, "mpm_dump:rops", true, &c->dump_rops, errbuf,
				     errlen)) != MP_OK ||
	    (rc = mp_config_get_uint(cfg, "mpm_dump:max bytes", 64, 0, 1u << 20, &max_bytes,
				     errbuf, errlen)) != MP_OK)
		return rc;
	c->dump_max_bytes = (unsigned)max_bytes;
	return MP_OK;
}

int mp_proxy_conf_load(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
		       size_t errlen)
{
	int rc;
	unsigned long v;
	memset(c, 0, sizeof(*c));

	if ((rc = check_unknown(cfg, errbuf, errlen)) != MP_OK)
		return rc;

	const struct mp_config_entry *b = mp_config_find(cfg, "dcerpc_mapiproxy:binding");
	char berr[200];
	if (b && mp_binding_parse(b->value, &c->upstream, berr, sizeof(berr)) != MP_OK)
		return fail(errbuf, errlen, "%s:%d: dcerpc_mapiproxy:binding: %s", cfg->path,
			    b->line, berr);

	snprintf(c->listen, sizeof(c->listen), "%s",
		 mp_config_get_str(cfg, "mapiproxy:listen", "127.0.0.1"));
	if ((rc = get_port(cfg, "mapiproxy:port", 6001, 1, &c->port, errbuf, errlen)) != MP_OK ||
	    (rc = get_port(cfg, "mapiproxy:epm port", 135, 0, &c->epm_port, errbuf, errlen)) !=
		    MP_OK ||
	    (rc = get_port(cfg, "mapiproxy:upstream epm port", 135, 1, &c->upstream_epm_port,
			   errbuf, errlen)) != MP_OK)
		return rc;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:max frag", 5840, MP_PDU_MIN_FRAG_CONF, 65535,
				     &v, errbuf, errlen)) != MP_OK)
		return rc;
	c->max_frag = (uint16_t)v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:upstream max frag", 5840,
				     MP_PDU_MIN_FRAG_CONF, 65535, &v, errbuf, errlen)) != MP_OK)
		return rc;
	c->upstream_max_frag = (uint16_t)v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:max call size", 16u << 20, 4096, 1u << 30, &v,
				     errbuf, errlen)) != MP_OK)
		return rc;
	c->max_call_size = v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:max buffered", 1u << 20, 65536, 1u << 30, &v,
				     errbuf, errlen)) != MP_OK)
		return rc;
	c->max_buffered = v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:max sessions", 4096, 1, 1000000, &v, errbuf,
				     errlen)) != MP_OK)
		return rc;
	c->max_sessions = (unsigned)v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:max calls", 64, 1, 4096, &v, errbuf,
				     errlen)) != MP_OK)
		return rc;
	c->max_calls = (unsigned)v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:idle timeout", 900, 1, 86400 * 7, &v, errbuf,
				     errlen)) != MP_OK)
		return rc;
	c->idle_timeout = (unsigned)v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:io timeout", 30, 1, 3600, &v, errbuf,
				     errlen)) != MP_OK)
		return rc;
	c->io_timeout = (unsigned)v;
	if ((rc = mp_config_get_uint(cfg, "mapiproxy:drain timeout", 10, 0, 3600, &v, errbuf,
				     errlen)) != MP_OK)
		return rc;
	c->drain_timeout = (unsigned)v;

	const struct mp_config_entry *ll = mp_config_find(cfg, "mapiproxy:log level");
	c->log_level = MP_LOG_INFO;
	if (ll && (c->log_level = mp_log_parse_level(ll->value)) < 0)
		return fail(errbuf, errlen,
			    "%s:%d: mapiproxy:log level: expected error, warn, info, debug, trace "
			    "or 0-4, found '%s'",
			    cfg->path, ll->line, ll->value);
	snprintf(c->log_file, sizeof(c->log_file), "%s",
		 mp_config_get_str(cfg, "mapiproxy:log file", ""));
	snprintf(c->pid_file, sizeof(c->pid_file), "%s",
		 mp_config_get_str(cfg, "mapiproxy:pid file", ""));

	if ((rc = load_ifaces(c, cfg, errbuf, errlen)) != MP_OK)
		return rc;
	if ((rc = load_iface_ports(c, cfg, errbuf, errlen)) != MP_OK)
		return rc;

	if ((rc = load_servers(c, cfg, errbuf, errlen)) != MP_OK)
		return rc;
	if (c->has_upstream && !b)
		return fail(errbuf, errlen,
			    "%s: dcerpc_mapiproxy:binding is not set (the upstream server, e.g. "
			    "ncacn_ip_tcp:exchange.example.com; or serve every interface here with "
			    "dcerpc_mapiproxy:server = yes)",
			    cfg->path);
	if ((rc = load_dump(c, cfg, errbuf, errlen)) != MP_OK)
		return rc;
	return load_auth(c, cfg, errbuf, errlen);
}

void mp_proxy_conf_print(const struct mp_proxy_conf *c)
{
	char b[400] = "(none: every interface is served here)";
	if (c->has_upstream)
		mp_binding_format(&c->upstream, b, sizeof(b));
	printf("upstream            %s\n", b);
	printf("listen              %s port %u, endpoint mapper port %u%s\n", c->listen, c->port,
	       c->epm_port, c->epm_port ? "" : " (disabled)");
	for (size_t i = 0; i < c->n_ifaces; i++) {
		char u[MP_UUID_STR_LEN];
		mp_uuid_format(&c->ifaces[i].syntax.uuid, u);
		printf("interface           %-22s %s v%u.%u port %u, %s\n", c->ifaces[i].name, u,
		       c->ifaces[i].syntax.major, c->ifaces[i].syntax.minor, c->ifaces[i].port,
		       c->ifaces[i].server ? "served here" : "relayed");
	}
	printf("max frag            %u (upstream %u)\n", c->max_frag, c->upstream_max_frag);
	printf("max call size       %zu\n", c->max_call_size);
	printf("max buffered        %zu\n", c->max_buffered);
	printf("max sessions        %u, max calls %u\n", c->max_sessions, c->max_calls);
	printf("timeouts            idle %us, io %us, drain %us\n", c->idle_timeout,
	       c->io_timeout, c->drain_timeout);
	printf("log                 level %d, %s\n", c->log_level,
	       c->log_file[0] ? c->log_file : "stderr");
	printf("client auth         %s, min level %s, user db %s%s\n",
	       c->auth_required ? "required" : "optional", mp_auth_level_name((unsigned)c->min_auth_level),
	       c->user_db[0] ? c->user_db : "(none)", c->allow_ntlmv1 ? ", NTLMv1 allowed" : "");
	if (c->up_user[0])
		printf("upstream auth       %s\\%s (secret not shown)\n", c->up_domain, c->up_user);
	else if (c->auth_passthrough)
		printf("upstream auth       pass-through (the client's own NTLMSSP reaches the "
		       "server; calls stay sealed to the proxy)\n");
	else
		printf("upstream auth       anonymous\n");
	if (c->dump)
		printf("dump                log%s%s%s\n", c->dump_json[0] ? " + JSON lines " : "",
		       c->dump_json, c->dump_rops ? ", with ROPs" : "");
	if (c->n_modules) {
		printf("modules            ");
		for (unsigned i = 0; i < c->n_modules; i++)
			printf(" %s", c->modules[i]);
		printf(" (from %s; hook errors %s)\n", c->modules_dir,
		       c->module_errors_relay ? "relay the call untouched" : "fault the call");
	}
}
