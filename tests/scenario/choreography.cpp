// Scenario: front + hub + 3 verifier nodes, choreography style.

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

cluster_options choreographed(std::vector<std::string> front_extra = {}) {
  cluster_options opts;
  opts.verifiers = 3;
  opts.hub = true;
  opts.front_extra = std::move(front_extra);
  return opts;
}

// Waits until every task is final; returns the ones that are not.
std::vector<std::string> await_final(cluster& c,
                                     const std::map<std::string, bool>& tasks,
                                     std::chrono::milliseconds timeout) {
  std::vector<std::string> open;
  for (auto& kvp : tasks)
    open.push_back(kvp.first);
  wait_until(
    [&] {
      std::vector<std::string> still;
      for (auto& id : open) {
        auto doc = get_task(c, id);
        if (!doc.is_object() || doc["state"] == "pending")
          still.push_back(id);
      }
      open.swap(still);
      return open.empty();
    },
    timeout);
  return open;
}

// Checks every task ended "done" with the expected answer.
void check_answers(cluster& c, const std::map<std::string, bool>& tasks) {
  size_t right = 0;
  for (auto& [id, valid] : tasks) {
    auto doc = get_task(c, id);
    if (doc["state"] == "done" && doc["verified"] == valid)
      ++right;
    else
      MESSAGE("task ", id, ": ", doc.dump());
  }
  CHECK(right == tasks.size());
}

json stats(cluster& c) {
  auto doc = c.view();
  return doc.is_object() ? doc["choreography"] : json{};
}

uint64_t count_of(const json& st, const std::string& verifier) {
  auto by = st["byVerifier"];
  return by.contains(verifier) ? by[verifier].get<uint64_t>() : 0;
}

const std::string v1 = "verifier-1/verifier-0";
const std::string v2 = "verifier-2/verifier-0";
const std::string v3 = "verifier-3/verifier-0";

} // namespace

