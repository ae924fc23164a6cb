#include "stats/stats.h"

#include <string.h>

void
stats_sum(struct stats_thread *const *blocks, size_t n,
          struct stats_totals *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
#define STATS_SUM(name, help) out->name += stats_get(&blocks[i]->name);
        STATS_THREAD(STATS_SUM)
#undef STATS_SUM
        for (size_t id = 0; id <= STATS_MAX_CLASS_ID; id++) {
            for (size_t op = 0; op < STATS_NOPS; op++) {
                out->class_ops[id][op] +=
                    stats_get(&blocks[i]->class_ops[id][op]);
            }
        }
    }
}

void
stats_subtract(struct stats_totals *t, const struct stats_totals *base)
{
#define STATS_SUB(name, help) t->name -= base->name;
    STATS_THREAD(STATS_SUB)
#undef STATS_SUB
    for (size_t id = 0; id <= STATS_MAX_CLASS_ID; id++) {
        for (size_t op = 0; op < STATS_NOPS; op++) {
            t->class_ops[id][op] -= base->class_ops[id][op];
        }
    }
}

void
stats_store(struct stats_thread *block, const struct stats_totals *t)
{
#define STATS_SET(name, help) \
    atomic_store_explicit(&block->name, t->name, memory_order_relaxed);
    STATS_THREAD(STATS_SET)
#undef STATS_SET
    for (size_t id = 0; id <= STATS_MAX_CLASS_ID; id++) {
        for (size_t op = 0; op < STATS_NOPS; op++) {
            atomic_store_explicit(&block->class_ops[id][op],
                                  t->class_ops[id][op], memory_order_relaxed);
        }
    }
}
