#include "proto/udp.h"

static uint16_t
get16(const unsigned char *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

enum udp_status
udp_parse(const void *in, size_t len, struct udp_header *h)
{
    const unsigned char *p = in;

    if (len <= UDP_HEADER_LEN) {
        return UDP_SHORT;
    }
    h->id = get16(p);
    h->seq = get16(p + 2);
    h->total = get16(p + 4);
    h->reserved = get16(p + 6);
    return h->total == 1 ? UDP_OK : UDP_NOT_ONE;
}

void
udp_compose(void *out, const struct udp_header *h)
{
    unsigned char *p = out;

    put16(p, h->id);
    put16(p + 2, h->seq);
    put16(p + 4, h->total);
    put16(p + 6, h->reserved);
}

uint16_t
udp_total(size_t len)
{
    size_t n = len / UDP_PAYLOAD_MAX + (len % UDP_PAYLOAD_MAX != 0);

    return n > UDP_TOTAL_MAX ? UDP_TOTAL_MAX : (uint16_t)n;
}
