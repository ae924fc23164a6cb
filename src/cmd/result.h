/*
 * result - the one mapping from an engine answer to the counters it moves
 * and the outcome every protocol replies with (cmd_result(), declared
 * with enum cmd_op in cmd.h). Inline: each call site names its operation,
 * so the compiler keeps only that operation's branch on the request path.
 * Included by the protocol runners (cmd.c, meta_run.c, binary_run.c).
 */
#pragma once

#include "cmd/cmd.h"

static inline enum reply_status
count_get(struct stats_thread *st, enum engine_status s, unsigned cls)
{
    STATS_INCR(st, cmd_get);
    if (s == ENGINE_OK) {
        unsigned id = cls & ENGINE_HIT_CLASS_MASK;
        STATS_INCR(st, get_hits);
        STATS_CLASS_INCR(st, id, get_hits);
        stats_add(&st->class_ops[id][STATS_OP_hits_to_hot +
                                     (cls >> ENGINE_HIT_SEG_SHIFT)],
                  1);
        return REPLY_VALUE;
    }
    STATS_INCR(st, get_misses);
    if (s == ENGINE_EXPIRED) {
        STATS_INCR(st, get_expired);
    } else if (s == ENGINE_FLUSHED) {
        STATS_INCR(st, get_flushed);
    }
    return REPLY_MISS;
}

static inline enum reply_status
count_touch(struct stats_thread *st, enum engine_status s, unsigned cls,
            enum reply_status hit, enum reply_status miss)
{
    STATS_INCR(st, cmd_touch);
    if (s == ENGINE_OK) {
        STATS_INCR(st, touch_hits);
        STATS_CLASS_INCR(st, cls & ENGINE_HIT_CLASS_MASK, touch_hits);
        return hit;
    }
    STATS_INCR(st, touch_misses);
    return miss;
}

static inline enum reply_status
count_store(struct stats_thread *st, bool cas, enum engine_status s,
            unsigned cls)
{
    switch (s) {
    case ENGINE_OK:
        if (cas) {
            STATS_INCR(st, cas_hits);
            STATS_CLASS_INCR(st, cls, cas_hits);
        }
        return REPLY_STORED;
    case ENGINE_EXISTS:
        if (cas) {
            STATS_INCR(st, cas_badval);
            STATS_CLASS_INCR(st, cls, cas_badval);
        }
        return REPLY_EXISTS;
    case ENGINE_NOT_FOUND:
        if (cas) {
            STATS_INCR(st, cas_misses);
        }
        return REPLY_NOT_FOUND;
    default:
        return REPLY_NOT_STORED;
    }
}

static inline enum reply_status
count_delete(struct stats_thread *st, bool hit_counts, enum engine_status s,
             unsigned cls)
{
    switch (s) {
    case ENGINE_OK:
        if (hit_counts) {
            STATS_INCR(st, delete_hits);
            STATS_CLASS_INCR(st, cls, delete_hits);
        }
        return REPLY_DELETED;
    case ENGINE_NOT_FOUND:
        STATS_INCR(st, delete_misses);
        return REPLY_NOT_FOUND;
    case ENGINE_EXISTS:
        STATS_INCR(st, delete_misses);
        return REPLY_EXISTS;
    default:
        return REPLY_NO_MEMORY;
    }
}

static inline enum reply_status
count_arith(struct stats_thread *st, bool incr, enum engine_status s,
            unsigned cls)
{
    switch (s) {
    case ENGINE_OK:
        if (incr) {
            STATS_INCR(st, incr_hits);
            STATS_CLASS_INCR(st, cls, incr_hits);
        } else {
            STATS_INCR(st, decr_hits);
            STATS_CLASS_INCR(st, cls, decr_hits);
        }
        return REPLY_NUMBER;
    case ENGINE_NOT_FOUND:
        if (incr) {
            STATS_INCR(st, incr_misses);
        } else {
            STATS_INCR(st, decr_misses);
        }
        return REPLY_NOT_FOUND;
    case ENGINE_EXISTS:
        return REPLY_EXISTS;
    case ENGINE_NOT_NUMBER:
        return REPLY_NOT_NUMBER;
    case ENGINE_NOT_STORED:
        return REPLY_NO_MEMORY_NEW;
    default:
        return REPLY_NO_MEMORY;
    }
}

static inline enum reply_status
cmd_result(struct cmd_ctx *c, enum cmd_op op, enum engine_status s,
           unsigned cls)
{
    struct stats_thread *st = c->st;

    switch (op) {
    case CMD_OP_GET:
        return count_get(st, s, cls);
    case CMD_OP_GAT:
        return count_touch(st, s, cls, REPLY_VALUE, REPLY_MISS);
    case CMD_OP_TOUCH:
        return count_touch(st, s, cls, REPLY_TOUCHED, REPLY_NOT_FOUND);
    case CMD_OP_RESERVE_BINARY:
        if (s == ENGINE_NO_MEMORY_DATA) {
            return REPLY_NO_MEMORY_READ;
        }
        return s == ENGINE_TOO_LARGE ? REPLY_TOO_LARGE : REPLY_NO_MEMORY_STORE;
    case CMD_OP_RESERVE:
        if (s == ENGINE_OK) {
            return REPLY_STORED;
        }
        if (s == ENGINE_NO_MEMORY_DATA) {
            return REPLY_NO_MEMORY_READ; /* memcached counts no failed store */
        }
        if (s == ENGINE_TOO_LARGE) {
            STATS_INCR(st, store_too_large);
            return REPLY_TOO_LARGE;
        }
        STATS_INCR(st, store_no_memory);
        return REPLY_NO_MEMORY_STORE;
    case CMD_OP_STORE:
    case CMD_OP_CAS:
        return count_store(st, op == CMD_OP_CAS, s, cls);
    case CMD_OP_DELETE:
    case CMD_OP_INVALIDATE:
        return count_delete(st, op == CMD_OP_DELETE, s, cls);
    case CMD_OP_DELETE_BINARY:
        if (s == ENGINE_EXISTS) {
            return REPLY_EXISTS;
        }
        return count_delete(st, true, s, cls);
    case CMD_OP_INCR:
    case CMD_OP_DECR:
        return count_arith(st, op == CMD_OP_INCR, s, cls);
    case CMD_OP_CREATE:
        break;
    }
    return s == ENGINE_OK ? REPLY_NUMBER : REPLY_NOT_STORED;
}
