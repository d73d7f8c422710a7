/*
 * Captured frames -> TCP segments, for mapidump.
 *
 * mp_cap_frame_decode() is the pure part: one frame of a given link type
 * (Ethernet with 802.1Q/802.1ad tags, Linux cooked SLL and SLL2, BSD
 * loopback NULL/LOOP, raw IPv4/IPv6) down through IPv4 or IPv6 (extension
 * headers skipped) to a TCP segment. Every header is bounds-checked against
 * the captured length; a payload cut by the snap length is reported with
 * both its captured and its on-the-wire length, so that reassembly can
 * record the missing bytes as a gap. IP fragments are not reassembled
 * (DCE/RPC over TCP rarely meets them; they are counted).
 *
 * mp_pcap_source wraps libpcap's offline reader (pcap and pcapng, files or
 * memory) around it and counts what it skipped.
 */
#ifndef MP_CAPTURE_PCAP_SOURCE_H
#define MP_CAPTURE_PCAP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* An IPv4 or IPv6 address (IPv4 in a[0..3]). */
struct mp_cap_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t a[16];
};

#define MP_CAP_ADDR_STR_LEN 48 /* "[ffff:...:ffff]:65535" fits */

/* "127.0.0.1:135" or "[::1]:135" into out (always NUL-terminated). */
void mp_cap_endpoint_str(const struct mp_cap_addr *a, uint16_t port, char *out, size_t len);

bool mp_cap_addr_equal(const struct mp_cap_addr *x, const struct mp_cap_addr *y);

/* TCP flags. */
#define MP_TCP_FIN 0x01
#define MP_TCP_SYN 0x02
#define MP_TCP_RST 0x04
#define MP_TCP_PSH 0x08
#define MP_TCP_ACK 0x10

/* One TCP segment; payload points into the frame. */
struct mp_tcp_seg {
	struct timespec ts;
	uint64_t frame; /* 1-based frame number in the capture */
	struct mp_cap_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *payload;
	size_t len;      /* payload bytes captured */
	size_t wire_len; /* payload bytes on the wire (> len when the snap length cut it) */
};

/* What a frame turned out to be. */
enum mp_frame_verdict {
	MP_FRAME_TCP = 0,      /* *out is a segment */
	MP_FRAME_NOT_TCP,      /* ARP, UDP, ICMP, LLC, ...: not ours */
	MP_FRAME_IP_FRAGMENT,  /* an IPv4/IPv6 fragment (not reassembled) */
	MP_FRAME_TRUNCATED,    /* cut before the end of the TCP header */
	MP_FRAME_MALFORMED,    /* a header that contradicts itself */
	MP_FRAME_UNKNOWN_LINK, /* a link type not handled here */
};

const char *mp_frame_verdict_name(enum mp_frame_verdict v);

/*
 * Decode one frame of libpcap link type `dlt` (DLT_* value, as
 * pcap_datalink() returns it): caplen bytes captured of wirelen on the wire.
 * On MP_FRAME_TCP, *out is filled except ts and frame. Never reads outside
 * data[0..caplen).
 */
enum mp_frame_verdict mp_cap_frame_decode(int dlt, const uint8_t *data, size_t caplen,
                                          size_t wirelen, struct mp_tcp_seg *out);

/* Counters of a source. */
struct mp_pcap_stats {
	int dlt;
	uint64_t frames;
	uint64_t tcp;
	uint64_t not_tcp;
	uint64_t ip_fragments;
	uint64_t truncated;   /* frames cut inside the headers (skipped) */
	uint64_t cut_payload; /* TCP segments whose payload was cut (kept, gap recorded) */
	uint64_t malformed;
};

struct mp_pcap_source;

/*
 * Open a pcap or pcapng file ("-" is stdin), nanosecond timestamps. On
 * failure returns NULL with a sentence in err (libpcap's reason, and for
 * an unknown link type which ones are supported).
 */
struct mp_pcap_source *mp_pcap_open(const char *path, char *err, size_t errlen);

/* The same over a copy of data[0..len) (fuzzing, tests). */
struct mp_pcap_source *mp_pcap_open_mem(const uint8_t *data, size_t len, char *err, size_t errlen);

/*
 * Next TCP segment: 1 and *seg filled (its payload is valid until the next
 * call), 0 at the end of the capture, -1 when libpcap reports an error (a
 * truncated or corrupt file: err says what; frames read so far stay
 * valid, and the caller should treat this as the end).
 */
int mp_pcap_next(struct mp_pcap_source *s, struct mp_tcp_seg *seg, char *err, size_t errlen);

void mp_pcap_get_stats(const struct mp_pcap_source *s, struct mp_pcap_stats *out);

/* Name of a link type ("EN10MB", "LINUX_SLL2", ...). */
const char *mp_cap_dlt_name(int dlt);

void mp_pcap_close(struct mp_pcap_source *s);

#endif
