#pragma once

// The cluster's public-key infrastructure, free of CAF: a CA that issues
// one certificate per node (its name as CN and as a DNS SAN), and the check
// a node runs on its TLS files before CAF's OpenSSL module sees them (CAF
// hangs on a missing file and terminates on a certificate without its key).
// Keys are EC P-256; key files are written with mode 0600.

#include <string>

#include "actors/error.hpp"

namespace duet::pki {

/// Creates `dir` (if needed) with `ca.pem` and `ca.key` unless `ca.pem`
/// exists there already; returns whether a new CA was made.
expected<bool> init_ca(const std::string& dir);

/// Issues `NAME.pem` and `NAME.key` in `dir` for node `name`, signed by the
/// CA of `dir` (replacing an older pair).
expected<bool> issue(const std::string& dir, const std::string& name);

/// What `check` found in a node's TLS files.
struct identity {
  /// The certificate's subject CN: the node's name.
  std::string name;
  /// Seconds until the certificate expires.
  long long seconds_left = 0;
};

/// Checks that `ca` holds CA certificates, `certificate` a certificate that
/// chains to one of them and is valid now, and `key` its private key;
/// returns the certificate's identity, or `invalid_config` naming the file
/// and what is wrong.
expected<identity> check(const std::string& ca, const std::string& certificate,
                         const std::string& key);

} // namespace duet::pki
