/*
 * fuzz_udp - udp_parse() over arbitrary datagrams: the status follows the
 * length and total rules, a composed copy of the header reads back the
 * same, and the datagram count of any payload length stays in range.
 */
#include "fuzz.h"
#include "proto/udp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct udp_header h;
    struct udp_header back;
    unsigned char hdr[UDP_HEADER_LEN + 1];
    enum udp_status st = udp_parse(data, size, &h);

    if (size <= UDP_HEADER_LEN) {
        FUZZ_CHECK(st == UDP_SHORT);
        return 0;
    }
    FUZZ_CHECK(st == (data[4] == 0 && data[5] == 1 ? UDP_OK : UDP_NOT_ONE));
    udp_compose(hdr, &h);
    FUZZ_CHECK(memcmp(hdr, data, UDP_HEADER_LEN) == 0);
    hdr[UDP_HEADER_LEN] = 'x';
    FUZZ_CHECK(udp_parse(hdr, sizeof(hdr), &back) == st);
    FUZZ_CHECK(back.id == h.id && back.seq == h.seq && back.total == h.total &&
               back.reserved == h.reserved);

    size_t len = size * 977; /* a payload length derived from the input */
    uint16_t total = udp_total(len);
    FUZZ_CHECK((len == 0) == (total == 0));
    FUZZ_CHECK(total == UDP_TOTAL_MAX ||
               ((size_t)total * UDP_PAYLOAD_MAX >= len &&
                (size_t)(total - 1) * UDP_PAYLOAD_MAX < len));
    return 0;
}
