/*
 * reply - what a request came to, whatever protocol asked: cmd/ fills a
 * struct reply from the engine's answer, and each protocol turns it into
 * its own wire bytes through one table (text.c, meta.c, binary.c). cmd/
 * spells no reply; a protocol never sees the engine.
 *
 * A value is described by borrowed slices: the caller keeps the bytes
 * alive until the output queue has sent them (see outq_own()).
 */
#pragma once

#include "lib/slice.h"

#include <stdint.h>

/* clang-format off */
/*
 * Outcomes. Comments give the text protocol's line; meta and binary map
 * the same outcomes in their own tables.
 */
#define REPLY_STATUSES(X)                                                  \
    X(STORED)          /* STORED */                                        \
    X(NOT_STORED)      /* NOT_STORED */                                    \
    X(EXISTS)          /* EXISTS: cas mismatch */                          \
    X(NOT_FOUND)       /* NOT_FOUND */                                     \
    X(DELETED)         /* DELETED */                                       \
    X(TOUCHED)         /* TOUCHED */                                       \
    X(OK)              /* OK: flush_all, verbosity */                      \
    X(MISS)            /* a fetch found nothing: text sends nothing */     \
    X(VALUE)           /* a fetch hit: the value fields below */           \
    X(NUMBER)          /* incr/decr: `number` */                           \
    X(TOO_LARGE)       /* SERVER_ERROR object too large for cache */       \
    X(NO_MEMORY_STORE) /* SERVER_ERROR out of memory storing object */     \
    X(NO_MEMORY)       /* SERVER_ERROR out of memory */                    \
    X(NO_MEMORY_NEW)   /* SERVER_ERROR Out of memory allocating new item */\
    X(NO_MEMORY_READ)  /* SERVER_ERROR Out of memory during read */        \
    X(NOT_NUMBER)      /* CLIENT_ERROR cannot increment or decrement ... */\
    X(BAD_CHUNK)       /* CLIENT_ERROR bad data chunk */                   \
    X(FLUSH_DISABLED)  /* CLIENT_ERROR flush_all not allowed (-F) */       \
    X(UNKNOWN)         /* ERROR: no such command */
/* clang-format on */

enum reply_status {
#define REPLY_STATUS_ENUM(name) REPLY_##name,
    REPLY_STATUSES(REPLY_STATUS_ENUM)
#undef REPLY_STATUS_ENUM
        REPLY_NSTATUS
};

struct reply {
    enum reply_status status;
    uint64_t cas;    /* VALUE: the item's; STORED, NUMBER: the new one */
    uint64_t number; /* NUMBER */
    /* VALUE */
    struct slice key;
    uint32_t flags;
    size_t nbytes;
    const struct slice *segs; /* nseg slices, nbytes in all */
    size_t nseg;
};
