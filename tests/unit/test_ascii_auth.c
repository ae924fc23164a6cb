#include "unit.h"

#include "proto/ascii_auth.h"

#include <string.h>

struct line_case {
    const char *in;
    enum ascii_auth_line want;
    size_t payload;
};

/* Lines and memcached 1.6.18's reading of them. */
static const struct line_case lines[] = {
    {"set x 0 0 12\r\n", ASCII_AUTH_LINE_SET, 14},
    {"set x 0 0 12\n", ASCII_AUTH_LINE_SET, 14},
    {"set x 0 0 12 noreply\r\n", ASCII_AUTH_LINE_SET, 14},
    {"set  x 0 0 12 junk more\r\n", ASCII_AUTH_LINE_SET, 14},
    {" set x 0 0 12\r\n", ASCII_AUTH_LINE_SET, 14},
    {"set x\t0 0 0 12\r\n", ASCII_AUTH_LINE_SET, 14},
    {"set x 0 0 +12\r\n", ASCII_AUTH_LINE_SET, 14},
    {"set x 0 0 012\r\r\n", ASCII_AUTH_LINE_SET, 14},
    {"set x 0 0 4294967298\r\n", ASCII_AUTH_LINE_SET, 4},
    {"set x 0 0 4294967294\r\n", ASCII_AUTH_LINE_SET, 0},
    {"set x 0 0 4294967295\r\n", ASCII_AUTH_LINE_SET, 1},
    {"set x 0 0\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"set x 0 0 \r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"set x 0 0 abc\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"set x 0 0 12x\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"set x 0 0 -1\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"SET x 0 0 12\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"add x 0 0 12\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"sets x 0 0 12\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"get a\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"\r\n", ASCII_AUTH_LINE_REFUSED, 0},
    {"\n\n", ASCII_AUTH_LINE_REFUSED, 0},
};

static void
lines_read_as_memcached_reads_them(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        const struct line_case *c = &lines[i];
        size_t len = strlen(c->in);
        size_t payload = 99;
        size_t used = 0;

        print_message("%s", c->in);
        assert_int_equal(ascii_auth_parse_line(c->in, len, &payload, &used),
                         c->want);
        assert_int_equal(used, (size_t)(strchr(c->in, '\n') - c->in) + 1);
        if (c->want == ASCII_AUTH_LINE_SET) {
            assert_int_equal(payload, c->payload);
        }
        /* every cut before the newline waits */
        for (size_t cut = 0; cut < used; cut++) {
            assert_int_equal(ascii_auth_parse_line(c->in, cut, &payload, &used),
                             ASCII_AUTH_LINE_AGAIN);
        }
    }
}

static void
nul_ends_the_line_and_long_lines_close(void **state)
{
    char big[ASCII_AUTH_LINE_MAX + 2];
    size_t payload;
    size_t used;
    (void)state;

    assert_int_equal(
        ascii_auth_parse_line("set\0x 0 0 12\r\n", 14, &payload, &used),
        ASCII_AUTH_LINE_REFUSED);
    assert_int_equal(used, 14);
    assert_int_equal(ascii_auth_parse_line("\n", 1, &payload, &used),
                     ASCII_AUTH_LINE_AGAIN);
    memset(big, 'x', sizeof(big));
    assert_int_equal(
        ascii_auth_parse_line(big, ASCII_AUTH_LINE_MAX, &payload, &used),
        ASCII_AUTH_LINE_AGAIN);
    assert_int_equal(
        ascii_auth_parse_line(big, ASCII_AUTH_LINE_MAX + 1, &payload, &used),
        ASCII_AUTH_LINE_CLOSE);
}

struct token_case {
    const char *in;
    size_t len;
    enum ascii_auth_token want;
    const char *user;
    const char *pass;
};

static const struct token_case tokens[] = {
    {"alice secret\r\n", 14, ASCII_AUTH_TOKEN_OK, "alice", "secret"},
    {"alice secret extra\r\n", 20, ASCII_AUTH_TOKEN_OK, "alice", "secret"},
    {" alice  secret \r\n", 17, ASCII_AUTH_TOKEN_OK, "alice", "secret"},
    {"alice secret\0z\r\n", 16, ASCII_AUTH_TOKEN_OK, "alice", "secret"},
    {"alice secret\r\r\n", 15, ASCII_AUTH_TOKEN_OK, "alice", "secret\r"},
    {"alice\0secret z\r\n", 16, ASCII_AUTH_TOKEN_BAD_FORMAT, NULL, NULL},
    {"alice\tsecret\r\n", 14, ASCII_AUTH_TOKEN_BAD_FORMAT, NULL, NULL},
    {"alice\r\n", 7, ASCII_AUTH_TOKEN_BAD_FORMAT, NULL, NULL},
    {" \r\n", 3, ASCII_AUTH_TOKEN_BAD_FORMAT, NULL, NULL},
    {"\r\n", 2, ASCII_AUTH_TOKEN_BAD_FORMAT, NULL, NULL},
    {"alice secretXX", 14, ASCII_AUTH_TOKEN_BAD_END, NULL, NULL},
    {"alice secret\n\n", 14, ASCII_AUTH_TOKEN_BAD_END, NULL, NULL},
    {"x", 1, ASCII_AUTH_TOKEN_BAD_END, NULL, NULL},
    {"", 0, ASCII_AUTH_TOKEN_BAD_END, NULL, NULL},
};

static void
tokens_split_at_spaces_as_c_strings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        const struct token_case *c = &tokens[i];
        struct slice user = {0};
        struct slice pass = {0};

        assert_int_equal(ascii_auth_parse_token(c->in, c->len, &user, &pass),
                         c->want);
        if (c->want == ASCII_AUTH_TOKEN_OK) {
            assert_true(slice_eq_str(user, c->user));
            assert_true(slice_eq_str(pass, c->pass));
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_read_as_memcached_reads_them),
        cmocka_unit_test(nul_ends_the_line_and_long_lines_close),
        cmocka_unit_test(tokens_split_at_spaces_as_c_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
