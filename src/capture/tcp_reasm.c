/*
 * TCP stream reassembly (see tcp_reasm.h).
 *
 * Each connection keeps its state by "raw" direction: 0 is the sender of
 * the first segment seen, 1 the other side. `swapped` maps raw directions
 * to client/server, so that mp_tcp_conn_swap() never moves state (it may be
 * called from inside a delivery loop). Sequence numbers compare modulo 2^32
 * (a signed 32-bit difference), as TCP does.
 */
#include "capture/tcp_reasm.h"

#include <stdlib.h>
#include <string.h>

#define DEF_MAX_CONNS 4096
#define DEF_QUEUE_BYTES (1u << 20)
#define DEF_QUEUE_SEGS 1024
#define DEF_TOTAL_QUEUED (64u << 20)
#define N_BUCKETS 8192

/* A segment waiting for the bytes before it; owns a copy of its payload. */
struct qseg {
	struct qseg *next;
	uint32_t seq;
	size_t len;      /* captured bytes in data[] */
	size_t wire_len; /* sequence space it covers */
	struct timespec ts;
	uint64_t frame;
	uint8_t data[];
};

struct dstate {
	bool started;
	uint32_t isn_next; /* next after the SYN, when one was seen */
	bool syn;
	uint32_t next;
	bool fin;
	uint32_t fin_seq;
	bool closed;
	struct qseg *q; /* sorted by sequence */
	size_t q_bytes;
	size_t q_segs;
};

struct conn {
	struct mp_tcp_conn pub;
	struct conn *hnext;
	struct conn *prev, *nextl; /* activity list, most recent first */
	unsigned bucket;
	bool swapped; /* raw direction 0 is the server */
	bool ignored;
	bool dead; /* CLOSE delivered; kept to swallow stragglers */
	struct mp_cap_addr a[2];
	uint16_t port[2];
	struct dstate d[2];
};

struct mp_tcp_reasm {
	struct mp_tcp_limits lim;
	uint16_t *ports;
	size_t n_ports;
	mp_tcp_event_fn fn;
	void *arg;
	struct conn *buckets[N_BUCKETS];
	struct conn *head, *tail;
	size_t n_conns;
	size_t total_queued;
	uint64_t next_id;
	struct mp_tcp_stats st;
};

static int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static unsigned hash_ep(const struct mp_cap_addr *a, uint16_t port)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t n = a->family == 4 ? 4 : 16;
	for (size_t i = 0; i < n; i++)
		h = (h ^ a->a[i]) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

/* Symmetric: both directions of a connection land in the same bucket. */
static unsigned bucket_of(const struct mp_tcp_seg *s)
{
	return (hash_ep(&s->src, s->sport) ^ hash_ep(&s->dst, s->dport)) % N_BUCKETS;
}

struct mp_tcp_reasm *mp_tcp_reasm_new(const struct mp_tcp_limits *lim, const uint16_t *server_ports,
                                      size_t n_ports, mp_tcp_event_fn fn, void *arg)
{
	struct mp_tcp_reasm *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (lim)
		r->lim = *lim;
	if (!r->lim.max_conns)
		r->lim.max_conns = DEF_MAX_CONNS;
	if (!r->lim.max_queue_bytes)
		r->lim.max_queue_bytes = DEF_QUEUE_BYTES;
	if (!r->lim.max_queue_segs)
		r->lim.max_queue_segs = DEF_QUEUE_SEGS;
	if (!r->lim.max_total_queued)
		r->lim.max_total_queued = DEF_TOTAL_QUEUED;
	if (n_ports) {
		r->ports = malloc(n_ports * sizeof(*r->ports));
		if (!r->ports) {
			free(r);
			return NULL;
		}
		memcpy(r->ports, server_ports, n_ports * sizeof(*r->ports));
		r->n_ports = n_ports;
	}
	r->fn = fn;
	r->arg = arg;
	return r;
}

static bool is_server_port(const struct mp_tcp_reasm *r, uint16_t port)
{
	for (size_t i = 0; i < r->n_ports; i++)
		if (r->ports[i] == port)
			return true;
	return false;
}

/* ---- list and table ------------------------------------------------------ */

static void list_unlink(struct mp_tcp_reasm *r, struct conn *c)
{
	if (c->prev)
		c->prev->nextl = c->nextl;
	else
		r->head = c->nextl;
	if (c->nextl)
		c->nextl->prev = c->prev;
	else
		r->tail = c->prev;
	c->prev = c->nextl = NULL;
}

