#include "actors/protocol/fwd.hpp"

#include <caf/actor_system_config.hpp>

namespace duet {

void add_duet_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::duet>();
  add_error_category(cfg);
}

} // namespace duet
