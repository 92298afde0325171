// duet-keygen: makes an RSA key pair for test requests.
//
//   duet-keygen [--bits=2048] PRIVATE.pem PUBLIC.pem
//
// Put PUBLIC.pem in a verifier's key folder and list it in keys.json; sign
// texts with duet-sign and PRIVATE.pem.

#include <iostream>
#include <string>

#include "actors/crypto/signing.hpp"
#include "tools/files.hpp"

namespace {

using duet::tools::write_file;

constexpr const char* usage
  = "usage: duet-keygen [--bits=2048] PRIVATE.pem PUBLIC.pem\n"
    "Writes a new RSA key pair: PKCS#8 private key, SubjectPublicKeyInfo "
    "public key.\n";

} // namespace

int main(int argc, char** argv) {
  int bits = 2048;
  std::string files[2];
  int n = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg.rfind("--bits=", 0) == 0) {
      bits = std::atoi(arg.c_str() + 7);
      if (bits < 1024 || bits > 16384) {
        std::cerr << "duet-keygen: --bits must be in 1024..16384\n";
        return 2;
      }
    } else if (n < 2) {
      files[n++] = arg;
    } else {
      std::cerr << "duet-keygen: unexpected argument '" << arg << "'\n"
                << usage;
      return 2;
    }
  }
  if (n != 2) {
    std::cerr << usage;
    return 2;
  }
  auto pair = duet::crypto::generate_rsa(bits);
  if (!pair) {
    std::cerr << "duet-keygen: " << duet::message_of(pair.error()) << "\n";
    return 1;
  }
  if (!write_file(files[0], pair->private_pem)
      || !write_file(files[1], pair->public_pem)) {
    std::cerr << "duet-keygen: cannot write the key files\n";
    return 1;
  }
  std::cout << "wrote " << files[0] << " (private) and " << files[1]
            << " (public), RSA-" << bits << "\n";
  return 0;
}
