#include "lib/base64.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Written here rather than taken from OpenSSL (EVP_DecodeBlock and the
 * BIO filter): memcached's decoder silently skips bytes outside the
 * alphabet, only counts the rest, treats '=' as a zero digit anywhere in
 * a group, and ignores whatever follows the first padded group, so
 * "Zg==Zm9v" is "f" and "Z!m9v" is "foo". OpenSSL rejects or decodes
 * those differently, and a key must hash to the same item as it does in
 * memcached.
 */

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Digit value of c, '=' counting as 0; -1 for a byte to skip. */
static int
digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    if (c == '=') {
        return 0;
    }
    return -1;
}

size_t
base64_encode(const void *src, size_t len, char *out, size_t cap)
{
    const unsigned char *in = src;
    size_t need = base64_encoded_len(len);
    size_t n = 0;
    size_t i = 0;

    if (need > cap) {
        return 0;
    }
    for (; len - i >= 3; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[n++] = alphabet[v >> 18];
        out[n++] = alphabet[(v >> 12) & 63];
        out[n++] = alphabet[(v >> 6) & 63];
        out[n++] = alphabet[v & 63];
    }
    if (i < len) {
        bool two = len - i == 2;
        uint32_t v =
            (uint32_t)in[i] << 16 | (two ? (uint32_t)in[i + 1] << 8 : 0);
        out[n++] = alphabet[v >> 18];
        out[n++] = alphabet[(v >> 12) & 63];
        out[n++] = two ? alphabet[(v >> 6) & 63] : '=';
        out[n++] = '=';
    }
    return n;
}

size_t
base64_decode(const char *src, size_t len, void *out, size_t cap)
{
    const unsigned char *in = (const unsigned char *)src;
    unsigned char *p = out;
    unsigned char *start = out;
    unsigned char group[4];
    size_t count = 0;
    size_t pad = 0;

    for (size_t i = 0; i < len; i++) {
        count += digit(in[i]) >= 0;
    }
    if (count == 0 || count % 4 != 0 || base64_decoded_max(count) > cap) {
        return 0;
    }
    count = 0;
    for (size_t i = 0; i < len; i++) {
        int d = digit(in[i]);
        if (d < 0) {
            continue;
        }
        pad += in[i] == '=';
        group[count++] = (unsigned char)d;
        if (count < 4) {
            continue;
        }
        /* Written behind the read position, so in == out works. */
        *p++ = (unsigned char)(group[0] << 2 | group[1] >> 4);
        *p++ = (unsigned char)(group[1] << 4 | group[2] >> 2);
        *p++ = (unsigned char)(group[2] << 6 | group[3]);
        count = 0;
        if (pad > 2) {
            return 0;
        }
        if (pad > 0) {
            /* The first padded group ends the input; the rest is ignored. */
            p -= pad;
            break;
        }
    }
    return (size_t)(p - start);
}
