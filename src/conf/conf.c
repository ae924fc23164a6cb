/*
 * The getopt loop, the short options, -h/-i/-V and the checks memcached
 * makes once every option is read.
 */
#include "conf/conf.h"
#include "conf/conf_internal.h"

#include "lib/version.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define HELP_COLUMN 26 /* where -o help text starts in -h */

/*
 * The command-line options, in memcached's -h order. Columns: the short
 * option, its long name (NULL: none, as -D), a sample value (NULL: a flag
 * that takes none), disposition (CONF_*; see conf_internal.h), why
 * (REFUSED: the feature, COMPAT: the reason) and what -h prints for it,
 * memcached's lines where memoria does the same (NULL: not listed).
 */
/* clang-format off */
#define CONF_OPTIONS(X)                                                        \
    X('p', "port", "11211", APPLIED, NULL,                                     \
      "-p, --port=<num>          TCP port to listen on (default: 11211)")      \
    X('U', "udp-port", "11211", APPLIED, NULL,                                 \
      "-U, --udp-port=<num>      UDP port to listen on (default: 0, off)")     \
    X('s', "unix-socket", "/tmp/memoria.sock", APPLIED, NULL,                  \
      "-s, --unix-socket=<file>  UNIX socket to listen on (disables network "  \
      "support)")                                                              \
    X('a', "unix-mask", "700", APPLIED, NULL,                                  \
      "-a, --unix-mask=<mask>    access mask for UNIX socket, in octal "       \
      "(default: 700)")                                                        \
    X('A', "enable-shutdown", NULL, APPLIED, NULL,                             \
      "-A, --enable-shutdown     enable ascii \"shutdown\" command")           \
    X('l', "listen", "127.0.0.1", APPLIED, NULL,                               \
      "-l, --listen=<addr>       interface to listen on (default: 127.0.0.1)\n" \
      "                          if TLS/SSL is enabled, 'notls' prefix can be " \
      "used to\n"                                                              \
      "                          disable for specific listeners (-l "          \
      "notls:<ip>:<port>) ")                                                   \
    X('d', "daemon", NULL, APPLIED, NULL,                                      \
      "-d, --daemon              run as a daemon")                             \
    X('r', "enable-coredumps", NULL, APPLIED, NULL,                            \
      "-r, --enable-coredumps    maximize core file limit")                    \
    X('u', "user", "nobody", APPLIED, NULL,                                    \
      "-u, --user=<user>         assume identity of <username> (only when "   \
      "run as root)")                                                          \
    X('m', "memory-limit", "64", APPLIED, NULL,                                \
      "-m, --memory-limit=<num>  item memory in megabytes (default: 64)")      \
    X('M', "disable-evictions", NULL, APPLIED, NULL,                           \
      "-M, --disable-evictions   return error on memory exhausted instead of " \
      "evicting")                                                              \
    X('c', "conn-limit", "1024", APPLIED, NULL,                                \
      "-c, --conn-limit=<num>    max simultaneous connections (default: "      \
      "1024)")                                                                 \
    X('k', "lock-memory", NULL, APPLIED, NULL,                                 \
      "-k, --lock-memory         lock down all paged memory")                  \
    X('v', "verbose", NULL, APPLIED, NULL,                                     \
      "-v, --verbose             verbose (print errors/warnings while in "     \
      "event loop)\n"                                                          \
      "-vv                       very verbose (also print client "             \
      "commands/responses)\n"                                                  \
      "-vvv                      extremely verbose (internal state "           \
      "transitions)")                                                          \
    X('h', "help", NULL, APPLIED, NULL,                                        \
      "-h, --help                print this help and exit")                    \
    X('i', "license", NULL, APPLIED, NULL,                                     \
      "-i, --license             print memoria and libevent license")          \
    X('V', "version", NULL, APPLIED, NULL,                                     \
      "-V, --version             print version and exit")                      \
    X('P', "pidfile", "/tmp/memoria.pid", APPLIED, NULL,                       \
      "-P, --pidfile=<file>      save PID in <file>, only used with -d "       \
      "option")                                                                \
    X('f', "slab-growth-factor", "1.25", APPLIED, NULL,                        \
      "-f, --slab-growth-factor=<num> chunk size growth factor (default: "     \
      "1.25)")                                                                 \
    X('n', "slab-min-size", "48", APPLIED, NULL,                               \
      "-n, --slab-min-size=<bytes> min space used for key+value+flags "        \
      "(default: 48)")                                                         \
    X('L', "enable-largepages", NULL, APPLIED, NULL,                           \
      "-L, --enable-largepages  try to use large memory pages (if "            \
      "available)")                                                            \
    X('D', NULL, ":", APPLIED, NULL,                                           \
      "-D <char>     Use <char> as the delimiter between key prefixes and "    \
      "IDs.\n"                                                                 \
      "              This is used for per-prefix stats reporting. The "        \
      "default is\n"                                                           \
      "              \":\" (colon). If this option is specified, stats "        \
      "collection\n"                                                           \
      "              is turned on automatically; if not, then it may be "      \
      "turned on\n"                                                            \
      "              by sending the \"stats detail on\" command to the "        \
      "server.")                                                               \
    X('t', "threads", "4", APPLIED, NULL,                                      \
      "-t, --threads=<num>       number of threads to use (default: 4)")       \
    X('R', "max-reqs-per-event", "20", APPLIED, NULL,                          \
      "-R, --max-reqs-per-event  maximum number of requests per event, "       \
      "limits the\n"                                                           \
      "                          requests processed per connection to "        \
      "prevent \n"                                                             \
      "                          starvation (default: 20)")                    \
    X('C', "disable-cas", NULL, APPLIED, NULL,                                 \
      "-C, --disable-cas         disable use of CAS")                          \
    X('b', "listen-backlog", "1024", APPLIED, NULL,                            \
      "-b, --listen-backlog=<num> set the backlog queue limit (default: "      \
      "1024)")                                                                 \
    X('B', "protocol", "auto", APPLIED, NULL,                                  \
      "-B, --protocol=<name>     protocol - one of ascii, binary, or auto "    \
      "(default: auto-negotiate)")                                             \
    X('I', "max-item-size", "1m", APPLIED, NULL,                               \
      "-I, --max-item-size=<num> adjusts max item size\n"                      \
      "                          (default: 1m, min: 1k, max: 1024m)")          \
    X('S', "enable-sasl", NULL, APPLIED, NULL,                                 \
      "-S, --enable-sasl         turn on Sasl authentication")                 \
    X('F', "disable-flush-all", NULL, APPLIED, NULL,                           \
      "-F, --disable-flush-all   disable flush_all command")                   \
    X('X', "disable-dumping", NULL, APPLIED, NULL,                             \
      "-X, --disable-dumping     disable stats cachedump and lru_crawler "     \
      "metadump")                                                              \
    X('W', "disable-watch", NULL, APPLIED, NULL,                               \
      "-W  --disable-watch       disable watch commands (live logging)")       \
    X('Y', "auth-file", "/tmp/memoria.auth", APPLIED, NULL,                    \
      "-Y, --auth-file=<file>    (EXPERIMENTAL) enable ASCII protocol "        \
      "authentication. format:\n"                                              \
      "                          user:pass\\nuser2:pass2\\n")                  \
    X('e', "memory-file", "/tmp/memoria.mem", REFUSED, "memory file", NULL)    \
    X('Z', "enable-ssl", NULL, APPLIED, NULL,                                  \
      "-Z, --enable-ssl          enable TLS/SSL")                              \
    X('o', "extended", "modern", APPLIED, NULL,                                \
      "-o, --extended            comma separated list of extended options\n"   \
      "                          most options have a 'no_' prefix to "         \
      "disable")                                                               \
    X('N', "napi-ids", "1", REFUSED, "NAPI ids", NULL)
