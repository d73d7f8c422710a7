/*
 * Logging: one line per event, to stderr or a file, with a level filter.
 * Never pass a secret to these functions.
 */
#ifndef MP_UTIL_LOG_H
#define MP_UTIL_LOG_H

enum mp_log_level {
	MP_LOG_ERROR = 0,
	MP_LOG_WARN = 1,
	MP_LOG_INFO = 2,
	MP_LOG_DEBUG = 3,
	MP_LOG_TRACE = 4,
};

extern int mp_log_level;

/* Parse "error|warn|info|debug|trace" or a digit 0-4; returns -1 if invalid. */
int mp_log_parse_level(const char *s);
/* Log to `path` (appending) instead of stderr; NULL means stderr. 0 or -errno. */
int mp_log_open(const char *path);
/* Reopen the log file (SIGHUP, after rotation). */
int mp_log_reopen(void);
void mp_log_close(void);

void mp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mp_err(...) mp_log(MP_LOG_ERROR, __VA_ARGS__)
#define mp_warn(...) mp_log(MP_LOG_WARN, __VA_ARGS__)
#define mp_info(...) mp_log(MP_LOG_INFO, __VA_ARGS__)
#define mp_debug(...)                                                                              \
	do {                                                                                       \
		if (mp_log_level >= MP_LOG_DEBUG)                                                  \
			mp_log(MP_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)

#endif
