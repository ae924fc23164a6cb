/*
 * slice - a borrowed (pointer, length) view of bytes. Owns nothing; valid
 * only as long as the memory it points into. Used everywhere a key, a
 * token or a value segment crosses a module boundary.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct slice {
    const char *ptr;
    size_t len;
};

static inline struct slice
slice_make(const char *ptr, size_t len)
{
    struct slice s = {ptr, len};
    return s;
}

static inline bool
slice_eq_str(struct slice s, const char *str)
{
    size_t n = strlen(str);
    return s.len == n && (n == 0 || memcmp(s.ptr, str, n) == 0);
}

/*
 * A writable view: where the network layer copies a value that is still
 * arriving (engine_reserve hands these out).
 */
struct wslice {
    char *ptr;
    size_t len;
};