/* clang-format on */

const struct conf_option conf_cli_options[] = {
#define CLI_ROW(letter, name, sample, disp, why, help)                         \
    {name,        letter, (sample) != NULL ? CONF_VALUE_ARG : CONF_VALUE_NONE, \
     CONF_##disp, why,    sample,                                              \
     help},
    CONF_OPTIONS(CLI_ROW)
#undef CLI_ROW
};

#define NCLI (sizeof(conf_cli_options) / sizeof(conf_cli_options[0]))

const size_t conf_ncli = NCLI;

int
conf_fail(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- Numbers, parsed the ways memcached parses them ---- */

/* atoi(): leading digits, garbage gives 0, long values wrap to int. */
int
conf_atoi(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

static bool
ends_number(const char *end)
{
    return *end == '\0' || isspace((unsigned char)*end);
}

/*
 * A whole unsigned 32-bit number, optionally followed by white space.
 * Unlike memcached, which keeps the low 32 bits, too large is an error.
 */
bool
conf_parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || !ends_number(end) || v > UINT32_MAX) {
        return false;
    }
    if (v != 0 && memchr(s, '-', (size_t)(end - s)) != NULL) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

bool
conf_parse_i32(const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || !ends_number(end) || v < INT_MIN ||
        v > INT_MAX) {
        return false;
    }
    *out = (int)v;
    return true;
}

