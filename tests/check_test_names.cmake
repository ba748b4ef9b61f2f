# Fails if a doctest case name cannot be run by name from CTest.
#   cmake -DTEST_BINARY=<doctest executable> -P check_test_names.cmake
# CTest gets one test per case, run as `--test-case=<name>`. A ';' in a name splits it as a
# CMake list: CTest then runs a filter that matches no case, and doctest reports success
# with zero cases run. Such a test would pass without ever running.
execute_process(COMMAND ${TEST_BINARY} --list-test-cases --no-version
                OUTPUT_VARIABLE listing RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${TEST_BINARY} --list-test-cases failed (${status})")
endif()
string(FIND "${listing}" ";" semicolon)
if(NOT semicolon EQUAL -1)
  string(REPLACE ";" "<;>" shown "${listing}")
  message(FATAL_ERROR "test case names with ';' cannot be run from CTest; rename them:\n${shown}")
endif()
message(STATUS "test case names of ${TEST_BINARY}: all runnable by name")
