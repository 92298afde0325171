// Fuzz target body: a verification request body (JSON) -> the request the
// front hands to its actors, or a 4xx failure that names the field.

#include <sys/stat.h>

#include "actors/limits.hpp"
#include "fuzz/common.hpp"
#include "http_front/api.hpp"

using namespace duet;
using namespace duet::http;

namespace {

struct idle_service : verify_service {
  void verify(style, verify_request, callback) override {
  }
  void submit(verify_request, submit_callback) override {
  }
  void task(std::string, std::chrono::milliseconds, task_callback) override {
  }
  void cluster(text_callback) override {
  }
  const front_status& status() const noexcept override {
    return st;
  }
  front_status st;
};

struct world {
  world() {
    auto docs = fuzz::scratch() + "/docs";
    mkdir(docs.c_str(), 0700);
    std::FILE* f = std::fopen((docs + "/a.txt").c_str(), "w");
    std::fputs("document", f);
    std::fclose(f);
    front_options opts;
    opts.documents = docs;
    opts.body_limit = 64 * 1024;
    ctx = std::make_unique<api_context>(opts, "front", service);
  }
  idle_service service;
  std::unique_ptr<api_context> ctx;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static world w;
  std::string body(reinterpret_cast<const char*>(data), size);
  auto req = parse_verify_body(body, *w.ctx);
  if (req) {
    fuzz::require(req->key_id.size() <= limits::key_id, "keyId over limit");
    fuzz::require(req->hex_signature.size() <= limits::signature_hex,
                  "hexSignature over limit");
  } else {
    auto status = to_status(req.error().code);
    fuzz::require(static_cast<int>(status) >= 400
                    && static_cast<int>(status) < 500,
                  "a bad body must be a client error");
    fuzz::require(!req.error().message.empty(), "an error without a message");
  }
  return 0;
}
