/*
 * mpm_cache:sync_cmd: fetch a stream's file from another proxy's cache
 * (scenario 2 of the original: the proxy next to the server read the
 * stream ahead into its cache; the one next to the clients copies the file
 * with any command, rsync, scp, wget, cp, and serves it from then on).
 *
 * The command is spawned with posix_spawn (no shell: the words of sync_cmd
 * with __FILE__, __NAME__ and __TMPFILE__ replaced) and never waited for
 * inside a hook: its pidfd is watched from the daemon's event loop
 * (mp_module_watch), which calls back when it exits or when
 * mpm_cache:sync timeout passes (then it is killed). Meanwhile the session
 * goes on through the other proxy. One command per stream at a time, across
 * processes too: the index holds a claim on the key while it runs.
 *
 * The command writes either __TMPFILE__ (a new file renamed into place
 * afterwards) or __FILE__ itself (the original's form; the old file is
 * removed first so readers of it keep theirs). Its output goes to a file
 * next to the stream's, whose first line is logged when it fails.
 */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FAILED_RETRY_S 60 /* a failed stream is not synced again before this */
#define FAILED_MAX 256

struct cache_sync {
	struct cache_sync *next;
	struct cache_global *g;
	struct cache_key key;
	struct cache_commit commit;
	pid_t pid;
	int pidfd;
	bool use_tmp;
	char tmp[CACHE_PATH_MAX];
	char out[CACHE_PATH_MAX]; /* the command's stdout and stderr */
	char name[200];
	struct timespec started;
};

struct cache_failed {
	struct cache_failed *next;
	struct cache_key key;
	time_t at;
};

/* ---- the command line -------------------------------------------------- */

void cache_sync_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

char **cache_sync_parse(const char *cmd, char *err, size_t errlen)
{
	size_t cap = 8, n = 0;
	char **argv = calloc(cap, sizeof(*argv));
	size_t len = strlen(cmd);
	char *word = malloc(len + 1);
	if (!argv || !word)
		goto nomem;
	const char *p = cmd;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		size_t w = 0;
		while (*p && *p != ' ' && *p != '\t') {
			if (*p == '\'' || *p == '"') {
				char q = *p++;
				while (*p && *p != q)
					word[w++] = *p++;
				if (*p != q) {
					snprintf(err, errlen, "mpm_cache:sync_cmd: unmatched %c",
					         q);
					free(word);
					cache_sync_argv_free(argv);
					return NULL;
				}
				p++;
			} else {
				word[w++] = *p++;
			}
		}
		word[w] = '\0';
		if (n + 2 > cap) {
			char **a = realloc(argv, 2 * cap * sizeof(*argv));
			if (!a)
				goto nomem;
			memset(a + cap, 0, cap * sizeof(*a));
			argv = a;
			cap *= 2;
		}
		if (!(argv[n++] = strdup(word)))
			goto nomem;
	}
	free(word);
	if (n == 0) {
		snprintf(err, errlen,
		         "mpm_cache:sync_cmd is empty: give the command that copies "
		         "__FILE__ from the other proxy");
		cache_sync_argv_free(argv);
		return NULL;
	}
	return argv;
nomem:
	free(word);
	cache_sync_argv_free(argv);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* `word` with each __FILE__, __NAME__ and __TMPFILE__ replaced. */
