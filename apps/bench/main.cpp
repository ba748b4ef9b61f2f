// numsequence-bench: a load generator for numsequence-server, with a TCP ping-pong floor.
//
// Every connection checks what it is sent: each NUM has the batch's size (and, in test
// mode, the numbers the reference's generator gives), a batch asked for again is the same
// as the first time, and each FAC equals the MD5 of the numbers received. A server that is
// fast but wrong makes the run fail (exit 1); it is not a result.

#include <exception>
#include <iostream>

#include "bench/options.hpp"
#include "bench/run.hpp"
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace numsequence;
  bench::bench_options o;
  try {
    o = bench::parse_command_line(argc, argv);
  } catch (const cli::usage_error& e) {
    std::cerr << "numsequence-bench: " << e.what() << "\nTry 'numsequence-bench --help'.\n";
    return 2;
  }
  try {
    return bench::run(o);
  } catch (const std::exception& e) {
    std::cerr << "numsequence-bench: " << e.what() << '\n';
    return 1;
  }
}
