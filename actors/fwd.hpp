#pragma once

// All of duet's CAF message types, atoms, error category and typed actor
// interfaces in one place (as zeek/broker's fwd.hh does on CAF 0.17).

#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/error.hpp"
#include "actors/service.hpp"

// -- atoms --------------------------------------------------------------------

namespace duet {

using verify_atom = caf::atom_constant<caf::atom("verify")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using job_atom = caf::atom_constant<caf::atom("job")>;

} // namespace duet

// -- message types ------------------------------------------------------------

namespace duet {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verify_request& x) {
  return f(caf::meta::type_name("verify_request"), x.key_id, x.text,
           x.hex_signature);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, verdict& x) {
  return f(caf::meta::type_name("verdict"), x.verified, x.verifier);
}

/// A request from the HTTP side with its completion callback (local only).
struct front_job {
  style how;
  verify_request req;
  verify_service::callback done;
};

} // namespace duet

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::front_job)

CAF_BEGIN_TYPE_ID_BLOCK(duet, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(duet, (duet::verify_request))
  CAF_ADD_TYPE_ID(duet, (duet::verdict))

CAF_END_TYPE_ID_BLOCK(duet)

CAF_ERROR_CODE_ENUM(duet::ec, "duet")

// -- typed interfaces ---------------------------------------------------------

namespace duet {

/// A verifier instance; lives on a verifier node, called across nodes.
using verifier_actor = caf::typed_actor<
  // Checks a signature: answers the verdict, or an `ec` error for bad input.
  caf::replies_to<verify_atom, verify_request>::with<verdict>>;

// -- helpers ------------------------------------------------------------------

/// Registers duet's message types and error category with `cfg`.
void add_duet_types(caf::actor_system_config& cfg);

/// Converts `x` to a `caf::error` of category "duet" carrying the message.
caf::error to_caf_error(failure x);

/// Converts a `caf::error` back; errors of other categories become
/// `deadline_exceeded` or `no_verifier` failures with CAF's rendering.
failure to_failure(const caf::error& x);

/// Returns whether `x` means "the peer failed" (time out, gone, unreachable)
/// rather than "the peer answered with an error", i.e. whether a retry on
/// another peer may succeed.
bool is_transport_error(const caf::error& x);

} // namespace duet
