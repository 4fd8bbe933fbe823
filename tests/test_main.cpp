// test_main.cpp: Catch2's main for the cpu suite, with the per-test-case TAP reporter Meson reads
// (tests/tap_cases.h: `-r tap-cases`).
#define CATCH_CONFIG_MAIN
#include "tests/tap_cases.h"
