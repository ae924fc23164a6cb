#include "lib/hash.h"

#include <string.h>

/*
 * Multiply-fold hashing: each step multiplies two 64-bit words into 128
 * bits and folds the halves together with xor, which mixes every input
 * bit into the low bits we use for bucket selection. Keys are read 16
 * bytes at a time; the 1..16 byte tail is read as two (possibly
 * overlapping) words so that no byte-at-a-time loop is needed.
 */

#define HASH_K0 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio */
#define HASH_K1 0xc2b2ae3d27d4eb4full
#define HASH_K2 0x165667b19e3779f9ull
#define HASH_K3 0xd6e8feb86659fd93ull

static inline uint64_t
fold_mul(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t
read64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t
read32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

uint64_t
hash_bytes(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = fold_mul(HASH_K0 ^ len, HASH_K1);
    uint64_t a = 0;
    uint64_t b = 0;

    for (; len > 16; len -= 16, p += 16) {
        h = fold_mul(read64(p) ^ HASH_K2, read64(p + 8) ^ h);
    }
    if (len >= 8) {
        a = read64(p);
        b = read64(p + len - 8);
    } else if (len >= 4) {
        a = read32(p);
        b = read32(p + len - 4);
    } else if (len > 0) {
        a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len / 2] << 8) | p[len - 1];
    }
    h = fold_mul(a ^ HASH_K3 ^ h, b ^ HASH_K0);
    return fold_mul(h ^ HASH_K1, h ^ HASH_K2 ^ len);
}
