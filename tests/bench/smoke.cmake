# Smoke test for numsequence-bench: it spawns numsequence-server, runs complete sessions for
# about a second on two connections (normal mode, then test mode), and must report no error
# and verified checksums. Nothing about speed is asserted.
#
#   cmake -DBENCH=<numsequence-bench> -DSERVER=<numsequence-server> -P smoke.cmake

foreach(var BENCH SERVER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "smoke.cmake needs -D${var}=...")
  endif()
endforeach()

function(run_bench label)
  execute_process(
    COMMAND ${BENCH} --spawn-server ${SERVER} --mode session --connections 2 --n 100
            --duration 1 --json ${ARGN}
    OUTPUT_VARIABLE out
    ERROR_VARIABLE err
    RESULT_VARIABLE rc
    TIMEOUT 60)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${label}: numsequence-bench exited with '${rc}'\nstdout: ${out}\nstderr: ${err}")
  endif()
  string(JSON errors ERROR_VARIABLE json_error GET "${out}" errors)
  if(json_error)
    message(FATAL_ERROR "${label}: the output is not the expected JSON (${json_error}): ${out}")
  endif()
  string(JSON verified GET "${out}" checksums_verified)
  string(JSON sessions GET "${out}" sessions)
  string(JSON checked GET "${out}" numbers_checked_against_generator)
  string(JSON server_exit GET "${out}" server exit_code)
  if(NOT errors EQUAL 0)
    message(FATAL_ERROR "${label}: errors ${errors}: ${out}")
  endif()
  if(NOT verified GREATER 0 OR NOT sessions GREATER 0)
    message(FATAL_ERROR "${label}: no session was completed and checked: ${out}")
  endif()
  if(NOT server_exit EQUAL 0)
    message(FATAL_ERROR "${label}: the spawned server did not exit 0 on SIGTERM: ${out}")
  endif()
  set(checked ${checked} PARENT_SCOPE)
  message(STATUS "${label}: ${sessions} sessions, ${verified} checksums verified, 0 errors")
endfunction()

run_bench("normal mode")
run_bench("test mode" --test-mode)
if(NOT checked GREATER 0)
  message(FATAL_ERROR "test mode: no number was checked against the generator")
endif()
