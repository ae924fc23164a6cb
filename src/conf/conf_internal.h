/*
 * conf_internal - what conf.c (the getopt loop, short options and checks),
 * conf_listen.c (the -l grammar) and conf_ext.c (the -o table) share.
 * Nothing outside src/conf/ and its unit test and fuzz target includes it.
 */
#pragma once

#include "conf/conf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_MSG_MAX 512 /* one message for stderr, with its newlines */

/*
 * What memoria does with an option (docs/OPTIONS.md lists them all).
 * APPLIED: it does what memcached does. REFUSED: conf_parse fails with
 * "memoria: <option> (<why>) is not supported yet" and EX_USAGE, after
 * memcached's own checks of the value. COMPAT: accepted and checked as
 * memcached checks it; its value, if memcached's `stats settings` shows
 * one, is kept for that and nothing else; why says why that changes
 * nothing.
 */
enum conf_disposition {
    CONF_APPLIED = 0,
    CONF_REFUSED,
    CONF_COMPAT,
};

/* How an -o option takes its value, and memcached's message when absent. */
enum conf_value {
    CONF_VALUE_NONE,     /* a flag: a value, if given, is ignored */
    CONF_VALUE_OPTIONAL, /* the handler copes with a missing value */
    CONF_VALUE_ARG,      /* "Missing <name> argument" */
    CONF_VALUE_NUMERIC,  /* "Missing numeric argument for <name>" */
    CONF_VALUE_VALUE,    /* "Missing <name> value" */
};

/*
 * One row of either option table. sample is a value the option accepts
 * (NULL: it takes none); the unit test and fuzz seeds use it. help is
 * what -h prints for it, NULL when -h does not list it.
 */
struct conf_option {
    const char *name; /* long name or -o name; NULL: -D has no long form */
    char letter;      /* the short option; 0 for an -o option */
    enum conf_value value;
    enum conf_disposition disposition;
    const char *why; /* REFUSED: the feature; COMPAT: the reason */
    const char *sample;
    const char *help;
};

extern const struct conf_option conf_cli_options[];
extern const size_t conf_ncli;
extern const struct conf_option conf_ext_options[];
extern const size_t conf_next;

/*
 * What parsing remembers beyond struct config: memcached's "was it given"
 * flags, values it checks only once every option is read, those of
 * REFUSED options that other checks need, and the first option memoria
 * refuses.
 */
struct parse {
    bool tcp_specified;
    bool udp_specified;
    bool protocol_specified;
    bool chunk_max_changed;
    int item_size_max;  /* memcached keeps -I in an int; see -I 2048m */
    int slab_chunk_max; /* bytes, signed until validated */
    /* -o slab_sizes as given (0: a token that is no number), checked last */
    uint32_t slab_sizes[CONF_MAX_SLAB_SIZES + 1];
    size_t nslab_sizes;
    bool slab_sizes_given;
    bool slab_sizes_empty; /* "slab_sizes=": memcached's Missing... */
    /* REFUSED options the cross-option checks look at */
    bool sasl;
    bool auth_file;
    bool ssl_enabled;
    int napi_ids;
    char refused[64];       /* "-S (SASL)": the first REFUSED option given */
    char msg[CONF_MSG_MAX]; /* what conf_ext_element has to say */
};

/* Sets memcached's defaults in ps. */
void conf_parse_init(struct parse *ps, const struct config *cfg);

/* Remembers opt as the option to refuse, unless one already is. */
void conf_note_refused(struct parse *ps, const struct conf_option *opt);

/* Prints the formatted message to stderr and returns code. */
int conf_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* atoi(): leading digits, garbage gives 0, long values wrap to int. */
int conf_atoi(const char *s);

/*
 * Whole numbers, optionally followed by white space; false when s is not
 * one or does not fit.
 */
bool conf_parse_u32(const char *s, uint32_t *out);
bool conf_parse_i32(const char *s, int *out);
bool conf_parse_double(const char *s, double *out);

/* One -h row: left, padded to the help column, then help. */
void conf_print_help_row(const char *left, const char *help);

/* -h's list of extended options, in memcached's order. */
void conf_ext_print_help(void);

/*
 * One -o element, "name" or "name=value" (NUL-terminated; a comma in it
 * is part of the value). A pure function: no I/O, no allocation. Returns
 * CONF_RUN or an exit code; ps->msg then holds memcached's message (or,
 * with CONF_RUN, a warning to print), newline included, or "".
 */
int conf_ext_element(struct config *cfg, struct parse *ps, const char *elem);

/* One -o argument, "name[=value],...". CONF_RUN or an exit code. */
int conf_ext_parse(struct config *cfg, struct parse *ps, const char *arg);