bool
conf_parse_double(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || !ends_number(end)) {
        return false;
    }
    *out = v;
    return true;
}

/*
 * -I: a number with an optional k/K/m/M suffix, computed in an int as
 * memcached does, so that -I 2048m wraps negative and -I 4096m to 0
 * ("cannot be less than 1024 bytes"). Other suffixes stop atoi: -I 2g is 2.
 */
static int
parse_item_size(const char *s)
{
    size_t len = strlen(s);
    char unit = len > 0 ? s[len - 1] : '\0';
    long long v = conf_atoi(s); /* the digits end at the unit */

    if (unit == 'k' || unit == 'K') {
        v *= 1024;
    } else if (unit == 'm' || unit == 'M') {
        v *= (long long)CONF_MB;
    }
    return (int)v; /* wraps like memcached's int arithmetic */
}

/* ---- Defaults, help, version ---- */

void
conf_init(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
#define CONF_FIELD_DEFAULT(type, name, dflt) cfg->name = dflt;
    CONF_FIELDS(CONF_FIELD_DEFAULT)
#undef CONF_FIELD_DEFAULT
}

void
conf_deinit(struct config *cfg)
{
    free(cfg->listen);
    cfg->listen = NULL;
    free(cfg->listeners);
    cfg->listeners = NULL;
    free(cfg->ssl_chain_cert);
    free(cfg->ssl_key);
    free(cfg->ssl_ciphers);
    free(cfg->ssl_ca_cert);
    cfg->ssl_chain_cert = cfg->ssl_key = NULL;
    cfg->ssl_ciphers = cfg->ssl_ca_cert = NULL;
    cfg->nlisteners = 0;
}

void
conf_parse_init(struct parse *ps, const struct config *cfg)
{
    memset(ps, 0, sizeof(*ps));
    ps->item_size_max = (int)cfg->item_size_max;
    ps->slab_chunk_max = (int)cfg->slab_chunk_max;
}

void
conf_note_refused(struct parse *ps, const struct conf_option *opt)
{
    if (ps->refused[0] != '\0') {
        return;
    }
    if (opt->letter != 0) {
        snprintf(ps->refused, sizeof(ps->refused), "-%c (%s)", opt->letter,
                 opt->why);
    } else {
        snprintf(ps->refused, sizeof(ps->refused), "-o %s (%s)", opt->name,
                 opt->why);
    }
}

/* Prints left, pads to the help column and prints help, aligning lines. */
void
conf_print_help_row(const char *left, const char *help)
{
    int used = printf("%s", left);
    const char *line = help;

    printf("%*s", used < HELP_COLUMN ? HELP_COLUMN - used : 1, "");
    for (;;) {
        const char *nl = strchr(line, '\n');

        if (nl == NULL) {
            printf("%s\n", line);
            return;
        }
        printf("%.*s\n%*s", (int)(nl - line), line, HELP_COLUMN, "");
        line = nl + 1;
    }
}

static void
print_usage(void)
{
    /* Tools read the first line as memcached's; ours comes second. */
    printf("memcached %s\nmemoria %s\n", MEMCACHED_COMPAT_VERSION,
           MEMORIA_VERSION);
    for (size_t i = 0; i < NCLI; i++) {
        const struct conf_option *o = &conf_cli_options[i];

        if (o->help != NULL) {
            printf("%s\n", o->help);
        }
        if (o->letter == 'o') {
            conf_ext_print_help();
        }
    }
}