TEST_SUITE("scenario.choreography") {
  TEST_CASE("1000 tasks from 4 clients are each verified once, split") {
    cluster c{choreographed()};
    REQUIRE(c.wait_members());
    std::map<std::string, bool> tasks;
    std::mutex mtx;
    std::atomic<int> refused{0};
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t)
      clients.emplace_back([&, t] {
        for (int i = 0; i < 250; ++i) {
          auto valid = (i + t) % 2 == 0;
          auto id = submit_task(c, seed_body(valid));
          if (id.empty()) {
            ++refused;
            continue;
          }
          std::lock_guard<std::mutex> guard{mtx};
          tasks.emplace(id, valid);
        }
      });
    for (auto& t : clients)
      t.join();
    CHECK(refused == 0);
    REQUIRE(tasks.size() == 1000);
    CHECK(await_final(c, tasks, 30000ms).empty());
    check_answers(c, tasks);
    auto st = stats(c);
    MESSAGE("choreography counters: ", st.dump());
    for (auto& name : {v1, v2, v3})
      CHECK(count_of(st, name) >= 150);
    CHECK(st["duplicates"].get<uint64_t>() <= 10);
    CHECK(st["pending"] == 0);
  }

  TEST_CASE("tasks of a killed verifier are taken over") {
    cluster c{choreographed()};
    REQUIRE(c.wait_members());
    std::map<std::string, bool> tasks;
    std::mutex mtx;
    client_threads clients{2, [&](int t, int i) {
                             auto valid = (i + t) % 3 != 0;
                             auto id = submit_task(c, seed_body(valid));
                             if (!id.empty()) {
                               std::lock_guard<std::mutex> guard{mtx};
                               tasks.emplace(id, valid);
                             }
                           }};
    std::this_thread::sleep_for(500ms);
    c.verifiers[1]->signal(SIGKILL);
    std::this_thread::sleep_for(1500ms);
    clients.stop();
    MESSAGE(tasks.size(), " tasks accepted");
    CHECK(await_final(c, tasks, 30000ms).empty());
    check_answers(c, tasks);
  }

  TEST_CASE("a verifier that joins later gets work, one that leaves none") {
    cluster c{choreographed()};
    REQUIRE(c.wait_members());
    // verifier-3 leaves cleanly before any work, and says so: the front
    // drops it at once (not after member-timeout of silence).
    REQUIRE(c.verifiers[2]->stop() == 0);
    CHECK_MESSAGE(wait_until(
                    [&] {
                      auto err = c.front->err();
                      return err.find("consumer verifier-3#")
                               != std::string::npos
                             && err.find(" left hub ") != std::string::npos;
                    },
                    5000ms),
                  c.front->err());
    std::map<std::string, bool> tasks;
    auto run = [&](int n) {
      for (int i = 0; i < n; ++i)
        if (auto id = submit_task(c, seed_body(true)); !id.empty())
          tasks.emplace(id, true);
      CHECK(await_final(c, tasks, 20000ms).empty());
    };
    run(60);
    CHECK(count_of(stats(c), v3) == 0);

    // It comes back: once it beats it takes a share.
    c.start_verifier(2);
    REQUIRE(c.wait_members());
    std::this_thread::sleep_for(1000ms);
    run(150);
    auto with_v3 = count_of(stats(c), v3);
    CHECK(with_v3 > 0);

    // verifier-1 leaves: it gets nothing more.
    REQUIRE(c.verifiers[0]->stop() == 0);
    auto v1_before = count_of(stats(c), v1);
    run(60);
    CHECK(count_of(stats(c), v1) == v1_before);
    check_answers(c, tasks);
  }

  TEST_CASE("seed compatibility: POST, then the id-less GET") {
    cluster c{choreographed()};
    REQUIRE(c.wait_members());
    auto empty = http_request(c.http_port, "GET", "/api/signature");
    CHECK(empty.status == 200);
    CHECK(json::parse(empty.body)
          == json{{"verified", false}, {"response", false}});

    auto res = c.post("/api/signature", {{"texto", seed().text},
                                         {"hexSignature", seed().signature}});
    CHECK(res.status == 202);
    auto doc = json::parse(res.body);
    CHECK(doc["msg"] == "Verification request sent");
    CHECK(res.headers["location"]
          == "/api/signature/" + doc["taskId"].get<std::string>());
    json got;
    CHECK(wait_until(
      [&] {
        got = json::parse(
          http_request(c.http_port, "GET", "/api/signature").body);
        return got["verified"] == true;
      },
      10000ms));
    CHECK(got == json{{"verified", true}, {"response", true}});
    got = json::parse(http_request(c.http_port, "GET", "/api/signature").body);
    CHECK(got == json{{"verified", false}, {"response", false}});

    // A task whose verification errors ends "failed" with the reason.
    auto bad = submit_task(c, {{"text", "x"}, {"hexSignature", "zz"}});
    REQUIRE(!bad.empty());
    CHECK(wait_until([&] { return get_task(c, bad)["state"] == "failed"; },
                     10000ms));
    CHECK(get_task(c, bad)["message"].get<std::string>().find("non-hex")
          != std::string::npos);
    CHECK_FALSE(get_task(c, bad).contains("verified"));
    CHECK(http_request(c.http_port, "GET", "/api/signature/nope").status
          == 404);

    // Long poll: the answer comes as soon as the task is final.
    auto id = submit_task(c, seed_body(true));
    auto polled = http_request(c.http_port, "GET",
                               "/api/signature/" + id + "?wait=10000");
    CHECK(polled.status == 200);
    CHECK(json::parse(polled.body)["state"] == "done");
    CHECK(http_request(c.http_port, "GET", "/api/signature/" + id + "?wait=x")
            .status
          == 400);
  }

  TEST_CASE("backpressure: 503 at the pending limit, nothing lost") {
    cluster c{choreographed(
      {"--choreography.max-pending=20", "--choreography.redeliver-after=1s"})};
    REQUIRE(c.wait_members());
    for (auto& v : c.verifiers)
      v->signal(SIGSTOP);
    std::map<std::string, bool> tasks;
    int status = 0;
    http_response last;
    for (int i = 0; i < 40; ++i) {
      auto id = submit_task(c, seed_body(i % 2 == 0), &status);
      if (id.empty())
        break;
      tasks.emplace(id, i % 2 == 0);
    }
    CHECK(tasks.size() == 20);
    CHECK(status == 503);
    auto refused = c.post("/api/choreography/signature", seed_body(true));
    CHECK(refused.status == 503);
    CHECK(refused.headers["retry-after"] == "1");
    for (auto& v : c.verifiers)
      v->signal(SIGCONT);
    CHECK(await_final(c, tasks, 30000ms).empty());
    check_answers(c, tasks);
  }

  TEST_CASE("a hub restart is survived by joining again") {
    cluster c{choreographed()};
    REQUIRE(c.wait_members());
    auto first = submit_task(c, seed_body(true));
    REQUIRE(wait_until([&] { return get_task(c, first)["state"] == "done"; },
                       10000ms));
    c.hub->signal(SIGKILL);
    REQUIRE(c.hub->wait(5000ms) >= 0);
    c.start_hub();
    // While the front has no hub, it refuses tasks (503, Retry-After) rather
    // than accepting them into a void; clients retry.
    std::map<std::string, bool> tasks;
    for (int i = 0; i < 5; ++i) {
      std::string id;
      CHECK(wait_until(
        [&] {
          int status = 0;
          id = submit_task(c, seed_body(i % 2 == 0), &status);
          CHECK((status == 202 || status == 503));
          return !id.empty();
        },
        15000ms));
      if (!id.empty())
        tasks.emplace(id, i % 2 == 0);
    }
    CHECK(tasks.size() == 5);
    CHECK(await_final(c, tasks, 30000ms).empty());
    check_answers(c, tasks);
  }

} // TEST_SUITE