static void list_push_front(struct mp_tcp_reasm *r, struct conn *c)
{
	c->prev = NULL;
	c->nextl = r->head;
	if (r->head)
		r->head->prev = c;
	r->head = c;
	if (!r->tail)
		r->tail = c;
}

static void free_queue(struct mp_tcp_reasm *r, struct dstate *d)
{
	struct qseg *q = d->q;
	while (q) {
		struct qseg *n = q->next;
		r->total_queued -= q->len;
		free(q);
		q = n;
	}
	d->q = NULL;
	d->q_bytes = d->q_segs = 0;
}

static void conn_free(struct mp_tcp_reasm *r, struct conn *c)
{
	struct conn **pp = &r->buckets[c->bucket];
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	list_unlink(r, c);
	free_queue(r, &c->d[0]);
	free_queue(r, &c->d[1]);
	r->n_conns--;
	free(c);
}

/* ---- events -------------------------------------------------------------- */

static enum mp_tcp_dir pub_dir(const struct conn *c, int raw)
{
	return (enum mp_tcp_dir)(raw ^ (c->swapped ? 1 : 0));
}

static void emit(struct mp_tcp_reasm *r, struct conn *c, enum mp_tcp_event_type type, int raw,
                 const uint8_t *data, size_t len, uint64_t gap, const struct timespec *ts,
                 uint64_t frame, const char *why)
{
	if (c->ignored && type != MP_TCP_EV_CLOSE)
		return;
	struct mp_tcp_event ev = {
	    .type = type,
	    .dir = pub_dir(c, raw),
	    .data = data,
	    .len = len,
	    .gap = gap,
	    .frame = frame,
	    .why = why,
	};
	if (ts)
		ev.ts = *ts;
	if (type == MP_TCP_EV_GAP) {
		r->st.gaps++;
		r->st.gap_bytes += gap;
	}
	r->fn(r->arg, &c->pub, &ev);
}

/* Deliver one piece of sequence space [seq, seq + wire_len) whose first
 * `len` bytes were captured, as seen from d->next (which it must not start
 * after). Bytes before d->next are retransmissions. */
static void deliver(struct mp_tcp_reasm *r, struct conn *c, int raw, uint32_t seq,
                    const uint8_t *data, size_t len, size_t wire_len, const struct timespec *ts,
                    uint64_t frame)
{
	struct dstate *d = &c->d[raw];
	size_t skip = (size_t)(uint32_t)(d->next - seq);
	if (skip >= wire_len) {
		r->st.retransmitted += wire_len < len ? wire_len : len;
		return;
	}
	r->st.retransmitted += skip < len ? skip : len;
	if (skip < len)
		emit(r, c, MP_TCP_EV_DATA, raw, data + skip, len - skip, 0, ts, frame, NULL);
	size_t covered = skip > len ? skip : len;
	if (wire_len > covered)
		emit(r, c, MP_TCP_EV_GAP, raw, NULL, 0, wire_len - covered, ts, frame, NULL);
	d->next = seq + (uint32_t)wire_len;
}

/* Deliver queued segments that have become contiguous. */
static void drain(struct mp_tcp_reasm *r, struct conn *c, int raw)
{
	struct dstate *d = &c->d[raw];
	while (d->q && !c->ignored && seq_diff(d->q->seq, d->next) <= 0) {
		struct qseg *q = d->q;
		d->q = q->next;
		d->q_bytes -= q->len;
		d->q_segs--;
		r->total_queued -= q->len;
		deliver(r, c, raw, q->seq, q->data, q->len, q->wire_len, &q->ts, q->frame);
		free(q);
	}
}

/* Give up on the bytes before the first queued segment. */
static void skip_to_queue(struct mp_tcp_reasm *r, struct conn *c, int raw)
{
	struct dstate *d = &c->d[raw];
	if (!d->q)
		return;
	int32_t gap = seq_diff(d->q->seq, d->next);
	if (gap > 0) {
		emit(r, c, MP_TCP_EV_GAP, raw, NULL, 0, (uint64_t)gap, &d->q->ts, d->q->frame,
		     NULL);
		d->next = d->q->seq;
	}
	drain(r, c, raw);
}

static void flush_dir(struct mp_tcp_reasm *r, struct conn *c, int raw)
{
	struct dstate *d = &c->d[raw];
	while (d->q && !c->ignored)
		skip_to_queue(r, c, raw);
	free_queue(r, d);
	/* A FIN says where the stream ended: anything short of it was lost. */
	if (d->fin && d->started && seq_diff(d->fin_seq, d->next) > 0 && !c->ignored) {
		emit(r, c, MP_TCP_EV_GAP, raw, NULL, 0, (uint64_t)seq_diff(d->fin_seq, d->next),
		     NULL, 0, NULL);
		d->next = d->fin_seq;
	}
}

