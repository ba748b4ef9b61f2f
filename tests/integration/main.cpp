// The integration tests' doctest main. They run the real numsequence-server and
// numsequence-client binaries; see server_fixture.hpp.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
