/*
 * ascii_auth - the wire side of -Y authentication: the two steps of the
 * handshake a connection must pass before any command, parsed as
 * memcached 1.6.18 parses them. Pure functions over bytes; the session
 * (cmd/session.c) drives them and cmd/auth.c checks the credentials.
 *
 *   set <any key> <any flags> <any exptime> <nbytes>[ <anything>]\r\n
 *   <user> <password>[ <anything>]\r\n
 *
 * Only the verb and <nbytes> of the first line matter; noreply is not
 * looked at (the reply is always sent). The payload is read as a C
 * string (a NUL ends it) and cut at spaces, so neither a user nor a
 * password can hold a space or a NUL.
 */
#pragma once

#include "lib/slice.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes without a '\n' after which an unauthenticated client is closed. */
#define ASCII_AUTH_LINE_MAX    2048
/*
 * memcached's read buffer: a payload (its CRLF included) larger than
 * this can never arrive; the client is closed once it has sent more.
 */
#define ASCII_AUTH_PAYLOAD_MAX 16384

enum ascii_auth_line {
    ASCII_AUTH_LINE_AGAIN = 0, /* no complete line yet; nothing consumed */
    ASCII_AUTH_LINE_SET,       /* an auth set: its payload follows */
    ASCII_AUTH_LINE_REFUSED,   /* "CLIENT_ERROR unauthenticated" */
    ASCII_AUTH_LINE_CLOSE,     /* too long without a newline: close */
};

/*
 * The first step, over the unread input in[0..len). SET and REFUSED
 * consume the line (*used, its '\n' included); with SET, *payload is
 * the number of bytes of the payload, its CRLF included, as memcached
 * computes it: <nbytes> + 2 modulo 2^32 (so 4294967294 gives 0).
 */
enum ascii_auth_line ascii_auth_parse_line(const char *in, size_t len,
                                           size_t *payload, size_t *used);

enum ascii_auth_token {
    ASCII_AUTH_TOKEN_OK = 0,
    ASCII_AUTH_TOKEN_BAD_END, /* "CLIENT_ERROR bad command line termination" */
    ASCII_AUTH_TOKEN_BAD_FORMAT, /* "CLIENT_ERROR bad authentication token
                                    format" */
};

/*
 * The second step, over the whole payload p[0..len) (len as
 * ascii_auth_parse_line gave it). With OK, *user and *pass point into p.
 */
enum ascii_auth_token ascii_auth_parse_token(const char *p, size_t len,
                                             struct slice *user,
                                             struct slice *pass);
