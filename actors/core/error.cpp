#include "actors/core/error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace duet {

namespace {

const auto duet_category = caf::atom("duet");

std::string context_text(const caf::message& ctx) {
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return ctx.empty() ? std::string{} : to_string(ctx);
}

} // namespace

std::string message_of(const caf::error& x) {
  if (!x)
    return {};
  if (x.category() == duet_category)
    return context_text(x.context());
  if (x.category() == caf::atom("system"))
    return "CAF: " + to_string(static_cast<caf::sec>(x.code()));
  return to_string(x);
}

ec code_of(const caf::error& x) {
  if (x.category() == duet_category)
    return static_cast<ec>(x.code());
  if (x == caf::sec::request_timeout)
    return ec::deadline_exceeded;
  return ec::no_verifier;
}

bool is_code(const caf::error& x, ec code) {
  return x.category() == duet_category
         && x.code() == static_cast<uint8_t>(code);
}

bool is_transport_error(const caf::error& x) {
  return static_cast<bool>(x) && x.category() != duet_category;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(duet_category,
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

} // namespace duet
