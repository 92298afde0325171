#include "actors/protocol/identity.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>

#include "actors/core/clock.hpp"
#include "actors/core/limits.hpp"
#include "actors/core/text.hpp"
#include "actors/crypto/digest.hpp"
#include "actors/crypto/keyring.hpp"
#include "actors/protocol/validate.hpp"

namespace duet {

caf::expected<identity_proof>
node_identity::prove(purpose what, std::string_view challenge) const {
  if (!self)
    return identity_proof{};
  auto sig = self->sign(pki::proof_message(to_string(what), challenge, name));
  if (!sig)
    return std::move(sig.error());
  return identity_proof{self->certificate(), std::string{challenge},
                        std::move(*sig)};
}

caf::error node_identity::check(purpose what, std::string_view claimed,
                                const identity_proof& proof,
                                std::initializer_list<role> roles) const {
  if (!ca)
    return {};
  if (proof.certificate.empty())
    return caf::make_error(ec::invalid_message, "no proof of the name '"
                                                  + printable(claimed)
                                                  + "' (a node without TLS?)");
  auto proven
    = ca->verify(proof.certificate,
                 pki::proof_message(to_string(what), proof.challenge, claimed),
                 proof.signature);
  if (!proven)
    return caf::make_error(ec::invalid_message,
                           "no proof of the name '" + printable(claimed)
                             + "': " + message_of(proven.error()));
  if (proven->name != claimed)
    return caf::make_error(ec::invalid_message,
                           "a node with the certificate of '"
                             + printable(proven->name) + "' claims to be '"
                             + printable(claimed) + "'");
  if (roles.size() == 0)
    return {};
  std::string wanted;
  for (auto x : roles) {
    if (proven->has_role(to_string(x)))
      return {};
    wanted += (wanted.empty() ? "" : " or ") + std::string{to_string(x)};
  }
  return caf::make_error(ec::invalid_message,
                         "the certificate of '" + printable(claimed)
                           + "' does not vouch for the role " + wanted);
}

caf::expected<std::shared_ptr<const node_identity>>
load_identity(const std::string& name, const tls_options& tls) {
  auto result = std::make_shared<node_identity>();
  result->name = name;
  result->proof_ttl = tls.proof_ttl;
  if (tls.insecure)
    return std::shared_ptr<const node_identity>{std::move(result)};
  auto self = pki::signer::load(tls.certificate, tls.key);
  if (!self)
    return std::move(self.error());
  auto ca = pki::authority::load(tls.ca);
  if (!ca)
    return std::move(ca.error());
  result->self = std::make_shared<const pki::signer>(std::move(*self));
  result->ca = std::make_shared<const pki::authority>(std::move(*ca));
  return std::shared_ptr<const node_identity>{std::move(result)};
}

caf::expected<std::string>
results_digest(const std::vector<choreo_result>& results) {
  field_digest d;
  for (auto& r : results)
    d.add(r.id)
      .add_byte(r.verified ? 1 : 0)
      .add(r.verifier)
      .add_byte(r.error ? r.error.code() : 0)
      .add(message_of(r.error))
      .add(r.request);
  return d.hex();
}

std::string_view node_of(std::string_view name) noexcept {
  return name.substr(0, name.find_first_of("#/"));
}

std::string beat_challenge(int64_t unix_ms, bool leaving,
                           const std::string& member) {
  return std::to_string(unix_ms) + (leaving ? ":leaving:" : ":alive:") + member;
}

int64_t beat_stamp(const std::string& challenge, bool leaving,
                   const std::string& member) {
  auto colon = challenge.find(':');
  if (colon == 0 || colon == std::string::npos || colon > 18)
    return -1;
  int64_t stamp = 0;
  for (size_t i = 0; i < colon; ++i) {
    auto c = challenge[i];
    if (c < '0' || c > '9')
      return -1;
    stamp = stamp * 10 + (c - '0');
  }
  if (challenge.compare(colon, std::string::npos,
                        beat_challenge(0, leaving, member).substr(1))
      != 0)
    return -1;
  return stamp;
}

member_beat make_beat(const node_identity& self, const std::string& member,
                      bool leaving) {
  member_beat b{member, leaving, {}};
  if (auto proof = self.prove(purpose::beat,
                              beat_challenge(unix_ms(), leaving, member)))
    b.proof = std::move(*proof);
  return b;
}

caf::error beat_checker::check(const node_identity& self,
                               const member_beat& b) {
  if (auto err = duet::check(b))
    return err;
  if (!self.enabled())
    return {};
  auto stamp = beat_stamp(b.proof.challenge, b.leaving, b.member);
  if (stamp < 0)
    return caf::make_error(ec::invalid_message,
                           "a beat whose proof is for another beat");
  auto now = unix_ms();
  auto ttl
    = std::chrono::duration_cast<std::chrono::milliseconds>(self.proof_ttl)
        .count();
  if (stamp < now - ttl || stamp > now + ttl)
    return caf::make_error(ec::invalid_message,
                           "a beat of " + b.member + " is stamped more than "
                             + std::to_string(ttl)
                             + " ms off this node's clock");
  if (auto i = last_stamp_.find(b.member);
      i != last_stamp_.end() && stamp <= i->second)
    return caf::make_error(ec::invalid_message,
                           "a beat of " + b.member + " older than the last");
  if (auto err = self.check(purpose::beat, std::string{node_of(b.member)},
                            b.proof, {role::verifier}))
    return err;
  if (last_stamp_.size() >= limits::members * 2)
    last_stamp_.clear();
  last_stamp_[b.member] = stamp;
  return {};
}

caf::error check_signed(const node_identity& self, const result_batch& x) {
  if (auto err = check(x))
    return err;
  if (auto err = self.check(purpose::results, x.signer, x.proof,
                            {role::verifier}))
    return err;
  if (!self.enabled())
    return {};
  auto digest = results_digest(x.results);
  if (!digest)
    return std::move(digest.error());
  if (x.proof.challenge != *digest)
    return caf::make_error(ec::invalid_message,
                           "results that do not match their signature");
  return {};
}

caf::error check_signed(const node_identity& self, const task_decline& x) {
  if (auto err = check(x))
    return err;
  if (auto err = self.check(purpose::decline, std::string{node_of(x.member)},
                            x.proof, {role::verifier}))
    return err;
  if (self.enabled() && x.proof.challenge != x.id)
    return caf::make_error(ec::invalid_message,
                           "a decline signed for another task");
  return {};
}

challenges::challenges(std::chrono::nanoseconds ttl, size_t max)
  : ttl_(ttl), max_(max) {
  uint8_t key[32];
  if (RAND_bytes(key, sizeof(key)) == 1)
    secret_ = crypto::encode_hex(key, sizeof(key));
  // Without a secret no challenge is ever accepted (`redeem` checks).
}

std::string challenges::mac(std::string_view text) const {
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
           reinterpret_cast<const uint8_t*>(text.data()), text.size(), md,
           &md_len)
      == nullptr)
    return {};
  return crypto::encode_hex(md, std::min(md_len, 16u));
}

