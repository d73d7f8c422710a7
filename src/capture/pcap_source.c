/*
 * Captured frames -> TCP segments (see pcap_source.h).
 *
 * Layouts: Ethernet II / IEEE 802.1Q; Linux cooked capture v1 (16-byte
 * header, protocol at 14) and v2 (20-byte header, protocol at 0); BSD
 * loopback (4-byte address family, host order for NULL, network order for
 * LOOP); IPv4 (RFC 791), IPv6 (RFC 8200) and TCP (RFC 9293).
 */
#include "capture/pcap_source.h"

#include "util/cursor.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXT 8

#define IPPROTO_TCP_ 6

const char *mp_frame_verdict_name(enum mp_frame_verdict v)
{
	switch (v) {
	case MP_FRAME_TCP:
		return "tcp";
	case MP_FRAME_NOT_TCP:
		return "not tcp";
	case MP_FRAME_IP_FRAGMENT:
		return "ip fragment";
	case MP_FRAME_TRUNCATED:
		return "truncated";
	case MP_FRAME_MALFORMED:
		return "malformed";
	case MP_FRAME_UNKNOWN_LINK:
		return "unknown link type";
	}
	return "?";
}

bool mp_cap_addr_equal(const struct mp_cap_addr *x, const struct mp_cap_addr *y)
{
	if (x->family != y->family)
		return false;
	return memcmp(x->a, y->a, x->family == 4 ? 4 : 16) == 0;
}

void mp_cap_endpoint_str(const struct mp_cap_addr *a, uint16_t port, char *out, size_t len)
{
	if (!len)
		return;
	if (a->family == 4) {
		snprintf(out, len, "%u.%u.%u.%u:%u", a->a[0], a->a[1], a->a[2], a->a[3], port);
		return;
	}
	/* RFC 5952 form: lower case, the longest run (>= 2) of zero groups as "::". */
	uint16_t g[8];
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(a->a[2 * i] << 8 | a->a[2 * i + 1]);
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j == i ? i + 1 : j;
	}
	char buf[48];
	size_t n = 0;
	buf[n++] = '[';
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			buf[n++] = ':';
			if (i == 0)
				buf[n++] = ':';
			i += best_len - 1;
			continue;
		}
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%x", g[i]);
		if (i < 7)
			buf[n++] = ':';
	}
	buf[n++] = ']';
	buf[n] = '\0';
	snprintf(out, len, "%s:%u", buf, port);
}

/* TCP header at p[0..cap) of an IP payload of `wire` bytes. */
static enum mp_frame_verdict decode_tcp(const uint8_t *p, size_t cap, size_t wire,
                                        struct mp_tcp_seg *out)
{
	if (wire < 20)
		return MP_FRAME_MALFORMED;
	if (cap < 20)
		return MP_FRAME_TRUNCATED;
	size_t hlen = (size_t)(p[12] >> 4) * 4;
	if (hlen < 20 || hlen > wire)
		return MP_FRAME_MALFORMED;
	if (hlen > cap)
		return MP_FRAME_TRUNCATED;
	out->sport = (uint16_t)(p[0] << 8 | p[1]);
	out->dport = (uint16_t)(p[2] << 8 | p[3]);
	out->seq = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	out->ack = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	out->flags = p[13];
	out->payload = p + hlen;
	out->wire_len = wire - hlen;
	out->len = cap - hlen < out->wire_len ? cap - hlen : out->wire_len;
	return MP_FRAME_TCP;
}

/* IPv4 packet at p[0..cap), `wire` bytes of it on the wire. */
static enum mp_frame_verdict decode_ipv4(const uint8_t *p, size_t cap, size_t wire,
                                         struct mp_tcp_seg *out)
{
	if (cap < 20)
		return wire < 20 ? MP_FRAME_MALFORMED : MP_FRAME_TRUNCATED;
	if (p[0] >> 4 != 4)
		return MP_FRAME_MALFORMED;
	size_t ihl = (size_t)(p[0] & 0x0f) * 4;
	size_t total = (size_t)(p[2] << 8 | p[3]);
	/* Captured on the sending host with segmentation offload, the total
	   length may be 0: the frame length is then the truth. */
	if (total == 0)
		total = wire;
	if (ihl < 20 || total < ihl || total > wire)
		return MP_FRAME_MALFORMED;
	if (ihl > cap)
		return MP_FRAME_TRUNCATED;
	uint16_t frag = (uint16_t)(p[6] << 8 | p[7]);
	if (frag & 0x3fff) /* MF or a fragment offset */
		return MP_FRAME_IP_FRAGMENT;
	if (p[9] != IPPROTO_TCP_)
		return MP_FRAME_NOT_TCP;
	out->src.family = out->dst.family = 4;
	memset(out->src.a, 0, sizeof(out->src.a));
	memset(out->dst.a, 0, sizeof(out->dst.a));
	memcpy(out->src.a, p + 12, 4);
	memcpy(out->dst.a, p + 16, 4);
	size_t cap_total = cap < total ? cap : total; /* drop Ethernet padding */
	return decode_tcp(p + ihl, cap_total - ihl, total - ihl, out);
}

