/* Unit tests: the cache module's LMDB index (modules/cache/cache_index.c):
 * publish and read back, generations, LRU eviction under a size cap, file
 * and directory modes, a damaged index, leftovers of dead processes, sync
 * claims, and two processes working on the same keys at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache/cache_index.h"

struct fx {
	char dir[64];
	struct cache_index *ix;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static struct cache_index_conf conf_of(uint64_t max)
{
	return (struct cache_index_conf){
	    .file_mode = 0600, .dir_mode = 0700, .max_size = max, .map_size = 8u << 20};
}

static struct cache_index *open_ok(const char *dir, const struct cache_index_conf *c)
{
	struct cache_index *ix = NULL;
	char err[512] = "";
	int rc = cache_index_open(dir, c, &ix, err, sizeof(err));
	if (rc != CACHE_OK)
		fail_msg("open %s: %d (%s)", dir, rc, err);
	return ix;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/mp-cache-ix-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* The cache makes its own directory below. */
	strcat(f->dir, "/c");
	struct cache_index_conf c = conf_of(0);
	f->ix = open_ok(f->dir, &c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	cache_index_close(f->ix);
	char *slash = strrchr(f->dir, '/');
	*slash = '\0';
	rm_rf(f->dir);
	free(f);
	return 0;
}

static struct cache_key key_of(uint8_t mbox, uint64_t mid, uint32_t attach)
{
	struct cache_key k = {.mid = mid, .attach = attach, .tag = 0x37010102};
	memset(k.mbox, mbox, sizeof(k.mbox));
	return k;
}

/* The bytes of a key's stream: the same whoever writes them. */
static uint8_t pattern(const struct cache_key *k, size_t i)
{
	return (uint8_t)(k->mid * 31 + k->attach * 7 + k->mbox[0] + i);
}

static size_t size_of(const struct cache_key *k)
{
	return 1000 + (size_t)(k->mid % 7) * 377 + (k->attach == CACHE_NO_ATTACH ? 5 : k->attach);
}

/* Write a key's stream into a temporary file and publish it. */
static int put(struct cache_index *ix, const struct cache_key *k, size_t size, uint64_t stamp)
{
	uint64_t gen;
	if (cache_index_gen(ix, k, &gen) != CACHE_OK)
		return -100;
	char tmp[4400];
	int fd;
	int rc = cache_index_tmp_create(ix, k, tmp, sizeof(tmp), &fd);
	if (rc != CACHE_OK)
		return rc;
	uint8_t *b = malloc(size ? size : 1);
	for (size_t i = 0; i < size; i++)
		b[i] = pattern(k, i);
	ssize_t w = write(fd, b, size);
	free(b);
	close(fd);
	if (w != (ssize_t)size)
		return -101;
	struct cache_commit c = {
	    .gen = gen, .size = size, .stamp = stamp, .fid = 0x100 + k->mid % 2};
	return cache_index_commit(ix, k, tmp, &c);
}

