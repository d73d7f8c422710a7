/* One vocabulary of return codes for every layer (see docs/naming.md). */
#ifndef MP_UTIL_STATUS_H
#define MP_UTIL_STATUS_H

enum mp_status {
	MP_OK = 0,
	MP_DONE = 1,      /* answered locally: do not relay */
	MP_DECLINED = 2,  /* not mine: pass it on */
	MP_AGAIN = 3,     /* need more input / suspend */
	MP_ERR_NOMEM = -1,
	MP_ERR_PARSE = -2,   /* malformed input */
	MP_ERR_LIMIT = -3,   /* a configured limit was exceeded */
	MP_ERR_PROTO = -4,   /* valid bytes, invalid protocol state */
	MP_ERR_UNSUPPORTED = -5,
	MP_ERR_IO = -6,
	MP_ERR_CONFIG = -7,
	MP_ERR_NOTFOUND = -8,
};

/* Short constant name of a status, for logs ("MP_ERR_PARSE"). */
const char *mp_status_name(int status);

#endif
