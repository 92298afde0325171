// duet-rogue: a hostile cluster member for the scenario tests. It connects
// to a node's CAF port (or joins a hub's groups) and sends what a peer's
// interfaces allow with values no honest node sends, plus messages that
// were internal once (timers, retries). It prints one line per attack with
// what came back and exits 0 if every attack could be sent.
//
//   duet-rogue [--tls=CA,CERT,KEY] --ATTACK=HOST:PORT
//
// With --tls it is a member with a certificate of the cluster CA; without,
// a process that merely reaches the port (plaintext).
//
//   duet-rogue --supervisor=HOST:PORT
//   duet-rogue --verifier=HOST:PORT
//   duet-rogue --hub=HOST:PORT
//   duet-rogue --kill-instance=HOST:PORT     (exit message to an instance)
//   duet-rogue --bad-variant=HOST:PORT       (a message CAF cannot read)
//   duet-rogue --hijack=HOST:PORT --swap=TEXT,SIG [--seconds=N]
//                     (publishes copies of the fronts' tasks with the text
//                      and signature of files TEXT and SIG swapped in)

#include <cctype>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/core/options.hpp"
#include "actors/crypto/keyring.hpp"
#include "actors/hub/hub.hpp"
#include "actors/protocol/connect.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/hub_links.hpp"
#include "actors/protocol/identity.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

// Sent under the name of CAF's builtin caf::config_value, with a variant
// tag out of range: CAF 0.17.6's deserializer throws on it.
struct bad_variant {
  uint8_t tag = 0xEE;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bad_variant& x) {
  return f(x.tag);
}

struct config : caf::actor_system_config {
  explicit config(const std::string& tls) {
    add_duet_types(*this);
    add_message_type<bad_variant>("@config_value");
    load<caf::io::middleman>();
    set("middleman.heartbeat-interval", caf::timespan{200ms});
    set("middleman.attach-utility-actors", true);
    if (tls.empty())
      return;
    auto a = tls.find(',');
    auto b = tls.find(',', a + 1);
    load<caf::openssl::manager>();
    set("openssl.cafile", tls.substr(0, a));
    set("openssl.certificate", tls.substr(a + 1, b - a - 1));
    set("openssl.key", tls.substr(b + 1));
  }
};

// Connects to the actor published at host:port (over TLS if loaded).
template <class Handle>
caf::expected<Handle>
connect(caf::actor_system& sys, const std::string& host, uint16_t port) {
  if (sys.has_openssl_manager())
    return caf::openssl::remote_actor<Handle>(sys, host, port);
  return sys.middleman().remote_actor<Handle>(host, port);
}

// Old internal atoms: a node must drop these, never act on them.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using group_atom = caf::atom_constant<caf::atom("group")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;

template <class Handle, class... Ts>
void ask(caf::scoped_actor& self, const Handle& dst, const char* what,
         Ts&&... xs) {
  self->request(caf::actor_cast<caf::actor>(dst), 5s, std::forward<Ts>(xs)...)
    .receive(
      [&](caf::message& msg) {
        std::cout << what << ": answered " << caf::to_string(msg) << "\n";
      },
      [&](caf::error& err) {
        std::cout << what << ": refused " << self->system().render(err) << "\n";
      });
}

// This rogue's own certificate and key (with --tls), to sign with.
std::shared_ptr<duet::node_identity> rogue_identity;

bool split(const std::string& address, std::string& host, uint16_t& port) {
  return split_address(address, host, port);
}

