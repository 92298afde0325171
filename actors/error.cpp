#include "actors/error.hpp"

namespace duet {

const char* to_string(ec code) noexcept {
  switch (code) {
    case ec::bad_hex:
      return "bad_hex";
    case ec::odd_length:
      return "odd_length";
    case ec::wrong_length:
      return "wrong_length";
    case ec::unknown_key:
      return "unknown_key";
    case ec::crypto_failure:
      return "crypto_failure";
    case ec::bad_request:
      return "bad_request";
    case ec::forbidden_path:
      return "forbidden_path";
    case ec::no_such_document:
      return "no_such_document";
    case ec::payload_too_large:
      return "payload_too_large";
    case ec::no_verifier:
      return "no_verifier";
    case ec::deadline_exceeded:
      return "deadline_exceeded";
    case ec::overloaded:
      return "overloaded";
    case ec::invalid_config:
      return "invalid_config";
    case ec::injected_fault:
      return "injected_fault";
    case ec::internal_error:
      return "internal_error";
    case ec::invalid_message:
      return "invalid_message";
    case ec::conflict:
      return "conflict";
    case ec::key_mismatch:
      return "key_mismatch";
  }
  return "unknown_error";
}

} // namespace duet
