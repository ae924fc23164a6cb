#include "proto/ascii_auth.h"

#include "proto/lex.h"
#include "proto/number.h"

#include <string.h>

/* memcached reads both steps as C strings: a NUL ends them early. */
static const char *
c_string_end(const char *p, size_t len)
{
    const char *nul = memchr(p, '\0', len);
    return nul != NULL ? nul : p + len;
}

enum ascii_auth_line
ascii_auth_parse_line(const char *in, size_t len, size_t *payload, size_t *used)
{
    /* memcached waits for two bytes: a lone "\n" waits too. */
    if (len < 2) {
        return ASCII_AUTH_LINE_AGAIN;
    }
    const char *nl = memchr(in, '\n', len);
    if (nl == NULL) {
        return len > ASCII_AUTH_LINE_MAX ? ASCII_AUTH_LINE_CLOSE
                                         : ASCII_AUTH_LINE_AGAIN;
    }
    *used = (size_t)(nl - in) + 1;

    /* The '\r' stays: a number token reads "12\r" as 12 (number.h). */
    struct lex_line l;
    uint32_t nbytes;
    lex_tokenize(in, c_string_end(in, (size_t)(nl - in)), &l);
    if (l.ntok < 5 || !slice_eq_str(l.tok[0], "set") ||
        !num_parse_u32(l.tok[4], &nbytes)) {
        return ASCII_AUTH_LINE_REFUSED;
    }
    *payload = (uint32_t)(nbytes + 2u);
    return ASCII_AUTH_LINE_SET;
}

enum ascii_auth_token
ascii_auth_parse_token(const char *p, size_t len, struct slice *user,
                       struct slice *pass)
{
    /*
     * memcached checks the two bytes before the payload's end; with a
     * payload under 2 bytes those are its own line's "\r" and the NUL it
     * wrote over the '\n', never a CRLF.
     */
    if (len < 2 || p[len - 2] != '\r' || p[len - 1] != '\n') {
        return ASCII_AUTH_TOKEN_BAD_END;
    }
    struct lex_line l;
    lex_tokenize(p, c_string_end(p, len - 2), &l);
    if (l.ntok < 2) {
        return ASCII_AUTH_TOKEN_BAD_FORMAT;
    }
    *user = l.tok[0];
    *pass = l.tok[1];
    return ASCII_AUTH_TOKEN_OK;
}