/* Deliver everything queued, send CLOSE, keep the entry as dead. */
static void conn_close(struct mp_tcp_reasm *r, struct conn *c, const char *why,
                       const struct timespec *ts, uint64_t frame)
{
	if (c->dead)
		return;
	flush_dir(r, c, 0);
	flush_dir(r, c, 1);
	c->dead = true;
	emit(r, c, MP_TCP_EV_CLOSE, 0, NULL, 0, 0, ts, frame, why);
	c->pub.user = NULL;
}

static void queue_seg(struct mp_tcp_reasm *r, struct conn *c, int raw, const struct mp_tcp_seg *s)
{
	struct dstate *d = &c->d[raw];
	r->st.out_of_order++;
	struct qseg *q = malloc(sizeof(*q) + s->len);
	if (!q) {
		/* No memory to wait: what is missing before this segment is lost. */
		flush_dir(r, c, raw);
		int32_t gap = seq_diff(s->seq, d->next);
		if (gap > 0 && !c->ignored) {
			emit(r, c, MP_TCP_EV_GAP, raw, NULL, 0, (uint64_t)gap, &s->ts, s->frame,
			     NULL);
			d->next = s->seq;
		}
		if (!c->ignored)
			deliver(r, c, raw, s->seq, s->payload, s->len, s->wire_len, &s->ts,
			        s->frame);
		return;
	}
	q->seq = s->seq;
	q->len = s->len;
	q->wire_len = s->wire_len;
	q->ts = s->ts;
	q->frame = s->frame;
	if (s->len)
		memcpy(q->data, s->payload, s->len);
	/* Sorted insert, relative to next (robust across wrap-around). */
	struct qseg **pp = &d->q;
	while (*pp && seq_diff((*pp)->seq, d->next) <= seq_diff(s->seq, d->next))
		pp = &(*pp)->next;
	q->next = *pp;
	*pp = q;
	d->q_bytes += s->len;
	d->q_segs++;
	r->total_queued += s->len;
	while (d->q && !c->ignored &&
	       (d->q_bytes > r->lim.max_queue_bytes || d->q_segs > r->lim.max_queue_segs ||
	        r->total_queued > r->lim.max_total_queued))
		skip_to_queue(r, c, raw);
}

/* ---- connections --------------------------------------------------------- */

static struct conn *lookup(struct mp_tcp_reasm *r, const struct mp_tcp_seg *s, unsigned b, int *raw)
{
	for (struct conn *c = r->buckets[b]; c; c = c->hnext) {
		for (int i = 0; i < 2; i++) {
			if (c->port[i] == s->sport && c->port[!i] == s->dport &&
			    mp_cap_addr_equal(&c->a[i], &s->src) &&
			    mp_cap_addr_equal(&c->a[!i], &s->dst)) {
				*raw = i;
				return c;
			}
		}
	}
	return NULL;
}

static void set_pub(struct conn *c)
{
	int cli = c->swapped ? 1 : 0;
	c->pub.cli = c->a[cli];
	c->pub.cli_port = c->port[cli];
	c->pub.srv = c->a[!cli];
	c->pub.srv_port = c->port[!cli];
}

static void evict_one(struct mp_tcp_reasm *r)
{
	struct conn *c = r->tail;
	if (!c)
		return;
	if (!c->dead) {
		r->st.evicted++;
		conn_close(r, c, "evicted", NULL, 0);
	}
	conn_free(r, c);
}

static struct conn *conn_new(struct mp_tcp_reasm *r, const struct mp_tcp_seg *s, unsigned b)
{
	while (r->n_conns >= r->lim.max_conns && r->tail)
		evict_one(r);
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->a[0] = s->src;
	c->a[1] = s->dst;
	c->port[0] = s->sport;
	c->port[1] = s->dport;
	bool syn = s->flags & MP_TCP_SYN, ack = s->flags & MP_TCP_ACK;
	bool sender_is_client;
	if (syn)
		sender_is_client = !ack;
	else if (is_server_port(r, s->dport) != is_server_port(r, s->sport))
		sender_is_client = is_server_port(r, s->dport);
	else
		sender_is_client = s->sport > s->dport;
	c->swapped = !sender_is_client;
	c->pub.handshake = syn;
	c->pub.id = ++r->next_id;
	c->pub.first_ts = s->ts;
	set_pub(c);
	c->bucket = b;
	c->hnext = r->buckets[b];
	r->buckets[b] = c;
	list_push_front(r, c);
	r->n_conns++;
	r->st.conns++;
	emit(r, c, MP_TCP_EV_OPEN, 0, NULL, 0, 0, &s->ts, s->frame, NULL);
	return c;
}

