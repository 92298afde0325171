#pragma once

// The request every style sends to a verifier, and its answer: plain values
// that the HTTP side builds and reads, and that travel between nodes (their
// `inspect` functions need only CAF's type-name marker, so including this
// header costs the HTTP side nothing of CAF's).

#include <string>

#include <caf/meta/type_name.hpp>

namespace duet {

/// One verification job: check `hex_signature` over `text` with `key_id`.
struct verify_request {
  /// Id of a key in the verifiers' key folder.
  std::string key_id;
  /// The exact bytes that were signed.
  std::string text;
  /// The signature in hex (2 digits per byte).
  std::string hex_signature;
  /// What the front pins for `key_id`: the algorithm's name and the SHA-256
  /// of the public key (hex). A verifier whose key differs refuses
  /// (`key_mismatch`) instead of answering a verdict.
  std::string algorithm{};
  std::string fingerprint{};
  /// The digest of the text under `algorithm` (raw bytes: 16 for MD5, 32
  /// for SHA-256), set by the front instead of `text`: a verifier needs
  /// only the digest for the public-key operation, so a request costs a few
  /// hundred bytes between nodes whatever the document's size.
  std::string digest{};
};

/// The answer to a `verify_request` that could be checked.
struct verdict {
  /// Whether the signature matched.
  bool verified = false;
  /// Which verifier instance answered, as `<node>/<actor>`.
  std::string verifier;
  /// The key id and the algorithm the verdict was made with (filled in by
  /// the front from what it pins).
  std::string key_id{};
  std::string algorithm{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verify_request& x) {
  return f(caf::meta::type_name("verify_request"), x.key_id, x.text,
           x.hex_signature, x.algorithm, x.fingerprint, x.digest);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verdict& x) {
  return f(caf::meta::type_name("verdict"), x.verified, x.verifier);
}

} // namespace duet