static char *substitute(const char *word, const char *file, const char *name, const char *tmp)
{
	static const char *const vars[] = {"__TMPFILE__", "__FILE__", "__NAME__"};
	const char *vals[] = {tmp, file, name};
	size_t cap = strlen(word) + 1;
	for (size_t i = 0; i < 3; i++)
		for (const char *q = strstr(word, vars[i]); q; q = strstr(q + 1, vars[i]))
			cap += strlen(vals[i]);
	char *out = malloc(cap), *o = out;
	if (!out)
		return NULL;
	for (const char *p = word; *p;) {
		size_t i = 0;
		while (i < 3 && strncmp(p, vars[i], strlen(vars[i])) != 0)
			i++;
		if (i < 3) {
			size_t n = strlen(vals[i]);
			memcpy(o, vals[i], n);
			o += n;
			p += strlen(vars[i]);
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

static bool uses_tmp(char **argv)
{
	for (size_t i = 0; argv[i]; i++)
		if (strstr(argv[i], "__TMPFILE__"))
			return true;
	return false;
}

/* ---- bookkeeping ------------------------------------------------------- */

static bool same_key(const struct cache_key *a, const struct cache_key *b)
{
	return memcmp(a->mbox, b->mbox, 16) == 0 && a->mid == b->mid && a->attach == b->attach &&
	       a->tag == b->tag;
}

static bool failed_lately(struct cache_global *g, const struct cache_key *key)
{
	time_t now = time(NULL);
	for (struct cache_failed *f = g->failed; f; f = f->next)
		if (same_key(&f->key, key) && now - f->at < FAILED_RETRY_S)
			return true;
	return false;
}

static void note_failure(struct cache_global *g, const struct cache_key *key)
{
	size_t n = 0;
	struct cache_failed **pp = &g->failed;
	/* Drop the expired, and keep the list short. */
	while (*pp) {
		struct cache_failed *f = *pp;
		if (time(NULL) - f->at >= FAILED_RETRY_S || ++n >= FAILED_MAX) {
			*pp = f->next;
			free(f);
		} else {
			pp = &f->next;
		}
	}
	struct cache_failed *f = calloc(1, sizeof(*f));
	if (!f)
		return;
	f->key = *key;
	f->at = time(NULL);
	f->next = g->failed;
	g->failed = f;
}

static void unlink_sync(struct cache_global *g, struct cache_sync *s)
{
	for (struct cache_sync **pp = &g->syncs; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			return;
		}
}

/* The first line of the command's output, for the log. */
static void first_line(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\r\n")] = '\0';
	fclose(f);
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The command ended (or timed out): publish its file or drop it. */
static void finish(struct cache_sync *s, bool timed_out)
{
	struct cache_global *g = s->g;
	int status = 0;
	if (timed_out)
		kill(-s->pid, SIGKILL); /* its process group: rsync's ssh too */
	/* The pidfd said it exited (or it was just killed): no real wait. */
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	bool ok = !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int rc = cache_index_sync_end(g->ix, &s->key, getpid(), ok, s->use_tmp ? s->tmp : NULL,
	                              &s->commit);
	if (ok && rc == CACHE_OK) {
		g->syncs_done++;
		g->publish_seq++;
		mp_module_log(MP_MODULE_LOG_INFO, "sync of %s done in %.2f s (%llu bytes)", s->name,
		              elapsed(&s->started), (unsigned long long)s->commit.size);
	} else {
		char line[300];
		first_line(s->out, line, sizeof(line));
		g->syncs_failed++;
		note_failure(g, &s->key);
		if (timed_out)
			mp_module_log(MP_MODULE_LOG_WARN,
			              "sync of %s killed after %u s "
			              "(mpm_cache:sync timeout); the stream is read through the "
			              "other proxy",
			              s->name, g->conf.sync_timeout);
		else if (!ok)
			mp_module_log(MP_MODULE_LOG_WARN,
			              "sync of %s failed (%s %d)%s%s; the stream "
			              "is read through the other proxy (check mpm_cache:sync_cmd)",
			              s->name, WIFEXITED(status) ? "exit status" : "signal",
			              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			              line[0] ? ": " : "", line);
		else
			mp_module_log(MP_MODULE_LOG_WARN,
			              "sync of %s: the file it made is not the "
			              "stream (%d); not cached",
			              s->name, rc);
	}
	unlink(s->out);
	close(s->pidfd);
	unlink_sync(g, s);
	free(s);
}

static void on_exit_or_timeout(void *arg, int fd, bool ready)
{
	(void)fd;
	finish(arg, !ready);
}

/* ---- start ------------------------------------------------------------- */

static bool spawn(struct cache_sync *s, char **argv)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	sigemptyset(&none);
	sigemptyset(&def);
	/* The daemon ignores SIGPIPE and catches these; the command gets the
	 * defaults back. */
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGCHLD);
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return false;
	if ((rc = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return false;
	}
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 1, s->out, O_WRONLY | O_CREAT | O_TRUNC,
		                                      0600);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	/* Not the clients' sockets: a command that lives on must not hold them. */
	if (!rc)
		rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (!rc)
		rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
		                                       POSIX_SPAWN_SETPGROUP);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&at, &def);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&at, &none);
	if (!rc)
		rc = posix_spawnattr_setpgroup(&at, 0);
	if (!rc)
		rc = posix_spawnp(&s->pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc) {
		mp_module_log(MP_MODULE_LOG_WARN, "sync of %s: cannot run %s: %s", s->name, argv[0],
		              strerror(rc));
		return false;
	}
	return true;
}

