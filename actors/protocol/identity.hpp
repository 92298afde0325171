#pragma once

// A node proves the name it claims; CAF's TLS checks only that a peer's
// certificate chains to the cluster CA, never its name. A node answers a
// challenge (a nonce of the checking side, or a time stamp) with its
// certificate and a signature over it made with its TLS key; the checking
// side verifies chain, name and signature. Without TLS (tls.insecure=true)
// there is nothing to prove with and every check passes.

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>

#include "actors/core/options.hpp"
#include "actors/crypto/pki.hpp"
#include "actors/protocol/fwd.hpp"

namespace duet {

/// What a proof is for; part of the text it signs, so that a proof for one
/// purpose never passes for another.
enum class purpose : uint8_t {
  /// A verifier node registers with the supervisor.
  register_node,
  /// A verifier node deregisters (a clean stop).
  deregister_node,
  /// A front subscribes to the supervisor's registry.
  subscribe,
  /// A node asks the hub for a group.
  group,
  /// A choreography member's heartbeat.
  beat,
  /// A batch of choreography results.
  results,
  /// A choreography member declines a task.
  decline,
};

template <>
struct enum_names<purpose> {
  static constexpr std::pair<purpose, const char*> table[] = {
    {purpose::register_node, "register"},
    {purpose::deregister_node, "deregister"},
    {purpose::subscribe, "subscribe"},
    {purpose::group, "group"},
    {purpose::beat, "beat"},
    {purpose::results, "results"},
    {purpose::decline, "decline"},
  };
};

/// What a node needs to prove its own name and check the names of others.
struct node_identity {
  /// This node's name (node.name, proven by its certificate with TLS).
  std::string name;
  /// Signs proofs; null without TLS.
  std::shared_ptr<const pki::signer> self;
  /// Checks proofs; null without TLS.
  std::shared_ptr<const pki::authority> ca;
  /// Lifetime of a challenge; how old a signed heartbeat may be.
  std::chrono::nanoseconds proof_ttl = defaults::proof_ttl;

  /// Returns whether names are proven (TLS on).
  bool enabled() const noexcept {
    return ca != nullptr;
  }

  /// Returns this node's proof for `purpose` over `challenge` (empty
  /// without TLS).
  caf::expected<identity_proof> prove(purpose what,
                                      std::string_view challenge) const;

  /// Checks that `proof` was made for `purpose` by the holder of a
  /// certificate of the cluster CA named `claimed` that vouches for one of
  /// `roles` (any role if empty); returns `ec::invalid_message` saying which
  /// check failed. The caller checks that `proof.challenge` is one it issued
  /// (or a fresh time stamp).
  caf::error check(purpose what, std::string_view claimed,
                   const identity_proof& proof,
                   std::initializer_list<role> roles = {}) const;
};

/// Returns the text a result batch's proof signs: a SHA-256 digest (hex)
/// of every field of every result, in order.
caf::expected<std::string>
results_digest(const std::vector<choreo_result>& results);

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

/// Returns a heartbeat of consumer `member` of this node, signed now.
member_beat make_beat(const node_identity& self, const std::string& member,
                      bool leaving);

/// Checks the consumers' heartbeats: proven by the member's node, stamped
/// within tls.proof-ttl of this node's clock and newer than the member's
/// last (a replayed beat is older). Remembers a bounded number of members.
class beat_checker {
public:
  caf::error check(const node_identity& self, const member_beat& b);

  /// Forgets member `member` (it left).
  void forget(const std::string& member) {
    last_stamp_.erase(member);
  }

private:
  std::unordered_map<std::string, int64_t> last_stamp_;
};

/// Checks a batch of results (validate.cpp) and its proof: signed by the
/// node `signer` (a verifier) over the results' digest.
caf::error check_signed(const node_identity& self, const result_batch& x);

/// Checks a decline (validate.cpp) and its proof: signed by the member's
/// node (a verifier) for this task.
caf::error check_signed(const node_identity& self, const task_decline& x);

/// The node identity from `[tls]`, or a failure naming the file.
caf::expected<std::shared_ptr<const node_identity>>
load_identity(const std::string& name, const tls_options& tls);

/// Challenges a node issues to peers that want to prove their names. A
/// challenge carries its expiry and a MAC under a secret of this object, so
/// issuing one stores nothing (any peer may ask for any number). Each is
/// good once, until it expires: `redeem` remembers the challenges used
/// until then, at most `max` (callers redeem only after the proof's
/// signature checked out, so only certified nodes can fill that set).
class challenges {
public:
  using clock_type = std::chrono::steady_clock;

  explicit challenges(std::chrono::nanoseconds ttl = std::chrono::seconds(30),
                      size_t max = 4096);

  /// Returns a new challenge, good until `now + ttl`.
  std::string issue(clock_type::time_point now) const;

  /// Returns whether `x` was issued by this object, has not expired and was
  /// not redeemed before; it cannot be redeemed again either way.
  bool redeem(const std::string& x, clock_type::time_point now);

  /// Returns the number of challenges remembered as used.
  size_t size() const noexcept {
    return used_.size();
  }

private:
  std::string mac(std::string_view nonce_and_expiry) const;

  std::chrono::nanoseconds ttl_;
  size_t max_;
  std::string secret_;
  std::map<std::string, clock_type::time_point> used_;
};

} // namespace duet