int attack_supervisor(caf::actor_system& sys, const std::string& host,
                      uint16_t port) {
  auto sup = connect<supervisor_actor>(sys, host, port);
  if (!sup) {
    std::cerr << "cannot connect: " << sys.render(sup.error()) << "\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  auto fake_agent = caf::actor_cast<verifier_node_actor>(
    caf::actor_cast<caf::strong_actor_ptr>(self));
  // A proof of `name` with this rogue's certificate over a fresh challenge.
  auto proof = [&](const char* purpose, const std::string& name) {
    std::string challenge;
    self->request(*sup, 5s, challenge_atom::value)
      .receive([&](std::string& x) { challenge = std::move(x); },
               [](caf::error&) {});
    identity_proof result;
    if (rogue_identity && rogue_identity->self) {
      result.certificate = rogue_identity->self->certificate();
      result.challenge = challenge;
      result.signature = *rogue_identity->self->sign(
        duet::pki::proof_message(purpose, challenge, name));
    }
    return result;
  };
  node_registration huge{"rogue", "127.0.0.1", 1, fake_agent, 1000000000, {}};
  ask(self, *sup, "register 1e9 slots", register_atom::value, huge,
      proof("register", "rogue"));
  node_registration bad_name{
    std::string(10000, 'x'), "127.0.0.1", 1, fake_agent, 1, {}};
  ask(self, *sup, "register a 10 KB name", register_atom::value, bad_name,
      proof("register", bad_name.name));
  node_registration utf{"\xff\xfe", "127.0.0.1", 1, fake_agent, 1, {}};
  ask(self, *sup, "register a non-UTF-8 name", register_atom::value, utf,
      proof("register", utf.name));
  node_registration other{"verifier-1", "127.0.0.1", 1, fake_agent, 1, {}};
  ask(self, *sup, "register as verifier-1", register_atom::value, other,
      proof("register", "verifier-1"));
  ask(self, *sup, "register without proof", register_atom::value, other,
      identity_proof{});
  ask(self, *sup, "deregister verifier-1", deregister_atom::value,
      std::string{"verifier-1"}, proof("deregister", "verifier-1"));
  for (int i = 0; i < 300; ++i)
    self
      ->request(*sup, 5s, subscribe_atom::value, caf::actor{self},
                std::string{"rogue"}, proof("subscribe", "rogue"))
      .receive([](registry&) {}, [](caf::error&) {});
  std::cout << "subscribed one actor 300 times\n";
  ask(self, *sup, "subscribe without an actor", subscribe_atom::value,
      caf::actor{}, std::string{"rogue"}, proof("subscribe", "rogue"));
  ask(self, *sup, "subscribe without proof", subscribe_atom::value,
      caf::actor{self}, std::string{"front"}, identity_proof{});
  ask(self, *sup, "subscribe as another front", subscribe_atom::value,
      caf::actor{self}, std::string{"front"}, proof("subscribe", "front"));
  // Challenges cost the supervisor nothing to hand out; each is good once.
  for (int i = 0; i < 10000; ++i)
    self->send(*sup, challenge_atom::value);
  auto once = proof("subscribe", "rogue");
  for (auto what :
       {"subscribe with a fresh proof", "subscribe with a used proof"})
    self
      ->request(*sup, 5s, subscribe_atom::value, caf::actor{self},
                std::string{"rogue"}, once)
      .receive(
        [&](registry&) { std::cout << what << ": answered a registry\n"; },
        [&](caf::error& err) {
          std::cout << what << ": refused " << sys.render(err) << "\n";
        });
  ask(self, *sup, "deregister an unknown node", deregister_atom::value,
      std::string{"\xff"}, identity_proof{});
  for (int i = 0; i < 100; ++i)
    self->send(caf::actor_cast<caf::actor>(*sup), tick_atom::value);
  ask(self, *sup, "old tick", tick_atom::value);
  ask(self, *sup, "old respawn", caf::atom("respawn"), std::string{"x"},
      uint32_t{0});
  ask(self, *sup, "a string", std::string{"hello"});
  return 0;
}

int attack_verifier(caf::actor_system& sys, const std::string& host,
                    uint16_t port) {
  auto agent = connect<verifier_node_actor>(sys, host, port);
  if (!agent) {
    std::cerr << "cannot connect: " << sys.render(agent.error()) << "\n";
    return 1;
  }
  caf::scoped_actor self{sys};
  ask(self, *agent, "respawn slot 4294967295", respawn_atom::value,
      uint32_t{4294967295u});
  ask(self, *agent, "respawn slot 0", respawn_atom::value, uint32_t{0});
  ask(self, caf::actor_cast<caf::actor>(*agent), "old reconnect",
      reconnect_atom::value, uint16_t{1});
  ask(self, caf::actor_cast<caf::actor>(*agent), "old deregister",
      deregister_atom::value);
  std::vector<instance_info> list;
  self->request(*agent, 5s, caf::get_atom::value)
    .receive([&](std::vector<instance_info>& xs) { list = std::move(xs); },
             [](caf::error&) {});
  if (list.empty()) {
    std::cerr << "no instances\n";
    return 1;
  }
  auto inst = list.front().handle;
  std::vector<verify_request> huge(1000, verify_request{"seed", "t", "00"});
  ask(self, inst, "batch of 1000", verify_atom::value, huge);
  std::vector<verify_request> odd{{std::string(10000, 'k'), "t", "00"},
                                  {"seed", "t", std::string(100000, 'a')},
                                  {"\xff\xfe", "t", "zz"}};
  ask(self, inst, "batch of bad requests", verify_atom::value, odd);
  ask(self, inst, "request with a 1 MB key id", verify_atom::value,
      verify_request{std::string(1 << 20, 'k'), "t", "00"});
  ask(self, caf::actor_cast<caf::actor>(inst), "a string",
      std::string{"hello"});
  return 0;
}

