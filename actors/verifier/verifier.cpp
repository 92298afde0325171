#include "actors/verifier/verifier.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/core/text.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/guard.hpp"

#include <prometheus/counter.h>

namespace duet {

caf::expected<bool> verifier_state::check(const verify_request& req) {
  if (auto err = duet::check(req))
    return refuse(name, std::move(err));
  if (req.key_id.compare(0, crash_key_id.size(), crash_key_id) == 0) {
    if (!fault_injection)
      return caf::make_error(ec::unknown_key,
                             "unknown keyId '" + printable(req.key_id)
                               + "' (fault injection is off on " + id + ")");
    auto target = std::string_view{req.key_id}.substr(crash_key_id.size());
    if (!target.empty() && target != "@" + id)
      return caf::make_error(ec::injected_fault, id + " is not the target");
    log::warning(id, ": crashing on purpose (fault injection)");
    auto crash = caf::make_error(ec::injected_fault,
                                 id + " crashed on purpose");
    self->quit(crash);
    return crash;
  }
  // Only a verdict with the key the front pins: another key under the same
  // id (a misconfigured node) is refused, never used.
  if (auto pin = keys->pinned(req.key_id);
      pin
      && (req.fingerprint != pin->fingerprint
          || req.algorithm != crypto::to_string(pin->algo))) {
    counted[2]->Increment();
    auto short_fp = [](const std::string& fp) {
      return fp.empty() ? std::string{"none"} : fp.substr(0, 16);
    };
    return caf::make_error(ec::key_mismatch,
                           id + " holds another key under '"
                             + printable(req.key_id) + "' ("
                             + crypto::to_string(pin->algo) + ", fingerprint "
                             + short_fp(pin->fingerprint) + "; the front pins "
                             + printable(req.algorithm, 32) + ", "
                             + short_fp(printable(req.fingerprint, 64)) + ")");
  }
  ++served;
  // The front sends the digest of the text (only the public-key operation
  // is left); a request without one carries the text.
  auto matched = req.digest.empty()
                   ? keys->verify(req.key_id, req.text, req.hex_signature)
                   : keys->verify_digest(req.key_id, req.digest,
                                         req.hex_signature);
  if (!matched) {
    counted[2]->Increment();
    log::debug(id, ": ", message_of(matched.error()));
    return matched;
  }
  counted[*matched ? 0 : 1]->Increment();
  return matched;
}

caf::result<verdict> verifier_state::verify(const verify_request& req) {
  auto matched = check(req);
  if (!matched)
    return std::move(matched.error());
  return verdict{*matched, id, req.key_id, req.algorithm};
}

caf::result<batch_verdicts>
verifier_state::verify(const std::vector<verify_request>& batch) {
  if (auto err = check_batch_size(batch.size()))
    return refuse(name, std::move(err));
  batch_verdicts result;
  result.verifier = id;
  result.answers.reserve(batch.size());
  for (auto& req : batch) {
    auto matched = check(req);
    if (matched)
      result.answers.push_back({{}, *matched});
    else
      result.answers.push_back({std::move(matched.error()), false});
  }
  return result;
}

verifier_actor::behavior_type
verifier(verifier_actor::stateful_pointer<verifier_state> self,
         std::shared_ptr<const crypto::keyring> keys, std::string id,
         bool fault_injection) {
  auto& st = self->state;
  st.keys = std::move(keys);
  st.id = std::move(id);
  st.fault_injection = fault_injection;
  st.counted[0] = &metrics::verifications(st.id, "match");
  st.counted[1] = &metrics::verifications(st.id, "mismatch");
  st.counted[2] = &metrics::verifications(st.id, "error");
  drop_unexpected(self, st.name);
  const char* name = st.name;
  return {
    guard(name,
          [self](verify_atom, const verify_request& req) {
            return self->state.verify(req);
          }),
    guard(name,
          [self](verify_atom, const std::vector<verify_request>& batch) {
            return self->state.verify(batch);
          }),
    guard(name, [self](ping_atom) { return self->state.served; }),
  };
}

} // namespace duet
