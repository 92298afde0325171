#pragma once

// duet's one error model: an `ec` code with a message that says what is
// wrong, carried as a `caf::error` of category "duet" (in messages between
// nodes as well), returned as `caf::expected<T>` from fallible functions and
// `caf::result<T>` from handlers. `http_front` maps codes to HTTP statuses
// in one function (`to_status`).

#include <cstdint>
#include <string>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>

#include "actors/core/names.hpp"

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
  /// No task with this id (never accepted, or forgotten).
  unknown_task,
  /// A part of the front (router, task desk) is restarting; retry.
  unavailable,
};

template <>
struct enum_names<ec> {
  static constexpr std::pair<ec, const char*> table[] = {
    {ec::bad_hex, "bad_hex"},
    {ec::odd_length, "odd_length"},
    {ec::wrong_length, "wrong_length"},
    {ec::unknown_key, "unknown_key"},
    {ec::crypto_failure, "crypto_failure"},
    {ec::bad_request, "bad_request"},
    {ec::forbidden_path, "forbidden_path"},
    {ec::no_such_document, "no_such_document"},
    {ec::payload_too_large, "payload_too_large"},
    {ec::no_verifier, "no_verifier"},
    {ec::deadline_exceeded, "deadline_exceeded"},
    {ec::overloaded, "overloaded"},
    {ec::invalid_config, "invalid_config"},
    {ec::injected_fault, "injected_fault"},
    {ec::internal_error, "internal_error"},
    {ec::invalid_message, "invalid_message"},
    {ec::conflict, "conflict"},
    {ec::key_mismatch, "key_mismatch"},
    {ec::unknown_task, "unknown_task"},
    {ec::unavailable, "unavailable"},
  };
};

} // namespace duet

CAF_ERROR_CODE_ENUM(duet::ec, "duet")

namespace duet {

/// Returns what `x` says went wrong: the message of a duet error, CAF's
/// name of its own errors (e.g. "request_timeout"), or "" for no error.
std::string message_of(const caf::error& x);

/// Returns the duet code of `x`. CAF's own errors mean that a peer failed:
/// `deadline_exceeded` for a request that timed out, `no_verifier` for
/// anything else (gone, unreachable, unexpected answer).
ec code_of(const caf::error& x);

/// Returns whether `x` is duet's error `code`.
bool is_code(const caf::error& x, ec code);

/// Returns whether `x` means "the peer failed" (a CAF error: timed out,
/// gone, unreachable, or it did not understand the request) rather than
/// "the peer answered with a duet error", i.e. whether a retry on another
/// peer may succeed.
bool is_transport_error(const caf::error& x);

/// Registers the category "duet" with `cfg`, so that CAF renders duet's
/// errors with their names and messages.
void add_error_category(caf::actor_system_config& cfg);

} // namespace duet
