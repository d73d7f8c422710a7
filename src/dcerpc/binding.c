#include "dcerpc/binding.h"

#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	uint32_t flag;
} binding_flags[] = {
	{"print", MP_BF_PRINT},       {"sign", MP_BF_SIGN},         {"seal", MP_BF_SEAL},
	{"connect", MP_BF_CONNECT},   {"ntlm", MP_BF_NTLM},         {"spnego", MP_BF_SPNEGO},
	{"krb5", MP_BF_KRB5},         {"ndr64", MP_BF_NDR64},       {"padcheck", MP_BF_PADCHECK},
	{"validate", MP_BF_VALIDATE}, {"bigendian", MP_BF_BIGENDIAN},
};

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (errbuf && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return MP_ERR_PARSE;
}

static int parse_option(const char *opt, size_t n, struct mp_binding *out, char *errbuf,
			size_t errlen)
{
	char word[64];
	while (n && *opt == ' ') {
		opt++;
		n--;
	}
	while (n && opt[n - 1] == ' ')
		n--;
	if (n == 0)
		return MP_OK; /* "[]" or "[,print]" */
	if (n >= sizeof(word))
		return fail(errbuf, errlen, "binding option too long: '%.*s'", (int)n, opt);
	memcpy(word, opt, n);
	word[n] = '\0';
	if (word[0] >= '0' && word[0] <= '9') {
		char *end;
		unsigned long port = strtoul(word, &end, 10);
		if (*end || port == 0 || port > 65535)
			return fail(errbuf, errlen, "invalid port '%s' in binding (1-65535)", word);
		if (out->port)
			return fail(errbuf, errlen, "binding names two ports");
		out->port = (uint16_t)port;
		return MP_OK;
	}
	for (size_t i = 0; i < sizeof(binding_flags) / sizeof(binding_flags[0]); i++) {
		if (strcasecmp(word, binding_flags[i].name) == 0) {
			out->flags |= binding_flags[i].flag;
			return MP_OK;
		}
	}
	return fail(errbuf, errlen,
		    "unknown binding option '%s' (expected a port or one of print, sign, seal, "
		    "connect, ntlm, spnego, krb5, ndr64, padcheck, validate, bigendian)",
		    word);
}

int mp_binding_parse(const char *s, struct mp_binding *out, char *errbuf, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *at = strchr(s, '@');
	if (at) {
		char uuid[40];
		size_t n = (size_t)(at - s);
		if (n != 36)
			return fail(errbuf, errlen, "object UUID before '@' must have 36 characters");
		memcpy(uuid, s, n);
		uuid[n] = '\0';
		if (mp_uuid_parse(uuid, &out->object) != MP_OK)
			return fail(errbuf, errlen, "invalid object UUID '%s'", uuid);
		out->has_object = true;
		s = at + 1;
	}
	const char *colon = strchr(s, ':');
	if (!colon)
		return fail(errbuf, errlen, "binding '%s' has no transport (expected ncacn_ip_tcp:HOST)",
			    s);
	size_t tlen = (size_t)(colon - s);
	if (tlen == 0 || tlen >= sizeof(out->transport))
		return fail(errbuf, errlen, "invalid transport in binding");
	memcpy(out->transport, s, tlen);
	out->transport[tlen] = '\0';
	if (strcasecmp(out->transport, "ncacn_ip_tcp") != 0)
		return fail(errbuf, errlen,
			    "transport '%s' is not supported (only ncacn_ip_tcp for now)",
			    out->transport);

	const char *host = colon + 1;
	const char *open = strchr(host, '[');
	size_t hlen = open ? (size_t)(open - host) : strlen(host);
	if (hlen == 0)
		return fail(errbuf, errlen, "binding has no host");
	if (hlen >= sizeof(out->host))
		return fail(errbuf, errlen, "host name longer than %zu characters",
			    sizeof(out->host) - 1);
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	for (size_t i = 0; i < hlen; i++)
		if (out->host[i] == ' ' || out->host[i] == ']' || out->host[i] == ',')
			return fail(errbuf, errlen, "invalid character in host '%s'", out->host);

	if (open) {
		const char *close = strchr(open, ']');
		if (!close)
			return fail(errbuf, errlen, "binding options lack a closing ']'");
		if (close[1] != '\0')
			return fail(errbuf, errlen, "text after ']' in binding: '%s'", close + 1);
		const char *p = open + 1;
		while (p < close) {
			const char *comma = memchr(p, ',', (size_t)(close - p));
			const char *end = comma ? comma : close;
			int rc = parse_option(p, (size_t)(end - p), out, errbuf, errlen);
			if (rc != MP_OK)
				return rc;
			p = end + 1;
		}
	}
	return MP_OK;
}

void mp_binding_format(const struct mp_binding *b, char *out, size_t len)
{
	char obj[MP_UUID_STR_LEN + 1] = "";
	char opts[256] = "";
	size_t o = 0;
	if (b->has_object) {
		mp_uuid_format(&b->object, obj);
		obj[36] = '@';
		obj[37] = '\0';
	}
	if (b->port)
		o += (size_t)snprintf(opts + o, sizeof(opts) - o, "%u", b->port);
	for (size_t i = 0; i < sizeof(binding_flags) / sizeof(binding_flags[0]); i++)
		if ((b->flags & binding_flags[i].flag) && o < sizeof(opts))
			o += (size_t)snprintf(opts + o, sizeof(opts) - o, "%s%s", o ? "," : "",
					      binding_flags[i].name);
	if (o)
		snprintf(out, len, "%s%s:%s[%s]", obj, b->transport, b->host, opts);
	else
		snprintf(out, len, "%s%s:%s", obj, b->transport, b->host);
}