int kill_instance(caf::actor_system& sys, const std::string& host,
                  uint16_t port) {
  auto agent = connect<verifier_node_actor>(sys, host, port);
  if (!agent)
    return 1;
  caf::scoped_actor self{sys};
  std::vector<instance_info> list;
  self->request(*agent, 5s, caf::get_atom::value)
    .receive([&](std::vector<instance_info>& xs) { list = std::move(xs); },
             [](caf::error&) {});
  if (list.empty())
    return 1;
  caf::anon_send_exit(list.front().handle, caf::exit_reason::kill);
  std::cout << "sent exit(kill) to " << list.front().name << "\n";
  std::this_thread::sleep_for(200ms);
  return 0;
}

// Sends a message CAF itself cannot read to the actor published at the port.
int send_bad_variant(caf::actor_system& sys, const std::string& host,
                     uint16_t port) {
  caf::scoped_actor self{sys};
  caf::strong_actor_ptr ptr;
  self->request(connector(sys), 5s, caf::connect_atom::value, host, port)
    .receive([&](caf::node_id&, caf::strong_actor_ptr& x,
                 std::set<std::string>&) { ptr = std::move(x); },
             [](caf::error&) {});
  if (!ptr)
    return 1;
  caf::anon_send(caf::actor_cast<caf::actor>(ptr), bad_variant{});
  std::cout << "sent a caf::config_value with variant tag 0xEE\n";
  std::this_thread::sleep_for(300ms);
  return 0;
}

// A proof of `as` for `purpose` over `challenge` with this rogue's own
// certificate (empty without --tls).
identity_proof rogue_proof(const char* purpose, const std::string& challenge,
                           const std::string& as) {
  identity_proof proof;
  if (rogue_identity && rogue_identity->self) {
    proof.certificate = rogue_identity->self->certificate();
    proof.challenge = challenge;
    proof.signature = *rogue_identity->self->sign(
      duet::pki::proof_message(purpose, challenge, as));
  }
  return proof;
}

// Joins `topic` on the hub as `as`, proving it with this rogue's own
// certificate; prints and returns whether the hub let it.
bool join(caf::scoped_actor& self, const hub_actor& hub,
          const std::string& topic, const std::string& as) {
  std::string challenge;
  self->request(hub, 5s, challenge_atom::value)
    .receive([&](std::string& x) { challenge = std::move(x); },
             [](caf::error&) {});
  bool joined = false;
  self
    ->request(hub, 5s, join_atom::value, topic, as,
              rogue_proof("group", challenge, as))
    .receive([&](bool) { joined = true; },
             [&](caf::error& err) {
               std::cout << "topic " << topic << " as " << as << ": refused "
                         << self->system().render(err) << "\n";
             });
  return joined;
}

// A beat of member `member`, signed by this rogue (a certified verifier).
member_beat rogue_beat(const std::string& member) {
  using namespace std::chrono;
  auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch())
               .count();
  auto challenge = duet::beat_challenge(now, false, member);
  return member_beat{member, false, rogue_proof("beat", challenge, "rogue")};
}