/* Read a key back; 1 when the bytes are right, 0 when not cached. */
static int check(struct cache_index *ix, const struct cache_key *k)
{
	int fd;
	struct cache_entry e;
	int rc = cache_index_open_file(ix, k, &fd, &e);
	if (rc == CACHE_NOTFOUND || rc == CACHE_BAD)
		return 0;
	if (rc != CACHE_OK)
		return -1;
	uint8_t b[4096];
	size_t got = 0;
	ssize_t n;
	int ok = 1;
	while ((n = read(fd, b, sizeof(b))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (b[i] != pattern(k, got + (size_t)i))
				ok = -2;
		got += (size_t)n;
	}
	close(fd);
	return got == e.size ? ok : -3;
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static void test_publish_and_read(void **state)
{
	struct fx *f = *state;
	struct cache_key k = key_of(1, 0x2700000000000001ull, 0);
	assert_int_equal(check(f->ix, &k), 0);
	assert_false(cache_index_has_message(f->ix, k.mbox, k.mid));
	assert_int_equal(put(f->ix, &k, size_of(&k), 42), CACHE_OK);
	assert_int_equal(check(f->ix, &k), 1);
	assert_true(cache_index_has_message(f->ix, k.mbox, k.mid));
	struct cache_entry e;
	assert_int_equal(cache_index_lookup(f->ix, &k, &e), CACHE_OK);
	assert_int_equal(e.state, CACHE_COMPLETE);
	assert_int_equal(e.size, size_of(&k));
	assert_int_equal(e.stamp, 42);
	assert_false(cache_index_message_stamp_differs(f->ix, k.mbox, k.mid, 42));
	assert_true(cache_index_message_stamp_differs(f->ix, k.mbox, k.mid, 41));
	assert_false(cache_index_message_stamp_differs(f->ix, k.mbox, k.mid + 1, 41));
	/* The same again: nothing to do, and no temporary file is left. */
	assert_int_equal(put(f->ix, &k, size_of(&k), 42), CACHE_EXISTS);
	/* A new stamp replaces it. */
	assert_int_equal(put(f->ix, &k, size_of(&k), 43), CACHE_OK);
	assert_int_equal(cache_index_lookup(f->ix, &k, &e), CACHE_OK);
	assert_int_equal(e.stamp, 43);
	uint64_t n, bytes;
	assert_int_equal(cache_index_stats(f->ix, &n, &bytes), CACHE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(bytes, size_of(&k));
	char rel[200], path[4400];
	assert_true(cache_index_relpath(&k, rel, sizeof(rel)));
	assert_string_equal(rel, "data/01010101010101010101010101010101/2700000000000001/"
	                         "00000000-37010102.stream");
	assert_true(cache_index_path(f->ix, &k, path, sizeof(path)));
	assert_true(exists(path));
	/* A file of the wrong size is refused. */
	struct cache_key k2 = key_of(1, 5, CACHE_NO_ATTACH);
	char tmp[4400];
	int fd;
	assert_int_equal(cache_index_tmp_create(f->ix, &k2, tmp, sizeof(tmp), &fd), CACHE_OK);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	struct cache_commit c = {.gen = 0, .size = 4};
	assert_int_equal(cache_index_commit(f->ix, &k2, tmp, &c), CACHE_BAD);
	assert_false(exists(tmp));
	assert_int_equal(check(f->ix, &k2), 0);
}

static void test_generations(void **state)
{
	struct fx *f = *state;
	struct cache_key a = key_of(2, 7, 0), b = key_of(2, 7, 1), other = key_of(2, 8, 0);
	assert_int_equal(put(f->ix, &a, size_of(&a), 1), CACHE_OK);
	assert_int_equal(put(f->ix, &b, size_of(&b), 1), CACHE_OK);
	assert_int_equal(put(f->ix, &other, size_of(&other), 1), CACHE_OK);
	/* A writer that began before the message changed loses. */
	uint64_t gen;
	assert_int_equal(cache_index_gen(f->ix, &a, &gen), CACHE_OK);
	char tmp[4400];
	int fd;
	assert_int_equal(cache_index_tmp_create(f->ix, &a, tmp, sizeof(tmp), &fd), CACHE_OK);
	for (size_t i = 0; i < size_of(&a); i++) {
		uint8_t c = pattern(&a, i);
		assert_int_equal(write(fd, &c, 1), 1);
	}
	close(fd);
	assert_int_equal(cache_index_invalidate_message(f->ix, a.mbox, a.mid), CACHE_OK);
	assert_int_equal(check(f->ix, &a), 0);
	assert_int_equal(check(f->ix, &b), 0); /* the whole message */
	assert_int_equal(check(f->ix, &other), 1);
	struct cache_commit c = {.gen = gen, .size = size_of(&a)};
	assert_int_equal(cache_index_commit(f->ix, &a, tmp, &c), CACHE_STALE);
	assert_false(exists(tmp));
	uint64_t gen2;
	assert_int_equal(cache_index_gen(f->ix, &a, &gen2), CACHE_OK);
	assert_int_equal(gen2, gen + 1);
	/* Folder-wide: fid is 0x100 + mid % 2 in put(). */
	struct cache_key odd = key_of(3, 9, 0), even = key_of(3, 10, 0),
	                 elsewhere = key_of(4, 9, 0);
	assert_int_equal(put(f->ix, &odd, size_of(&odd), 1), CACHE_OK);
	assert_int_equal(put(f->ix, &even, size_of(&even), 1), CACHE_OK);
	assert_int_equal(put(f->ix, &elsewhere, size_of(&elsewhere), 1), CACHE_OK);
	assert_int_equal(cache_index_invalidate_folder(f->ix, odd.mbox, 0x101), CACHE_OK);
	assert_int_equal(check(f->ix, &odd), 0);
	assert_int_equal(check(f->ix, &even), 1);
	assert_int_equal(check(f->ix, &elsewhere), 1); /* another mailbox */
}

static void test_lru_eviction(void **state)
{
	struct fx *f = *state;
	cache_index_close(f->ix);
	struct cache_index_conf c = conf_of(10000);
	f->ix = open_ok(f->dir, &c);
	struct cache_key k[5];
	for (int i = 0; i < 5; i++)
		k[i] = key_of(5, (uint64_t)(100 + i), 0);
	assert_int_equal(put(f->ix, &k[0], 3000, 1), CACHE_OK);
	assert_int_equal(put(f->ix, &k[1], 3000, 1), CACHE_OK);
	assert_int_equal(put(f->ix, &k[2], 3000, 1), CACHE_OK);
	/* Use k[0]: now k[1] is the least recently used. */
	int fd;
	struct cache_entry e;
	assert_int_equal(cache_index_open_file(f->ix, &k[0], &fd, &e), CACHE_OK);
	close(fd);
	assert_int_equal(put(f->ix, &k[3], 3000, 1), CACHE_OK);
	char p1[4400];
	cache_index_path(f->ix, &k[1], p1, sizeof(p1));
	assert_false(exists(p1));
	assert_int_equal(cache_index_lookup(f->ix, &k[1], &e), CACHE_NOTFOUND);
	assert_int_equal(cache_index_lookup(f->ix, &k[0], &e), CACHE_OK);
	assert_int_equal(cache_index_lookup(f->ix, &k[2], &e), CACHE_OK);
	assert_int_equal(cache_index_lookup(f->ix, &k[3], &e), CACHE_OK);
	uint64_t n, bytes;
	cache_index_stats(f->ix, &n, &bytes);
	assert_int_equal(n, 3);
	assert_int_equal(bytes, 9000);
	/* One larger than the cache is refused, and evicts nothing. */
	assert_int_equal(put(f->ix, &k[4], 10001, 1), CACHE_TOOBIG);
	cache_index_stats(f->ix, &n, &bytes);
	assert_int_equal(n, 3);
	/* A big one evicts as many as needed, oldest first. */
	assert_int_equal(put(f->ix, &k[4], 9000, 1), CACHE_OK);
	cache_index_stats(f->ix, &n, &bytes);
	assert_int_equal(n, 1);
	assert_int_equal(bytes, 9000);
	assert_int_equal(cache_index_lookup(f->ix, &k[4], &e), CACHE_OK);
}

static unsigned mode_of(const char *p)
{
	struct stat st;
	if (lstat(p, &st) != 0)
		fail_msg("%s: %s", p, strerror(errno));
	return (unsigned)(st.st_mode & 07777);
}

static void test_modes(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(022);
	struct cache_key k = key_of(6, 1, 0);
	assert_int_equal(put(f->ix, &k, 100, 1), CACHE_OK);
	char p[4400], d[4400];
	cache_index_path(f->ix, &k, p, sizeof(p));
	assert_int_equal(mode_of(p), 0600);
	assert_int_equal(mode_of(f->dir), 0700);
	snprintf(d, sizeof(d), "%s/index", f->dir);
	assert_int_equal(mode_of(d), 0700);
	snprintf(d, sizeof(d), "%s/index/data.mdb", f->dir);
	assert_int_equal(mode_of(d), 0600);
	snprintf(d, sizeof(d), "%s/index/lock.mdb", f->dir);
	assert_int_equal(mode_of(d), 0600);
	*strrchr(p, '/') = '\0';
	assert_int_equal(mode_of(p), 0700);
	/* Configured modes are applied as given (a group that syncs). */
	cache_index_close(f->ix);
	struct cache_index_conf c = conf_of(0);
	c.file_mode = 0640;
	c.dir_mode = 0750;
	char other[200];
	snprintf(other, sizeof(other), "%s2", f->dir);
	struct cache_index *ix = open_ok(other, &c);
	assert_int_equal(put(ix, &k, 100, 1), CACHE_OK);
	cache_index_path(ix, &k, p, sizeof(p));
	assert_int_equal(mode_of(p), 0640);
	assert_int_equal(mode_of(other), 0750);
	snprintf(d, sizeof(d), "%s/index/data.mdb", other);
	assert_int_equal(mode_of(d), 0640);
	cache_index_close(ix);
	f->ix = open_ok(f->dir, &(struct cache_index_conf){.file_mode = 0600, .dir_mode = 0700});
	umask(old);
}

static void test_corrupt_index(void **state)
{
	struct fx *f = *state;
	struct cache_key k = key_of(7, 1, 0);
	assert_int_equal(put(f->ix, &k, 500, 1), CACHE_OK);
	cache_index_close(f->ix);
	f->ix = NULL;
	char p[4400];
	snprintf(p, sizeof(p), "%s/index/data.mdb", f->dir);
	int fd = open(p, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	char junk[8192];
	memset(junk, 0x5a, sizeof(junk));
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	struct cache_index_conf c = conf_of(0);
	f->ix = open_ok(f->dir, &c);
	/* Empty again, the damaged index kept aside, the orphan file gone. */
	assert_int_equal(check(f->ix, &k), 0);
	cache_index_path(f->ix, &k, p, sizeof(p));
	assert_false(exists(p));
	char cmd[4600];
	snprintf(cmd, sizeof(cmd), "ls -d %s/index.corrupt-* >/dev/null 2>&1", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(put(f->ix, &k, 500, 1), CACHE_OK);
	assert_int_equal(check(f->ix, &k), 1);
}

static void test_leftovers_swept(void **state)
{
	struct fx *f = *state;
	struct cache_key k = key_of(8, 1, 0);
	assert_int_equal(put(f->ix, &k, 300, 1), CACHE_OK);
	char final[4400], stray[4500], dead[4500], live[4500];
	cache_index_path(f->ix, &k, final, sizeof(final));
	/* A file the index does not know, a temporary file of a process that
	 * is gone, one of a process that lives (this one's parent). */
	snprintf(stray, sizeof(stray), "%s", final);
	memcpy(strstr(stray, "00000000-"), "00000009-", 9);
	snprintf(dead, sizeof(dead), "%s.tmp.%d.1", final, 999999);
	snprintf(live, sizeof(live), "%s.tmp.%d.1", final, (int)getppid());
	const char *const files[] = {stray, dead, live};
	for (int i = 0; i < 3; i++) {
		int fd = open(files[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	cache_index_close(f->ix);
	struct cache_index_conf c = conf_of(0);
	f->ix = open_ok(f->dir, &c);
	assert_true(exists(final));
	assert_false(exists(stray));
	assert_false(exists(dead));
	assert_true(exists(live));
	unlink(live);
	/* An entry whose file went is dropped at open. */
	unlink(final);
	cache_index_close(f->ix);
	f->ix = open_ok(f->dir, &c);
	struct cache_entry e;
	assert_int_equal(cache_index_lookup(f->ix, &k, &e), CACHE_NOTFOUND);
	uint64_t n, bytes;
	cache_index_stats(f->ix, &n, &bytes);
	assert_int_equal(n, 0);
	assert_int_equal(bytes, 0);
}

static void write_final(struct cache_index *ix, const struct cache_key *k, size_t size)
{
	char p[4400];
	cache_index_path(ix, k, p, sizeof(p));
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	for (size_t i = 0; i < size; i++) {
		uint8_t c = pattern(k, i);
		assert_int_equal(write(fd, &c, 1), 1);
	}
	close(fd);
}

static void test_sync_claims(void **state)
{
	struct fx *f = *state;
	struct cache_key k = key_of(9, 1, 0);
	struct cache_commit c = {.gen = 0, .size = 700, .stamp = 5};
	/* A claim of a live process holds; a writer's commit meanwhile is
	 * refused. */
	assert_int_equal(cache_index_sync_begin(f->ix, &k, 0, getppid(), 300), CACHE_OK);
	assert_int_equal(cache_index_sync_begin(f->ix, &k, 0, getpid(), 300), CACHE_BUSY);
	assert_int_equal(put(f->ix, &k, 700, 5), CACHE_BUSY);
	assert_int_equal(check(f->ix, &k), 0);
	/* An expired claim can be taken over. */
	assert_int_equal(cache_index_sync_begin(f->ix, &k, 0, getpid(), 0), CACHE_OK);
	/* The command wrote the final file itself. */
	write_final(f->ix, &k, 700);
	assert_int_equal(cache_index_sync_end(f->ix, &k, getpid(), true, NULL, &c), CACHE_OK);
	assert_int_equal(check(f->ix, &k), 1);
	char p[4400];
	cache_index_path(f->ix, &k, p, sizeof(p));
	assert_int_equal(mode_of(p), 0600);
	assert_int_equal(cache_index_sync_begin(f->ix, &k, 0, getpid(), 300), CACHE_EXISTS);

	/* A claim of a process that died is void. */
	struct cache_key k2 = key_of(9, 2, 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(cache_index_sync_begin(f->ix, &k2, 0, getpid(), 300) == CACHE_OK ? 0 : 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(cache_index_sync_begin(f->ix, &k2, 0, getpid(), 300), CACHE_OK);
	/* A short file fails the sync: no entry, no file. */
	write_final(f->ix, &k2, 10);
	assert_int_equal(cache_index_sync_end(f->ix, &k2, getpid(), true, NULL, &c), CACHE_BAD);
	cache_index_path(f->ix, &k2, p, sizeof(p));
	assert_false(exists(p));
	struct cache_entry e;
	assert_int_equal(cache_index_lookup(f->ix, &k2, &e), CACHE_NOTFOUND);
	/* An invalidation during a sync voids it. */
	assert_int_equal(cache_index_sync_begin(f->ix, &k2, 0, getpid(), 300), CACHE_OK);
	write_final(f->ix, &k2, 700);
	assert_int_equal(cache_index_invalidate_message(f->ix, k2.mbox, k2.mid), CACHE_OK);
	assert_int_equal(cache_index_sync_end(f->ix, &k2, getpid(), true, NULL, &c), CACHE_STALE);
	assert_false(exists(p));
	/* With a temporary file: renamed into place. */
	uint64_t gen;
	cache_index_gen(f->ix, &k2, &gen);
	c.gen = gen;
	assert_int_equal(cache_index_sync_begin(f->ix, &k2, gen, getpid(), 300), CACHE_OK);
	char tmp[4400];
	int fd;
	assert_int_equal(cache_index_tmp_create(f->ix, &k2, tmp, sizeof(tmp), &fd), CACHE_OK);
	for (size_t i = 0; i < 700; i++) {
		uint8_t b = pattern(&k2, i);
		assert_int_equal(write(fd, &b, 1), 1);
	}
	close(fd);
	assert_int_equal(cache_index_sync_end(f->ix, &k2, getpid(), true, tmp, &c), CACHE_OK);
	assert_int_equal(check(f->ix, &k2), 1);
	assert_false(exists(tmp));
}

/* Two processes publish, read, replace and invalidate the same keys. */
static int worker(const char *dir, int seed)
{
	struct cache_index *ix = NULL;
	char err[512];
	struct cache_index_conf c = conf_of(12000);
	if (cache_index_open(dir, &c, &ix, err, sizeof(err)) != CACHE_OK)
		return 10;
	unsigned r = (unsigned)seed * 2654435761u;
	int bad = 0;
	for (int i = 0; i < 300 && !bad; i++) {
		r = r * 1103515245u + 12345u;
		struct cache_key k = key_of(10, (r >> 8) % 6, (r >> 16) % 3);
		switch ((r >> 20) % 5) {
		case 0:
		case 1: {
			int rc = put(ix, &k, size_of(&k), 1 + (r >> 24) % 2);
			if (rc < 0 || rc == CACHE_BAD)
				bad = 20 + (rc < 0 ? -rc % 10 : 9);
			break;
		}
		case 2:
			if (cache_index_invalidate_message(ix, k.mbox, k.mid) != CACHE_OK)
				bad = 30;
			break;
		default:
			if (check(ix, &k) < 0)
				bad = 40;
			break;
		}
	}
	cache_index_close(ix);
	return bad;
}

static int count_temps(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return strstr(p, ".tmp.") ? 1 : 0;
}

static void test_two_processes(void **state)
{
	struct fx *f = *state;
	cache_index_close(f->ix);
	f->ix = NULL;
	pid_t pids[2];
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(worker(f->dir, i + 1));
	}
	for (int i = 0; i < 2; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st))
			fail_msg("worker %d failed with %d", i, WEXITSTATUS(st));
	}
	struct cache_index_conf c = conf_of(12000);
	f->ix = open_ok(f->dir, &c);
	/* Consistent afterwards: every entry reads right, the total is the
	 * sum, within the cap, and no temporary file is left. */
	uint64_t sum = 0, n = 0, entries, bytes;
	for (uint64_t mid = 0; mid < 6; mid++)
		for (uint32_t a = 0; a < 3; a++) {
			struct cache_key k = key_of(10, mid, a);
			struct cache_entry e;
			if (cache_index_lookup(f->ix, &k, &e) != CACHE_OK)
				continue;
			assert_int_equal(check(f->ix, &k), 1);
			sum += e.size;
			n++;
		}
	assert_int_equal(cache_index_stats(f->ix, &entries, &bytes), CACHE_OK);
	assert_int_equal(entries, n);
	assert_int_equal(bytes, sum);
	assert_true(bytes <= 12000);
	assert_int_equal(nftw(f->dir, count_temps, 8, FTW_PHYS), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_publish_and_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lru_eviction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_leftovers_swept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_claims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
