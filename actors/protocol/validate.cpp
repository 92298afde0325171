#include "actors/protocol/validate.hpp"

#include <algorithm>
#include <set>
#include <string>

#include "actors/core/options.hpp"
#include "actors/core/text.hpp"

namespace duet {

namespace {

caf::error invalid(std::string what) {
  return caf::make_error(ec::invalid_message, std::move(what));
}

caf::error check_name(const std::string& x, const char* field,
                      size_t max = limits::name) {
  if (!is_name(x, max))
    return invalid(std::string{field} + " '" + printable(x)
                   + "' is not a name (1.." + std::to_string(max)
                   + " of A-Z a-z 0-9 -_.:/#@[])");
  return {};
}

caf::error check_text(const std::string& x, const char* field, size_t max) {
  if (x.size() > max)
    return invalid(std::string{field} + " has " + std::to_string(x.size())
                   + " bytes, at most " + std::to_string(max) + " are allowed");
  if (!is_utf8(x))
    return invalid(std::string{field} + " is not valid UTF-8");
  return {};
}

bool is_address(const std::string& x) {
  std::string host;
  uint16_t port = 0;
  return is_name(x, limits::name) && split_address(x, host, port);
}

} // namespace

caf::error check(const verify_request& x) {
  if (x.key_id.size() > limits::key_id)
    return invalid("keyId has more than " + std::to_string(limits::key_id)
                   + " bytes");
  if (x.hex_signature.size() > limits::signature_hex)
    return invalid("hexSignature has more than "
                   + std::to_string(limits::signature_hex) + " digits");
  if (x.text.size() > limits::text)
    return invalid("text has more than " + std::to_string(limits::text)
                   + " bytes");
  if (x.algorithm.size() > 64 || x.fingerprint.size() > 128)
    return invalid("an algorithm or fingerprint too long");
  if (!x.digest.empty()) {
    // Either the text or its digest, and the digest of a known size.
    if (!x.text.empty())
      return invalid("a request with both a text and a digest");
    if (x.digest.size() != 16 && x.digest.size() != 32)
      return invalid("a digest of " + std::to_string(x.digest.size())
                     + " bytes (16 or 32)");
  }
  return {};
}

caf::error check_batch_size(size_t n) {
  if (n == 0 || n > limits::batch)
    return invalid("a batch must have 1.." + std::to_string(limits::batch)
                   + " requests, not " + std::to_string(n));
  return {};
}

caf::error check(const batch_verdicts& x, size_t expected) {
  if (auto err = check_name(x.verifier, "verifier"))
    return err;
  if (x.answers.size() != expected)
    return invalid("a batch of " + std::to_string(expected) + " got "
                   + std::to_string(x.answers.size()) + " answers");
  for (auto& a : x.answers)
    if (auto err = check_error(a.error))
      return err;
  return {};
}

caf::error check_error(const caf::error& x) {
  if (!x)
    return {};
  if (!is_code(x, static_cast<ec>(x.code()))
      || !is_named(static_cast<ec>(x.code())))
    return invalid("an error of another category or an unknown code ("
                   + std::to_string(x.code()) + ")");
  auto& ctx = x.context();
  if (ctx.empty())
    return {};
  if (ctx.size() != 1 || !ctx.match_element<std::string>(0))
    return invalid("an error whose context is not one text");
  return check_text(ctx.get_as<std::string>(0), "message", limits::message);
}

caf::error check(const verdict& x) {
  return check_name(x.verifier, "verifier");
}

caf::error check(const std::vector<instance_info>& x, size_t max_slots) {
  if (x.size() > max_slots)
    return invalid("a node lists " + std::to_string(x.size())
                   + " instances, at most " + std::to_string(max_slots)
                   + " are allowed");
  std::set<uint32_t> slots;
  for (auto& i : x) {
    if (auto err = check_name(i.name, "instance name"))
      return err;
    if (i.slot >= max_slots || !slots.insert(i.slot).second)
      return invalid("instance " + i.name + ": slot " + std::to_string(i.slot)
                     + " out of range or twice");
    if (!i.handle)
      return invalid("instance " + i.name + " has no handle");
  }
  return {};
}

caf::error check(const node_registration& x) {
  if (auto err = check_name(x.name, "node name", 64))
    return err;
  if (x.name.find_first_of("/#") != std::string::npos)
    return invalid("node name '" + x.name + "' contains / or #");
  if (auto err = check_name(x.host, "host"))
    return err;
  if (is_wildcard(x.host))
    return invalid("node " + x.name + " advertises " + x.host
                   + ", which is no address to connect to");
  if (x.port == 0)
    return invalid("node " + x.name + ": port 0");
  if (!x.agent)
    return invalid("node " + x.name + ": no agent");
  if (x.slots < 1 || x.slots > limits::slots)
    return invalid("node " + x.name + ": " + std::to_string(x.slots)
                   + " slots, must be 1.." + std::to_string(limits::slots));
  if (auto err = check(x.instances, x.slots))
    return err;
  for (auto& i : x.instances)
    if (i.name != x.name + "/verifier-" + std::to_string(i.slot))
      return invalid("node " + x.name + ": instance '" + i.name
                     + "' is not named after its node and slot");
  return {};
}

caf::error check(const registry& x) {
  if (x.nodes.size() > limits::nodes)
    return invalid("a registry of " + std::to_string(x.nodes.size())
                   + " nodes, at most " + std::to_string(limits::nodes));
  for (auto& n : x.nodes) {
    if (auto err = check_name(n.name, "node name"))
      return err;
    if (!is_address(n.address))
      return invalid("node " + n.name + ": address '" + printable(n.address)
                     + "' is not host:port");
    if (!is_named(n.state))
      return invalid("node " + n.name + ": unknown state "
                     + std::to_string(static_cast<int>(n.state)));
    if (n.instances.size() > limits::slots)
      return invalid("node " + n.name + ": too many instances");
    if (auto err = check_text(n.last_conflict, "last conflict",
                              limits::message))
      return err;
    for (auto& i : n.instances) {
      if (auto err = check_name(i.name, "instance name"))
        return err;
      // The supervisor never reports `misconfigured` (the front's view).
      if (!is_named(i.state) || i.state == instance_state::misconfigured)
        return invalid("instance " + i.name + ": unknown state "
                       + std::to_string(static_cast<int>(i.state)));
    }
  }
  return {};
}

caf::error check(const choreo_task& x) {
  if (auto err = check_name(x.id, "task id", limits::task_id))
    return err;
  if (x.attempt == 0)
    return invalid("task " + x.id + ": attempt 0");
  if (!x.reply_to.empty())
    if (auto err = check_name(x.reply_to, "front"))
      return err;
  return check(x.req);
}

caf::error check(const choreo_result& x) {
  if (auto err = check_name(x.id, "task id", limits::task_id))
    return err;
  if (auto err = check_name(x.verifier, "verifier"))
    return err;
  if (auto err = check_error(x.error))
    return err;
  auto digit = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  };
  if (x.request.size() != 64
      || !std::all_of(x.request.begin(), x.request.end(), digit))
    return invalid("task " + x.id
                   + ": a result without the digest of its request");
  return {};
}

