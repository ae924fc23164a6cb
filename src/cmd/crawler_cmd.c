/*
 * crawler_cmd - the lru_crawler command: the crawler's switches and knobs
 * (engine/crawler.c does the work) and the key dumps, metadump and
 * mgdump, streamed from an engine_walk as the connection drains.
 *
 * A dump is a resumable producer: cmd_crawler_run() starts the walk and
 * returns CMD_STREAM; the session then calls cmd_dump_fill() whenever the
 * output queue is below its high-water mark, and goes back to reading
 * requests once the dump has queued its terminator. So a dump holds at
 * most the queue's high-water mark plus one engine batch of lines, the
 * worker serves its other connections between fills, and requests
 * pipelined after the dump are answered after its END.
 */
#include "cmd/cmd.h"

#include "lib/outq.h"
#include "proto/keydump.h"

#include <stdlib.h>

/*
 * Engine batches per fill at most, so that a client reading as fast as
 * the dump is made still lets the worker serve its other connections.
 */
#define DUMP_BATCHES_PER_FILL 32

struct cmd_dump {
    struct engine_walk *walk;
    struct outq *out;
    bool mg; /* mgdump: "mg <key>" lines, "EN" at the end */
};

/* An engine_walk_fn: one item's line. */
static void
dump_line(void *ctx, const struct engine_walk_item *it)
{
    struct cmd_dump *d = ctx;

    if (d->mg) {
        dump_compose_mg(d->out, it->key, it->binary_key);
        return;
    }
    struct dump_meta m = {
        .key = it->key,
        .exp = it->exptime,
        .la = it->last_access,
        .cas = it->cas,
        .fetched = it->fetched,
        .cls = it->cls,
        .size = it->size,
    };
    dump_compose_meta(d->out, &m);
}

bool
cmd_dump_fill(struct cmd_ctx *c, size_t high_water)
{
    struct cmd_dump *d = c->dump;
    bool more = true;

    if (d == NULL) {
        return true;
    }
    for (unsigned n = 0;
         more && n < DUMP_BATCHES_PER_FILL && outq_pending(c->out) < high_water;
         n++) {
        more = engine_walk_next(c->srv->engine, d->walk, dump_line, d);
    }
    if (more) {
        return false;
    }
    text_compose_reply(c->out, d->mg ? TEXT_MGDUMP_END : TEXT_END);
    cmd_dump_abort(c);
    return true;
}

void
cmd_dump_abort(struct cmd_ctx *c)
{
    if (c->dump != NULL) {
        engine_walk_free(c->dump->walk);
        free(c->dump);
        c->dump = NULL;
    }
}

/* metadump / mgdump <ids|all|hash>: memcached's checks, in its order. */
static enum cmd_next
start_dump(struct cmd_ctx *c, const struct request *req)
{
    struct engine *e = c->srv->engine;
    uint64_t classes;

    if (!c->srv->dump_enabled) {
        cmd_text_reply(c, false, TEXT_METADUMP_DISABLED);
        return CMD_NEXT;
    }
    if (cmd_replies_waiting(c)) {
        cmd_text_reply(c, false, TEXT_DUMP_PIPELINED);
        return CMD_NEXT;
    }
    if (!engine_crawler_enabled(e)) {
        cmd_text_reply(c, false, TEXT_CRAWLER_DISABLED);
        return CMD_NEXT;
    }
    enum dump_ids ids = dump_parse_ids(req->args, &classes);
    if (ids == DUMP_IDS_BAD) {
        cmd_text_reply(c, false, TEXT_CRAWLER_BADCLASS);
        return CMD_NEXT;
    }
    struct cmd_dump *d = calloc(1, sizeof(*d));
    if (d != NULL) {
        d->walk = engine_walk_start(e, classes, ids == DUMP_IDS_HASH);
    }
    if (d == NULL || d->walk == NULL) {
        free(d);
        cmd_text_reply(c, false, TEXT_CRAWLER_UNKNOWN);
        return CMD_NEXT;
    }
    d->out = c->out;
    d->mg = req->sub == CRAWLER_MGDUMP;
    c->dump = d;
    engine_crawler_count_start(e);
    return CMD_STREAM;
}

/* crawl <ids|all>. */
static void
crawl(struct cmd_ctx *c, const struct request *req)
{
    struct engine *e = c->srv->engine;
    uint64_t classes;

    if (!engine_crawler_enabled(e)) {
        cmd_text_reply(c, false, TEXT_CRAWLER_DISABLED);
        return;
    }
    enum dump_ids ids = dump_parse_ids(req->args, &classes);
    if (ids == DUMP_IDS_HASH) {
        cmd_text_reply(c, false, TEXT_CRAWLER_UNKNOWN);
        return;
    }
    if (ids == DUMP_IDS_BAD) {
        cmd_text_reply(c, false, TEXT_CRAWLER_BADCLASS);
        return;
    }
    if (engine_crawl(e, classes) != ENGINE_CRAWL_OK) {
        cmd_text_reply(c, false, TEXT_CRAWLER_DISABLED);
        return;
    }
    cmd_text_result(c, false, REPLY_OK);
}

enum cmd_next
cmd_crawler_run(struct cmd_ctx *c, const struct request *req)
{
    struct engine *e = c->srv->engine;

    switch (req->sub) {
    case CRAWLER_ENABLE:
        if (!engine_crawler_start(e)) {
            cmd_text_reply(c, false, TEXT_CRAWLER_NO_START);
            return CMD_NEXT;
        }
        break;
    case CRAWLER_DISABLE:
        engine_crawler_stop(e); /* stopped already: OK all the same */
        break;
    case CRAWLER_SLEEP:
        engine_crawler_set_sleep(e, req->level);
        break;
    case CRAWLER_TOCRAWL:
        engine_crawler_set_tocrawl(e, req->level);
        break;
    case CRAWLER_CRAWL:
        crawl(c, req);
        return CMD_NEXT;
    case CRAWLER_METADUMP:
    case CRAWLER_MGDUMP:
        return start_dump(c, req);
    case CRAWLER_NONE:
        cmd_text_result(c, false, REPLY_UNKNOWN);
        return CMD_NEXT;
    }
    cmd_text_result(c, false, REPLY_OK);
    return CMD_NEXT;
}
