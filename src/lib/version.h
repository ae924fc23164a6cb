/*
 * version - the two version strings. MEMCACHED_COMPAT_VERSION is the
 * memcached release whose behaviour we reproduce; it is what the wire
 * reports ("VERSION 1.6.18", "STAT version 1.6.18") and what `-V` prints
 * first, because tools parse it. MEMORIA_VERSION is our own release.
 */
#pragma once

#define MEMCACHED_COMPAT_VERSION "1.6.18"
#define MEMORIA_VERSION          "0.1.0"