static void
print_license(void)
{
    printf("memoria %s, a clean-room cache server compatible with memcached "
           "%s.\n"
           "It contains no memcached code; it reproduces memcached's "
           "options, messages\n"
           "and protocols for compatibility.\n\n"
           "memoria links libevent (https://libevent.org), which is "
           "distributed under\n"
           "the 3-clause BSD license.\n",
           MEMORIA_VERSION, MEMCACHED_COMPAT_VERSION);
}

/* ---- The short options ---- */

/* -l: joined with ','; a -l already contained in the list is dropped. */
static int
add_listen(struct config *cfg, const char *arg)
{
    char *joined;
    size_t len;

    if (cfg->listen == NULL) {
        cfg->listen = strdup(arg);
        return cfg->listen != NULL
                   ? CONF_RUN
                   : conf_fail(EXIT_FAILURE, "Failed to allocate memory\n");
    }
    if (strstr(cfg->listen, arg) != NULL) {
        return CONF_RUN;
    }
    len = strlen(cfg->listen) + strlen(arg) + 2;
    joined = malloc(len);
    if (joined == NULL) {
        return conf_fail(EXIT_FAILURE, "Failed to allocate memory\n");
    }
    snprintf(joined, len, "%s,%s", cfg->listen, arg);
    free(cfg->listen);
    cfg->listen = joined;
    return CONF_RUN;
}

static int
set_threads(struct config *cfg, const char *arg)
{
    cfg->num_threads = conf_atoi(arg);
    if (cfg->num_threads <= 0) {
        return conf_fail(EXIT_FAILURE,
                         "Number of threads must be greater than 0\n");
    }
    if (cfg->num_threads > 64) {
        fprintf(stderr, "WARNING: Setting a high number of worker"
                        "threads is not recommended.\n"
                        " Set this value to the number of cores in"
                        " your machine or less.\n");
    }
    return CONF_RUN;
}

static int
set_protocol(struct config *cfg, struct parse *ps, const char *arg)
{
    ps->protocol_specified = true;
    if (strcmp(arg, "auto") == 0) {
        cfg->protocol = CONF_PROTO_AUTO;
    } else if (strcmp(arg, "binary") == 0) {
        cfg->protocol = CONF_PROTO_BINARY;
    } else if (strcmp(arg, "ascii") == 0) {
        cfg->protocol = CONF_PROTO_ASCII;
    } else {
        return conf_fail(EX_USAGE,
                         "Invalid value for binding protocol: %s\n"
                         " -- should be one of auto, binary, or ascii\n",
                         arg);
    }
    return CONF_RUN;
}

/*
 * Options whose value memcached checks on the spot. As there, -R and -n
 * must be non-zero and -f above 1; unlike memcached we also refuse
 * negative -R and -n and a NaN -f, which its own messages forbid.
 */
static int
set_checked(struct config *cfg, struct parse *ps, int letter, const char *arg)
{
    switch (letter) {
    case 'c':
        cfg->maxconns = conf_atoi(arg);
        return cfg->maxconns > 0
                   ? CONF_RUN
                   : conf_fail(EXIT_FAILURE,
                               "Maximum connections must be greater than 0\n");
    case 'R':
        cfg->reqs_per_event = conf_atoi(arg);
        return cfg->reqs_per_event > 0
                   ? CONF_RUN
                   : conf_fail(EXIT_FAILURE,
                               "Number of requests per event must be greater "
                               "than 0\n");
    case 'f':
        cfg->memcached_classes = true;
        cfg->factor = strtod(arg, NULL);
        return cfg->factor > 1.0 && !isinf(cfg->factor)
                   ? CONF_RUN
                   : conf_fail(EXIT_FAILURE, "Factor must be greater than 1\n");
    case 'n':
        cfg->memcached_classes = true;
        cfg->chunk_size = conf_atoi(arg);
        return cfg->chunk_size > 0
                   ? CONF_RUN
                   : conf_fail(EXIT_FAILURE,
                               "Chunk size must be greater than 0\n");
    case 'N':
        ps->napi_ids = conf_atoi(arg);
        return ps->napi_ids > 0
                   ? CONF_RUN
                   : conf_fail(EXIT_FAILURE, "Maximum number of NAPI IDs must "
                                             "be greater than 0\n");
    case 'D':
        if (arg[0] == '\0') {
            return conf_fail(EXIT_FAILURE, "No delimiter specified\n");
        }
        /* One character, the rest ignored; detail stats start on. */
        cfg->stat_key_prefix = arg[0];
        cfg->detail_enabled = true;
        return CONF_RUN;
    default:
        break;
    }
    return CONF_RUN;
}

