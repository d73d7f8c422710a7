/*
 * Tree printer (see printer.h for the output formats).
 *
 * Everything is appended to one growing buffer. In JSON mode the buffer
 * always holds a complete document: after each item the closing brackets of
 * every open level are written behind the content (and overwritten by the
 * next item), so mp_printer_output() can hand out a closed object from a
 * const printer, and an allocation failure in the middle of an item rolls
 * back to the previous item instead of leaving half a token.
 */
#include "util/printer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
/* Room kept for the closers of every level ("]}" at most) plus "}" and NUL. */
#define CLOSE_ROOM (2 * MAX_DEPTH + 4)

enum level_kind {
	LVL_OBJECT,
	LVL_ARRAY,
};

struct level {
	uint8_t kind;
	uint8_t nclose; /* closer bytes pushed for this level (JSON) */
	size_t count;	/* items so far: commas in JSON, index in text arrays */
};

struct mp_printer {
	enum mp_printer_format fmt;
	bool failed;
	char *buf;
	size_t len; /* content length; JSON closers follow it */
	size_t cap;
	size_t mark; /* content length before the current item */
	size_t max_bytes;
	size_t limit; /* 0: none */
	unsigned indent;
	unsigned depth;	 /* open levels, level 0 is the top */
	unsigned folded; /* levels opened beyond MAX_DEPTH, printed as "..." */
	unsigned nclose;
	struct level lv[MAX_DEPTH + 1];
	char close[CLOSE_ROOM]; /* closer stack, innermost last */
};

static const char hexdig[] = "0123456789abcdef";

/* ------------------------------------------------------------------ */
/* Buffer                                                              */
/* ------------------------------------------------------------------ */

