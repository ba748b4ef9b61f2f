// The operations tests' doctest main: metrics, health and logs of the real numsequence-server,
// checked with the real tools (promtool, Prometheus); see ops_support.hpp.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
