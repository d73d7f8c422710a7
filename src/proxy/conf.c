#include "proxy/conf.h"

#include "dcerpc/iface.h"
#include "util/log.h"
#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	"mapiproxy:pidfile",          NULL,
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
		    strncmp(e->key, "dcerpc_mapiproxy:", 17) != 0)
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

int mp_proxy_conf_load(struct mp_proxy_conf *c, const struct mp_config *cfg, char *errbuf,
		       size_t errlen)
{
	int rc;
	unsigned long v;
	memset(c, 0, sizeof(*c));

	if ((rc = check_unknown(cfg, errbuf, errlen)) != MP_OK)
		return rc;

	const struct mp_config_entry *b = mp_config_find(cfg, "dcerpc_mapiproxy:binding");
	if (!b)
		return fail(errbuf, errlen,
			    "%s: dcerpc_mapiproxy:binding is not set (the upstream server, e.g. "
			    "ncacn_ip_tcp:exchange.example.com)",
			    cfg->path);
	char berr[200];
	if (mp_binding_parse(b->value, &c->upstream, berr, sizeof(berr)) != MP_OK)
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

	const struct mp_config_entry *m = mp_config_find(cfg, "dcerpc_mapiproxy:modules");
	if (m && m->value[0])
		mp_warn("%s:%d: dcerpc_mapiproxy:modules is set but module loading is not "
			"implemented yet; modules are ignored",
			cfg->path, m->line);
	const struct mp_config_entry *u = mp_config_find(cfg, "dcerpc_mapiproxy:username");
	if (u)
		mp_warn("%s:%d: upstream credentials are not used yet (authentication is not "
			"implemented); connecting anonymously",
			cfg->path, u->line);
	return MP_OK;
}

void mp_proxy_conf_print(const struct mp_proxy_conf *c)
{
	char b[400];
	mp_binding_format(&c->upstream, b, sizeof(b));
	printf("upstream            %s\n", b);
	printf("listen              %s port %u, endpoint mapper port %u%s\n", c->listen, c->port,
	       c->epm_port, c->epm_port ? "" : " (disabled)");
	for (size_t i = 0; i < c->n_ifaces; i++) {
		char u[MP_UUID_STR_LEN];
		mp_uuid_format(&c->ifaces[i].syntax.uuid, u);
		printf("interface           %-22s %s v%u.%u port %u\n", c->ifaces[i].name, u,
		       c->ifaces[i].syntax.major, c->ifaces[i].syntax.minor, c->ifaces[i].port);
	}
	printf("max frag            %u (upstream %u)\n", c->max_frag, c->upstream_max_frag);
	printf("max call size       %zu\n", c->max_call_size);
	printf("max buffered        %zu\n", c->max_buffered);
	printf("max sessions        %u, max calls %u\n", c->max_sessions, c->max_calls);
	printf("timeouts            idle %us, io %us, drain %us\n", c->idle_timeout,
	       c->io_timeout, c->drain_timeout);
	printf("log                 level %d, %s\n", c->log_level,
	       c->log_file[0] ? c->log_file : "stderr");
}
