#include "proto/authfile.h"

#include "lib/ct.h"

#include <string.h>

/*
 * How many bytes memcached's next fgets call takes from data[pos..len)
 * when it may write `room` bytes: at most room - 1, stopping after a
 * '\n'. glibc's fgets with room 1 reads nothing yet returns an empty
 * string; with room 0, or at the end of the file, it returns NULL (-1).
 */
static long
next_line(const char *data, size_t len, size_t pos, size_t room)
{
    if (room == 0) {
        return -1;
    }
    if (room == 1) {
        return 0;
    }
    if (pos >= len) {
        return -1;
    }
    size_t max = len - pos < room - 1 ? len - pos : room - 1;
    const char *nl = memchr(data + pos, '\n', max);
    return nl != NULL ? (long)(nl - (data + pos)) + 1 : (long)max;
}

/*
 * memcached reads each line to where the previous entry's password ended
 * (`cur`, not past its newline) in a buffer as large as the file, so the
 * room a read gets shrinks by what the previous entries held; `pos` is
 * where the file is read from. A line's string ends at its first NUL or
 * where the read stopped.
 */
enum authfile_status
authfile_parse(const char *data, size_t len, struct authfile *out)
{
    size_t cur = 0;
    size_t pos = 0;

    memset(out, 0, sizeof(*out));
    while (out->nentries < AUTHFILE_MAX_ENTRIES) {
        size_t room =
            len - cur < AUTHFILE_LINE_MAX ? len - cur : AUTHFILE_LINE_MAX;
        long got = next_line(data, len, pos, room);
        if (got < 0) {
            break;
        }
        const char *line = data + pos;
        size_t n = (size_t)got;
        pos += n;

        size_t colon = 0;
        while (colon < n && line[colon] != '\0' && line[colon] != ':') {
            colon++;
        }
        if (colon == n || line[colon] != ':') {
            return AUTHFILE_MALFORMED;
        }
        size_t end = colon + 1;
        while (end < n && line[end] != '\n' && line[end] != '\r' &&
               line[end] != '\0') {
            end++;
        }
        struct authfile_entry *e = &out->entries[out->nentries++];
        e->ulen = colon;
        memcpy(e->user, line, colon);
        e->plen = end - colon - 1;
        memcpy(e->pass, line + colon + 1, e->plen);
        if (end == n || line[end] == '\0') {
            break; /* memcached takes the string's end for the file's */
        }
        cur += end;
    }
    return AUTHFILE_OK;
}

bool
authfile_check(const struct authfile *a, struct slice user, struct slice pass)
{
    unsigned match = 0;

    for (size_t i = 0; i < AUTHFILE_MAX_ENTRIES; i++) {
        const struct authfile_entry *e = &a->entries[i];
        unsigned u = ct_equal(user.ptr, user.len, e->user, e->ulen);
        unsigned p = ct_equal(pass.ptr, pass.len, e->pass, e->plen);
        match |= u & p & (unsigned)(i < a->nentries);
    }
    return match != 0;
}
