/*
 * lru_cmd - the `lru` text command: memcached's LRU tuning, applied to
 * the engine's eviction policy at once (engine_lru_set,
 * docs/ENGINE.md#eviction). `stats settings` reads the same values back.
 */
#include "cmd/cmd.h"

/*
 * Checks as memcached 1.6.18 does: `mode` and `temp_ttl` need the LRU
 * maintainer (not -o no_lru_maintainer), which cmd_server.lru_segmented
 * records; the percentages are summed as 32-bit unsigned numbers (so a
 * wrapped sum passes); the factors must not be <= 0 (NaN passes).
 */
void
cmd_run_lru(struct cmd_ctx *c, const struct request *req)
{
    struct engine *e = c->srv->engine;
    bool maintainer = c->srv->lru_segmented;
    struct engine_lru_tune t;
    struct text_lru parsed;
    const struct text_lru *o = &parsed;

    text_parse_lru(req->args, &parsed);
    engine_lru_get(e, &t);
    switch (o->op) {
    case TEXT_LRU_TUNE:
        if ((uint32_t)(o->hot_pct + o->warm_pct) > 80) {
            cmd_text_reply(c, req->noreply, TEXT_LRU_PCTS);
            return;
        }
        if (o->hot_factor <= 0 || o->warm_factor <= 0) {
            cmd_text_reply(c, req->noreply, TEXT_LRU_FACTORS);
            return;
        }
        t.hot_pct = o->hot_pct;
        t.warm_pct = o->warm_pct;
        t.hot_max_factor = o->hot_factor;
        t.warm_max_factor = o->warm_factor;
        break;
    case TEXT_LRU_FLAT:
    case TEXT_LRU_SEGMENTED:
        if (!maintainer) {
            cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
            return;
        }
        t.segmented = o->op == TEXT_LRU_SEGMENTED;
        break;
    case TEXT_LRU_TEMP_TTL:
        if (!maintainer) {
            cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
            return;
        }
        /* a negative TTL turns TEMP off and keeps the old TTL */
        t.temp_lru = o->ttl >= 0;
        if (o->ttl >= 0) {
            t.temp_ttl = (uint32_t)o->ttl;
        }
        break;
    case TEXT_LRU_BAD:
    default:
        cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
        return;
    }
    engine_lru_set(e, &t);
    cmd_text_result(c, req->noreply, REPLY_OK);
}