namespace {

// The sum of a Prometheus counter's samples whose labels contain `labels`.
double metric(const std::string& text, const std::string& name,
              const std::string& labels) {
  double sum = 0;
  size_t pos = 0;
  while ((pos = text.find(name + "{", pos)) != std::string::npos) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos);
    pos = end;
    if (line.find(labels) == std::string::npos)
      continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// Messages and payload bytes through the hub per task, in and out, for `n`
// tasks on a cluster of `verifiers` verifier nodes.
struct traffic {
  double task_messages = 0;
  double task_bytes = 0;
  double result_messages = 0;
  double result_bytes = 0;
};

traffic hub_traffic_per_task(size_t verifiers, int n) {
  cluster_options opts;
  opts.verifiers = verifiers;
  opts.hub = true;
  cluster c{opts};
  REQUIRE(c.wait_members(30s));
  auto before = c.hub_metrics();
  std::map<std::string, bool> tasks;
  for (int i = 0; i < n; ++i) {
    auto id = submit_task(c, seed_body(i % 2 == 0));
    REQUIRE_FALSE(id.empty());
    tasks[id] = i % 2 == 0;
  }
  CHECK(await_final(c, tasks, 30000ms).empty());
  check_answers(c, tasks);
  auto after = c.hub_metrics();
  // Beats are left out: they go on whether there are tasks or not.
  auto delta = [&](const char* name, const char* kind) {
    return (metric(after, name, kind) - metric(before, name, kind)) / n;
  };
  return {delta("duet_hub_messages_total", "kind=\"task\""),
          delta("duet_hub_payload_bytes_total", "kind=\"task\""),
          delta("duet_hub_messages_total", "kind=\"results\""),
          delta("duet_hub_payload_bytes_total", "kind=\"results\"")};
}

} // namespace

TEST_SUITE("scenario.choreography") {
  TEST_CASE("two hubs: kill -9 of the hub in use under load loses no task "
            "and tasks are still accepted") {
    auto opts = choreographed();
    opts.second_hub = true;
    cluster c{opts};
    REQUIRE_MESSAGE(c.wait_members(), c.view().dump(), "\n",
                    c.front->err().substr(0, 3000));
    // The consumers join both hubs; the front publishes through the first
    // it joined.
    auto first = stats(c)["hub"] == "127.0.0.1:" + std::to_string(c.hub_port);
    auto& used = first ? c.hub : c.hub2;
    auto other = "127.0.0.1:"
                 + std::to_string(first ? c.hub2_port : c.hub_port);
    REQUIRE(wait_until(
      [&] {
        auto hubs = stats(c)["hubs"];
        return hubs.size() == 2 && hubs[0]["joined"] == true
               && hubs[1]["joined"] == true;
      },
      10000ms));
    std::map<std::string, bool> tasks;
    std::mutex mtx;
    std::atomic<int> refused{0};
    using clock_type = std::chrono::steady_clock;
    auto last_accept = clock_type::now();
    clock_type::duration longest_gap{0};
    clock_type::time_point killed_at;
    {
      client_threads load{2, [&](int t, int i) {
                            if (i >= 20000)
                              return;
                            auto valid = (t + i) % 2 == 0;
                            auto id = submit_task(c, seed_body(valid));
                            std::lock_guard<std::mutex> guard{mtx};
                            if (id.empty()) {
                              ++refused;
                              return;
                            }
                            auto now = clock_type::now();
                            if (killed_at != clock_type::time_point{})
                              longest_gap = std::max(longest_gap,
                                                     now - last_accept);
                            last_accept = now;
                            tasks[id] = valid;
                          }};
      std::this_thread::sleep_for(1000ms);
      {
        std::lock_guard<std::mutex> guard{mtx};
        killed_at = clock_type::now();
        last_accept = killed_at;
      }
      used->signal(SIGKILL);
      used->wait(5000ms);
      CHECK(wait_until([&] { return stats(c)["hub"] == other; }, 5000ms));
      std::this_thread::sleep_for(2000ms);
      load.stop();
    }
    MESSAGE(tasks.size(), " tasks accepted, ", refused.load(),
            " refused (pending limit); longest time without an accepted "
            "task after the kill: ",
            std::chrono::duration_cast<std::chrono::milliseconds>(longest_gap)
              .count(),
            " ms");
    REQUIRE(tasks.size() > 100);
    // The front moved to the other hub at once: tasks went on being
    // accepted (503s here are max-pending's backpressure, from 2 clients
    // without pause).
    CHECK(longest_gap < 2s);
    CHECK(await_final(c, tasks, 45000ms).empty());
    check_answers(c, tasks);
    auto st = stats(c);
    MESSAGE(st.dump());
    // One final answer per task: later results only count as duplicates.
    CHECK(st["results"].get<uint64_t>()
          == tasks.size() + st["duplicates"].get<uint64_t>());
  }

  TEST_CASE("hub traffic per task does not grow with the verifier nodes") {
    // (Sequential clusters, ~15 s; broadcast would copy every task to
    // every node: 6x the bytes with 6 nodes.)
    auto one = hub_traffic_per_task(1, 300);
    auto three = hub_traffic_per_task(3, 300);
    auto six = hub_traffic_per_task(6, 300);
    size_t nodes = 1;
    for (auto& x : {one, three, six}) {
      MESSAGE("per task through the hub with ", nodes,
              " verifier node(s): ", x.task_messages + x.result_messages,
              " messages, ", x.task_bytes + x.result_bytes,
              " payload bytes (tasks ", x.task_messages, " messages, ",
              x.task_bytes, " bytes; results ", x.result_messages,
              " messages, ", x.result_bytes, " bytes)");
      nodes = nodes == 1 ? 3 : 6;
      CAPTURE(nodes);
      // Each task in once and out once, to its owner only (a broadcast
      // would send it out once per node), the same bytes whatever the
      // number of nodes: a digest, not the text.
      CHECK(x.task_messages == doctest::Approx(2.0).epsilon(0.05));
      CHECK(x.task_bytes == doctest::Approx(one.task_bytes).epsilon(0.05));
      // In and out, ~650 bytes each: the 512 hex digits of the signature,
      // the digest, ids and the pin; the 3.3 KB text stays on the front.
      CHECK(x.task_bytes < 1400);
      // Each result in and out in a signed batch: at most one batch per
      // result, whose proof (with the node's certificate) is the bulk.
      CHECK(x.result_messages <= 2.1);
      CHECK(x.result_bytes < 2500);
    }
  }
}