static bool reserve(struct mp_printer *p, size_t n)
{
	if (p->failed)
		return false;
	if (p->limit && n > p->limit - (p->len < p->limit ? p->len : p->limit)) {
		p->failed = true;
		return false;
	}
	if (n <= p->cap - p->len - CLOSE_ROOM)
		return true;
	size_t cap = p->cap;
	while (n > cap - p->len - CLOSE_ROOM) {
		if (cap > SIZE_MAX / 2) {
			p->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *nb = realloc(p->buf, cap);
	if (!nb) {
		p->failed = true;
		return false;
	}
	p->buf = nb;
	p->cap = cap;
	return true;
}

static void put(struct mp_printer *p, const void *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
}

static void putc_(struct mp_printer *p, char c)
{
	if (!reserve(p, 1))
		return;
	p->buf[p->len++] = c;
}

static void puts_(struct mp_printer *p, const char *s)
{
	put(p, s, strlen(s));
}

static void put_spaces(struct mp_printer *p, size_t n)
{
	if (!reserve(p, n))
		return;
	memset(p->buf + p->len, ' ', n);
	p->len += n;
}

static void put_udec(struct mp_printer *p, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(p, tmp + i, sizeof(tmp) - i);
}

static void put_sdec(struct mp_printer *p, int64_t v)
{
	if (v < 0) {
		putc_(p, '-');
		put_udec(p, (uint64_t)0 - (uint64_t)v);
	} else {
		put_udec(p, (uint64_t)v);
	}
}

/* "0x" and at least `digits` hex digits (as many as needed when 0). */
static void put_hex(struct mp_printer *p, uint64_t v, int digits)
{
	char tmp[18];
	size_t i = sizeof(tmp);
	int n = 0;
	if (digits > 16)
		digits = 16;
	do {
		tmp[--i] = hexdig[v & 0xf];
		v >>= 4;
		n++;
	} while (v || n < digits);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	put(p, tmp + i, sizeof(tmp) - i);
}

/* Write the JSON closers and the terminating NUL behind the content. The
 * room for them is always reserved, so this cannot fail. */
static void finish(struct mp_printer *p)
{
	if (!p->buf)
		return;
	if (p->failed)
		p->len = p->mark;
	char *o = p->buf + p->len;
	if (p->fmt == MP_PRINT_JSON) {
		for (unsigned i = p->nclose; i > 0; i--)
			*o++ = p->close[i - 1];
		*o++ = '}';
	}
	*o = '\0';
}

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

static void put_hexbyte_esc(struct mp_printer *p, uint8_t b)
{
	char e[4] = {'\\', 'x', hexdig[b >> 4], hexdig[b & 15]};
	put(p, e, 4);
}

/* An ASCII character that needs escaping in the current format. */
static void put_ascii_esc(struct mp_printer *p, uint8_t c)
{
	if (c == '"' || c == '\\') {
		char e[2] = {'\\', (char)c};
		put(p, e, 2);
		return;
	}
	if (p->fmt == MP_PRINT_TEXT) {
		put_hexbyte_esc(p, c);
		return;
	}
	switch (c) {
	case '\b':
		put(p, "\\b", 2);
		return;
	case '\f':
		put(p, "\\f", 2);
		return;
	case '\n':
		put(p, "\\n", 2);
		return;
	case '\r':
		put(p, "\\r", 2);
		return;
	case '\t':
		put(p, "\\t", 2);
		return;
	default: {
		char e[6] = {'\\', 'u', '0', '0', hexdig[c >> 4], hexdig[c & 15]};
		put(p, e, 6);
	}
	}
}

static inline bool needs_esc(const struct mp_printer *p, uint8_t c)
{
	if (c < 0x20 || c == '"' || c == '\\')
		return true;
	return c == 0x7f && p->fmt == MP_PRINT_TEXT;
}

static void put_codepoint(struct mp_printer *p, uint32_t cp)
{
	char u[4];
	if (cp < 0x80) {
		if (needs_esc(p, (uint8_t)cp))
			put_ascii_esc(p, (uint8_t)cp);
		else
			putc_(p, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		put(p, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		put(p, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		put(p, u, 4);
	}
}

/*
 * Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or, when
 * ill-formed, 0 with *bad set to the length of its maximal subpart (at least
 * 1): the bytes that one U+FFFD replaces.
 */
static size_t utf8_seq(const uint8_t *s, size_t n, size_t *bad)
{
	uint8_t c = s[0];
	size_t need;
	uint8_t lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (size_t i = 1; i < need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need;
}

/* Quoted UTF-8 text: runs of plain bytes are copied at once. Ill-formed
 * bytes become \xNN in text (the reader sees what was sent) and U+FFFD in
 * JSON (which must stay valid UTF-8). */
static void put_quoted_utf8(struct mp_printer *p, const char *str, size_t n)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;
	putc_(p, '"');
	while (i < n) {
		size_t run = i;
		while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		if (run > i) {
			put(p, s + i, run - i);
			i = run;
			continue;
		}
		uint8_t c = s[i];
		if (c < 0x80) {
			put_codepoint(p, c);
			i++;
			continue;
		}
		size_t bad = 0;
		size_t len = utf8_seq(s + i, n - i, &bad);
		if (len) {
			put(p, s + i, len);
			i += len;
		} else if (p->fmt == MP_PRINT_TEXT) {
			for (size_t k = 0; k < bad; k++)
				put_hexbyte_esc(p, s[i + k]);
			i += bad;
		} else {
			put_codepoint(p, 0xfffd);
			i += bad;
		}
	}
	putc_(p, '"');
}

/* Quoted UTF-16LE text; unpaired surrogates and an odd last byte become
 * U+FFFD in both formats. */
static void put_quoted_utf16(struct mp_printer *p, const uint8_t *le, size_t nbytes)
{
	size_t i = 0;
	putc_(p, '"');
	while (i + 1 < nbytes) {
		uint32_t u = (uint32_t)le[i] | ((uint32_t)le[i + 1] << 8);
		i += 2;
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 1 < nbytes) {
				uint32_t u2 = (uint32_t)le[i] | ((uint32_t)le[i + 1] << 8);
				if (u2 >= 0xdc00 && u2 <= 0xdfff) {
					i += 2;
					put_codepoint(p, 0x10000 + ((u - 0xd800) << 10) +
								 (u2 - 0xdc00));
					continue;
				}
			}
			u = 0xfffd;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			u = 0xfffd;
		}
		put_codepoint(p, u);
	}
	if (i < nbytes)
		put_codepoint(p, 0xfffd);
	putc_(p, '"');
}

/* A JSON member name (decoders pass constants, but stay valid whatever). */
static void put_key(struct mp_printer *p, const char *name)
{
	put_quoted_utf8(p, name ? name : "", name ? strlen(name) : 0);
	putc_(p, ':');
}

/* ------------------------------------------------------------------ */
/* Items                                                               */
/* ------------------------------------------------------------------ */

/*
 * Start an item at the current level: comma and key in JSON, indentation and
 * "name: " in text. Returns false when nothing must be printed (folded
 * levels, failure). *wrapped is set when a named item sits in a JSON array
 * and is written as a one-member object {"name": item}.
 */
static bool item_begin(struct mp_printer *p, const char *name, bool *wrapped)
{
	*wrapped = false;
	if (p->failed || p->folded)
		return false;
	struct level *l = &p->lv[p->depth];
	p->mark = p->len;
	if (p->fmt == MP_PRINT_JSON) {
		if (l->count)
			putc_(p, ',');
		if (l->kind == LVL_OBJECT) {
			put_key(p, name);
		} else if (name) {
			putc_(p, '{');
			put_key(p, name);
			*wrapped = true;
		}
	} else {
		put_spaces(p, (size_t)p->indent + 2u * p->depth);
		if (l->kind == LVL_ARRAY) {
			putc_(p, '[');
			put_udec(p, l->count);
			putc_(p, ']');
			if (name) {
				putc_(p, ' ');
				puts_(p, name);
			}
		} else if (name) {
			puts_(p, name);
		} else {
			putc_(p, '-');
		}
	}
	l->count++;
	return true;
}

/* Text: separator between the name and a scalar value. */
static void text_sep(struct mp_printer *p)
{
	if (p->fmt == MP_PRINT_TEXT)
		put(p, ": ", 2);
}

static void item_end(struct mp_printer *p, bool wrapped)
{
	if (p->fmt == MP_PRINT_JSON) {
		if (wrapped)
			putc_(p, '}');
	} else {
		putc_(p, '\n');
	}
	finish(p);
}

static void open_level(struct mp_printer *p, const char *name, enum level_kind kind, size_t count)
{
	if (p->failed)
		return;
	if (p->folded) {
		p->folded++;
		return;
	}
	bool wrapped;
	if (p->depth == MAX_DEPTH) {
		/* Too deep: one "..." stands for the whole subtree. */
		if (item_begin(p, name, &wrapped)) {
			text_sep(p);
			puts_(p, p->fmt == MP_PRINT_JSON ? "\"...\"" : "...");
			item_end(p, wrapped);
		}
		p->folded = 1;
		return;
	}
	if (!item_begin(p, name, &wrapped))
		return;
	if (p->fmt == MP_PRINT_JSON) {
		putc_(p, kind == LVL_ARRAY ? '[' : '{');
	} else {
		if (kind == LVL_ARRAY) {
			put(p, ": [", 3);
			if (count == SIZE_MAX)
				putc_(p, '?');
			else
				put_udec(p, count);
			putc_(p, ']');
		}
		putc_(p, '\n');
	}
	if (p->failed) {
		/* Rolled back by finish(); the level is not opened. */
		finish(p);
		return;
	}
	struct level *l = &p->lv[++p->depth];
	l->kind = (uint8_t)kind;
	l->count = 0;
	l->nclose = wrapped ? 2 : 1;
	if (p->fmt == MP_PRINT_JSON) {
		if (wrapped)
			p->close[p->nclose++] = '}';
		p->close[p->nclose++] = kind == LVL_ARRAY ? ']' : '}';
	}
	finish(p);
}

static void close_level(struct mp_printer *p)
{
	if (p->failed)
		return; /* output is frozen at the last complete item */
	if (p->folded) {
		p->folded--;
		return;
	}
	if (p->depth == 0)
		return; /* unbalanced end: ignore */
	unsigned n = p->lv[p->depth].nclose;
	if (p->fmt == MP_PRINT_JSON) {
		/* The level's closers already follow the content (innermost
		 * first): make them content, keeping the reserved room intact. */
		p->mark = p->len;
		if (!reserve(p, n)) {
			finish(p);
			return;
		}
		p->nclose -= n;
		p->len += n;
		p->mark = p->len;
	}
	p->depth--;
	finish(p);
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

struct mp_printer *mp_printer_new(enum mp_printer_format fmt)
{
	struct mp_printer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->fmt = fmt == MP_PRINT_JSON ? MP_PRINT_JSON : MP_PRINT_TEXT;
	p->max_bytes = 64;
	p->cap = 4096;
	p->buf = malloc(p->cap);
	if (!p->buf) {
		free(p);
		return NULL;
	}
	mp_printer_reset(p);
	return p;
}

void mp_printer_free(struct mp_printer *p)
{
	if (!p)
		return;
	free(p->buf);
	free(p);
}

const char *mp_printer_output(const struct mp_printer *p, size_t *len)
{
	size_t n = p->len;
	if (p->fmt == MP_PRINT_JSON)
		n += p->nclose + 1;
	if (len)
		*len = n;
	return p->buf;
}

void mp_printer_reset(struct mp_printer *p)
{
	p->failed = false;
	p->len = 0;
	p->depth = 0;
	p->folded = 0;
	p->nclose = 0;
	p->lv[0].kind = LVL_OBJECT;
	p->lv[0].count = 0;
	p->lv[0].nclose = 0;
	if (p->fmt == MP_PRINT_JSON)
		p->buf[p->len++] = '{';
	p->mark = p->len;
	finish(p);
}

bool mp_printer_failed(const struct mp_printer *p)
{
	return p->failed;
}

void mp_printer_set_max_bytes(struct mp_printer *p, size_t max)
{
	p->max_bytes = max;
}

void mp_printer_set_limit(struct mp_printer *p, size_t max_len)
{
	p->limit = max_len;
}

void mp_printer_set_indent(struct mp_printer *p, unsigned spaces)
{
	p->indent = spaces > 256 ? 256 : spaces;
}

void mp_pr_begin(struct mp_printer *p, const char *name)
{
	open_level(p, name, LVL_OBJECT, 0);
}

void mp_pr_end(struct mp_printer *p)
{
	close_level(p);
}

void mp_pr_begin_array(struct mp_printer *p, const char *name, size_t count)
{
	open_level(p, name, LVL_ARRAY, count);
}

void mp_pr_end_array(struct mp_printer *p)
{
	close_level(p);
}

void mp_pr_uint(struct mp_printer *p, const char *name, uint64_t v)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	put_udec(p, v);
	item_end(p, w);
}

void mp_pr_int(struct mp_printer *p, const char *name, int64_t v)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	put_sdec(p, v);
	item_end(p, w);
}

void mp_pr_hex(struct mp_printer *p, const char *name, uint64_t v, int digits)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (p->fmt == MP_PRINT_JSON)
		put_udec(p, v);
	else
		put_hex(p, v, digits);
	item_end(p, w);
}

void mp_pr_bool(struct mp_printer *p, const char *name, bool v)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	puts_(p, v ? "true" : "false");
	item_end(p, w);
}

