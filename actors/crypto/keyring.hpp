#pragma once

// Signature verification with OpenSSL, free of CAF: parse each key once, keep
// it, verify many times. A mismatch is a normal `false`; malformed input and
// OpenSSL failures are `failure`s with distinct codes.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/core/error.hpp"

struct evp_pkey_st;
struct evp_md_ctx_st;

namespace duet::crypto {

/// Signature schemes duet verifies.
enum class algorithm : uint8_t {
  /// RSASSA-PKCS1-v1_5 with SHA-256 (the default).
  rsa_pkcs1_sha256,
  /// RSASSA-PSS with SHA-256, MGF1-SHA-256, any salt length.
  rsa_pss_sha256,
  /// RSASSA-PKCS1-v1_5 with MD5 (Java's MD5withRSA): broken, legacy only.
  rsa_pkcs1_md5,
};

/// Returns the config name of `x`, e.g. `"rsa-pkcs1-sha256"`.
const char* to_string(algorithm x) noexcept;

/// Parses a config name as written by `to_string`.
std::optional<algorithm> parse_algorithm(std::string_view name) noexcept;

/// Returns whether `x` is only accepted for keys marked legacy.
bool is_legacy(algorithm x) noexcept;

/// Returns the size in bytes of the message digest `x` signs over (16 for
/// MD5, 32 for SHA-256).
size_t digest_size(algorithm x) noexcept;

/// Returns the message digest of `text` that a signature under `x` covers
/// (MD5 or SHA-256), as raw bytes; `crypto_failure` if OpenSSL failed.
caf::expected<std::string> message_digest(algorithm x, std::string_view text);

/// Returns the message digest of the file at `path` (as `message_digest`),
/// read in chunks of 1 MiB, never whole; `payload_too_large` past `limit`
/// bytes, `no_such_document` if it cannot be read.
caf::expected<std::string> file_digest(algorithm x, const std::string& path,
                                       uint64_t limit);

/// Returns the oldest queued OpenSSL error of this thread as text and clears
/// the queue.
std::string openssl_error();

/// Decodes hex digits (either case). Fails with `bad_hex` or `odd_length`.
caf::expected<std::vector<uint8_t>> decode_hex(std::string_view hex);

/// Encodes bytes as lowercase hex digits.
std::string encode_hex(const uint8_t* data, size_t size);

/// An RSA public key, parsed once from PEM.
class public_key {
public:
  /// Parses a SubjectPublicKeyInfo PEM block or an X.509 certificate (PEM);
  /// takes the key of the certificate without checking its dates.
  static caf::expected<public_key> from_pem(std::string_view pem);

  /// Reads `path` and parses it with `from_pem`.
  static caf::expected<public_key> from_file(const std::string& path);

  /// Returns the size of the RSA modulus in bytes (= signature length).
  size_t size() const noexcept {
    return size_;
  }

  /// Returns the SHA-256 of the key's SubjectPublicKeyInfo (DER) in hex:
  /// what a front pins.
  const std::string& fingerprint() const noexcept {
    return fingerprint_;
  }

  /// Returns the OpenSSL key (still owned by this object).
  evp_pkey_st* native() const noexcept {
    return key_.get();
  }

private:
  struct deleter {
    void operator()(evp_pkey_st* ptr) const noexcept;
  };

  std::shared_ptr<evp_pkey_st> key_;
  size_t size_ = 0;
  std::string fingerprint_;
};

/// An immutable-after-loading set of verification keys, safe to use from
/// several threads at once.
class keyring {
public:
  keyring();
  keyring(keyring&&) noexcept;
  keyring& operator=(keyring&&) noexcept;
  ~keyring();

  /// Adds `key` under `id`. Refuses legacy algorithms unless `legacy`, an
  /// empty or duplicate id, and keys that are not RSA.
  caf::expected<bool> add(std::string id, public_key key, algorithm algo,
                          bool legacy);

  /// Verifies `signature_hex` over `text` with key `key_id`. Returns `true` on
  /// a match, `false` on a mismatch, and a failure for bad input or an
  /// OpenSSL error.
  caf::expected<bool> verify(std::string_view key_id, std::string_view text,
                             std::string_view signature_hex) const;

  /// Verifies `signature_hex` over a message whose digest (`message_digest`
  /// under the key's algorithm) is `digest`: only the public-key operation,
  /// so the message itself need not travel. Same answers as `verify` on the
  /// message; a digest of the wrong size is `bad_request`.
  caf::expected<bool> verify_digest(std::string_view key_id,
                                    std::string_view digest,
                                    std::string_view signature_hex) const;

  /// Returns whether `id` names a loaded key.
  bool contains(std::string_view id) const;

  /// What a key id stands for: its algorithm and public-key fingerprint.
  struct pin {
    algorithm algo;
    std::string fingerprint;
  };

  /// Returns the algorithm and fingerprint of key `id`, if loaded.
  std::optional<pin> pinned(std::string_view id) const;

  /// Returns the ids of all loaded keys in order.
  std::vector<std::string> ids() const;

  /// Returns the number of loaded keys.
  size_t size() const noexcept {
    return entries_.size();
  }

private:
  struct entry;

  // The entry of `key_id` and the signature's bytes, or why not.
  caf::expected<std::pair<const entry*, std::vector<uint8_t>>>
  prepare(std::string_view key_id, std::string_view signature_hex) const;

  std::map<std::string, std::unique_ptr<entry>, std::less<>> entries_;
};

/// Loads the key folder `dir`: its `keys.json` manifest maps each key id to a
/// file in the folder, an algorithm and an optional `legacy` flag. Every
/// failure names the file and what is wrong with it.
caf::expected<keyring> load_keyring(const std::string& dir);

} // namespace duet::crypto
