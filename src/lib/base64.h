/*
 * base64 - the standard alphabet (A-Z a-z 0-9 + /) with '=' padding, as
 * memcached 1.6.18 speaks it for binary keys (meta flag b). Pure
 * functions over caller memory: no allocation, no state, any thread.
 *
 * Called by proto/meta.c: decoding a key token, encoding a binary key
 * that a reply echoes.
 */
#pragma once

#include <stddef.h>

/* Bytes base64_encode() writes for len input bytes (no terminator). */
static inline size_t
base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

/* The most bytes base64_decode() can produce from len input bytes. */
static inline size_t
base64_decoded_max(size_t len)
{
    return len / 4 * 3;
}

/*
 * Encodes src[0..len) into out, padded with '=' and without line breaks
 * or terminator. Returns base64_encoded_len(len), or 0 (writing nothing)
 * when that exceeds cap.
 */
size_t base64_encode(const void *src, size_t len, char *out, size_t cap);

/*
 * Decodes src[0..len) by memcached's rules: bytes outside the alphabet
 * are skipped; the number of alphabet bytes ('=' included) must be a
 * non-zero multiple of 4; decoding stops after the first group of four
 * that holds '=' (one or two of them, else an error). Returns the number
 * of bytes written to out, or 0 when the input is invalid or out (cap
 * bytes) is shorter than base64_decoded_max(alphabet bytes). A valid
 * input never decodes to zero bytes. out may be src (decoding in place).
 */
size_t base64_decode(const char *src, size_t len, void *out, size_t cap);