void mp_pr_double(struct mp_printer *p, const char *name, double v)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	char tmp[40];
	if (v != v || v - v != 0) {
		/* NaN and infinities: JSON has no literal for them. */
		if (p->fmt == MP_PRINT_JSON)
			snprintf(tmp, sizeof(tmp), "null");
		else
			snprintf(tmp, sizeof(tmp), "%s", v != v ? "nan" : v < 0 ? "-inf" : "inf");
	} else if (p->fmt == MP_PRINT_JSON) {
		/* Shortest form that reads back to the same double. */
		snprintf(tmp, sizeof(tmp), "%.15g", v);
		if (strtod(tmp, NULL) != v)
			snprintf(tmp, sizeof(tmp), "%.17g", v);
	} else {
		snprintf(tmp, sizeof(tmp), "%g", v);
	}
	/* Whatever the locale, JSON wants a dot. */
	for (char *c = tmp; *c; c++)
		if (*c == ',')
			*c = '.';
	puts_(p, tmp);
	item_end(p, w);
}

void mp_pr_enum(struct mp_printer *p, const char *name, uint64_t v, int digits, const char *symbol)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (p->fmt == MP_PRINT_JSON) {
		if (symbol)
			put_quoted_utf8(p, symbol, strlen(symbol));
		else
			put_udec(p, v);
	} else {
		if (symbol) {
			puts_(p, symbol);
			put(p, " (", 2);
		}
		put_hex(p, v, digits);
		if (symbol)
			putc_(p, ')');
	}
	item_end(p, w);
}

