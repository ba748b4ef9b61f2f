// The hostile-client suite's doctest main. Each case attacks the real numsequence-server
// while a legitimate session runs beside it; see hostile_support.hpp.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