/* Options that take a value without checking it here. */
static void
set_value(struct config *cfg, struct parse *ps, int letter, const char *arg)
{
    switch (letter) {
    case 'p':
        cfg->port = conf_atoi(arg);
        ps->tcp_specified = true;
        break;
    case 'U':
        cfg->udp_port = conf_atoi(arg);
        ps->udp_specified = true;
        break;
    case 's':
        cfg->unix_socket = arg;
        break;
    case 'a':
        cfg->unix_mask = (int)strtol(arg, NULL, 8);
        break;
    case 'm':
        cfg->maxbytes = (size_t)conf_atoi(arg) * CONF_MB;
        break;
    case 'u':
        cfg->user = arg;
        break;
    case 'P':
        cfg->pidfile = arg;
        break;
    case 'b':
        cfg->backlog = conf_atoi(arg);
        break;
    case 'I':
        ps->item_size_max = parse_item_size(arg);
        break;
    case 'Y':
        ps->auth_file = true;
        cfg->auth_file = arg;
        break;
    default:
        break;
    }
}

/* Options without a value. */
static void
set_switch(struct config *cfg, struct parse *ps, int letter)
{
    switch (letter) {
    case 'A':
        cfg->enable_shutdown = true;
        break;
    case 'Z':
        ps->ssl_enabled = true;
        cfg->ssl_enabled = true;
        break;
    case 'M':
        cfg->evictions = false;
        break;
    case 'k':
        cfg->lock_memory = true;
        break;
    case 'v':
        cfg->verbose++;
        break;
    case 'd':
        cfg->daemonize = true;
        break;
    case 'r':
        cfg->coredumps = true;
        break;
    case 'L':
        cfg->largepages = true;
        break;
    case 'C':
        cfg->use_cas = false;
        break;
    case 'S':
        ps->sasl = true;
        cfg->sasl = true;
        break;
    case 'F':
        cfg->flush_enabled = false;
        break;
    case 'W':
        cfg->watch_enabled = false;
        break;
    case 'X':
        cfg->dump_enabled = false;
        break;
    default:
        break;
    }
}

static const struct conf_option *
cli_lookup(int letter)
{
    for (size_t i = 0; i < NCLI; i++) {
        if (conf_cli_options[i].letter == letter) {
            return &conf_cli_options[i];
        }
    }
    return NULL;
}

static int
apply_option(struct config *cfg, struct parse *ps, int letter, const char *arg)
{
    const struct conf_option *opt = cli_lookup(letter);

    if (opt == NULL) {
        /* getopt has already said what was wrong. */
        return conf_fail(EXIT_FAILURE, "Illegal argument \"%c\"\n", letter);
    }
    if (opt->disposition == CONF_REFUSED) {
        conf_note_refused(ps, opt);
    }
    switch (letter) {
    case 'h':
        print_usage();
        return EXIT_SUCCESS;
    case 'i':
        print_license();
        return EXIT_SUCCESS;
    case 'V':
        printf("memcached %s\nmemoria %s\n", MEMCACHED_COMPAT_VERSION,
               MEMORIA_VERSION);
        return EXIT_SUCCESS;
    case 'l':
        return add_listen(cfg, arg);
    case 't':
        return set_threads(cfg, arg);
    case 'B':
        return set_protocol(cfg, ps, arg);
    case 'o':
        return conf_ext_parse(cfg, ps, arg);
    case 'c':
    case 'R':
    case 'f':
    case 'n':
    case 'N':
    case 'D':
        return set_checked(cfg, ps, letter, arg);
    default:
        break;
    }
    if (opt->sample != NULL) {
        set_value(cfg, ps, letter, arg);
    } else {
        set_switch(cfg, ps, letter);
    }
    return CONF_RUN;
}

/* ---- Checks once every option is read, in memcached's order ---- */