void mp_pr_flags(struct mp_printer *p, const char *name, uint64_t v, int digits,
		 const struct mp_flag_name *names)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (p->fmt == MP_PRINT_JSON) {
		put_udec(p, v);
		item_end(p, w);
		return;
	}
	put_hex(p, v, digits);
	uint64_t left = v;
	bool any = false;
	for (const struct mp_flag_name *f = names; f && f->name; f++) {
		if (!f->mask || (v & f->mask) != f->mask)
			continue;
		put(p, any ? "|" : " (", any ? 1 : 2);
		puts_(p, f->name);
		left &= ~f->mask;
		any = true;
	}
	if (any && left) {
		putc_(p, '|');
		put_hex(p, left, 0);
	}
	if (any)
		putc_(p, ')');
	item_end(p, w);
}

void mp_pr_str(struct mp_printer *p, const char *name, const char *s)
{
	mp_pr_strn(p, name, s, s ? strlen(s) : 0);
}

void mp_pr_strn(struct mp_printer *p, const char *name, const char *s, size_t n)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (s)
		put_quoted_utf8(p, s, n);
	else
		puts_(p, "null");
	item_end(p, w);
}

void mp_pr_utf16(struct mp_printer *p, const char *name, const uint8_t *le, size_t nbytes)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (le)
		put_quoted_utf16(p, le, nbytes);
	else
		puts_(p, "null");
	item_end(p, w);
}

