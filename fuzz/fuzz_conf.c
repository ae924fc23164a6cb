/*
 * fuzz_conf - the two pure parsers of the command line over arbitrary
 * bytes. The first byte picks one: even, the input is a -l list read
 * element by element with conf_listen_next; odd, it is an -o list whose
 * comma-separated elements go to conf_ext_element, as conf_ext_parse
 * splits them. Checks each parser's contract; ASan and UBSan check the
 * memory they touch.
 */
#include "conf/conf.h"
#include "conf/conf_internal.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
fuzz_listen(const char *text, size_t len)
{
    const char *spec = text;
    struct conf_listener l;
    char err[CONF_HOST_MAX + 64];

    /* Each call consumes at least one byte or ends the list. */
    for (size_t n = 0; n <= len + 1; n++) {
        const char *before = spec;
        enum conf_listen_status st =
            conf_listen_next(&spec, &l, err, sizeof(err));

        FUZZ_CHECK(spec >= text && spec <= text + len);
        if (st == CONF_LISTEN_END) {
            FUZZ_CHECK(*spec == '\0');
            return;
        }
        FUZZ_CHECK(spec > before);
        if (st == CONF_LISTEN_BAD) {
            FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
            continue;
        }
        FUZZ_CHECK(st == CONF_LISTEN_OK);
        FUZZ_CHECK(l.port >= -1 && l.port <= 65535);
        FUZZ_CHECK(memchr(l.host, '\0', sizeof(l.host)) != NULL);
        FUZZ_CHECK(strlen(l.tag) <= CONF_TAG_MAX);
        FUZZ_CHECK(!l.any || l.host[0] == '\0');
    }
    abort(); /* the list did not end */
}

static void
fuzz_extended(char *text)
{
    struct config cfg;
    struct parse ps;
    char *p = text;

    conf_init(&cfg);
    conf_parse_init(&ps, &cfg);
    while (*p != '\0') {
        char *elem = p;
        char *comma = strchr(p, ',');
        int rc;

        p = comma != NULL ? comma + 1 : p + strlen(p);
        if (comma != NULL) {
            *comma = '\0';
        }
        rc = conf_ext_element(&cfg, &ps, elem);
        FUZZ_CHECK(memchr(ps.msg, '\0', sizeof(ps.msg)) != NULL);
        FUZZ_CHECK(rc == CONF_RUN || ps.msg[0] != '\0');
        FUZZ_CHECK(ps.nslab_sizes <= CONF_MAX_SLAB_SIZES + 1);
        if (rc != CONF_RUN) {
            break;
        }
    }
    conf_deinit(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size == 0) {
        return 0;
    }
    text = malloc(size);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] % 2 == 0) {
        fuzz_listen(text, strlen(text));
    } else {
        fuzz_extended(text);
    }
    free(text);
    return 0;
}