void cache_sync_start(struct cache_global *g, struct mp_session *ms, const struct cache_key *key,
                      const struct cache_commit *c)
{
	if (!g->conf.sync_argv)
		return;
	for (struct cache_sync *r = g->syncs; r; r = r->next)
		if (same_key(&r->key, key))
			return;
	if (failed_lately(g, key))
		return;
	int rc = cache_index_sync_begin(g->ix, key, c->gen, getpid(), g->conf.sync_timeout);
	if (rc != CACHE_OK)
		return; /* complete already, or another process syncs it */
	struct cache_sync *s = calloc(1, sizeof(*s));
	char file[CACHE_PATH_MAX];
	char **argv = NULL;
	size_t n = 0;
	if (!s)
		goto fail;
	s->g = g;
	s->key = *key;
	s->commit = *c;
	s->pidfd = -1;
	s->use_tmp = uses_tmp(g->conf.sync_argv);
	cache_index_relpath(key, s->name, sizeof(s->name));
	cache_index_path(g->ix, key, file, sizeof(file));
	int w = snprintf(s->out, sizeof(s->out), "%s.err.%d.%llu", file, (int)getpid(),
	                 (unsigned long long)g->syncs_done + g->syncs_failed);
	if (w < 0 || (size_t)w >= sizeof(s->out))
		goto fail;
	if (s->use_tmp) {
		int fd;
		if (cache_index_tmp_create(g->ix, key, s->tmp, sizeof(s->tmp), &fd) != CACHE_OK)
			goto fail;
		close(fd);
	}
	while (g->conf.sync_argv[n])
		n++;
	argv = calloc(n + 1, sizeof(*argv));
	for (size_t i = 0; argv && i < n; i++)
		if (!(argv[i] = substitute(g->conf.sync_argv[i], file, s->name, s->tmp)))
			goto fail;
	if (!argv)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	if (!spawn(s, argv))
		goto fail;
	s->pidfd = pidfd_open(s->pid, 0);
	if (s->pidfd < 0 || mp_module_watch(ms, s->pidfd, g->conf.sync_timeout * 1000u,
	                                    on_exit_or_timeout, s) != MP_MODULE_OK) {
		/* Cannot watch it: stop it now rather than wait in a hook. */
		mp_module_log(MP_MODULE_LOG_WARN, "sync of %s: cannot watch the command (%s)",
		              s->name, s->pidfd < 0 ? strerror(errno) : "no event loop");
		kill(-s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto fail;
	}
	mp_module_log(MP_MODULE_LOG_INFO, "sync of %s: %s (pid %d)", s->name, argv[0], (int)s->pid);
	cache_sync_argv_free(argv);
	s->next = g->syncs;
	g->syncs = s;
	return;
fail:
	cache_sync_argv_free(argv);
	cache_index_sync_end(g->ix, key, getpid(), false, s && s->use_tmp ? s->tmp : NULL, c);
	if (s) {
		if (s->pidfd >= 0)
			close(s->pidfd);
		if (s->out[0])
			unlink(s->out);
	}
	free(s);
	g->syncs_failed++;
	note_failure(g, key);
}

void cache_sync_shutdown(struct cache_global *g)
{
	for (struct cache_sync *s = g->syncs; s; s = s->next)
		kill(-s->pid, SIGTERM);
	/* A moment to end cleanly, then no more. */
	for (int round = 0; round < 20 && g->syncs; round++) {
		for (struct cache_sync *s = g->syncs, *next; s; s = next) {
			next = s->next;
			int status;
			if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
				s->pid = -1;
				cache_index_sync_end(g->ix, &s->key, getpid(), false,
				                     s->use_tmp ? s->tmp : NULL, &s->commit);
				unlink(s->out);
				close(s->pidfd);
				unlink_sync(g, s);
				free(s);
			}
		}
		if (g->syncs)
			usleep(100 * 1000);
	}
	while (g->syncs) {
		struct cache_sync *s = g->syncs;
		kill(-s->pid, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
		cache_index_sync_end(g->ix, &s->key, getpid(), false, s->use_tmp ? s->tmp : NULL,
		                     &s->commit);
		unlink(s->out);
		close(s->pidfd);
		g->syncs = s->next;
		free(s);
	}
	while (g->failed) {
		struct cache_failed *f = g->failed;
		g->failed = f->next;
		free(f);
	}
}
