#include "dcerpc/iface.h"

#include "util/status.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct mp_iface mp_ifaces[] = {
	{"exchange_emsmdb", "a4f1db00-ca47-1067-b31f-00dd010662da", 0, 81, "EMSMDB message store"},
	{"exchange_async_emsmdb", "5261574a-4572-206e-b268-6b199213b4e4", 0, 1,
	 "AsyncEMSMDB notifications"},
	{"exchange_nsp", "f5cc5a18-4264-101a-8c59-08002b2f8426", 56, 0, "NSPI address book"},
	{"exchange_ds_rfr", "1544f5e0-613c-11d1-93df-00c04fd7bd09", 1, 0, "RFR referral"},
	{"epmapper", "e1af8308-5d1f-11c9-91a4-08002b14a0fa", 3, 0, "endpoint mapper"},
	{"lsarpc", "12345778-1234-abcd-ef00-0123456789ab", 0, 0, "local security authority"},
	{"samr", "12345778-1234-abcd-ef00-0123456789ac", 1, 0, "security account manager"},
	{"netlogon", "12345678-1234-abcd-ef00-01234567cffb", 1, 0, "netlogon"},
	{"drsuapi", "e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4, 0, "directory replication"},
	{"lsarpc_ds", "3919286a-b10c-11d0-9ba8-00c04fd92ef5", 0, 0, "DS role"},
	{"dnsserver", "50abc2a4-574d-40b3-9d66-ee4fd5fba076", 5, 0, "DNS server management"},
	{"backupkey", "3dde7c30-165d-11d1-ab8f-00805f14db40", 1, 0, "backup key"},
	{"srvsvc", "4b324fc8-1670-01d3-1278-5a47bf6ee188", 3, 0, "server service"},
	{"wkssvc", "6bffd098-a112-3610-9833-46c3f87e345a", 1, 0, "workstation service"},
	{"winreg", "338cd001-2244-31f1-aaaa-900038001003", 1, 0, "registry"},
	{"mgmt", "afa8bd80-7d8a-11c9-bef4-08002b102989", 1, 0, "remote management"},
	{NULL, NULL, 0, 0, NULL},
};

static int from_table(const struct mp_iface *i, struct mp_syntax *out)
{
	if (mp_uuid_parse(i->uuid, &out->uuid) != MP_OK)
		return MP_ERR_PARSE;
	out->major = i->major;
	out->minor = i->minor;
	return MP_OK;
}

int mp_iface_resolve(const char *spec, struct mp_syntax *out)
{
	for (const struct mp_iface *i = mp_ifaces; i->name; i++)
		if (strcasecmp(spec, i->name) == 0)
			return from_table(i, out);
	size_t n = strlen(spec);
	if (n < 36)
		return MP_ERR_NOTFOUND;
	char uuid[37];
	memcpy(uuid, spec, 36);
	uuid[36] = '\0';
	if (mp_uuid_parse(uuid, &out->uuid) != MP_OK)
		return MP_ERR_PARSE;
	out->major = out->minor = 0;
	if (n == 36)
		return MP_OK;
	if (spec[36] != '/')
		return MP_ERR_PARSE;
	char *end;
	unsigned long major = strtoul(spec + 37, &end, 10);
	if (end == spec + 37 || major > 0xffff)
		return MP_ERR_PARSE;
	unsigned long minor = 0;
	if (*end == '.') {
		const char *m = end + 1;
		minor = strtoul(m, &end, 10);
		if (end == m || minor > 0xffff)
			return MP_ERR_PARSE;
	}
	if (*end)
		return MP_ERR_PARSE;
	out->major = (uint16_t)major;
	out->minor = (uint16_t)minor;
	return MP_OK;
}

const char *mp_iface_name(const struct mp_syntax *s)
{
	for (const struct mp_iface *i = mp_ifaces; i->name; i++) {
		struct mp_syntax t;
		if (from_table(i, &t) == MP_OK && mp_syntax_equal(&t, s))
			return i->name;
	}
	return NULL;
}