caf::error check(const identity_proof& x) {
  if (x.certificate.size() > 16 * 1024 || x.challenge.size() > 512
      || x.signature.size() > 1024)
    return invalid("a proof of identity over its size limits");
  return {};
}

caf::error check(const member_beat& x) {
  if (auto err = check_name(x.member, "member"))
    return err;
  return check(x.proof);
}

caf::error check(const task_decline& x) {
  if (auto err = check_name(x.id, "task id", limits::task_id))
    return err;
  if (auto err = check_name(x.member, "member"))
    return err;
  if (auto err = check_text(x.reason, "reason", limits::message))
    return err;
  return check(x.proof);
}

caf::error check(const result_batch& x) {
  if (auto err = check_name(x.signer, "signer", 64))
    return err;
  if (x.results.empty() || x.results.size() > limits::batch * 4)
    return invalid("a result batch must have 1.."
                   + std::to_string(limits::batch * 4) + " results");
  for (auto& r : x.results) {
    if (auto err = check(r))
      return err;
    // A node answers for its own instances only.
    if (r.verifier != x.signer
        && r.verifier.compare(0, x.signer.size() + 1, x.signer + "/") != 0)
      return invalid("a result of " + x.signer + " names verifier "
                     + r.verifier);
  }
  return check(x.proof);
}

} // namespace duet
