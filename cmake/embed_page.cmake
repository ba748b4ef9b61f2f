# Builds the web page the server embeds: reads PAGE (an HTML file), replaces each
#   <link rel="stylesheet" href="FILE">   with <style> and FILE's text </style>
#   <script src="FILE"></script>          with <script> and FILE's text </script>
# (FILE relative to PAGE's folder), writes the result to HTML_OUTPUT for inspection, and to
# CPP_OUTPUT as a C++ source holding it as a byte array, the definition of
# numsequence::detail::page_template() declared in HEADER (numsequence/src/http/page_template.hpp).
#
#   cmake -DPAGE=web/page.html -DHEADER=.../page_template.hpp -DHTML_OUTPUT=page.html
#         -DCPP_OUTPUT=page_html.cpp -P cmake/embed_page.cmake
#
# The page must end up self-contained: a reference left to another file, or an inlined file
# whose text would end its <style> or <script> element early, stops the build.
cmake_minimum_required(VERSION 3.25)

foreach(var PAGE HEADER HTML_OUTPUT CPP_OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_page.cmake: -D${var}=... is required")
  endif()
endforeach()

get_filename_component(page_dir "${PAGE}" DIRECTORY)
file(READ "${PAGE}" html)

# Reads FILE for an inline element <tag>, refusing text that the HTML tokenizer would take as
# the element's end (or, in a script, as the start of an escaped comment, which changes how
# the end tag is found).
function(read_inline_file file tag out_var)
  set(path "${page_dir}/${file}")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "embed_page.cmake: ${PAGE} names ${file}, which does not exist")
  endif()
  file(READ "${path}" text)
  string(TOLOWER "${text}" lower)
  set(forbidden "</${tag}")
  if(tag STREQUAL "script")
    list(APPEND forbidden "<!--" "<script")
  else()
    list(APPEND forbidden "@import" "url(")  # a stylesheet that would fetch another file
  endif()
  foreach(f IN LISTS forbidden)
    string(FIND "${lower}" "${f}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "embed_page.cmake: ${file} contains \"${f}\", which cannot be "
                          "inlined into a <${tag}> element")
    endif()
  endforeach()
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

string(REGEX MATCHALL "<link rel=\"stylesheet\" href=\"[^\"]+\">" links "${html}")
string(REGEX MATCHALL "<script src=\"[^\"]+\"></script>" scripts "${html}")

# Any other reference to a file (an image, a font, another stylesheet) would be fetched. The
# one exception is an empty icon, which stops browsers from asking for /favicon.ico.
string(REPLACE "<link rel=\"icon\" href=\"data:,\">" "" rest "${html}")
foreach(tag IN LISTS links scripts)
  string(REPLACE "${tag}" "" rest "${rest}")
endforeach()
string(TOLOWER "${rest}" lower)
foreach(reference "<link" "<script src" " src=" "@import" "url(")
  string(FIND "${lower}" "${reference}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "embed_page.cmake: ${PAGE} refers to another file in a way this "
                        "script does not inline (\"${reference}\")")
  endif()
endforeach()

foreach(tag IN LISTS links)
  string(REGEX REPLACE "^<link rel=\"stylesheet\" href=\"([^\"]+)\">$" "\\1" file "${tag}")
  read_inline_file("${file}" style text)
  string(REPLACE "${tag}" "<style>\n${text}</style>" html "${html}")
endforeach()

foreach(tag IN LISTS scripts)
  string(REGEX REPLACE "^<script src=\"([^\"]+)\"></script>$" "\\1" file "${tag}")
  read_inline_file("${file}" script text)
  string(REPLACE "${tag}" "<script>\n${text}</script>" html "${html}")
endforeach()

file(WRITE "${HTML_OUTPUT}" "${html}")

# The bytes as C++: "0x3c,0x21,..." in lines of 16. Read back from the file just written, so
# every byte (UTF-8 included) goes through exactly as it is.
file(READ "${HTML_OUTPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x..," 16 line)  # CMake's regular expressions have no {n}
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")

file(WRITE "${CPP_OUTPUT}"
"// Generated from ${PAGE} by cmake/embed_page.cmake: do not edit.
#include <cstddef>
#include <string_view>

#include \"${HEADER}\"

namespace numsequence::detail {
namespace {

constexpr unsigned char page_bytes[${size}] = {
    ${bytes}
};

}  // namespace

std::string_view page_template() noexcept {
  // unsigned char holds bytes past 0x7f without a narrowing conversion; std::string_view
  // wants char, which may alias any object.
  return {reinterpret_cast<const char*>(page_bytes), sizeof page_bytes};
}

}  // namespace numsequence::detail
")
