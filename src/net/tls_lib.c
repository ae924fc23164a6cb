/*
 * tls_lib - OpenSSL's entry points, taken from libssl with dlopen when
 * TLS is first asked for (see tls_lib.h for why).
 */
#include "net/tls_lib.h"

#include <dlfcn.h>
#include <stdio.h>

/* The SONAME of the libssl whose headers memoria was built with. */
#define TLS_LIB_STR2(x) #x
#define TLS_LIB_STR(x)  TLS_LIB_STR2(x)
#define TLS_LIB_NAME    "libssl.so." TLS_LIB_STR(OPENSSL_VERSION_MAJOR)

struct tls_lib tls_lib;

static bool tls_lib_loaded;

bool
tls_lib_load(char *err, size_t errlen)
{
    void *lib;

    if (tls_lib_loaded) {
        return true;
    }
    /* libcrypto comes as libssl's dependency; dlsym searches both. */
    lib = dlopen(TLS_LIB_NAME, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        snprintf(err, errlen, "Error loading OpenSSL: %s", dlerror());
        return false;
    }
#define TLS_LIB_TAKE(name)                                           \
    tls_lib.name = (__typeof__(tls_lib.name))dlsym(lib, #name);      \
    if (tls_lib.name == NULL) {                                      \
        snprintf(err, errlen, "Error loading OpenSSL: %s has no %s", \
                 TLS_LIB_NAME, #name);                               \
        return false;                                                \
    }
    TLS_LIB_CALLS(TLS_LIB_TAKE)
#undef TLS_LIB_TAKE
    /* Never closed: OpenSSL's libraries stay once loaded (NODELETE). */
    tls_lib_loaded = true;
    return true;
}
