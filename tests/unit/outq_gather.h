/*
 * outq_gather - a unit-test helper: copies everything an outq has pending
 * into one buffer, as writev() would send it. Include after unit.h.
 */
#pragma once

#include "lib/outq.h"

#include <string.h>

static inline size_t
outq_gather(const struct outq *q, char *dst, size_t cap)
{
    struct iovec iov[64];
    int n = outq_iov(q, iov, 64);
    size_t len = 0;

    for (int i = 0; i < n; i++) {
        assert_true(len + iov[i].iov_len <= cap);
        memcpy(dst + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    return len;
}
