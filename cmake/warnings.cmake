add_library(numsequence_warnings INTERFACE)
target_compile_options(numsequence_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 reports a false -Wmismatched-new-delete on Asio coroutine frames.
  target_compile_options(numsequence_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
if(NUMSEQUENCE_WERROR)
  target_compile_options(numsequence_warnings INTERFACE -Werror)
endif()
