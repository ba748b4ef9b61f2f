# Every dependency comes from a Debian 12 package; see README.md for the list.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)

# hiredis 0.14's CMake config defines no target; pkg-config does.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
# GMP (exact Fibonacci numbers of any size): its pkg-config file names the library.
pkg_check_modules(GMP REQUIRED IMPORTED_TARGET gmp)

# HTTP/1.1 request heads: http_parser 2.9 ships neither pkg-config nor CMake files.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY NAMES libhttp_parser.a http_parser REQUIRED)
if(NOT TARGET http_parser::http_parser)
  add_library(http_parser::http_parser UNKNOWN IMPORTED)
  set_target_properties(http_parser::http_parser PROPERTIES
    IMPORTED_LOCATION ${HTTP_PARSER_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${HTTP_PARSER_INCLUDE_DIR})
endif()
# Request targets and query strings (RFC 3986).
pkg_check_modules(URIPARSER REQUIRED IMPORTED_TARGET liburiparser)
# WebSocket framing (RFC 6455): wslay's CMake config defines the target `wslay`.
find_package(wslay CONFIG REQUIRED)
# JSON whose numbers stay text (the stream client reads Fibonacci numbers of any size): yajl.
pkg_check_modules(YAJL REQUIRED IMPORTED_TARGET yajl)
# JSON (header-only, inside the library only): the WebSocket stream's requests, and string
# escaping for the json log format.
find_package(nlohmann_json 3.11 CONFIG REQUIRED)
# Metric families and the Prometheus text format (core only: the server serves /metrics itself).
find_package(prometheus-cpp CONFIG REQUIRED COMPONENTS core)

# Asio (standalone, header-only) ships no CMake config: wrap it in a target.
find_path(ASIO_INCLUDE_DIR asio.hpp REQUIRED)
if(NOT TARGET asio::asio)
  add_library(asio::asio INTERFACE IMPORTED)
  target_include_directories(asio::asio SYSTEM INTERFACE ${ASIO_INCLUDE_DIR})
  target_compile_definitions(asio::asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Asio 1.22 does not detect coroutine support on clang with libstdc++.
    target_compile_definitions(asio::asio INTERFACE ASIO_HAS_CO_AWAIT=1 ASIO_HAS_STD_COROUTINE=1)
  endif()
  target_link_libraries(asio::asio INTERFACE Threads::Threads)
endif()

if(NUMSEQUENCE_BUILD_APPS OR NUMSEQUENCE_BUILD_TESTS)
  find_package(cxxopts 3.1 CONFIG REQUIRED)
endif()
if(NUMSEQUENCE_BUILD_TESTS)
  find_package(doctest 2.4 CONFIG REQUIRED)
endif()
