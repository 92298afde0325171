#include "actors/verifier.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"

namespace duet {

caf::result<verdict> verifier_state::verify(const verify_request& req) {
  ++served;
  auto matched = keys->verify(req.key_id, req.text, req.hex_signature);
  if (!matched) {
    log::debug(id, ": ", matched.error().message);
    return to_caf_error(std::move(matched.error()));
  }
  return verdict{*matched, id};
}

verifier_actor::behavior_type
verifier(verifier_actor::stateful_pointer<verifier_state> self,
         std::shared_ptr<const crypto::keyring> keys, std::string id) {
  self->state.keys = std::move(keys);
  self->state.id = std::move(id);
  return {
    [self](verify_atom, const verify_request& req) -> caf::result<verdict> {
      return self->state.verify(req);
    },
  };
}

} // namespace duet