/* IPv6 packet: fixed header, then extension headers up to TCP. */
static enum mp_frame_verdict decode_ipv6(const uint8_t *p, size_t cap, size_t wire,
                                         struct mp_tcp_seg *out)
{
	if (cap < 40)
		return wire < 40 ? MP_FRAME_MALFORMED : MP_FRAME_TRUNCATED;
	if (p[0] >> 4 != 6)
		return MP_FRAME_MALFORMED;
	size_t plen = (size_t)(p[4] << 8 | p[5]);
	if (plen == 0) /* jumbogram or offload: the frame length decides */
		plen = wire - 40;
	if (40 + plen > wire)
		return MP_FRAME_MALFORMED;
	out->src.family = out->dst.family = 6;
	memcpy(out->src.a, p + 8, 16);
	memcpy(out->dst.a, p + 24, 16);
	uint8_t next = p[6];
	size_t off = 40, end = 40 + plen;
	size_t cap_end = cap < end ? cap : end;
	for (int i = 0; i <= MAX_IPV6_EXT; i++) {
		switch (next) {
		case IPPROTO_TCP_:
			return decode_tcp(p + off, cap_end - off, end - off, out);
		case 0:  /* hop-by-hop options */
		case 43: /* routing */
		case 60: /* destination options */
		case 51: /* authentication header: length in 4-byte units */
		{
			if (end - off < 8)
				return MP_FRAME_MALFORMED;
			if (cap_end - off < 8)
				return MP_FRAME_TRUNCATED;
			size_t n = next == 51 ? ((size_t)p[off + 1] + 2) * 4
			                      : ((size_t)p[off + 1] + 1) * 8;
			if (n > end - off)
				return MP_FRAME_MALFORMED;
			next = p[off];
			off += n;
			if (off > cap_end)
				return MP_FRAME_TRUNCATED;
			break;
		}
		case 44: /* fragment */
			return MP_FRAME_IP_FRAGMENT;
		default:
			return MP_FRAME_NOT_TCP;
		}
	}
	return MP_FRAME_NOT_TCP; /* more extension headers than anyone sends */
}

static enum mp_frame_verdict decode_ip_by_version(const uint8_t *p, size_t cap, size_t wire,
                                                  struct mp_tcp_seg *out)
{
	if (cap < 1)
		return wire ? MP_FRAME_TRUNCATED : MP_FRAME_MALFORMED;
	if (p[0] >> 4 == 4)
		return decode_ipv4(p, cap, wire, out);
	if (p[0] >> 4 == 6)
		return decode_ipv6(p, cap, wire, out);
	return MP_FRAME_NOT_TCP;
}

static enum mp_frame_verdict decode_ethertype(uint16_t type, const uint8_t *p, size_t cap,
                                              size_t wire, struct mp_tcp_seg *out)
{
	if (type == ETH_IPV4)
		return decode_ipv4(p, cap, wire, out);
	if (type == ETH_IPV6)
		return decode_ipv6(p, cap, wire, out);
	return MP_FRAME_NOT_TCP;
}

enum mp_frame_verdict mp_cap_frame_decode(int dlt, const uint8_t *data, size_t caplen,
                                          size_t wirelen, struct mp_tcp_seg *out)
{
	memset(out, 0, sizeof(*out));
	if (wirelen < caplen)
		wirelen = caplen; /* a writer that got it backwards: trust the bytes */
	size_t hdr;
	uint16_t type;
	switch (dlt) {
	case DLT_EN10MB:
		hdr = 14;
		if (caplen < hdr)
			return MP_FRAME_TRUNCATED;
		type = (uint16_t)(data[12] << 8 | data[13]);
		for (int i = 0; i < MAX_VLAN_TAGS &&
		                (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD);
		     i++) {
			if (caplen < hdr + 4)
				return MP_FRAME_TRUNCATED;
			type = (uint16_t)(data[hdr + 2] << 8 | data[hdr + 3]);
			hdr += 4;
		}
		break;
	case DLT_LINUX_SLL:
		hdr = 16;
		if (caplen < hdr)
			return MP_FRAME_TRUNCATED;
		type = (uint16_t)(data[14] << 8 | data[15]);
		break;
	case DLT_LINUX_SLL2:
		hdr = 20;
		if (caplen < hdr)
			return MP_FRAME_TRUNCATED;
		type = (uint16_t)(data[0] << 8 | data[1]);
		break;
	case DLT_NULL:
	case DLT_LOOP: {
		hdr = 4;
		if (caplen < hdr)
			return MP_FRAME_TRUNCATED;
		/* The family is in the writer's byte order (NULL) or big-endian
		   (LOOP); the small value of the two readings is the one. */
		uint32_t le = mp_get_u32(data);
		uint32_t be = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		              (uint32_t)data[2] << 8 | data[3];
		uint32_t fam = le < 256 ? le : be;
		if (fam == 2)
			type = ETH_IPV4;
		else if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
			type = ETH_IPV6; /* Linux, NetBSD/OpenBSD, FreeBSD, Darwin */
		else
			return MP_FRAME_NOT_TCP;
		break;
	}
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		return decode_ip_by_version(data, caplen, wirelen, out);
	default:
		return MP_FRAME_UNKNOWN_LINK;
	}
	return decode_ethertype(type, data + hdr, caplen - hdr, wirelen - hdr, out);
}