int attack_hub(caf::actor_system& sys, const std::string& host, uint16_t port) {
  caf::scoped_actor self{sys};
  auto hub = connect<hub_actor>(sys, host, port);
  if (!hub) {
    std::cerr << "cannot reach the hub: " << sys.render(hub.error()) << "\n";
    return 1;
  }
  // Claiming another node's name or group is refused; its own work.
  join(self, *hub, "tasks/verifier-1", "verifier-1");
  join(self, *hub, "tasks/verifier-1", "rogue");
  join(self, *hub, "results/front", "rogue");
  join(self, *hub, "rogue-group", "rogue");
  self
    ->request(*hub, 5s, join_atom::value, std::string{"tasks/rogue"},
              std::string{"rogue"}, identity_proof{})
    .receive([](bool) { std::cout << "joined without a proof\n"; },
             [](caf::error&) { std::cout << "no proof: refused\n"; });
  if (!join(self, *hub, "tasks/rogue", "rogue")
      || !join(self, *hub, "results/rogue", "rogue")) {
    std::cerr << "cannot join its own groups\n";
    return 1;
  }
  // Members: far more than any front keeps, unsigned or for other nodes.
  for (int i = 0; i < 3000; ++i)
    self->send(*hub, publish_atom::value,
               member_beat{"rogue#" + std::to_string(i), false, {}});
  self->send(*hub, publish_atom::value,
             member_beat{"verifier-1#00000000", false, {}});
  self->send(*hub, publish_atom::value,
             member_beat{std::string(100000, 'm'), false, {}});
  self->send(*hub, publish_atom::value, member_beat{"\xff\xfe", false, {}});
  std::cout << "3000 fake members beat\n";
  // Tasks no front published, some malformed, to every verifier node.
  for (int i = 0; i < 2000; ++i)
    self->send(*hub, publish_atom::value,
               "tasks/verifier-" + std::to_string(1 + i % 3),
               choreo_task{"rogue-" + std::to_string(i), 1,
                           verify_request{"seed", "t", "00"}, "front"});
  self->send(*hub, publish_atom::value, std::string{"tasks/verifier-1"},
             choreo_task{"", 0, verify_request{}});
  self->send(*hub, publish_atom::value, std::string{"tasks/verifier-1"},
             choreo_task{std::string(5000, 'i'), 1, {}});
  self->send(*hub, publish_atom::value, std::string{"tasks/verifier-1"},
             choreo_task{"ok-1", 1,
                         verify_request{std::string(10000, 'k'), "", ""}});
  std::cout << "2003 fake tasks\n";
  // Results for tasks that do not exist, or malformed; unsigned, signed by
  // this rogue for another node, or naming another node's instance.
  auto batch = [&](std::string signer, std::vector<choreo_result> rs,
                   bool sign) {
    result_batch b{std::move(signer), std::move(rs), {}};
    if (sign) {
      auto made = duet::results_digest(b.results);
      b.proof = rogue_proof("results", made ? *made : std::string{}, b.signer);
    }
    self->send(*hub, publish_atom::value, std::string{"results/front"}, b);
  };
  for (int i = 0; i < 2000; ++i)
    batch("verifier-1",
          {choreo_result{"rogue-" + std::to_string(i), true,
                         "verifier-1/verifier-0", caf::error{},
                         std::string(64, '0')}},
          i % 2 == 0);
  batch("rogue", {choreo_result{"x", true, "verifier-1/verifier-0"}}, true);
  batch("rogue",
        {choreo_result{"x", false, "rogue\xc0\xaf",
                       caf::make_error(duet::ec::invalid_message, "\xc0\xaf")}},
        true);
  auto untyped = caf::actor_cast<caf::actor>(*hub);
  self->send(untyped, choreo_result{"x", true, "v"});
  std::cout << "2003 fake result batches\n";
  // Old internal messages.
  self->send(untyped, tick_atom::value);
  self->send(untyped, group_atom::value, std::string{"duet-tasks"});
  std::cout << "old ticks and lookups\n";
  std::this_thread::sleep_for(500ms);
  return 0;
}

// Swapped into the copies of tasks that the hijacker publishes: a text and
// a signature that verify with the front's pinned key (--swap=TEXT,SIG).
struct swap_request {
  std::string text;
  std::string hex_signature;
};

swap_request swap;

// Reads a whole file, or empty.
std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

