// Parsing verification request bodies with simdjson: nlohmann's lexer
// appends each character of a string separately, which cost a fifth of the
// front's CPU on the seed's 3.3 KB text (perf, direct style under load).

#include "http_front/api.hpp"

#include <simdjson.h>

#include "actors/core/limits.hpp"
#include "actors/core/text.hpp"

namespace duet::http {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// Reads string field `name` of `obj` into `out`; absent leaves `found` false.
caf::expected<bool> string_field(object obj, const char* name, std::string& out,
                                 bool& found) {
  element value;
  found = obj.at_key(name).get(value) == simdjson::SUCCESS;
  if (!found)
    return true;
  std::string_view str;
  if (value.get(str) != simdjson::SUCCESS)
    return caf::make_error(ec::bad_request, std::string{"field \""} + name
                                              + "\" must be a string");
  out.assign(str.data(), str.size());
  return true;
}

} // namespace

caf::expected<verify_request> parse_verify_body(const std::string& body,
                                                const api_context& ctx,
                                                std::string* document) {
  // One parser per io thread: it keeps its buffers between requests.
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded{body};
  element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS)
    return caf::make_error(ec::bad_request, "request body is not valid JSON");
  object obj;
  if (doc.get(obj) != simdjson::SUCCESS)
    return caf::make_error(ec::bad_request,
                           "request body must be a JSON object");
  verify_request req;
  bool found = false;
  if (auto ok = string_field(obj, "hexSignature", req.hex_signature, found);
      !ok)
    return ok.error();
  if (!found)
    return caf::make_error(ec::bad_request, "missing field \"hexSignature\"");
  if (auto ok = string_field(obj, "keyId", req.key_id, found); !ok)
    return ok.error();
  if (!found)
    req.key_id = ctx.opts.default_key_id;
  if (req.key_id.size() > limits::key_id)
    return caf::make_error(ec::bad_request, "field \"keyId\" is longer than "
                                              + std::to_string(limits::key_id)
                                              + " bytes");
  if (ctx.pinned && req.key_id.rfind('!', 0) != 0) {
    // What this front pins for the id travels with the request; ids that
    // start with '!' are fault-injection switches of test verifiers.
    auto pin = ctx.pinned->pinned(req.key_id);
    if (!pin)
      return caf::make_error(ec::unknown_key,
                             "unknown keyId '" + printable(req.key_id)
                               + "' (this front pins the keys of front.keys)");
    req.algorithm = crypto::to_string(pin->algo);
    req.fingerprint = pin->fingerprint;
  }
  if (req.hex_signature.size() > limits::signature_hex)
    return caf::make_error(ec::bad_request,
                           "field \"hexSignature\" is longer than "
                             + std::to_string(limits::signature_hex)
                             + " hex digits");
  bool has_text = false;
  for (auto name : {"text", "texto"}) {
    std::string text;
    if (auto ok = string_field(obj, name, text, found); !ok)
      return ok.error();
    if (found) {
      if (has_text)
        return caf::make_error(ec::bad_request,
                               "give the text once, as \"text\" or \"texto\"");
      has_text = true;
      req.text = std::move(text);
    }
  }
  std::string file;
  if (auto ok = string_field(obj, "textFile", file, found); !ok)
    return ok.error();
  if (found && has_text)
    return caf::make_error(ec::bad_request,
                           "give either \"text\" or \"textFile\", not both");
  if (found && document != nullptr && !req.algorithm.empty()) {
    // Hashed later, off the io thread, never read whole.
    auto path = ctx.documents.resolve(file);
    if (!path)
      return path.error();
    *document = std::move(*path);
  } else if (found) {
    auto data = ctx.documents.read(file, ctx.opts.body_limit);
    if (!data)
      return data.error();
    req.text = std::move(*data);
  } else if (!has_text) {
    return caf::make_error(
      ec::bad_request, "missing field \"text\" (or \"texto\" or \"textFile\")");
  }
  return req;
}

caf::error hash_text(verify_request& req) {
  if (req.algorithm.empty())
    return {};
  auto algo = crypto::parse_algorithm(req.algorithm);
  if (!algo)
    return caf::make_error(ec::crypto_failure,
                           "no digest for '" + printable(req.algorithm) + "'");
  auto digest = crypto::message_digest(*algo, req.text);
  if (!digest)
    return std::move(digest.error());
  req.digest = std::move(*digest);
  std::string{}.swap(req.text);
  return {};
}

} // namespace duet::http
