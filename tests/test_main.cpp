// test_main.cpp: Catch2's main for the cpu suite, with the TAP reporter Meson reads.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <catch2/catch_reporter_tap.hpp>
