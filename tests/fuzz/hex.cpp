// Fuzz target hex: hex decoding of signatures. What decodes encodes back to
// the same digits (lowercase); what does not is bad_hex or odd_length.

#include <cctype>
#include <string>

#include "actors/crypto/keyring.hpp"
#include "fuzz/common.hpp"

using namespace duet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view hex{reinterpret_cast<const char*>(data), size};
  auto bytes = crypto::decode_hex(hex);
  if (!bytes) {
    auto code = code_of(bytes.error());
    fuzz::require(code == ec::bad_hex || code == ec::odd_length,
                  "unexpected error code");
    return 0;
  }
  fuzz::require(bytes->size() * 2 == size, "wrong decoded size");
  auto back = crypto::encode_hex(bytes->data(), bytes->size());
  for (size_t i = 0; i < size; ++i)
    fuzz::require(back[i] == std::tolower(static_cast<unsigned char>(hex[i])),
                  "round trip differs");
  return 0;
}
