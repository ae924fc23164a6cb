/*
 * slabs_cmd - the memory commands of the text protocol: `slabs reassign`,
 * `slabs automove` and `cache_memlimit`, run against the engine's page
 * mover (engine.h). Replies are proto/text.h's lines.
 */
#include "cmd/cmd.h"

#include "engine/engine.h"
#include "proto/text.h"

#include <stdint.h>

/* memcached's bounds on cache_memlimit, in megabytes. */
#define MEMLIMIT_MIN_MB 8
#define MEMLIMIT_MAX_MB 1000000000u
#define MB              ((size_t)1 << 20)

static void
run_reassign(struct cmd_ctx *c, const struct request *req)
{
    static const enum text_reply replies[] = {
        [ENGINE_REASSIGN_RUNNING] = TEXT_REASSIGN_BUSY,
        [ENGINE_REASSIGN_SAME] = TEXT_REASSIGN_SAME,
        [ENGINE_REASSIGN_BADCLASS] = TEXT_REASSIGN_BADCLASS,
        [ENGINE_REASSIGN_NOSPARE] = TEXT_REASSIGN_NOSPARE,
    };

    if (!c->srv->slab_reassign) {
        cmd_text_reply(c, false, TEXT_REASSIGN_DISABLED);
        return;
    }
    enum engine_reassign r =
        engine_slabs_reassign(c->srv->engine, req->src, req->dst);
    if (r == ENGINE_REASSIGN_OK) {
        cmd_text_result(c, false, REPLY_OK);
    } else {
        cmd_text_reply(c, false, replies[r]);
    }
}

void
cmd_text_slabs(struct cmd_ctx *c, const struct request *req)
{
    switch (req->verb) {
    case VERB_SLABS_REASSIGN:
        run_reassign(c, req);
        return;
    case VERB_SLABS_RATIO:
        engine_set_automove_ratio(c->srv->engine, req->ratio);
        cmd_text_result(c, req->noreply, REPLY_OK);
        return;
    default:
        break;
    }
    if (req->level > 2) {
        cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
        return;
    }
    engine_set_automove(c->srv->engine, req->level);
    cmd_text_result(c, req->noreply, REPLY_OK);
}

void
cmd_text_memlimit(struct cmd_ctx *c, const struct request *req)
{
    uint64_t mb = req->delta;

    if (mb == UINT64_MAX) {
        cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
    } else if (mb < MEMLIMIT_MIN_MB) {
        cmd_text_reply(c, req->noreply, TEXT_MEMLIMIT_TOO_SMALL);
    } else if (mb > MEMLIMIT_MAX_MB) {
        cmd_text_reply(c, req->noreply, TEXT_MEMLIMIT_NOT_BYTES);
    } else if (engine_set_mem_limit(c->srv->engine, (size_t)mb * MB) !=
               ENGINE_MEMLIMIT_OK) {
        cmd_text_reply(c, req->noreply, TEXT_MEMLIMIT_FAILED);
    } else {
        cmd_text_result(c, req->noreply, REPLY_OK);
    }
}
