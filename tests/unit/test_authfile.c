#include "unit.h"

#include "proto/authfile.h"

#include <stdio.h>
#include <string.h>

/*
 * Files and the table memcached 1.6.18 builds from them, each checked by
 * starting it with the file and trying the credentials.
 */
struct want {
    const char *user;
    const char *pass;
};

struct file_case {
    const char *name;
    const char *data;
    size_t len; /* 0: strlen(data) */
    enum authfile_status st;
    size_t n;
    struct want entries[AUTHFILE_MAX_ENTRIES];
};

static const struct file_case cases[] = {
    {"two lines",
     "alice:secret\nbob:pw:with:colons\n",
     0,
     AUTHFILE_OK,
     2,
     {{"alice", "secret"}, {"bob", "pw:with:colons"}}},
    {"no colon", "nocolon\n", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"empty file", "", 0, AUTHFILE_OK, 0, {{0}}},
    {"empty line last", "a:b\n\n", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"empty line first", "\na:b\n", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"bad second line", "a:b\nbad\n", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"crlf", "a:b\r\nc:d\r\n", 0, AUTHFILE_OK, 2, {{"a", "b"}, {"c", "d"}}},
    {"one crlf line", "a:b\r\n", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"crlf then no newline",
     "a:b\r\nc:d",
     0,
     AUTHFILE_OK,
     2,
     {{"a", "b"}, {"c", "d"}}},
    {"one line no newline chops", "ab:cd", 0, AUTHFILE_OK, 1, {{"ab", "c"}}},
    {"a:b no newline", "a:b", 0, AUTHFILE_OK, 1, {{"a", ""}}},
    {"last line no newline",
     "a:b\nc:de",
     0,
     AUTHFILE_OK,
     2,
     {{"a", "b"}, {"c", "de"}}},
    {"one byte colon", ":", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"one byte", "a", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"one newline", "\n", 0, AUTHFILE_MALFORMED, 0, {{0}}},
    {"colon only line", ":\n", 0, AUTHFILE_OK, 1, {{"", ""}}},
    {"nul in user", "a\0:b\n", 5, AUTHFILE_MALFORMED, 0, {{0}}},
    {"nul in password ends the file",
     "a:b\0c\nd:e\n",
     10,
     AUTHFILE_OK,
     1,
     {{"a", "b"}}},
    {"spaces kept", "a b:c d\n", 0, AUTHFILE_OK, 1, {{"a b", "c d"}}},
    {"cr ends password",
     "a:b\rjunk\nc:d\n",
     0,
     AUTHFILE_OK,
     2,
     {{"a", "b"}, {"c", "d"}}},
    {"trailing cr", "a:bc\r", 0, AUTHFILE_OK, 1, {{"a", "bc"}}},
    {"leading spaces kept", " a: b\n", 0, AUTHFILE_OK, 1, {{" a", " b"}}},
    {"mixed ends",
     "u:p\nv:q\r\nw:r\rs\nz:z\n",
     0,
     AUTHFILE_OK,
     4,
     {{"u", "p"}, {"v", "q"}, {"w", "r"}, {"z", "z"}}},
    {"nine lines keep eight",
     "u0:p0\nu1:p1\nu2:p2\nu3:p3\nu4:p4\nu5:p5\nu6:p6\nu7:p7\nu8:p8\n",
     0,
     AUTHFILE_OK,
     8,
     {{"u0", "p0"},
      {"u1", "p1"},
      {"u2", "p2"},
      {"u3", "p3"},
      {"u4", "p4"},
      {"u5", "p5"},
      {"u6", "p6"},
      {"u7", "p7"}}},
    {"lines after eight are not read",
     "x:y\nx:y\nx:y\nx:y\nx:y\nx:y\nx:y\nx:y\nbad\n",
     0,
     AUTHFILE_OK,
     8,
     {{"x", "y"},
      {"x", "y"},
      {"x", "y"},
      {"x", "y"},
      {"x", "y"},
      {"x", "y"},
      {"x", "y"},
      {"x", "y"}}},
};