static void maybe_closed(struct mp_tcp_reasm *r, struct conn *c, const struct mp_tcp_seg *s)
{
	for (int i = 0; i < 2; i++) {
		struct dstate *d = &c->d[i];
		if (d->fin && !d->closed && d->started && seq_diff(d->next, d->fin_seq) >= 0)
			d->closed = true;
	}
	if (c->d[0].closed && c->d[1].closed)
		conn_close(r, c, "fin", &s->ts, s->frame);
}

void mp_tcp_reasm_add(struct mp_tcp_reasm *r, const struct mp_tcp_seg *s)
{
	unsigned b = bucket_of(s);
	int raw = 0;
	struct conn *c = lookup(r, s, b, &raw);
	bool syn = s->flags & MP_TCP_SYN, ack = s->flags & MP_TCP_ACK;

	/* A fresh SYN on the ports of an older connection: a new connection. */
	if (c && syn && !ack &&
	    (c->dead || (c->d[raw].syn && c->d[raw].isn_next != s->seq + 1) ||
	     (!c->d[raw].syn && c->d[raw].started))) {
		if (!c->dead)
			conn_close(r, c, "new connection on the same ports", &s->ts, s->frame);
		conn_free(r, c);
		c = NULL;
	}
	if (c && c->dead) {
		list_unlink(r, c);
		list_push_front(r, c);
		return; /* a straggler after the end */
	}
	if (!c) {
		/* Pure ACKs and FINs without data do not open a connection. */
		if (!syn && s->wire_len == 0)
			return;
		c = conn_new(r, s, b);
		if (!c)
			return;
		raw = 0;
	} else {
		list_unlink(r, c);
		list_push_front(r, c);
	}
	if (c->ignored) {
		if (s->flags & MP_TCP_RST)
			conn_close(r, c, "rst", &s->ts, s->frame);
		return;
	}

	struct dstate *d = &c->d[raw];
	if (syn) {
		if (!d->started) {
			d->started = true;
			d->syn = true;
			d->next = s->seq + 1;
			d->isn_next = d->next;
		}
		/* Data on a SYN (TCP Fast Open) follows the SYN's sequence number. */
	}
	uint32_t data_seq = syn ? s->seq + 1 : s->seq;
	if (!d->started && (s->wire_len || (s->flags & MP_TCP_FIN))) {
		d->started = true;
		d->next = data_seq;
	}
	if (s->flags & MP_TCP_FIN) {
		d->fin = true;
		d->fin_seq = data_seq + (uint32_t)s->wire_len;
	}
	if (s->wire_len && d->started) {
		if (seq_diff(data_seq, d->next) <= 0) {
			deliver(r, c, raw, data_seq, s->payload, s->len, s->wire_len, &s->ts,
			        s->frame);
			drain(r, c, raw);
		} else {
			struct mp_tcp_seg q = *s;
			q.seq = data_seq;
			queue_seg(r, c, raw, &q);
		}
	}
	if (c->ignored) {
		free_queue(r, &c->d[0]);
		free_queue(r, &c->d[1]);
	}
	if (s->flags & MP_TCP_RST) {
		conn_close(r, c, "rst", &s->ts, s->frame);
		return;
	}
	maybe_closed(r, c, s);
}

void mp_tcp_conn_ignore(struct mp_tcp_reasm *r, struct mp_tcp_conn *pc)
{
	struct conn *c = (struct conn *)pc;
	/* Queues are freed by the caller of the delivery loop (it may be
	   walking them now); only the flag changes here. */
	c->ignored = true;
}

void mp_tcp_conn_swap(struct mp_tcp_reasm *r, struct mp_tcp_conn *pc)
{
	struct conn *c = (struct conn *)pc;
	c->swapped = !c->swapped;
	set_pub(c);
}

void mp_tcp_reasm_finish(struct mp_tcp_reasm *r)
{
	/* Oldest first, so connections end in the order they were active. */
	for (struct conn *c = r->tail; c; c = c->prev)
		conn_close(r, c, "end of capture", NULL, 0);
}

void mp_tcp_reasm_get_stats(const struct mp_tcp_reasm *r, struct mp_tcp_stats *out)
{
	*out = r->st;
}

void mp_tcp_reasm_free(struct mp_tcp_reasm *r)
{
	if (!r)
		return;
	while (r->head)
		conn_free(r, r->head);
	free(r->ports);
	free(r);
}