static int
check_item_size(struct config *cfg, struct parse *ps)
{
    int size = ps->item_size_max;

    if (size < 1024) {
        return conf_fail(EX_USAGE,
                         "Item max size cannot be less than 1024 bytes.\n");
    }
    if ((size_t)size > cfg->maxbytes / 2) {
        return conf_fail(EX_USAGE, "Cannot set item size limit higher than 1/2 "
                                   "of memory max.\n");
    }
    if (size > 1024 * 1024 * 1024) {
        return conf_fail(EX_USAGE, "Cannot set item size limit higher than a "
                                   "gigabyte.\n");
    }
    if (size > CONF_PAGE_SIZE && !ps->chunk_max_changed) {
        ps->slab_chunk_max = CONF_PAGE_SIZE / 2;
    }
    if (ps->slab_chunk_max > size) {
        return conf_fail(EX_USAGE,
                         "slab_chunk_max (bytes: %d) cannot be larger than -I "
                         "(item_size_max %d)\n",
                         ps->slab_chunk_max, size);
    }
    /* memcached divides by zero here and takes negative sizes. */
    if (ps->slab_chunk_max > 0 && size % ps->slab_chunk_max != 0) {
        return conf_fail(EX_USAGE,
                         "-I (item_size_max: %d) must be evenly divisible by "
                         "slab_chunk_max (bytes: %d)\n",
                         size, ps->slab_chunk_max);
    }
    if (ps->slab_chunk_max <= 0 || CONF_PAGE_SIZE % ps->slab_chunk_max != 0) {
        return conf_fail(
            EX_USAGE,
            "slab_chunk_max (bytes: %d) must divide evenly into %d "
            "(slab_page_size)\n",
            ps->slab_chunk_max, CONF_PAGE_SIZE);
    }
    /* memcached faults on its first store below 64 (docs/OPTIONS.md). */
    if (ps->slab_chunk_max < CONF_CHUNK_MAX_MIN) {
        return conf_fail(EX_USAGE,
                         "slab_chunk_max (bytes: %d) cannot be smaller than "
                         "%d\n",
                         ps->slab_chunk_max, CONF_CHUNK_MAX_MIN);
    }
    cfg->item_size_max = (size_t)size;
    cfg->slab_chunk_max = (size_t)ps->slab_chunk_max;
    return CONF_RUN;
}

/* -o slab_sizes=a-b-c: ascending, each more than 8 above the last. */
static int
check_slab_sizes(struct config *cfg, struct parse *ps)
{
    uint32_t last = 0;

    if (!ps->slab_sizes_given) {
        return CONF_RUN;
    }
    if (ps->slab_sizes_empty) {
        return conf_fail(EX_USAGE, "Missing slab_sizes argument\n");
    }
    for (size_t i = 0; i < ps->nslab_sizes; i++) {
        uint32_t size = ps->slab_sizes[i];

        if (size < (uint32_t)cfg->chunk_size || size > cfg->slab_chunk_max) {
            return conf_fail(EX_USAGE, "slab size %u is out of valid range\n",
                             size);
        }
        if (last >= size) {
            return conf_fail(EX_USAGE,
                             "slab size %u cannot be lower than or equal to a "
                             "previous class size\n",
                             size);
        }
        if (size <= last + 8) {
            return conf_fail(
                EX_USAGE,
                "slab size %u must be at least 8 bytes larger than "
                "previous class\n",
                size);
        }
        if (cfg->nslab_sizes == CONF_MAX_SLAB_SIZES) {
            return conf_fail(EX_USAGE, "too many slab classes specified\n");
        }
        cfg->slab_sizes[cfg->nslab_sizes++] = size;
        last = size;
    }
    return CONF_RUN;
}

static int
check_lru(const struct config *cfg)
{
    if (cfg->hot_lru_pct + cfg->warm_lru_pct > 80) {
        return conf_fail(EX_USAGE, "hot_lru_pct + warm_lru_pct cannot be more "
                                   "than 80%% combined\n");
    }
    if (cfg->temp_lru && !cfg->lru_maintainer) {
        return conf_fail(
            EX_USAGE, "temporary_ttl requires lru_maintainer to be enabled\n");
    }
    return CONF_RUN;
}

