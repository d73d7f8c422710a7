#include "util/status.h"

const char *mp_status_name(int status)
{
	switch (status) {
	case MP_OK: return "MP_OK";
	case MP_DONE: return "MP_DONE";
	case MP_DECLINED: return "MP_DECLINED";
	case MP_AGAIN: return "MP_AGAIN";
	case MP_ERR_NOMEM: return "MP_ERR_NOMEM";
	case MP_ERR_PARSE: return "MP_ERR_PARSE";
	case MP_ERR_LIMIT: return "MP_ERR_LIMIT";
	case MP_ERR_PROTO: return "MP_ERR_PROTO";
	case MP_ERR_UNSUPPORTED: return "MP_ERR_UNSUPPORTED";
	case MP_ERR_IO: return "MP_ERR_IO";
	case MP_ERR_CONFIG: return "MP_ERR_CONFIG";
	case MP_ERR_NOTFOUND: return "MP_ERR_NOTFOUND";
	}
	return "MP_ERR_UNKNOWN";
}
