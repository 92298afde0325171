#include "actors/verifier.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "actors/metrics.hpp"

#include <prometheus/counter.h>

namespace duet {

caf::result<verdict> verifier_state::verify(const verify_request& req) {
  if (req.key_id.compare(0, crash_key_id.size(), crash_key_id) == 0) {
    if (!fault_injection)
      return to_caf_error({ec::unknown_key,
                           "unknown keyId '" + req.key_id
                             + "' (fault injection is off on " + id + ")"});
    auto target = std::string_view{req.key_id}.substr(crash_key_id.size());
    if (!target.empty() && target != "@" + id)
      return to_caf_error({ec::injected_fault, id + " is not the target"});
    log::warning(id, ": crashing on purpose (fault injection)");
    auto err = to_caf_error({ec::injected_fault, id + " crashed on purpose"});
    self->quit(err);
    return err;
  }
  ++served;
  auto matched = keys->verify(req.key_id, req.text, req.hex_signature);
  if (!matched) {
    counted[2]->Increment();
    log::debug(id, ": ", matched.error().message);
    return to_caf_error(std::move(matched.error()));
  }
  counted[*matched ? 0 : 1]->Increment();
  return verdict{*matched, id};
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
  return {
    [self](verify_atom, const verify_request& req) -> caf::result<verdict> {
      return self->state.verify(req);
    },
    [self](ping_atom) { return self->state.served; },
  };
}

} // namespace duet
