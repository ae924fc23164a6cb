/* The -l grammar: conf_listen_next, a pure parser of one element. */
#include "conf/conf.h"
#include "conf/conf_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static enum conf_listen_status
bad(char *err, size_t errlen, const char *what, const char *s, size_t len)
{
    snprintf(err, errlen, "%s: \"%.*s\"", what, (int)len, s);
    return CONF_LISTEN_BAD;
}

/*
 * A "name[value]" prefix at *p (name already matched): sets *val and *vlen,
 * moves *p past "]" and one optional ':'. False when "]" is missing.
 */
static bool
take_bracket(const char **p, const char *end, const char **val, size_t *vlen)
{
    const char *close = memchr(*p, ']', (size_t)(end - *p));

    if (close == NULL) {
        return false;
    }
    *val = *p + 1;
    *vlen = (size_t)(close - *val);
    *p = close + 1;
    if (*p < end && **p == ':') {
        (*p)++;
    }
    return true;
}

static bool
starts(const char *p, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);

    return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

/* memcached matches proto[...] by prefix: proto[a] is ascii. */
static enum conf_proto
proto_named(const char *s, size_t len)
{
    static const struct {
        const char *name;
        enum conf_proto proto;
    } protos[] = {
        {"ascii", CONF_PROTO_ASCII},
        {"binary", CONF_PROTO_BINARY},
        {"negotiating", CONF_PROTO_AUTO},
        {"proxy", CONF_PROTO_PROXY},
    };

    for (size_t i = 0; len > 0 && i < sizeof(protos) / sizeof(protos[0]); i++) {
        if (len <= strlen(protos[i].name) &&
            memcmp(s, protos[i].name, len) == 0) {
            return protos[i].proto;
        }
    }
    return CONF_PROTO_DEFAULT;
}

/* The notls:, proto[...] and tag[...] prefixes, in memcached's order. */
static enum conf_listen_status
take_prefixes(const char **p, const char *end, struct conf_listener *out,
              char *err, size_t errlen)
{
    const char *val;
    size_t vlen;

    if (starts(*p, end, "notls:")) {
        out->notls = true;
        *p += strlen("notls:");
    }
    if (starts(*p, end, "proto[")) {
        *p += strlen("proto");
        if (!take_bracket(p, end, &val, &vlen)) {
            return bad(err, errlen, "Invalid protocol spec", *p,
                       (size_t)(end - *p));
        }
        out->proto = proto_named(val, vlen);
        if (out->proto == CONF_PROTO_DEFAULT) {
            return bad(err, errlen, "Invalid protocol spec", val, vlen);
        }
    }
    if (starts(*p, end, "tag[")) {
        *p += strlen("tag");
        if (!take_bracket(p, end, &val, &vlen)) {
            return bad(err, errlen, "Invalid tag in socket config", *p,
                       (size_t)(end - *p));
        }
        if (vlen < 1 || vlen > CONF_TAG_MAX) {
            return bad(err, errlen,
                       "Listener tags must be between 1 and 8 characters", val,
                       vlen);
        }
        memcpy(out->tag, val, vlen);
        out->tag[vlen] = '\0';
    }
    return CONF_LISTEN_OK;
}

/* ":port" at p..end: memcached's safe_strtol, limited to real ports. */
static enum conf_listen_status
take_port(const char *p, const char *end, struct conf_listener *out, char *err,
          size_t errlen)
{
    char num[16];
    size_t len = (size_t)(end - p);

    if (len < sizeof(num)) {
        memcpy(num, p, len);
        num[len] = '\0';
        if (conf_parse_i32(num, &out->port) && out->port >= 0 &&
            out->port <= 65535) {
            return CONF_LISTEN_OK;
        }
    }
    return bad(err, errlen, "Invalid port number", p, len);
}

/* host[:port], [ipv6][:port], a bare ipv6 (no port) or "*". */
static enum conf_listen_status
take_address(const char *p, const char *end, struct conf_listener *out,
             char *err, size_t errlen)
{
    const char *host = p;
    const char *hend;
    const char *colon;

    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));

        if (close == NULL || (close + 1 < end && close[1] != ':')) {
            return bad(err, errlen, "Invalid IPV6 address", p,
                       (size_t)(end - p));
        }
        host = p + 1;
        hend = close;
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        /* A second colon means a bare IPv6 address, which has no port. */
        if (colon != NULL &&
            memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL) {
            colon = NULL;
        }
        hend = colon != NULL ? colon : end;
    }
    if (colon != NULL &&
        take_port(colon + 1, end, out, err, errlen) != CONF_LISTEN_OK) {
        return CONF_LISTEN_BAD;
    }
    if (hend == host || (size_t)(hend - host) >= CONF_HOST_MAX) {
        return bad(err, errlen, "Invalid listen address", host,
                   (size_t)(hend - host));
    }
    if (hend - host == 1 && *host == '*') {
        out->any = true;
        return CONF_LISTEN_OK;
    }
    memcpy(out->host, host, (size_t)(hend - host));
    out->host[hend - host] = '\0';
    return CONF_LISTEN_OK;
}

enum conf_listen_status
conf_listen_next(const char **spec, struct conf_listener *out, char *err,
                 size_t errlen)
{
    const char *p = *spec + strspn(*spec, ",;");
    const char *end = p + strcspn(p, ",;");

    memset(out, 0, sizeof(*out));
    out->port = -1;
    if (p == end) {
        *spec = p;
        return CONF_LISTEN_END;
    }
    *spec = end;
    if (take_prefixes(&p, end, out, err, errlen) != CONF_LISTEN_OK) {
        return CONF_LISTEN_BAD;
    }
    return take_address(p, end, out, err, errlen);
}
