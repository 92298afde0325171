#pragma once

// A node proves the name it claims; CAF's TLS checks only that a peer's
// certificate chains to the cluster CA, never its name. A node answers a
// challenge (a nonce of the checking side, or a time stamp) with its
// certificate and a signature over it made with its TLS key; the checking
// side verifies chain, name and signature. Without TLS (tls.insecure=true)
// there is nothing to prove with and every check passes.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "actors/fwd.hpp"
#include "actors/options.hpp"
#include "actors/pki.hpp"

namespace duet {

/// What a node needs to prove its own name and check the names of others.
struct node_identity {
  /// This node's name (node.name, proven by its certificate with TLS).
  std::string name;
  /// Signs proofs; null without TLS.
  std::shared_ptr<const pki::signer> self;
  /// Checks proofs; null without TLS.
  std::shared_ptr<const pki::authority> ca;

  /// Returns whether names are proven (TLS on).
  bool enabled() const noexcept {
    return ca != nullptr;
  }

  /// Returns this node's proof for `purpose` over `challenge` (empty
  /// without TLS).
  expected<identity_proof> prove(std::string_view purpose,
                                 std::string_view challenge) const;

  /// Checks that `proof` was made for `purpose` by the holder of a
  /// certificate of the cluster CA named `claimed` that vouches for `role`
  /// (any role if null); returns `ec::invalid_message` saying which check
  /// failed. The caller checks that `proof.challenge` is one it issued (or
  /// a fresh time stamp).
  caf::error check(std::string_view purpose, std::string_view claimed,
                   const identity_proof& proof,
                   const char* role = nullptr) const;
};

/// Returns the text a result batch's proof signs: a SHA-256 digest (hex)
/// of every field of every result, in order.
std::string results_digest(const std::vector<choreo_result>& results);

/// Returns the node name of a member id (`<node>#<nonce>`) or of an
/// instance name (`<node>/verifier-<n>`).
std::string_view node_of(std::string_view name) noexcept;

/// Returns the challenge a beat's proof signs: `<unix ms>:<alive|leaving>:
/// <member>`.
std::string beat_challenge(int64_t unix_ms, bool leaving,
                           const std::string& member);

/// Parses the time stamp of a beat's challenge if the rest matches
/// `leaving` and `member`; -1 otherwise.
int64_t beat_stamp(const std::string& challenge, bool leaving,
                   const std::string& member);

/// Checks a batch of results (validate.cpp) and its proof: signed by the
/// node `signer` (a verifier) over the results' digest.
caf::error check_signed(const node_identity& self, const result_batch& x);

/// Checks a decline (validate.cpp) and its proof: signed by the member's
/// node (a verifier) for this task.
caf::error check_signed(const node_identity& self, const task_decline& x);

/// The node identity from `[tls]`, or a failure naming the file.
expected<std::shared_ptr<const node_identity>>
load_identity(const std::string& name, const tls_options& tls);

/// Challenges a node issued and not yet seen answered: each is good once,
/// for `ttl`; at most `max` are kept (the oldest go first).
class challenges {
public:
  using clock_type = std::chrono::steady_clock;

  explicit challenges(std::chrono::nanoseconds ttl = std::chrono::seconds(30),
                      size_t max = 4096)
    : ttl_(ttl), max_(max) {
    // nop
  }

  /// Returns a new random challenge.
  std::string issue(clock_type::time_point now);

  /// Returns whether `x` was issued, not used yet and not expired; it
  /// cannot be used again either way.
  bool redeem(const std::string& x, clock_type::time_point now);

  size_t size() const noexcept {
    return issued_.size();
  }

private:
  std::chrono::nanoseconds ttl_;
  size_t max_;
  std::map<std::string, clock_type::time_point> issued_;
};

} // namespace duet
