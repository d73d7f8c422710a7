/*
 * A session's stream: served from a complete cached file (bound), or copied
 * into a temporary file as the server returns it (captured) and published
 * through the index when the last byte is in.
 *
 * The copy only grows from the start: data the server returns at another
 * position than the end of the copy is skipped (a client that seeks around
 * leaves a copy that never completes, and it is dropped at release).
 */
#include "cache.h"

#include <errno.h>
#include <string.h>
#include <talloc.h>
#include <unistd.h>

struct cache_stream *cache_stream_new(void *mem, const struct cache_key *key, bool keyed,
                                      uint64_t size)
{
	struct cache_stream *st = talloc_zero(mem, struct cache_stream);
	if (!st)
		return NULL;
	st->key = *key;
	st->keyed = keyed;
	st->size = size;
	st->rfd = st->wfd = -1;
	return st;
}

void cache_stream_capture_abort(struct cache_stream *st)
{
	if (st->wfd < 0)
		return;
	close(st->wfd);
	unlink(st->tmp);
	st->wfd = -1;
	st->tmp[0] = '\0';
}

void cache_stream_close(struct cache_stream *st)
{
	cache_stream_capture_abort(st);
	if (st->rfd >= 0)
		close(st->rfd);
	st->rfd = -1;
}

bool cache_stream_bind(struct cache_global *g, struct cache_stream *st)
{
	if (st->rfd >= 0)
		return true;
	if (!st->keyed || !st->prepared || st->lost)
		return false;
	/* Tried already, and nothing was published since. */
	if (st->bind_failed && st->bind_seq == g->publish_seq)
		return false;
	int fd;
	struct cache_entry e;
	int rc = cache_index_open_file(g->ix, &st->key, &fd, &e);
	if (rc == CACHE_OK && (e.size != st->size || e.stamp != st->commit.stamp)) {
		/* Made from another state of the message than the server has now. */
		close(fd);
		mp_module_log(MP_MODULE_LOG_INFO,
		              "cached stream of message %016llx is %llu bytes, stamp %016llx; the "
		              "server has %llu bytes, stamp %016llx: dropped",
		              (unsigned long long)st->key.mid, (unsigned long long)e.size,
		              (unsigned long long)e.stamp, (unsigned long long)st->size,
		              (unsigned long long)st->commit.stamp);
		if (cache_index_invalidate_message(g->ix, st->key.mbox, st->key.mid) == CACHE_OK)
			g->invalidations++;
		cache_index_gen(g->ix, &st->key, &st->commit.gen);
		rc = CACHE_NOTFOUND;
	}
	if (rc != CACHE_OK) {
		st->bind_failed = true;
		st->bind_seq = g->publish_seq;
		return false;
	}
	st->rfd = fd;
	cache_stream_capture_abort(st); /* served from the file from now on */
	return true;
}

void cache_stream_prepare(struct cache_global *g, struct cache_stream *st, uint64_t fid,
                          uint64_t stamp)
{
	if (st->prepared || !st->keyed || st->lost)
		return;
	st->commit = (struct cache_commit){.size = st->size, .stamp = stamp, .fid = fid};
	if (cache_index_gen(g->ix, &st->key, &st->commit.gen) != CACHE_OK)
		return;
	st->prepared = true;
	if (cache_stream_bind(g, st))
		return;
	if (st->spos != 0)
		return; /* a copy starts at the beginning */
	char tmp[CACHE_PATH_MAX];
	int fd;
	if (cache_index_tmp_create(g->ix, &st->key, tmp, sizeof(tmp), &fd) != CACHE_OK)
		return;
	st->wfd = fd;
	memcpy(st->tmp, tmp, sizeof(st->tmp));
	st->captured = 0;
}

/* The copy is whole: publish it, then serve from it. */
static void publish(struct cache_global *g, struct cache_stream *st)
{
	int synced = fdatasync(st->wfd);
	close(st->wfd);
	st->wfd = -1;
	if (synced != 0) {
		mp_module_log(MP_MODULE_LOG_WARN, "%s: %s; not cached", st->tmp, strerror(errno));
		unlink(st->tmp);
		return;
	}
	int rc = cache_index_commit(g->ix, &st->key, st->tmp, &st->commit);
	char rel[200] = "";
	cache_index_relpath(&st->key, rel, sizeof(rel));
	switch (rc) {
	case CACHE_OK:
		g->publish_seq++;
		g->captured++;
		mp_module_log(MP_MODULE_LOG_INFO, "cached %s (%llu bytes)", rel,
		              (unsigned long long)st->size);
		break;
	case CACHE_EXISTS:
		break;
	case CACHE_STALE:
		mp_module_log(MP_MODULE_LOG_DEBUG,
		              "%s: the message changed while it was read; "
		              "not cached",
		              rel);
		break;
	case CACHE_TOOBIG:
		mp_module_log(MP_MODULE_LOG_DEBUG, "%s: larger than mpm_cache:max size; not cached",
		              rel);
		break;
	default:
		mp_module_log(MP_MODULE_LOG_DEBUG, "%s: not cached (%d)", rel, rc);
		break;
	}
	st->tmp[0] = '\0';
	st->bind_failed = false;
	if (rc == CACHE_OK || rc == CACHE_EXISTS)
		cache_stream_bind(g, st);
}

void cache_stream_capture(struct cache_global *g, struct cache_stream *st, const uint8_t *data,
                          size_t n)
{
	if (st->wfd < 0 || n == 0)
		return;
	/* Only what extends the copy from its end. */
	if (st->spos > st->captured || st->spos + n <= st->captured)
		return;
	size_t skip = (size_t)(st->captured - st->spos);
	size_t len = n - skip;
	if (st->captured + len > st->size) {
		cache_stream_capture_abort(st); /* more than the stream holds */
		return;
	}
	const uint8_t *p = data + skip;
	uint64_t at = st->captured;
	while (len) {
		ssize_t w = pwrite(st->wfd, p, len, (off_t)at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			mp_module_log(MP_MODULE_LOG_WARN, "%s: %s; not cached", st->tmp,
			              w < 0 ? strerror(errno) : "short write");
			cache_stream_capture_abort(st);
			return;
		}
		p += w;
		at += (uint64_t)w;
		len -= (size_t)w;
	}
	st->captured = at;
	if (st->captured == st->size)
		publish(g, st);
}

int cache_stream_read(struct cache_stream *st, uint64_t pos, uint8_t *buf, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = pread(st->rfd, buf + *got, n - *got, (off_t)(pos + *got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}