std::string challenges::issue(clock_type::time_point now) const {
  uint8_t nonce[12];
  if (secret_.empty() || RAND_bytes(nonce, sizeof(nonce)) != 1)
    return {};
  auto expiry = (now + ttl_).time_since_epoch().count();
  auto text = crypto::encode_hex(nonce, sizeof(nonce)) + "."
              + std::to_string(expiry);
  return text + "." + mac(text);
}

bool challenges::redeem(const std::string& x, clock_type::time_point now) {
  // <nonce hex>.<expiry>.<mac hex>
  auto dot = x.rfind('.');
  if (secret_.empty() || dot == std::string::npos || x.size() > 128)
    return false;
  auto text = std::string_view{x}.substr(0, dot);
  auto given = std::string_view{x}.substr(dot + 1);
  auto wanted = mac(text);
  if (wanted.empty() || given.size() != wanted.size()
      || CRYPTO_memcmp(wanted.data(), given.data(), wanted.size()) != 0)
    return false;
  auto expiry_text = text.substr(text.find('.') + 1);
  auto expiry = clock_type::time_point{clock_type::duration{
    std::strtoll(std::string{expiry_text}.c_str(), nullptr, 10)}};
  if (expiry < now)
    return false;
  for (auto i = used_.begin(); i != used_.end();)
    if (i->second < now)
      i = used_.erase(i);
    else
      ++i;
  if (used_.size() >= max_ || !used_.emplace(x, expiry).second)
    return false;
  return true;
}

} // namespace duet
