# Runs `promtool check metrics` (Prometheus's own parser and linter) on the /metrics text of
# numsequence-metrics-sample. Without promtool the test is skipped, or fails when
# NUMSEQUENCE_REQUIRE_CLUSTER_TOOLS is set (scripts/test sets it; scripts/install-deps
# installs promtool with the Debian package prometheus).
#
#   cmake -DSAMPLE=<numsequence-metrics-sample> -P promtool_check.cmake

if(NOT DEFINED SAMPLE)
  message(FATAL_ERROR "promtool_check.cmake needs -DSAMPLE=...")
endif()

find_program(PROMTOOL promtool PATHS /usr/bin /usr/sbin)
if(NOT PROMTOOL)
  if(DEFINED ENV{NUMSEQUENCE_REQUIRE_CLUSTER_TOOLS})
    message(FATAL_ERROR "promtool is not installed (scripts/install-deps installs it)")
  endif()
  message("promtool is not installed: test skipped")
  return()
endif()

execute_process(
  COMMAND ${SAMPLE}
  COMMAND ${PROMTOOL} check metrics
  RESULTS_VARIABLE codes
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err
  TIMEOUT 60)
list(GET codes 0 sample_code)
list(GET codes 1 promtool_code)
if(NOT sample_code EQUAL 0)
  message(FATAL_ERROR "numsequence-metrics-sample exited with '${sample_code}': ${err}")
endif()
# promtool exits non-zero for a parse error and for a lint problem alike.
if(NOT promtool_code EQUAL 0)
  message(FATAL_ERROR "promtool check metrics failed ('${promtool_code}'):\n${out}${err}")
endif()
message("promtool check metrics: no problem found")
