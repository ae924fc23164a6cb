/*
 * logbuf - a bounded ring of log entries between exactly one producer
 * thread and one consumer thread (lock-free: each side writes only its
 * own position). An entry is a line of bytes plus a small type tag.
 * When an entry does not fit, the producer drops it and counts the drop:
 * a full ring never blocks or slows the producer.
 *
 *   data: | hdr | bytes | hdr | bytes | ... free ... |   (wraps around)
 *   hdr:  uint16 length, uint16 type (4 bytes, may wrap like the bytes)
 *
 * Owns its memory. Used by cmd/logger.c (producers: workers) and
 * net/watch.c (the consumer).
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest entry a ring takes (a line with a URI-encoded 250-byte key). */
#define LOGBUF_ENTRY_MAX ((size_t)4096)

struct logbuf {
    char *data;
    size_t cap;               /* a power of two */
    _Atomic uint64_t head;    /* consumer: bytes taken so far */
    _Atomic uint64_t tail;    /* producer: bytes put so far */
    _Atomic uint64_t dropped; /* entries refused for lack of room */
    _Atomic uint64_t written; /* entries accepted */
};

/* cap is rounded up to a power of two (at least 2 * LOGBUF_ENTRY_MAX). */
int logbuf_init(struct logbuf *b, size_t cap);
void logbuf_deinit(struct logbuf *b);

/*
 * Producer: appends one entry, or counts a drop and returns false when
 * there is no room (or len > LOGBUF_ENTRY_MAX).
 */
bool logbuf_put(struct logbuf *b, uint16_t type, const char *line, size_t len);

/*
 * Consumer: takes the oldest entry into out (at least LOGBUF_ENTRY_MAX
 * bytes) and returns its length, with *type set; 0 when the ring is empty.
 */
size_t logbuf_take(struct logbuf *b, uint16_t *type, char *out);
