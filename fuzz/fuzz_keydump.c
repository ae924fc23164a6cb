/*
 * fuzz_keydump - the dump lines (proto/keydump.h) over arbitrary keys and
 * field values, and the class-list parser over arbitrary bytes. Checks
 * each line's bounds and shape; ASan and UBSan check the memory touched.
 */
#include "fuzz.h"
#include "proto/keydump.h"

#include <string.h>

static uint64_t
take_u64(const uint8_t **p, size_t *n)
{
    uint64_t v = 0;
    size_t k = *n < 8 ? *n : 8;

    memcpy(&v, *p, k);
    *p += k;
    *n -= k;
    return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char meta[DUMP_META_LINE_MAX];
    char mg[DUMP_MG_LINE_MAX];
    uint64_t classes;

    /* the class list: any bytes */
    enum dump_ids ids =
        dump_parse_ids(slice_make((const char *)data, size), &classes);
    FUZZ_CHECK(ids != DUMP_IDS_LIST || (classes != 0 && (classes & 1) == 0));

    /* a line: fields first, the rest is the key (cut to 250 bytes) */
    const uint8_t *p = data;
    size_t n = size;
    struct dump_meta m = {
        .exp = (int64_t)take_u64(&p, &n),
        .la = (int64_t)take_u64(&p, &n),
        .cas = take_u64(&p, &n),
        .size = (size_t)take_u64(&p, &n),
    };
    uint64_t bits = take_u64(&p, &n);
    m.fetched = bits & 1;
    m.cls = (unsigned)(bits >> 1) & 63;
    m.key = slice_make((const char *)p, n > 250 ? 250 : n);

    size_t len = dump_meta_line(meta, &m);
    FUZZ_CHECK(len > 0 && len < DUMP_META_LINE_MAX);
    FUZZ_CHECK(meta[len - 1] == '\n');
    FUZZ_CHECK(memchr(meta, '\n', len - 1) == NULL);

    for (int binary = 0; binary < 2; binary++) {
        len = dump_mg_line(mg, m.key, binary);
        FUZZ_CHECK(len >= 5 && len <= DUMP_MG_LINE_MAX);
        FUZZ_CHECK(memcmp(mg, "mg ", 3) == 0);
        FUZZ_CHECK(mg[len - 2] == '\r' && mg[len - 1] == '\n');
    }
    return 0;
}