static void
files_give_memcached_tables(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct file_case *c = &cases[i];
        struct authfile a;
        size_t len = c->len != 0 ? c->len : strlen(c->data);

        print_message("%s\n", c->name);
        assert_int_equal(authfile_parse(c->data, len, &a), c->st);
        if (c->st != AUTHFILE_OK) {
            continue;
        }
        assert_int_equal(a.nentries, c->n);
        for (size_t j = 0; j < c->n; j++) {
            const struct authfile_entry *e = &a.entries[j];
            assert_int_equal(e->ulen, strlen(c->entries[j].user));
            assert_memory_equal(e->user, c->entries[j].user, e->ulen);
            assert_int_equal(e->plen, strlen(c->entries[j].pass));
            assert_memory_equal(e->pass, c->entries[j].pass, e->plen);
        }
    }
}

/* A line's first 255 bytes are read; a longer one ends the file. */
static void
long_lines_are_cut_and_end_the_file(void **state)
{
    char data[600];
    struct authfile a;
    (void)state;

    /* 254 bytes and its newline: read whole, the next line too */
    memset(data, 'b', sizeof(data));
    memcpy(data, "a:", 2);
    data[254] = '\n';
    memcpy(data + 255, "c:d\n", 4);
    assert_int_equal(authfile_parse(data, 259, &a), AUTHFILE_OK);
    assert_int_equal(a.nentries, 2);
    assert_int_equal(a.entries[0].plen, 252);

    /* 255 bytes and more: the first 255 are the entry, then the end */
    memset(data, 'b', sizeof(data));
    memcpy(data, "a:", 2);
    data[300] = '\n';
    memcpy(data + 301, "c:d\n", 4);
    assert_int_equal(authfile_parse(data, 305, &a), AUTHFILE_OK);
    assert_int_equal(a.nentries, 1);
    assert_int_equal(a.entries[0].plen, 253);

    /* no ':' in the first 255 bytes */
    memset(data, 'a', sizeof(data));
    memcpy(data + 300, ":b\n", 3);
    assert_int_equal(authfile_parse(data, 303, &a), AUTHFILE_MALFORMED);
}

static void
check_matches_whole_user_and_password_only(void **state)
{
    struct authfile a;
    const char *f = "alice:secret\nbob:pw:with:colons\n:nouser\nnopass:\n";
    (void)state;

    assert_int_equal(authfile_parse(f, strlen(f), &a), AUTHFILE_OK);
    assert_true(
        authfile_check(&a, slice_make("alice", 5), slice_make("secret", 6)));
    assert_true(authfile_check(&a, slice_make("bob", 3),
                               slice_make("pw:with:colons", 14)));
    assert_false(
        authfile_check(&a, slice_make("alice", 5), slice_make("secreT", 6)));
    assert_false(
        authfile_check(&a, slice_make("alice", 5), slice_make("secret ", 7)));
    assert_false(
        authfile_check(&a, slice_make("alic", 4), slice_make("secret", 6)));
    assert_false(
        authfile_check(&a, slice_make("bob", 3), slice_make("secret", 6)));
    /* entries with an empty field match only empty slices */
    assert_true(authfile_check(&a, slice_make("", 0), slice_make("nouser", 6)));
    assert_true(authfile_check(&a, slice_make("nopass", 6), slice_make("", 0)));
    assert_false(authfile_check(&a, slice_make("", 0), slice_make("", 0)));
}

static void
empty_table_grants_nothing(void **state)
{
    struct authfile a;
    (void)state;

    assert_int_equal(authfile_parse("", 0, &a), AUTHFILE_OK);
    assert_false(authfile_check(&a, slice_make("", 0), slice_make("", 0)));
    assert_false(authfile_check(&a, slice_make("a", 1), slice_make("b", 1)));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_give_memcached_tables),
        cmocka_unit_test(long_lines_are_cut_and_end_the_file),
        cmocka_unit_test(check_matches_whole_user_and_password_only),
        cmocka_unit_test(empty_table_grants_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
