/*
 * authfile - the -Y file of ASCII authentication: its parser and the
 * credential check. Pure functions over bytes and a caller-owned table
 * (no I/O, allocation or shared state); cmd/auth.c reads the file,
 * publishes tables to the workers and counts attempts.
 *
 * The format is memcached 1.6.18's, read exactly as it reads it (a
 * line-by-line fgets into a buffer the size of the file), because which
 * credentials a given file grants is part of being a drop-in:
 *   - one `user:password` per line, split at the first ':'; the password
 *     runs to the first '\n', '\r' or NUL (the rest of that line is
 *     ignored), so it may contain ':' and spaces (spaces can never match:
 *     the handshake splits user and password at spaces);
 *   - at most 8 entries; lines after the 8th are never read;
 *   - a line without ':' (an empty line included) before its end or a NUL
 *     makes the whole file malformed;
 *   - a line of 255 bytes or more ends the file: its first 255 bytes are
 *     the entry and later lines are never read; a NUL in a password
 *     also ends the file;
 *   - memcached's read is bounded by the file size, so the last byte of
 *     a one-line file is never read: "a:b" without a newline grants
 *     "a" with an empty password (which no handshake can send), and
 *     "a:b\r\n" alone is malformed (its '\n' is read as a line of its
 *     own); a one-byte file is malformed; an empty file grants nothing.
 * docs/AUTH.md lists these with examples.
 */
#pragma once

#include "lib/slice.h"

#include <stdbool.h>
#include <stddef.h>

#define AUTHFILE_MAX_ENTRIES 8
/* memcached's fgets buffer: a line's first 255 bytes are read. */
#define AUTHFILE_LINE_MAX    256
/*
 * Bytes of a file that can decide its table: 8 lines of at most 255
 * bytes, plus enough that the size bound above never bites. Readers may
 * stop there.
 */
#define AUTHFILE_READ_MAX    4096

struct authfile_entry {
    size_t ulen;
    size_t plen;
    char user[AUTHFILE_LINE_MAX];
    char pass[AUTHFILE_LINE_MAX];
};

/* A credential table: entries[0..nentries) are in use. */
struct authfile {
    size_t nentries;
    struct authfile_entry entries[AUTHFILE_MAX_ENTRIES];
};

enum authfile_status {
    AUTHFILE_OK = 0,
    AUTHFILE_MALFORMED, /* memcached's "has a malformed entry" */
};

/*
 * Parses a whole file's bytes (the first AUTHFILE_READ_MAX are enough)
 * into *out. On AUTHFILE_MALFORMED *out is left in an unspecified state.
 */
enum authfile_status authfile_parse(const char *data, size_t len,
                                    struct authfile *out);

/*
 * True when (user, pass) is one of a's entries. Constant time for given
 * lengths: every slot is compared, user and password alike, whatever
 * matched or differed before (lib/ct.h).
 */
bool authfile_check(const struct authfile *a, struct slice user,
                    struct slice pass);