// Joins as a consumer (its own name and certificate, role verifier) and as
// a front (role front), beats so that fronts send it tasks, and for every
// task it gets publishes copies under the same id with the swapped request
// to every verifier node: as the next attempt (a redelivery look-alike) and
// under the ids that a counter would give the next tasks. The hub marks
// every copy as this rogue's own task, so their verdicts come back to it;
// it answers none of the real tasks (a wedged member): their front must
// move them to other consumers and never give a client a forged verdict.
int hijack_tasks(caf::actor_system& sys, const std::string& host, uint16_t port,
                 std::chrono::seconds duration) {
  caf::scoped_actor self{sys};
  auto hub = connect<hub_actor>(sys, host, port);
  if (!hub) {
    std::cerr << "cannot reach the hub: " << sys.render(hub.error()) << "\n";
    return 1;
  }
  if (!join(self, *hub, "tasks/rogue", "rogue")
      || !join(self, *hub, "results/rogue", "rogue")) {
    std::cerr << "cannot join its groups\n";
    return 1;
  }
  std::cout << "hijacking tasks for " << duration.count() << " s\n";
  auto copy = [&](std::string id, uint32_t attempt, verify_request req) {
    // Fronts send digests: the swapped text's, under the task's algorithm.
    auto algo = duet::crypto::parse_algorithm(req.algorithm);
    if (algo && !req.digest.empty()) {
      req.digest = *duet::crypto::message_digest(*algo, swap.text);
      req.text.clear();
    } else {
      req.text = swap.text;
    }
    req.hex_signature = swap.hex_signature;
    for (auto node : {"verifier-1", "verifier-2", "verifier-3"})
      self->send(*hub, publish_atom::value, "tasks/" + std::string{node},
                 choreo_task{id, attempt, req, {}});
  };
  std::set<std::string> predicted;
  size_t seen = 0;
  size_t sent = 0;
  size_t answered = 0;
  auto end = std::chrono::steady_clock::now() + duration;
  auto next_beat = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < end && sent < 200000) {
    if (std::chrono::steady_clock::now() >= next_beat) {
      self->send(*hub, publish_atom::value, rogue_beat("rogue#00000001"));
      next_beat += 200ms;
    }
    self->receive(
      [&](choreo_task& t) {
        ++seen;
        copy(t.id, t.attempt + 1, t.req);
        ++sent;
        // Ids of the form <prefix><counter>: publish the next ones first.
        auto digits = t.id.find_last_not_of("0123456789") + 1;
        if (digits == 0 || digits == t.id.size())
          return;
        auto n = std::stoull(t.id.substr(digits, 18));
        for (uint64_t k = 1; k <= 16; ++k) {
          auto next = t.id.substr(0, digits) + std::to_string(n + k);
          if (predicted.insert(next).second) {
            copy(next, 1, t.req);
            ++sent;
          }
        }
      },
      [&](result_batch& b) { answered += b.results.size(); },
      [&](caf::message&) {}, caf::after(50ms) >> [] {});
  }
  std::cout << "saw " << seen << " tasks, published " << sent
            << " forged copies, " << answered
            << " verdicts on them came back to this rogue\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string tls;
  std::string arg;
  int seconds = 30;
  for (int i = 1; i < argc; ++i) {
    std::string x = argv[i];
    if (x.rfind("--tls=", 0) == 0) {
      tls = x.substr(6);
    } else if (x.rfind("--swap=", 0) == 0) {
      auto comma = x.find(',');
      swap.text = slurp(x.substr(7, comma - 7));
      swap.hex_signature = slurp(x.substr(comma + 1));
      while (
        !swap.hex_signature.empty()
        && std::isspace(static_cast<unsigned char>(swap.hex_signature.back())))
        swap.hex_signature.pop_back();
    } else if (x.rfind("--seconds=", 0) == 0) {
      seconds = std::stoi(x.substr(10));
    } else {
      arg = x;
    }
  }
  if (arg.empty()) {
    std::cerr << "usage: duet-rogue [--tls=CA,CERT,KEY] --supervisor=|"
                 "--verifier=|--hub=|--kill-instance=|--bad-variant=|"
                 "--hijack=HOST:PORT [--swap=TEXT,SIG] [--seconds=N]\n";
    return 2;
  }
  config cfg{tls};
  if (!tls.empty()) {
    auto a = tls.find(',');
    auto b = tls.find(',', a + 1);
    auto self = duet::pki::signer::load(tls.substr(a + 1, b - a - 1),
                                        tls.substr(b + 1));
    rogue_identity = std::make_shared<duet::node_identity>();
    rogue_identity->name = "rogue";
    if (self)
      rogue_identity->self
        = std::make_shared<duet::pki::signer>(std::move(*self));
  }
  caf::actor_system sys{cfg};
  auto eq = arg.find('=');
  auto what = arg.substr(0, eq);
  auto address = eq == std::string::npos ? "" : arg.substr(eq + 1);
  std::string host;
  uint16_t port = 0;
  if (!split(address, host, port)) {
    std::cerr << "not host:port: " << address << "\n";
    return 2;
  }
  if (what == "--supervisor")
    return attack_supervisor(sys, host, port);
  if (what == "--verifier")
    return attack_verifier(sys, host, port);
  if (what == "--kill-instance")
    return kill_instance(sys, host, port);
  if (what == "--bad-variant")
    return send_bad_variant(sys, host, port);
  if (what == "--hub")
    return attack_hub(sys, host, port);
  if (what == "--hijack")
    return hijack_tasks(sys, host, port, std::chrono::seconds{seconds});
  std::cerr << "unknown attack " << what << "\n";
  return 2;
}