TEST_SUITE("scenario.choreography") {
  TEST_CASE("front kill -9 with 500 pending and 100 finished tasks: after "
            "the restart all 600 answer, the pending ones finish right") {
    cluster c{choreographed()};
    REQUIRE(c.wait_members());
    // 80 finished and read, then 20 finished that nobody read yet.
    std::map<std::string, bool> finished;
    for (int i = 0; i < 80; ++i) {
      auto id = submit_task(c, seed_body(i % 2 == 0));
      REQUIRE_FALSE(id.empty());
      finished[id] = i % 2 == 0;
    }
    REQUIRE(await_final(c, finished, 30000ms).empty());
    for (int i = 0; i < 20; ++i) {
      auto id = submit_task(c, seed_body(true));
      REQUIRE_FALSE(id.empty());
      finished[id] = true;
    }
    REQUIRE(wait_until([&] { return stats(c)["pending"] == 0; }, 30000ms));
    // The seed's id-less GET pops 10 of those before the crash; it must not
    // give them again afterwards.
    auto pop = [&] {
      return parse_json(http_request(c.http_port, "GET", "/api/signature"))
        .value("response", false);
    };
    for (int i = 0; i < 10; ++i)
      REQUIRE(pop());
    // Verifiers frozen: what is accepted now stays pending.
    for (auto& v : c.verifiers)
      v->signal(SIGSTOP);
    std::map<std::string, bool> pending;
    for (int i = 0; i < 500; ++i) {
      auto id = submit_task(c, seed_body(i % 3 != 0));
      REQUIRE_FALSE(id.empty());
      pending[id] = i % 3 != 0;
    }
    CHECK(stats(c)["pending"] == 500);
    c.front->signal(SIGKILL);
    CHECK(c.front->wait(5000ms) >= 0);
    c.start_front();
    REQUIRE(wait_until(
      [&] { return http_request(c.http_port, "GET", "/readyz").status == 200; },
      15000ms));
    CHECK(c.front->err().find("500 pending and 100 finished task(s) "
                              "restored")
          != std::string::npos);
    // The id-less GET pops the 10 finished before the crash that nobody
    // read, and nothing more: those popped before the crash stay popped,
    // and the pending ones are not final yet.
    for (int i = 0; i < 10; ++i) {
      CAPTURE(i);
      CHECK(pop());
    }
    CHECK_FALSE(pop());
    // Now the verifiers may work again.
    for (auto& v : c.verifiers)
      v->signal(SIGCONT);
    // Every id answers: the finished ones at once, with their verdicts.
    for (auto& kvp : finished) {
      auto doc = get_task(c, kvp.first);
      CAPTURE(kvp.first);
      CHECK(doc["state"] == "done");
      CHECK(doc["verified"] == kvp.second);
    }
    // The pending ones are published again and finish right.
    CHECK(await_final(c, pending, 45000ms).empty());
    check_answers(c, pending);
  }
}
