/*
 * udp - memcached's UDP frame: the 8-byte header in front of every request
 * and reply datagram, and how a reply message is cut into datagrams. Pure
 * functions over bytes; net/udp.c does the sockets.
 *
 * Header (memcached's doc/protocol.txt, "UDP protocol"), big-endian u16s:
 *
 *   0      2          4                6          8
 *   +------+----------+----------------+----------+---------- - -
 *   | id   | sequence | total datagrams| reserved | payload
 *   +------+----------+----------------+----------+---------- - -
 *
 * A request must fit one datagram: memcached 1.6.18 drops one whose total
 * is not exactly 1, and ignores datagrams of 8 bytes or fewer, silently.
 * Each reply message carries the request's id, sequence 0..n-1 and total
 * n; a datagram holds at most UDP_DATAGRAM_MAX bytes, header included.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define UDP_HEADER_LEN   8
#define UDP_DATAGRAM_MAX 1400
#define UDP_PAYLOAD_MAX  (UDP_DATAGRAM_MAX - UDP_HEADER_LEN)
/* The sequence and total fields are 16 bits wide. */
#define UDP_TOTAL_MAX    65535

struct udp_header {
    uint16_t id;
    uint16_t seq;
    uint16_t total;
    uint16_t reserved;
};

enum udp_status {
    UDP_OK = 0,  /* a request: the payload follows the header */
    UDP_SHORT,   /* 8 bytes or fewer: ignored */
    UDP_NOT_ONE, /* total datagrams is not 1: dropped */
};

/* Reads the header of a received datagram of len bytes at in. */
enum udp_status udp_parse(const void *in, size_t len, struct udp_header *h);

/* Writes h as the 8 header bytes at out. */
void udp_compose(void *out, const struct udp_header *h);

/*
 * Datagrams a reply message of len payload bytes is cut into: 0 for an
 * empty message, at most UDP_TOTAL_MAX (memcached caps the field there and
 * lets the sequence wrap; a message that long needs a -I of ~90 MB).
 */
uint16_t udp_total(size_t len);
