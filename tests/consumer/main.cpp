// Encodes the reference's first exchange and checks its checksum with the installed library.
#include <numsequence/protocol/codec.hpp>
#include <numsequence/sequence/checksum.hpp>
#include <numsequence/sequence/sequence.hpp>

#include <cstdio>

int main() {
  using namespace numsequence;
  sequence_params p;
  p.mode = sequence_mode::test;
  p.id = *client_id::parse("123e4567-e89b-12d3-a456-426614174000");
  p.n = 5;
  p.batch = 5;
  std::string wire;
  append_num(wire, whole_sequence(p));
  const bool ok = wire == "NUM,6:41:81:68:68;" &&
                  to_hex(sequence_checksum(p)) == "f90b20dae8c9b7d7be2a5fb7cc856e8b";
  std::puts(ok ? "consumer: ok" : "consumer: WRONG");
  return ok ? 0 : 1;
}