/* SASL wants binary, ASCII auth wants ascii; -U alone sets the TCP port. */
static int
check_auth_and_ports(struct config *cfg, struct parse *ps)
{
    if (ps->sasl) {
        if (!ps->protocol_specified) {
            cfg->protocol = CONF_PROTO_BINARY;
        } else if (cfg->protocol != CONF_PROTO_BINARY) {
            return conf_fail(EX_USAGE, "ERROR: You cannot allow the ASCII "
                                       "protocol while using SASL.\n");
        }
        if (cfg->udp_port != 0) {
            return conf_fail(EX_USAGE, "ERROR: Cannot enable UDP while using "
                                       "binary SASL authentication.\n");
        }
    }
    if (ps->auth_file) {
        if (!ps->protocol_specified) {
            cfg->protocol = CONF_PROTO_ASCII;
        } else if (cfg->protocol != CONF_PROTO_ASCII) {
            return conf_fail(
                EX_USAGE, "ERROR: You cannot allow the BINARY protocol while "
                          "using ascii authentication tokens.\n");
        }
    }
    if (ps->udp_specified && cfg->udp_port != 0 && !ps->tcp_specified) {
        cfg->port = cfg->udp_port;
    }
    /* memcached only catches > 65535; a negative port fails at bind. */
    if (cfg->port > 65535 || cfg->port < 0) {
        return conf_fail(EX_USAGE, "ERROR: Invalid port number %d.\n",
                         cfg->port);
    }
    if (ps->ssl_enabled && cfg->port == 0) {
        return conf_fail(EX_USAGE,
                         "ERROR: You cannot enable SSL without a TCP port.\n");
    }
    if (ps->auth_file && cfg->udp_port != 0) {
        return conf_fail(EX_USAGE, "Cannot use UDP with ascii authentication "
                                   "enabled (-U 0 to disable)\n");
    }
    return CONF_RUN;
}

/*
 * -Y and a proto[binary] or proto[negotiating] listener: memcached 1.6.18
 * serves those without authentication; memoria refuses the combination
 * (docs/COMPAT.md#ascii-authentication).
 */
static int
check_auth_listeners(const struct config *cfg, const struct parse *ps)
{
    for (size_t i = 0; ps->auth_file && i < cfg->nlisteners; i++) {
        enum conf_proto p = cfg->listeners[i].proto;
        if (p == CONF_PROTO_BINARY || p == CONF_PROTO_AUTO) {
            return conf_fail(
                EX_USAGE, "ERROR: You cannot allow the BINARY protocol while "
                          "using ascii authentication tokens.\n");
        }
    }
    return CONF_RUN;
}

/* log2 of memcached's item lock table, which grows with -t. */
static int
lock_power(int threads)
{
    if (threads < 3) {
        return 10;
    }
    if (threads < 4) {
        return 11;
    }
    if (threads < 5) {
        return 12;
    }
    if (threads <= 10) {
        return 13;
    }
    return threads <= 20 ? 14 : 15;
}

/* The item lock table must stay smaller than the hash table. */
static int
check_hashpower(const struct config *cfg)
{
    int locks = lock_power(cfg->num_threads);
    int power = cfg->hashpower != 0 ? cfg->hashpower : 16;

    if (locks >= power) {
        return conf_fail(
            EXIT_FAILURE,
            "Hash table power size (%d) cannot be equal to or less "
            "than item lock table (%d)\n"
            "Item lock table grows with `-t N` (worker threadcount)\n"
            "Hash table grows with `-o hashpower=N` \n",
            power, locks);
    }
    return CONF_RUN;
}

static int
add_listener(struct config *cfg, const struct conf_listener *l)
{
    struct conf_listener *grown =
        realloc(cfg->listeners, (cfg->nlisteners + 1) * sizeof(*grown));

    if (grown == NULL) {
        return conf_fail(EXIT_FAILURE, "Failed to allocate memory\n");
    }
    cfg->listeners = grown;
    cfg->listeners[cfg->nlisteners++] = *l;
    return CONF_RUN;
}

/*
 * memcached reports a bad -l only when it tries to listen: exit 71, with
 * perror's suffix for an errno that nothing has set (": Success").
 */
#define LISTEN_FAILED "failed to listen on one of interface(s) %s: Success\n"

