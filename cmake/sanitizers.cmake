if(NUMSEQUENCE_SANITIZE)
  message(STATUS "numsequence: building with -fsanitize=${NUMSEQUENCE_SANITIZE}")
  add_compile_options(-fsanitize=${NUMSEQUENCE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${NUMSEQUENCE_SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND NUMSEQUENCE_SANITIZE MATCHES "undefined")
    # clang 14's -fsanitize=function rejects Asio's coroutine frames.
    add_compile_options(-fno-sanitize=function)
  endif()
endif()