static void put_hexbytes(struct mp_printer *p, const uint8_t *b, size_t n)
{
	if (!reserve(p, 2 * n))
		return;
	char *o = p->buf + p->len;
	for (size_t i = 0; i < n; i++) {
		*o++ = hexdig[b[i] >> 4];
		*o++ = hexdig[b[i] & 15];
	}
	p->len += 2 * n;
}

void mp_pr_bytes(struct mp_printer *p, const char *name, const void *data, size_t n)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (!data && n) {
		puts_(p, "null");
	} else if (p->fmt == MP_PRINT_JSON) {
		putc_(p, '"');
		put_hexbytes(p, data, n);
		putc_(p, '"');
	} else if (n == 0) {
		puts_(p, "(empty)");
	} else {
		size_t shown = n > p->max_bytes ? p->max_bytes : n;
		put_hexbytes(p, data, shown);
		if (shown < n) {
			put(p, "... (", 5);
			put_udec(p, n - shown);
			puts_(p, " more bytes)");
		}
	}
	item_end(p, w);
}

void mp_pr_guid(struct mp_printer *p, const char *name, const uint8_t guid[16])
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (!guid) {
		puts_(p, "null");
		item_end(p, w);
		return;
	}
	/* Data1..Data3 little-endian, Data4 in wire order. */
	static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
	char s[40];
	size_t o = 0;
	if (p->fmt == MP_PRINT_JSON)
		s[o++] = '"';
	s[o++] = '{';
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[o++] = '-';
		s[o++] = hexdig[guid[order[i]] >> 4];
		s[o++] = hexdig[guid[order[i]] & 15];
	}
	s[o++] = '}';
	if (p->fmt == MP_PRINT_JSON)
		s[o++] = '"';
	put(p, s, o);
	item_end(p, w);
}

/* Days since 1970-01-01 to a proleptic Gregorian date (era arithmetic: 400
 * years are 146097 days). Valid for every FILETIME. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "2009-03-13T09:45:00Z", with ".fffffff" when the 100 ns part is not zero;
 * years past 9999 take the ISO 8601 expanded "+" form. */
static size_t format_filetime(char *out, size_t cap, uint64_t ft)
{
	/* 1601-01-01 to 1970-01-01: 134774 days. */
	uint64_t secs = ft / 10000000u;
	unsigned frac = (unsigned)(ft % 10000000u);
	int64_t days = (int64_t)(secs / 86400) - 134774;
	unsigned sod = (unsigned)(secs % 86400);
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	int n = snprintf(out, cap, "%s%04" PRId64 "-%02u-%02uT%02u:%02u:%02u", y > 9999 ? "+" : "",
			 y, m, d, sod / 3600, sod / 60 % 60, sod % 60);
	if (frac && n > 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, ".%07u", frac);
	if (n > 0 && (size_t)n + 1 < cap) {
		out[n++] = 'Z';
		out[n] = '\0';
	}
	return n > 0 ? (size_t)n : 0;
}

void mp_pr_filetime(struct mp_printer *p, const char *name, uint64_t ft)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	char tmp[64];
	size_t n = format_filetime(tmp, sizeof(tmp), ft);
	if (p->fmt == MP_PRINT_JSON) {
		/* Seven fraction digits keep every FILETIME exact in one string. */
		putc_(p, '"');
		put(p, tmp, n);
		putc_(p, '"');
	} else {
		put(p, tmp, n);
		put(p, " (", 2);
		put_hex(p, ft, 16);
		putc_(p, ')');
	}
	item_end(p, w);
}

void mp_pr_secret(struct mp_printer *p, const char *name, size_t n)
{
	bool w;
	if (!item_begin(p, name, &w))
		return;
	text_sep(p);
	if (p->fmt == MP_PRINT_JSON)
		putc_(p, '"');
	puts_(p, "<redacted, ");
	put_udec(p, n);
	puts_(p, n == 1 ? " byte>" : " bytes>");
	if (p->fmt == MP_PRINT_JSON)
		putc_(p, '"');
	item_end(p, w);
}
