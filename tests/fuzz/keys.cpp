// Fuzz target keys: key material. Input byte 0 picks the path: even bytes
// parse the rest as a PEM key or certificate, odd bytes write the rest as a
// key folder's keys.json (next to a valid seed key, seed.pem) and load the
// folder. Either gives keys or a failure naming what is wrong.

#include <fstream>
#include <string>

#include "actors/crypto/keyring.hpp"
#include "fuzz/common.hpp"

using namespace duet;

namespace {

const std::string& key_dir() {
  static const std::string dir = [] {
    auto d = fuzz::scratch() + "/keys";
    mkdir(d.c_str(), 0700);
    std::ifstream in{DUET_SOURCE_DIR "/tests/data/seed-vector/public_key.pem",
                     std::ios::binary};
    std::ofstream out{d + "/seed.pem", std::ios::binary};
    out << in.rdbuf();
    return d;
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto key = crypto::public_key::from_pem(rest);
    if (key)
      fuzz::require(key->size() > 0, "a key without a modulus");
    else
      fuzz::require(!message_of(key.error()).empty(),
                    "a refusal without reason");
    return 0;
  }
  {
    std::ofstream out{key_dir() + "/keys.json",
                      std::ios::binary | std::ios::trunc};
    out << rest;
  }
  auto ring = crypto::load_keyring(key_dir());
  if (ring) {
    fuzz::require(ring->size() > 0, "a keyring without keys");
    // Every loaded key verifies or refuses without crashing.
    for (auto& id : ring->ids())
      (void) ring->verify(id, "text", std::string(512, 'a'));
  }
  return 0;
}
