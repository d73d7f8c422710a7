#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

int mp_log_level = MP_LOG_INFO;

static FILE *log_fp;     /* NULL: stderr */
static char *log_path;   /* owned copy of the configured path */

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

int mp_log_parse_level(const char *s)
{
	if (s[0] >= '0' && s[0] <= '4' && s[1] == '\0')
		return s[0] - '0';
	for (int i = 0; i < 5; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

int mp_log_open(const char *path)
{
	mp_log_close();
	if (!path)
		return 0;
	log_path = strdup(path);
	if (!log_path)
		return -ENOMEM;
	return mp_log_reopen();
}

int mp_log_reopen(void)
{
	if (!log_path)
		return 0;
	FILE *fp = fopen(log_path, "a");
	if (!fp)
		return -errno;
	setvbuf(fp, NULL, _IOLBF, 0);
	if (log_fp)
		fclose(log_fp);
	log_fp = fp;
	return 0;
}

void mp_log_close(void)
{
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
	free(log_path);
	log_path = NULL;
}

void mp_log(int level, const char *fmt, ...)
{
	if (level > mp_log_level)
		return;
	FILE *fp = log_fp ? log_fp : stderr;
	struct timeval tv;
	struct tm tm;
	char ts[32];
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);

	char line[2048];
	int n = snprintf(line, sizeof(line), "%s.%03ld %-5s ", ts, (long)(tv.tv_usec / 1000),
			 level_names[level < 0 ? 0 : level > 4 ? 4 : level]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fputs per line so concurrent writers never interleave within a line. */
	size_t len = strlen(line);
	if (len < sizeof(line) - 1) {
		line[len] = '\n';
		line[len + 1] = '\0';
	}
	fputs(line, fp);
}