const char *mp_cap_dlt_name(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return "EN10MB (Ethernet)";
	case DLT_LINUX_SLL:
		return "LINUX_SLL (Linux cooked v1)";
	case DLT_LINUX_SLL2:
		return "LINUX_SLL2 (Linux cooked v2)";
	case DLT_NULL:
		return "NULL (BSD loopback)";
	case DLT_LOOP:
		return "LOOP (OpenBSD loopback)";
	case DLT_RAW:
		return "RAW (IP)";
#ifdef DLT_IPV4
	case DLT_IPV4:
		return "IPV4";
	case DLT_IPV6:
		return "IPV6";
#endif
	}
	return "unsupported";
}

static bool dlt_supported(int dlt)
{
	return strcmp(mp_cap_dlt_name(dlt), "unsupported") != 0;
}

struct mp_pcap_source {
	pcap_t *pc;
	FILE *mem; /* fmemopen'd stream for mp_pcap_open_mem */
	uint8_t *mem_copy;
	struct mp_pcap_stats st;
};

static struct mp_pcap_source *finish_open(struct mp_pcap_source *s, pcap_t *pc, const char *what,
                                          char *pcerr, char *err, size_t errlen)
{
	if (!pc) {
		snprintf(err, errlen, "cannot read %s as a capture: %s", what, pcerr);
		mp_pcap_close(s);
		return NULL;
	}
	s->pc = pc;
	s->st.dlt = pcap_datalink(pc);
	if (!dlt_supported(s->st.dlt)) {
		const char *name = pcap_datalink_val_to_name(s->st.dlt);
		snprintf(err, errlen,
		         "%s: link type %d (%s) is not supported; mapidump reads Ethernet, "
		         "Linux cooked (SLL, SLL2), BSD loopback (NULL, LOOP) and raw IP captures",
		         what, s->st.dlt, name ? name : "unknown");
		mp_pcap_close(s);
		return NULL;
	}
	return s;
}

struct mp_pcap_source *mp_pcap_open(const char *path, char *err, size_t errlen)
{
	struct mp_pcap_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	char pcerr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc =
	    pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pcerr);
	return finish_open(s, pc, path, pcerr, err, errlen);
}

struct mp_pcap_source *mp_pcap_open_mem(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	struct mp_pcap_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* fmemopen wants a non-empty buffer it may keep using: our own copy. */
	s->mem_copy = malloc(len ? len : 1);
	if (!s->mem_copy) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (len)
		memcpy(s->mem_copy, data, len);
	s->mem = fmemopen(s->mem_copy, len ? len : 1, "rb");
	if (!s->mem) {
		snprintf(err, errlen, "cannot open the capture in memory");
		mp_pcap_close(s);
		return NULL;
	}
	char pcerr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = NULL;
	if (len) {
		pc = pcap_fopen_offline_with_tstamp_precision(s->mem, PCAP_TSTAMP_PRECISION_NANO,
		                                              pcerr);
	} else {
		snprintf(pcerr, sizeof(pcerr), "empty input");
	}
	if (pc)
		s->mem = NULL; /* pcap_close closes the stream */
	return finish_open(s, pc, "the capture", pcerr, err, errlen);
}

int mp_pcap_next(struct mp_pcap_source *s, struct mp_tcp_seg *seg, char *err, size_t errlen)
{
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int rc = pcap_next_ex(s->pc, &h, &data);
		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc != 1) {
			snprintf(err, errlen, "after frame %llu: %s",
			         (unsigned long long)s->st.frames, pcap_geterr(s->pc));
			return -1;
		}
		s->st.frames++;
		enum mp_frame_verdict v =
		    mp_cap_frame_decode(s->st.dlt, data, h->caplen, h->len, seg);
		switch (v) {
		case MP_FRAME_TCP:
			s->st.tcp++;
			if (seg->len < seg->wire_len)
				s->st.cut_payload++;
			seg->frame = s->st.frames;
			seg->ts.tv_sec = h->ts.tv_sec;
			/* opened with nanosecond precision: tv_usec holds nanoseconds */
			seg->ts.tv_nsec = h->ts.tv_usec;
			return 1;
		case MP_FRAME_NOT_TCP:
		case MP_FRAME_UNKNOWN_LINK:
			s->st.not_tcp++;
			break;
		case MP_FRAME_IP_FRAGMENT:
			s->st.ip_fragments++;
			break;
		case MP_FRAME_TRUNCATED:
			s->st.truncated++;
			break;
		case MP_FRAME_MALFORMED:
			s->st.malformed++;
			break;
		}
	}
}

void mp_pcap_get_stats(const struct mp_pcap_source *s, struct mp_pcap_stats *out)
{
	*out = s->st;
}

void mp_pcap_close(struct mp_pcap_source *s)
{
	if (!s)
		return;
	if (s->pc)
		pcap_close(s->pc);
	if (s->mem)
		fclose(s->mem);
	free(s->mem_copy);
	free(s);
}
