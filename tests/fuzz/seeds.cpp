// duet-fuzz-seeds: writes the seed corpus of the peer_message target, one
// serialized message per file, into the folder it is given:
//
//   duet-fuzz-seeds tests/fuzz/corpus/peer_message

#include <fstream>
#include <iostream>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>

#include "actors/core/error.hpp"
#include "actors/crypto/digest.hpp"
#include "actors/protocol/fwd.hpp"

using namespace duet;

namespace {

struct config : caf::actor_system_config {
  config() {
    add_duet_types(*this);
  }
};

template <class T>
void write(caf::actor_system& sys, const std::string& dir,
           const std::string& name, char selector, T& x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(x)) {
    std::cerr << name << ": " << sys.render(err) << "\n";
    return;
  }
  std::ofstream out{dir + "/" + name, std::ios::binary};
  out.put(selector);
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: duet-fuzz-seeds FOLDER\n";
    return 2;
  }
  std::string dir = argv[1];
  config cfg;
  caf::actor_system sys{cfg};
  verify_request req{"seed", "text", "00ff"};
  std::vector<verify_request> batch{req, req};
  batch.push_back(
    verify_request{"seed", "t", "00", "rsa-pss-sha256", std::string(64, 'b')});
  batch_verdicts answers{
    "verifier-1/verifier-0",
    {{caf::error{}, true},
     {caf::make_error(ec::unknown_key, "unknown"), false}}};
  node_registration reg{"verifier-1", "127.0.0.1", 4101, {}, 2, {}};
  verify_request pinned{"seed", "text", "00ff", "rsa-pkcs1-md5",
                        std::string(64, 'a')};
  registry r;
  r.nodes.push_back({"verifier-1",
                     "127.0.0.1:4101",
                     node_state::up,
                     {{"verifier-1/verifier-0", instance_state::up, 0, 12}},
                     0,
                     {}});
  choreo_task task{"ab12cd34-0", 1, req};
  choreo_result result{"ab12cd34-0", true, "verifier-1/verifier-0",
                       caf::error{}, *task_digest("ab12cd34-0", req)};
  member_beat beat{"verifier-1#0a1b2c3d", false, {}};
  std::vector<instance_info> list;
  verdict v{true, "verifier-1/verifier-0"};
  write(sys, dir, "verify_request", 0, req);
  write(sys, dir, "verify_request_pinned", 0, pinned);
  write(sys, dir, "batch", 1, batch);
  write(sys, dir, "batch_verdicts", 2, answers);
  write(sys, dir, "node_registration", 3, reg);
  write(sys, dir, "registry", 4, r);
  write(sys, dir, "choreo_task", 5, task);
  write(sys, dir, "choreo_result", 6, result);
  write(sys, dir, "member_beat", 7, beat);
  write(sys, dir, "instances", 8, list);
  write(sys, dir, "verdict", 9, v);
  result_batch batch_of_results{
    "verifier-1", {result}, {"cert", "digest", "sig"}};
  task_decline decline{"ab12cd34-0",
                       "verifier-1#0a1b2c3d",
                       "another key",
                       {"cert", "ab12cd34-0", "sig"}};
  identity_proof proof{"-----BEGIN CERTIFICATE-----", "nonce", "sig"};
  write(sys, dir, "result_batch", 11, batch_of_results);
  write(sys, dir, "task_decline", 12, decline);
  write(sys, dir, "identity_proof", 13, proof);
  auto m7 = caf::make_message(batch_of_results);
  write(sys, dir, "msg_result_batch", 10, m7);
  // Whole messages, as BASP carries them.
  auto m1 = caf::make_message(verify_atom::value, batch);
  auto m2 = caf::make_message(register_atom::value, reg);
  auto m3 = caf::make_message(task);
  auto m4 = caf::make_message(result);
  auto m5 = caf::make_message(beat);
  auto m6 = caf::make_message(registry_atom::value, r);
  write(sys, dir, "msg_verify_batch", 10, m1);
  write(sys, dir, "msg_register", 10, m2);
  write(sys, dir, "msg_task", 10, m3);
  write(sys, dir, "msg_result", 10, m4);
  write(sys, dir, "msg_beat", 10, m5);
  write(sys, dir, "msg_registry", 10, m6);
  // What members send a hub.
  identity_proof joined{"-----BEGIN CERTIFICATE-----", "nonce", "sig"};
  auto m8 = caf::make_message(join_atom::value, std::string{"tasks/verifier-1"},
                              std::string{"verifier-1"}, joined);
  choreo_task stamped{"ab12cd34-0", 2, req, "front"};
  auto m9 = caf::make_message(publish_atom::value,
                              std::string{"tasks/verifier-1"}, stamped);
  auto m10 = caf::make_message(publish_atom::value,
                               std::string{"results/front"}, batch_of_results);
  auto m11 = caf::make_message(publish_atom::value, beat);
  write(sys, dir, "msg_join", 10, m8);
  write(sys, dir, "msg_publish_task", 10, m9);
  write(sys, dir, "msg_publish_results", 10, m10);
  write(sys, dir, "msg_publish_beat", 10, m11);
  return 0;
}
