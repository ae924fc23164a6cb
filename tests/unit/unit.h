/*
 * unit - what every cmocka unit test includes, in the order cmocka needs
 * its prerequisite headers.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
