#pragma once

// Key generation and signing for tools and tests (nodes only verify).

#include <string>
#include <string_view>

#include "actors/crypto/keyring.hpp"

namespace duet::crypto {

/// A PEM-encoded RSA key pair.
struct key_pair {
  /// PKCS#8 private key.
  std::string private_pem;
  /// SubjectPublicKeyInfo public key.
  std::string public_pem;
};

/// Generates an RSA key pair with a modulus of `bits` bits.
caf::expected<key_pair> generate_rsa(int bits);

/// Signs `text` with the PEM private key `private_pem` under `algo` and
/// returns the signature as lowercase hex.
caf::expected<std::string> sign_hex(std::string_view private_pem,
                                    std::string_view text, algorithm algo);

} // namespace duet::crypto
