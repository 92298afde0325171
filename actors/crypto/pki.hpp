#pragma once

// The cluster's public-key infrastructure, free of CAF: a CA that issues
// one certificate per node (its name as CN and as a DNS SAN), and the check
// a node runs on its TLS files before CAF's OpenSSL module sees them (CAF
// hangs on a missing file and terminates on a certificate without its key).
// Keys are EC P-256; key files are written with mode 0600.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/core/error.hpp"

struct evp_pkey_st;

namespace duet::pki {

/// Creates `dir` (if needed) with `ca.pem` and `ca.key` unless `ca.pem`
/// exists there already; returns whether a new CA was made.
caf::expected<bool> init_ca(const std::string& dir);

/// The roles a certificate may vouch for (as OU entries of its subject).
inline constexpr const char* known_roles[] = {"front", "verifier", "supervisor",
                                              "hub"};

/// Issues `NAME.pem` and `NAME.key` in `dir` for node `name` with `roles`,
/// signed by the CA of `dir` (replacing an older pair). `hosts` (IP
/// addresses or DNS names) become subject alternative names too, for an
/// HTTPS front that clients reach by address.
caf::expected<bool> issue(const std::string& dir, const std::string& name,
                          const std::vector<std::string>& roles,
                          const std::vector<std::string>& hosts = {});

/// What a certificate vouches for.
struct identity {
  /// The certificate's subject CN: the node's name.
  std::string name;
  /// Its subject OU entries: the roles the node may run.
  std::vector<std::string> roles;
  /// Seconds until the certificate expires.
  long long seconds_left = 0;

  /// Returns whether the certificate vouches for `role`.
  bool has_role(std::string_view role) const;
};

/// Checks that `ca` holds CA certificates, `certificate` a certificate that
/// chains to one of them and is valid now, and `key` its private key;
/// returns the certificate's identity, or `invalid_config` naming the file
/// and what is wrong.
caf::expected<identity> check(const std::string& ca,
                              const std::string& certificate,
                              const std::string& key);

/// Returns the text a proof signs: what it is for, the challenge (a nonce, a
/// time stamp), and the name the node claims.
std::string proof_message(std::string_view purpose, std::string_view challenge,
                          std::string_view name);

/// A node's own identity: its certificate and key, to sign proofs that it
/// holds the certificate of the name it claims.
class signer {
public:
  /// Loads the certificate (PEM) and its private key.
  static caf::expected<signer> load(const std::string& certificate,
                                    const std::string& key);

  /// The certificate as PEM text (sent along with proofs).
  const std::string& certificate() const noexcept {
    return certificate_;
  }

  /// Signs `message` with the key (SHA-256); returns the signature bytes.
  caf::expected<std::string> sign(std::string_view message) const;

private:
  std::string certificate_;
  std::shared_ptr<evp_pkey_st> key_;
};

/// Checks proofs of other nodes against the cluster CA.
class authority {
public:
  /// Loads the CA certificate(s).
  static caf::expected<authority> load(const std::string& ca);

  /// Returns what `certificate` (PEM) vouches for if it chains to the CA
  /// and `signature` is its key's signature over `message`; otherwise a
  /// failure that says which check failed. Certificates already checked are
  /// remembered (at most 1024), so a proof costs one signature check.
  caf::expected<identity> verify(std::string_view certificate,
                                 std::string_view message,
                                 std::string_view signature) const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace duet::pki
