// duet-sign: signs a file and prints the signature as hex (like the seed's
// SignerSample), ready for the "hexSignature" field of a request.
//
//   duet-sign [--algorithm=rsa-pkcs1-sha256] PRIVATE.pem FILE
//
// Algorithms: rsa-pkcs1-sha256 (default), rsa-pss-sha256, rsa-pkcs1-md5.

#include <iostream>
#include <string>

#include "actors/crypto/signing.hpp"
#include "tools/files.hpp"

namespace {

using duet::tools::read_file;

constexpr const char* usage
  = "usage: duet-sign [--algorithm=NAME] PRIVATE.pem FILE\n"
    "Signs the exact bytes of FILE and prints the hex signature.\n"
    "NAME: rsa-pkcs1-sha256 (default), rsa-pss-sha256, rsa-pkcs1-md5\n";

} // namespace

int main(int argc, char** argv) {
  auto algo = duet::crypto::algorithm::rsa_pkcs1_sha256;
  std::string files[2];
  int n = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (arg.rfind("--algorithm=", 0) == 0) {
      auto parsed = duet::crypto::parse_algorithm(arg.substr(12));
      if (!parsed) {
        std::cerr << "duet-sign: unknown algorithm '" << arg.substr(12) << "'\n"
                  << usage;
        return 2;
      }
      algo = *parsed;
    } else if (n < 2) {
      files[n++] = arg;
    } else {
      std::cerr << "duet-sign: unexpected argument '" << arg << "'\n" << usage;
      return 2;
    }
  }
  if (n != 2) {
    std::cerr << usage;
    return 2;
  }
  std::string key, text;
  if (!read_file(files[0], key)) {
    std::cerr << "duet-sign: cannot read private key " << files[0] << "\n";
    return 1;
  }
  if (!read_file(files[1], text)) {
    std::cerr << "duet-sign: cannot read " << files[1] << "\n";
    return 1;
  }
  auto sig = duet::crypto::sign_hex(key, text, algo);
  if (!sig) {
    std::cerr << "duet-sign: " << files[0] << ": "
              << duet::message_of(sig.error()) << "\n";
    return 1;
  }
  std::cout << *sig << "\n";
  return 0;
}
