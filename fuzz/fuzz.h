/*
 * fuzz - what every libFuzzer target here shares: the entry point's
 * prototype and FUZZ_CHECK, which aborts (a finding) when a contract the
 * target states does not hold.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
    do {                 \
        if (!(cond)) {   \
            abort();     \
        }                \
    } while (0)
