// Fuzz target body: a verification request body (JSON) -> the request the
// front hands to its actors, or a 4xx failure that names the field.

#include <sys/stat.h>

#include "actors/core/limits.hpp"
#include "fuzz/front.hpp"

using namespace duet;
using namespace duet::http;

namespace {} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::front_world w;
  std::string body(reinterpret_cast<const char*>(data), size);
  auto req = parse_verify_body(body, *w.ctx);
  if (req) {
    fuzz::require(req->key_id.size() <= limits::key_id, "keyId over limit");
    fuzz::require(req->hex_signature.size() <= limits::signature_hex,
                  "hexSignature over limit");
  } else {
    auto status = to_status(code_of(req.error()));
    fuzz::require(static_cast<int>(status) >= 400
                    && static_cast<int>(status) < 500,
                  "a bad body must be a client error");
    fuzz::require(!message_of(req.error()).empty(),
                  "an error without a message");
  }
  return 0;
}
