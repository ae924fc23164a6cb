/*
 * conf_internal - what conf.c (the getopt loop, short options and checks),
 * conf_listen.c (the -l grammar) and conf_ext.c (the -o table) share.
 * Nothing outside src/conf/ includes it.
 */
#pragma once

#include "conf/conf.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * What parsing remembers beyond struct config: memcached's "was it given"
 * flags, the sizes it checks only after every option is read, and the
 * first feature memoria must refuse.
 */
struct parse {
    bool tcp_specified;
    bool udp_specified;
    bool protocol_specified;
    bool chunk_max_changed;
    bool ext_path;
    int item_size_max;   /* memcached keeps -I in an int; see -I 2048m */
    int slab_chunk_max;  /* bytes, signed until validated */
    char *slab_sizes;    /* owned copy of -o slab_sizes=, checked last */
    char ssl_option[48]; /* "-o ssl_... (TLS)": the first one given */
};

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

/* One -o argument, "name[=value],...". CONF_RUN or an exit code. */
int conf_ext_parse(struct config *cfg, struct parse *ps, const char *arg);
