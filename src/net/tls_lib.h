/*
 * tls_lib - OpenSSL, loaded only when TLS is asked for (-Z).
 *
 * Linked in, libssl and libcrypto cost every server about 1.7 MiB of
 * resident memory at startup whether it serves TLS or not: their symbol
 * tables are read and their relocated data is written when the dynamic
 * linker binds them (both are built with BIND_NOW). memoria does not link
 * them; tls_create loads libssl (and with it libcrypto) with dlopen and
 * takes the entry points tls.c calls from it, so a plaintext server never
 * maps them.
 *
 * TLS_LIB_CALLS lists every OpenSSL function tls.c reaches, directly or
 * through OpenSSL's own macros (SSL_CTX_set_mode and its kin expand to
 * SSL_CTX_ctrl, SSL_CTX_get_app_data to SSL_CTX_get_ex_data, ERR_raise to
 * the three ERR_ calls). tls.c redirects each name to the table after
 * including OpenSSL's headers, so its calls read as OpenSSL's. The table
 * is typed from those headers: a call with the wrong arguments does not
 * compile, and a function missing from the list does not link, because
 * nothing provides OpenSSL's symbols any more.
 */
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#define TLS_LIB_CALLS(X)                  \
    X(TLS_server_method)                  \
    X(SSL_CTX_new)                        \
    X(SSL_CTX_free)                       \
    X(SSL_CTX_ctrl)                       \
    X(SSL_CTX_set_options)                \
    X(SSL_CTX_set_verify)                 \
    X(SSL_CTX_set_cipher_list)            \
    X(SSL_CTX_set_ex_data)                \
    X(SSL_CTX_get_ex_data)                \
    X(SSL_CTX_sess_set_new_cb)            \
    X(SSL_CTX_set_session_id_context)     \
    X(SSL_CTX_use_certificate_chain_file) \
    X(SSL_CTX_use_PrivateKey_file)        \
    X(SSL_CTX_check_private_key)          \
    X(SSL_CTX_load_verify_locations)      \
    X(SSL_CTX_set_client_CA_list)         \
    X(SSL_load_client_CA_file)            \
    X(SSL_new)                            \
    X(SSL_free)                           \
    X(SSL_set_fd)                         \
    X(SSL_get_SSL_CTX)                    \
    X(SSL_accept)                         \
    X(SSL_read)                           \
    X(SSL_write)                          \
    X(SSL_get_error)                      \
    X(SSL_pending)                        \
    X(SSL_has_pending)                    \
    X(SSL_shutdown)                       \
    X(ERR_clear_error)                    \
    X(ERR_get_error)                      \
    X(ERR_error_string_n)                 \
    X(ERR_print_errors_fp)                \
    X(ERR_new)                            \
    X(ERR_set_debug)                      \
    X(ERR_set_error)

/* The entry points, each typed as OpenSSL's header declares it. */
struct tls_lib {
#define TLS_LIB_FIELD(name) __typeof__(name) *name;
    TLS_LIB_CALLS(TLS_LIB_FIELD)
#undef TLS_LIB_FIELD
};

/* Filled by tls_lib_load; read-only after it. */
extern struct tls_lib tls_lib;

/*
 * Loads libssl of the major version memoria was built against and takes
 * every entry point. Once loaded, later calls return true at once. On
 * failure err gets the reason (the missing library or symbol) and the
 * table is left unusable. Main thread, before workers start.
 */
bool tls_lib_load(char *err, size_t errlen);
