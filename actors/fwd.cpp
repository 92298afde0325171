#include "actors/fwd.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace duet {

namespace {

std::string context_text(const caf::message& ctx) {
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : to_string(ctx);
}

} // namespace

void add_duet_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::duet>();
  cfg.add_error_category(caf::atom("duet"),
                         [](uint8_t code, caf::atom_value,
                            const caf::message& ctx) -> std::string {
                           auto str = std::string{"duet::"};
                           str += to_string(static_cast<ec>(code));
                           if (auto txt = context_text(ctx); !txt.empty()) {
                             str += ": ";
                             str += txt;
                           }
                           return str;
                         });
}

caf::error to_caf_error(failure x) {
  return caf::make_error(x.code, std::move(x.message));
}

failure to_failure(const caf::error& x) {
  if (x.category() == caf::atom("duet"))
    return failure{static_cast<ec>(x.code()), context_text(x.context())};
  if (x == caf::sec::request_timeout)
    return failure{ec::deadline_exceeded, "no verifier answered in time"};
  return failure{ec::no_verifier, "verifier unreachable: " + caf::to_string(x)};
}

bool is_code(const caf::error& x, ec code) {
  return x.category() == caf::atom("duet")
         && x.code() == static_cast<uint8_t>(code);
}

bool is_transport_error(const caf::error& x) {
  return x.category() != caf::atom("duet") && static_cast<bool>(x);
}

} // namespace duet
