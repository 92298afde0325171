// Scenario: the cluster of config/ across network namespaces (tools/netlab),
// one namespace and address per node on a bridge of its own: every style end
// to end, and partitions that drop packets without telling anyone.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

using clock_type = std::chrono::steady_clock;

// Runs tools/netlab with `args` for lab `id`; returns its exit code (-1: it
// did not end within `timeout`) and its output.
int netlab(int id, const std::string& run_dir, std::vector<std::string> args,
           std::string& output, std::chrono::milliseconds timeout = 60000ms) {
  auto build = std::filesystem::path{node_binary()}.parent_path().parent_path();
  std::vector<std::string> argv{
    source_dir() + "/tools/netlab", "--lab=" + std::to_string(id),
    "--run=" + run_dir,
    "--pki=" + std::filesystem::path{test_pki::ca()}.parent_path().string(),
    "--build=" + build.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  process p{std::move(argv), run_dir + "/netlab-" + args.front()};
  auto rc = p.wait(timeout);
  if (rc < 0)
    p.stop(1000ms);
  output = p.out() + p.err();
  return rc;
}

// A lab of its own: the first id in 100..199 whose lock this process gets
// (tests run in parallel; a lock dies with its process).
class lab {
public:
  lab() : dir_(make_temp_dir()) {
    if (geteuid() != 0) {
      why_not_ = "not root: network namespaces need root";
      skipped_ = true;
      return;
    }
    for (int id = 100; id < 200 && id_ < 0; ++id) {
      auto path = "/tmp/duet-netlab-" + std::to_string(id) + ".lock";
      auto fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
        id_ = id;
        lock_fd_ = fd;
      } else if (fd >= 0) {
        ::close(fd);
      }
    }
    if (id_ < 0) {
      why_not_ = "no free lab id";
      return;
    }
    // A lab left behind by a killed run under this id goes first.
    std::string out;
    netlab(id_, dir_, {"down"}, out);
    for (auto& name : {"front", "hub", "supervisor", "verifier-1", "verifier-2",
                       "verifier-3"})
      test_pki::certificate(name);
    auto rc = netlab(id_, dir_, {"up"}, out);
    if (rc != 0) {
      why_not_ = "tools/netlab up failed (" + std::to_string(rc) + "): " + out;
      if (out.find("Operation not permitted") != std::string::npos
          || out.find("needs root") != std::string::npos)
        skipped_ = true;
      return;
    }
    auto pos = out.rfind("front http://");
    if (pos == std::string::npos) {
      why_not_ = "tools/netlab up printed no front: " + out;
      return;
    }
    auto url = out.substr(pos + 13);
    url = url.substr(0, url.find_first_of("\r\n"));
    host_ = url.substr(0, url.rfind(':'));
    port_ = static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
    ready_ = true;
  }

  ~lab() {
    if (id_ >= 0) {
      std::string out;
      netlab(id_, dir_, {"down"}, out);
      ::close(lock_fd_);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  /// Whether the lab runs; else `why_not()` says why.
  bool ready() const {
    return ready_;
  }

  /// Whether it could not run here for want of rights (not a failure).
  bool skipped() const {
    return skipped_;
  }

  const std::string& why_not() const {
    return why_not_;
  }

  int run(const std::vector<std::string>& args) {
    std::string out;
    return netlab(id_, dir_, args, out, 10000ms);
  }

  http_response get(const std::string& target) {
    return http_request(host_, port_, "GET", target, {}, 5000ms);
  }

  http_response post(const std::string& target, const json& body) {
    return http_request(host_, port_, "POST", target, body.dump(), 10000ms);
  }

  json view() {
    auto res = get("/api/cluster");
    return res.status == 200 ? json::parse(res.body, nullptr, false) : json{};
  }

  // The front's orchestration pool entry of `name`.
  json instance(const std::string& name) {
    auto doc = view();
    if (doc.is_object())
      for (auto& x : doc["orchestration"])
        if (x["name"] == name)
          return x;
    return {};
  }

  bool in_rotation(const std::string& name) {
    auto x = instance(name);
    return x.is_object() && x["state"] == "up";
  }

  const std::string& host() const {
    return host_;
  }

  /// The last `n` bytes of node `name`'s log, for failure messages.
  std::string log(const std::string& name, size_t n = 3000) const {
    auto text = read_file(dir_ + "/" + name + ".log");
    return text.size() > n ? text.substr(text.size() - n) : text;
  }

  /// The lab address of node `name`'s subnet, e.g. "198.18.100.".
  std::string subnet() const {
    return "198.18." + std::to_string(id_) + ".";
  }

private:
  std::string dir_;
  int id_ = -1;
  int lock_fd_ = -1;
  bool ready_ = false;
  bool skipped_ = false;
  std::string why_not_;
  std::string host_;
  uint16_t port_ = 0;
};

#define REQUIRE_LAB(l)                                                         \
  if (!(l).ready() && (l).skipped()) {                                         \
    MESSAGE("skipped: ", (l).why_not());                                       \
    return;                                                                    \
  }                                                                            \
  REQUIRE_MESSAGE((l).ready(), (l).why_not())

const std::string v1 = "verifier-1/verifier-0";
const std::string v2 = "verifier-2/verifier-0";

bool verified(const http_response& res) {
  return res.status == 200
         && json::parse(res.body, nullptr, false).value("verified", false);
}

// Orchestration load on the lab's front: two clients, at most 20000
// requests each and for at most 30 s, counting answers and failures (the
// first failure kept, for the failure message) until `stop()`.
class orchestration_load {
public:
  explicit orchestration_load(lab& l)
    : end_(clock_type::now() + 30s),
      clients_{2, [this, &l](int, int i) {
                 if (i >= 20000 || clock_type::now() > end_) {
                   std::this_thread::sleep_for(10ms);
                   return;
                 }
                 auto res = l.post("/api/orchestration/signature",
                                   seed_body(true));
                 if (verified(res)) {
                   ++ok;
                 } else if (failed++ == 0) {
                   std::lock_guard<std::mutex> guard{mtx_};
                   first_failure_ = std::to_string(res.status) + " " + res.body;
                 }
               }} {
    // nop
  }

  void stop() {
    clients_.stop();
  }

  std::string first_failure() {
    std::lock_guard<std::mutex> guard{mtx_};
    return first_failure_;
  }

  std::atomic<int> ok{0};
  std::atomic<int> failed{0};

private:
  clock_type::time_point end_;
  std::mutex mtx_;
  std::string first_failure_;
  client_threads clients_;
};

} // namespace

TEST_SUITE("scenario.netlab") {
  TEST_CASE("across network namespaces: every style end to end") {
    lab l;
    REQUIRE_LAB(l);
    CHECK(l.host().rfind(l.subnet(), 0) == 0);
    REQUIRE(wait_until([&] { return l.view()["nodes"].size() == 3; }, 15s));
    auto doc = l.view();
    for (auto& n : doc["nodes"]) {
      CAPTURE(n.dump());
      CHECK(n["address"].get<std::string>().rfind(l.subnet(), 0) == 0);
      CHECK(n["state"] == "up");
    }
    auto body = seed_body(true);
    CHECK(verified(l.post("/api/direct/signature", body)));
    CHECK(verified(l.post("/api/orchestration/signature", body)));
    CHECK_FALSE(
      verified(l.post("/api/orchestration/signature", seed_body(false))));
    auto submitted = l.post("/api/choreography/signature", body);
    REQUIRE(submitted.status == 202);
    auto id = json::parse(submitted.body)["taskId"].get<std::string>();
    json task;
    REQUIRE(wait_until(
      [&] {
        task = parse_json(l.get("/api/signature/" + id + "?wait=1000"));
        return task.value("state", "") == "done";
      },
      20s));
    CHECK(task["verified"] == true);
  }

  TEST_CASE("across network namespaces: a partitioned verifier is routed "
            "around, and back after the heal") {
    lab l;
    REQUIRE_LAB(l);
    REQUIRE(wait_until(
      [&] {
        return l.in_rotation(v1) && l.in_rotation(v2)
               && l.in_rotation("verifier-3/verifier-0");
      },
      15s));
    orchestration_load load{l};
    auto& ok = load.ok;
    auto& failed = load.failed;
    {
      REQUIRE(wait_until([&] { return ok > 100; }, 5s));
      auto t0 = clock_type::now();
      REQUIRE(l.run({"partition", "verifier-2"}) == 0);
      CHECK(wait_until([&] { return !l.in_rotation(v2); }, 5s));
      auto gone_ms = ms_since(t0);
      MESSAGE("verifier-2 out of rotation ", gone_ms, " ms after the cut");
      CHECK(gone_ms <= 1500);
      // Kept cut for 4 s: once the link is declared dead (1 s), the front
      // tries to reach the node again every reconnect-interval (CAF's
      // connect would block a scheduler thread until the kernel gives up)
      // and must go on serving: answers come in every half second.
      std::this_thread::sleep_for(1000ms);
      for (int i = 0; i < 6; ++i) {
        auto before = ok.load();
        std::this_thread::sleep_for(500ms);
        CAPTURE(i);
        CHECK(ok > before);
      }
      t0 = clock_type::now();
      REQUIRE(l.run({"heal", "verifier-2"}) == 0);
      CHECK(wait_until([&] { return l.in_rotation(v2); }, 10s));
      auto back_ms = ms_since(t0);
      MESSAGE("verifier-2 back in rotation ", back_ms, " ms after the heal");
      CHECK(back_ms <= 2000);
      load.stop();
    }
    MESSAGE(ok.load(), " answers, ", failed.load(), " failed");
    CHECK(failed == 0);
    CHECK(ok > 300);
  }

  TEST_CASE(
    "across network namespaces: with the supervisor partitioned the "
    "front serves with what it knows, and the registry is rebuilt after "
    "the heal") {
    lab l;
    REQUIRE_LAB(l);
    auto supervisor_reachable = [&] {
      auto doc = l.view();
      return doc.is_object() && doc["supervisor"].is_object()
             && doc["supervisor"].value("reachable", false);
    };
    // Every node registered and up in the supervisor's registry, as the
    // front sees it.
    auto registry_whole = [&] {
      auto doc = l.view();
      if (!doc.is_object() || doc["nodes"].size() != 3)
        return false;
      for (auto& n : doc["nodes"])
        if (n["state"] != "up")
          return false;
      return true;
    };
    REQUIRE(wait_until(
      [&] {
        return supervisor_reachable() && registry_whole() && l.in_rotation(v1)
               && l.in_rotation(v2) && l.in_rotation("verifier-3/verifier-0");
      },
      15s));
    orchestration_load load{l};
    auto& ok = load.ok;
    auto& failed = load.failed;
    {
      REQUIRE(wait_until([&] { return ok > 100; }, 5s));
      REQUIRE(l.run({"partition", "supervisor"}) == 0);
      CHECK(wait_until([&] { return !supervisor_reachable(); }, 5s));
      // Kept cut for 3 s: the front goes on with the instances it knows.
      for (int i = 0; i < 6; ++i) {
        auto before = ok.load();
        std::this_thread::sleep_for(500ms);
        CAPTURE(i);
        CHECK(ok > before);
      }
      CHECK(l.in_rotation(v1));
      CHECK(l.in_rotation(v2));
      auto t0 = clock_type::now();
      REQUIRE(l.run({"heal", "supervisor"}) == 0);
      // The verifier nodes register again and the front subscribes again:
      // nobody is restarted.
      CHECK_MESSAGE(
        wait_until([&] { return supervisor_reachable() && registry_whole(); },
                   15s),
        l.view().dump(), "\n", l.log("supervisor"));
      MESSAGE("registry whole again ", ms_since(t0), " ms after the heal");
      CHECK(l.in_rotation(v1));
      CHECK(l.in_rotation(v2));
      load.stop();
    }
    MESSAGE(ok.load(), " answers, ", failed.load(), " failed");
    CHECK_MESSAGE(failed == 0, load.first_failure());
    // Each verifier node registered a second time, with the same process.
    auto log = l.log("supervisor", 1 << 20);
    for (auto& name : {"verifier-1", "verifier-2", "verifier-3"}) {
      auto first = log.find(std::string{"node "} + name + " registered");
      CAPTURE(name);
      REQUIRE(first != std::string::npos);
      CHECK(log.find(std::string{"node "} + name + " registered", first + 1)
            != std::string::npos);
    }
  }

  TEST_CASE("across network namespaces: a hub partitioned under "
            "choreography load: tasks refused while it is away, none "
            "accepted lost, all back after the heal without a restart") {
    lab l;
    REQUIRE_LAB(l);
    auto members = [&] {
      auto doc = l.view();
      return doc.is_object() && doc["choreography"].is_object()
                 && doc["choreography"].value("joined", false)
               ? doc["choreography"].value("members", 0)
               : -1;
    };
    REQUIRE(wait_until([&] { return members() == 3; }, 15s));
    std::mutex mtx;
    std::map<std::string, bool> accepted;
    std::atomic<int> refused{0};
    std::atomic<int> other{0};
    {
      // Two clients, at most 5000 tasks each and for at most 40 s.
      auto end = clock_type::now() + 40s;
      client_threads clients{
        2, [&](int t, int i) {
          if (i >= 5000 || clock_type::now() > end) {
            std::this_thread::sleep_for(10ms);
            return;
          }
          auto valid = (t + i) % 2 == 0;
          auto res = l.post("/api/choreography/signature", seed_body(valid));
          if (res.status == 202) {
            std::lock_guard<std::mutex> guard{mtx};
            accepted[parse_json(res).value("taskId", "")] = valid;
          } else if (res.status == 503) {
            ++refused;
            std::this_thread::sleep_for(20ms);
          } else {
            ++other;
          }
        }};
      auto count = [&] {
        std::lock_guard<std::mutex> guard{mtx};
        return accepted.size();
      };
      REQUIRE(wait_until([&] { return count() > 100; }, 10s));
      REQUIRE(l.run({"partition", "hub"}) == 0);
      // Once the front knows the hub is gone (heartbeats: 1 s), new tasks
      // get 503 with Retry-After instead of being accepted into a void.
      // (Before that, the pending limit may answer 503 too.)
      http_response res;
      CHECK_MESSAGE(wait_until(
                      [&] {
                        res = l.post("/api/choreography/signature",
                                     seed_body(true));
                        return res.body.find("no choreography hub is reachable")
                               != std::string::npos;
                      },
                      5s),
                    res.body);
      CHECK(res.status == 503);
      CHECK(res.headers["retry-after"] == "1");
      // Orchestration goes on meanwhile.
      CHECK(verified(l.post("/api/orchestration/signature", seed_body(true))));
      std::this_thread::sleep_for(2s);
      auto before = count();
      auto t0 = clock_type::now();
      REQUIRE(l.run({"heal", "hub"}) == 0);
      // Nobody is restarted: the front and the consumers join the hub
      // again, and tasks are taken again.
      CHECK_MESSAGE(wait_until([&] { return count() > before + 50; }, 15s),
                    l.log("front"));
      MESSAGE("tasks taken again ", ms_since(t0), " ms after the heal");
      CHECK(wait_until([&] { return members() == 3; }, 10s));
      clients.stop();
    }
    MESSAGE(accepted.size(), " tasks accepted, ", refused.load(),
            " refused while no hub was reachable");
    CHECK(other == 0);
    // Every accepted task, also those published into the partition before
    // the front noticed, ends with the right verdict.
    size_t right = 0;
    std::string last;
    wait_until(
      [&] {
        right = 0;
        for (auto& [id, valid] : accepted) {
          auto doc = parse_json(l.get("/api/signature/" + id));
          if (doc.value("state", "") == "done"
              && doc.value("verified", !valid) == valid)
            ++right;
          else
            last = doc.dump();
        }
        return right == accepted.size();
      },
      60s);
    CHECK_MESSAGE(right == accepted.size(), last);
    auto st = l.view()["choreography"];
    MESSAGE(st.dump());
  }

  TEST_CASE("across network namespaces: a cut between the front and one "
            "verifier only is routed around") {
    lab l;
    REQUIRE_LAB(l);
    REQUIRE(wait_until([&] { return l.in_rotation(v1); }, 15s));
    REQUIRE(l.run({"cut", "front", "verifier-1"}) == 0);
    // The supervisor still reaches verifier-1; the front does not.
    int ok = 0;
    for (int i = 0; i < 30; ++i)
      ok += verified(l.post("/api/orchestration/signature", seed_body(true)));
    CHECK(ok == 30);
    CHECK(wait_until([&] { return !l.in_rotation(v1); }, 5s));
    REQUIRE(l.run({"mend", "front", "verifier-1"}) == 0);
    CHECK(wait_until([&] { return l.in_rotation(v1); }, 10s));
    ok = 0;
    for (int i = 0; i < 30; ++i)
      ok += verified(l.post("/api/orchestration/signature", seed_body(true)));
    CHECK(ok == 30);
  }
}