/* memcached reports a bad -l only when it tries to listen: exit 71. */
static int
build_listeners(struct config *cfg, const struct parse *ps)
{
    struct conf_listener l;
    char err[CONF_HOST_MAX + 64];
    const char *spec = cfg->listen != NULL ? cfg->listen : CONF_DEFAULT_LISTEN;
    enum conf_listen_status st;
    int rc = CONF_RUN;

    /* No TCP or UDP port, or a unix socket: memcached never reads -l. */
    if (cfg->unix_socket != NULL || (cfg->port == 0 && cfg->udp_port == 0)) {
        return CONF_RUN;
    }
    while (rc == CONF_RUN &&
           (st = conf_listen_next(&spec, &l, err, sizeof(err))) !=
               CONF_LISTEN_END) {
        if (st == CONF_LISTEN_BAD) {
            return conf_fail(EX_OSERR, "%s\n" LISTEN_FAILED, err, cfg->listen);
        }
        if (l.notls && !ps->ssl_enabled) {
            return conf_fail(EX_OSERR,
                             "'notls' option is valid only when SSL is "
                             "enabled\n" LISTEN_FAILED,
                             cfg->listen);
        }
        rc = add_listener(cfg, &l);
    }
    return rc;
}

/*
 * The first REFUSED option given, else a value memoria refuses (a proxy
 * listener), else NULL.
 */
static const char *
unsupported(const struct config *cfg, const struct parse *ps)
{
    if (ps->refused[0] != '\0') {
        return ps->refused;
    }
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        if (cfg->listeners[i].proto == CONF_PROTO_PROXY) {
            return "-l proto[proxy]";
        }
    }
    return NULL;
}

static int
check_all(struct config *cfg, struct parse *ps)
{
    int rc = CONF_RUN;
    const char *missing;

    if (ps->napi_ids > cfg->num_threads) {
        return conf_fail(
            EX_USAGE,
            "Number of napi_ids(%d) cannot be greater than number of "
            "threads(%d)\n",
            ps->napi_ids, cfg->num_threads);
    }
    if ((rc = check_item_size(cfg, ps)) != CONF_RUN ||
        (rc = check_slab_sizes(cfg, ps)) != CONF_RUN ||
        (rc = check_lru(cfg)) != CONF_RUN ||
        (rc = check_auth_and_ports(cfg, ps)) != CONF_RUN ||
        (rc = check_hashpower(cfg)) != CONF_RUN ||
        (rc = build_listeners(cfg, ps)) != CONF_RUN ||
        (rc = check_auth_listeners(cfg, ps)) != CONF_RUN) {
        return rc;
    }
    missing = unsupported(cfg, ps);
    if (missing != NULL) {
        return conf_fail(EX_USAGE, "memoria: %s is not supported yet\n",
                         missing);
    }
    /* One thread per UDP port when several are given, as in memcached. */
    cfg->num_threads_per_udp =
        cfg->listen != NULL && strchr(cfg->listen, ',') != NULL
            ? 1
            : cfg->num_threads;
    return CONF_RUN;
}

int
conf_parse(struct config *cfg, int argc, char **argv)
{
    struct option longopts[NCLI + 1];
    char shortopts[2 * NCLI + 1];
    size_t nlong = 0;
    size_t nshort = 0;
    struct parse ps;
    int c;
    int rc = CONF_RUN;

    conf_parse_init(&ps, cfg);
    for (size_t i = 0; i < NCLI; i++) {
        const struct conf_option *o = &conf_cli_options[i];

        shortopts[nshort++] = o->letter;
        if (o->sample != NULL) {
            shortopts[nshort++] = ':';
        }
        if (o->name != NULL) {
            longopts[nlong++] = (struct option){
                o->name, o->sample != NULL ? required_argument : no_argument,
                NULL, o->letter};
        }
    }
    shortopts[nshort] = '\0';
    longopts[nlong] = (struct option){0};

    optind = 0; /* glibc: start over, including inside a cluster */
    while (rc == CONF_RUN &&
           (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        rc = apply_option(cfg, &ps, c, optarg);
    }
    if (rc == CONF_RUN) {
        rc = check_all(cfg, &ps);
    }
    fflush(stdout);
    return rc;
}
