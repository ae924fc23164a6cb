/*
 * hash - a fast 64-bit non-cryptographic hash for keys. Owns nothing and
 * keeps no state; safe from any thread. Not resistant to hash flooding
 * (neither is memcached's murmur3): keys are trusted to be ordinary.
 *
 * Called by the engine's hash table (bucket and lock stripe come from the
 * low bits, so those bits must be well mixed).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The same bytes always give the same value, in every process. */
uint64_t hash_bytes(const void *data, size_t len);
