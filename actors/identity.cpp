#include "actors/identity.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "actors/crypto.hpp"
#include "actors/text.hpp"
#include "actors/validate.hpp"

namespace duet {

expected<identity_proof>
node_identity::prove(std::string_view purpose,
                     std::string_view challenge) const {
  if (!self)
    return identity_proof{};
  auto sig = self->sign(pki::proof_message(purpose, challenge, name));
  if (!sig)
    return std::move(sig.error());
  return identity_proof{self->certificate(), std::string{challenge},
                        std::move(*sig)};
}

caf::error
node_identity::check(std::string_view purpose, std::string_view claimed,
                     const identity_proof& proof, const char* role) const {
  if (!ca)
    return {};
  if (proof.certificate.empty())
    return caf::make_error(ec::invalid_message, "no proof of the name '"
                                                  + printable(claimed)
                                                  + "' (a node without TLS?)");
  auto proven = ca->verify(
    proof.certificate, pki::proof_message(purpose, proof.challenge, claimed),
    proof.signature);
  if (!proven)
    return caf::make_error(ec::invalid_message,
                           "no proof of the name '" + printable(claimed)
                             + "': " + proven.error().message);
  if (proven->name != claimed)
    return caf::make_error(ec::invalid_message,
                           "a node with the certificate of '"
                             + printable(proven->name) + "' claims to be '"
                             + printable(claimed) + "'");
  if (role != nullptr && !proven->has_role(role))
    return caf::make_error(ec::invalid_message,
                           "the certificate of '" + printable(claimed)
                             + "' does not vouch for the role " + role);
  return {};
}

expected<std::shared_ptr<const node_identity>>
load_identity(const std::string& name, const tls_options& tls) {
  auto result = std::make_shared<node_identity>();
  result->name = name;
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

std::string results_digest(const std::vector<choreo_result>& results) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free};
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  auto add = [&](const std::string& x) {
    auto n = static_cast<uint32_t>(x.size());
    unsigned char len[4] = {static_cast<unsigned char>(n >> 24),
                            static_cast<unsigned char>(n >> 16),
                            static_cast<unsigned char>(n >> 8),
                            static_cast<unsigned char>(n)};
    EVP_DigestUpdate(ctx.get(), len, sizeof(len));
    EVP_DigestUpdate(ctx.get(), x.data(), x.size());
  };
  for (auto& r : results) {
    add(r.id);
    unsigned char flags = (r.ok ? 1 : 0) | (r.verified ? 2 : 0);
    EVP_DigestUpdate(ctx.get(), &flags, 1);
    add(r.verifier);
    add(r.message);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &md_len);
  return crypto::encode_hex(md, md_len);
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

caf::error check_signed(const node_identity& self, const result_batch& x) {
  if (auto err = check(x))
    return err;
  if (auto err = self.check("results", x.signer, x.proof, "verifier"))
    return err;
  if (self.enabled() && x.proof.challenge != results_digest(x.results))
    return caf::make_error(ec::invalid_message,
                           "results that do not match their signature");
  return {};
}

caf::error check_signed(const node_identity& self, const task_decline& x) {
  if (auto err = check(x))
    return err;
  if (auto err = self.check("decline", std::string{node_of(x.member)}, x.proof,
                            "verifier"))
    return err;
  if (self.enabled() && x.proof.challenge != x.id)
    return caf::make_error(ec::invalid_message,
                           "a decline signed for another task");
  return {};
}

std::string challenges::issue(clock_type::time_point now) {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  auto x = crypto::encode_hex(bytes, sizeof(bytes));
  while (issued_.size() >= max_) {
    // Drop the one that expires first.
    auto oldest = issued_.begin();
    for (auto i = issued_.begin(); i != issued_.end(); ++i)
      if (i->second < oldest->second)
        oldest = i;
    issued_.erase(oldest);
  }
  issued_.emplace(x, now + ttl_);
  return x;
}

bool challenges::redeem(const std::string& x, clock_type::time_point now) {
  for (auto i = issued_.begin(); i != issued_.end();)
    if (i->second < now)
      i = issued_.erase(i);
    else
      ++i;
  return issued_.erase(x) > 0;
}

} // namespace duet
