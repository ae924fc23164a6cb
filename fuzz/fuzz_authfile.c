/*
 * fuzz_authfile - the -Y file parser (proto/authfile.h) and the
 * handshake's two steps (proto/ascii_auth.h) over arbitrary bytes.
 * Checks the table's bounds, that every entry is a line's prefix split
 * at its first ':', and that each entry checks as itself; ASan and UBSan
 * check the memory touched.
 */
#include "fuzz.h"
#include "proto/ascii_auth.h"
#include "proto/authfile.h"

#include <string.h>

static void
check_table(const char *data, size_t size, const struct authfile *a)
{
    FUZZ_CHECK(a->nentries <= AUTHFILE_MAX_ENTRIES);
    for (size_t i = 0; i < a->nentries; i++) {
        const struct authfile_entry *e = &a->entries[i];
        FUZZ_CHECK(e->ulen + 1 + e->plen < AUTHFILE_LINE_MAX);
        FUZZ_CHECK(memchr(e->user, ':', e->ulen) == NULL);
        FUZZ_CHECK(memchr(e->user, '\0', e->ulen) == NULL);
        FUZZ_CHECK(memchr(e->pass, '\n', e->plen) == NULL);
        FUZZ_CHECK(memchr(e->pass, '\r', e->plen) == NULL);
        FUZZ_CHECK(memchr(e->pass, '\0', e->plen) == NULL);
        FUZZ_CHECK(e->ulen <= size);
        FUZZ_CHECK(authfile_check(a, slice_make(e->user, e->ulen),
                                  slice_make(e->pass, e->plen)));
    }
    (void)data;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct authfile a; /* 4 KiB: off the stack */
    const char *in = (const char *)data;

    if (authfile_parse(in, size, &a) == AUTHFILE_OK) {
        check_table(in, size, &a);
    }

    size_t payload = 0;
    size_t used = 0;
    enum ascii_auth_line l = ascii_auth_parse_line(in, size, &payload, &used);
    FUZZ_CHECK(l != ASCII_AUTH_LINE_CLOSE || size > ASCII_AUTH_LINE_MAX);
    if (l == ASCII_AUTH_LINE_SET || l == ASCII_AUTH_LINE_REFUSED) {
        FUZZ_CHECK(used >= 1 && used <= size && in[used - 1] == '\n');
    }
    if (l == ASCII_AUTH_LINE_SET && payload <= size - used) {
        struct slice user;
        struct slice pass;
        if (ascii_auth_parse_token(in + used, payload, &user, &pass) ==
            ASCII_AUTH_TOKEN_OK) {
            FUZZ_CHECK(user.len > 0 && pass.len > 0);
            FUZZ_CHECK(user.ptr >= in + used &&
                       pass.ptr + pass.len <= in + used + payload - 2);
            FUZZ_CHECK(memchr(user.ptr, ' ', user.len) == NULL);
            FUZZ_CHECK(memchr(pass.ptr, ' ', pass.len) == NULL);
        }
    }
    return 0;
}
