#pragma once

// duet's error codes and a small `expected` for code that must not depend on
// CAF (the crypto class, request parsing). Actors turn a `failure` into a
// `caf::error` with `to_caf_error` (see fwd.hpp).

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace duet {

/// Everything that can go wrong in duet, in one enum (starting at 1, as CAF
/// requires). Registered with CAF as error category "duet".
enum class ec : uint8_t {
  /// The hex signature contains a character that is not a hex digit.
  bad_hex = 1,
  /// The hex signature has an odd number of digits.
  odd_length,
  /// The decoded signature does not have the key's modulus length.
  wrong_length,
  /// No key with the requested id is loaded.
  unknown_key,
  /// OpenSSL failed (not a mismatch: the verification could not run).
  crypto_failure,
  /// The request body or a field of it is malformed.
  bad_request,
  /// A `textFile` escapes the document folder.
  forbidden_path,
  /// A `textFile` does not exist in the document folder.
  no_such_document,
  /// The request body exceeds the configured limit.
  payload_too_large,
  /// No verifier is connected or registered.
  no_verifier,
  /// The request's deadline passed before any verifier answered.
  deadline_exceeded,
  /// Too much work is pending; the caller should retry later.
  overloaded,
  /// A key file, the key manifest or a config value is invalid.
  invalid_config,
  /// The verifier crashed on purpose (fault injection, tests only).
  injected_fault,
  /// A handler threw; the actor went on with its next message.
  internal_error,
  /// A peer sent a message with a value that is out of range or malformed.
  invalid_message,
  /// A node registered under the name of another node that is alive.
  conflict,
  /// A verifier's key for a key id is not the one the front pins.
  key_mismatch,
};

/// Returns the enumerator's name, e.g. `"bad_hex"`.
const char* to_string(ec code) noexcept;

/// An error code with a human-readable message that says what is wrong.
struct failure {
  ec code;
  std::string message;
};

/// Holds either a `T` or a `failure`; the CAF-free twin of `caf::expected`.
template <class T>
class expected {
public:
  expected(T value) : data_(std::move(value)) {
    // nop
  }

  expected(failure err) : data_(std::move(err)) {
    // nop
  }

  /// Returns whether this holds a value.
  explicit operator bool() const noexcept {
    return data_.index() == 0;
  }

  T& operator*() {
    return std::get<0>(data_);
  }

  const T& operator*() const {
    return std::get<0>(data_);
  }

  T* operator->() {
    return &std::get<0>(data_);
  }

  const T* operator->() const {
    return &std::get<0>(data_);
  }

  /// @pre `!*this`
  const failure& error() const {
    return std::get<1>(data_);
  }

  /// @pre `!*this`
  failure& error() {
    return std::get<1>(data_);
  }

private:
  std::variant<T, failure> data_;
};

} // namespace duet
