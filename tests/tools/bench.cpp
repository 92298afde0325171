// duet-bench: open-loop timing shows a server stall; a smoke run of every
// style against a real cluster.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

std::string bench_binary() {
  return std::filesystem::path{node_binary()}.parent_path() / "duet-bench";
}

// A single-threaded HTTP server that answers 200 at once, except that it
// freezes completely for `stall` when it gets request number `stall_at`.
class stalling_server {
public:
  stalling_server(int stall_at, std::chrono::milliseconds stall)
    : stall_at_(stall_at), stall_(stall) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listener_, 64);
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    thread_ = std::thread([this] { loop(); });
  }

  ~stalling_server() {
    stop_ = true;
    thread_.join();
    for (auto& p : fds_)
      close(p.fd);
  }

  uint16_t port = 0;

private:
  void loop() {
    fds_.push_back({listener_, POLLIN, 0});
    std::vector<std::string> bufs(1);
    static const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                      "Content-Type: text/plain\r\n\r\nok";
    while (!stop_) {
      if (poll(fds_.data(), fds_.size(), 50) <= 0)
        continue;
      for (size_t i = 0; i < fds_.size(); ++i) {
        if ((fds_[i].revents & POLLIN) == 0)
          continue;
        if (i == 0) {
          auto fd = accept(listener_, nullptr, nullptr);
          fds_.push_back({fd, POLLIN, 0});
          bufs.emplace_back();
          continue;
        }
        char buf[4096];
        auto n = recv(fds_[i].fd, buf, sizeof(buf), 0);
        if (n <= 0) {
          fds_[i].events = 0;
          continue;
        }
        bufs[i].append(buf, static_cast<size_t>(n));
        for (auto end = bufs[i].find("\r\n\r\n"); end != std::string::npos;
             end = bufs[i].find("\r\n\r\n")) {
          bufs[i].erase(0, end + 4);
          if (++served_ == stall_at_)
            std::this_thread::sleep_for(stall_);
          send(fds_[i].fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
      }
    }
  }

  int stall_at_;
  std::chrono::milliseconds stall_;
  int listener_ = -1;
  int served_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<pollfd> fds_;
  std::thread thread_;
};

json run_bench(std::vector<std::string> args, const std::string& dir) {
  std::vector<std::string> argv{bench_binary()};
  for (auto& arg : args)
    argv.push_back(arg);
  argv.push_back("--json");
  process p{argv, dir + "/bench"};
  if (p.wait(60000ms) != 0)
    return nullptr;
  return json::parse(p.out(), nullptr, false);
}

} // namespace

TEST_SUITE("tools.bench") {
  TEST_CASE("open loop shows a 1 s server stall in p99") {
    auto dir = make_temp_dir();
    stalling_server srv{300, 1000ms};
    auto url = "--url=http://127.0.0.1:" + std::to_string(srv.port);
    auto r = run_bench({url, "--target=/", "--rate=200", "--duration=3",
                        "--warmup=0", "--connections=4"},
                       dir);
    REQUIRE(r.is_object());
    MESSAGE("open loop: ", r["latency_ms"].dump());
    CHECK(r["error_count"] == 0);
    CHECK(r["requests"].get<int>() >= 550);
    CHECK(r["latency_ms"]["p99"].get<double>() >= 500);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("smoke run of every style against a cluster") {
    cluster_options opts;
    opts.verifiers = 2;
    opts.supervisor = true;
    opts.hub = true;
    opts.front_extra = {"--front.inline-keys=keys"};
    cluster c{opts};
    REQUIRE(c.wait_members());
    REQUIRE_MESSAGE(wait_until(
                      [&] {
                        auto doc = c.view();
                        return doc.is_object()
                               && doc["orchestration"].size() == 2
                               && doc["direct"].size() == 2;
                      },
                      15000ms),
                    std::string{c.view().dump() + "\n" + c.front->err()});
    auto url = "--url=http://127.0.0.1:" + std::to_string(c.http_port);
    auto data = source_dir() + "/tests/data/seed-vector/";
    for (auto style : {"inline", "direct", "orchestration", "choreography"}) {
      CAPTURE(style);
      auto r = run_bench({url, std::string{"--style="} + style, "--duration=1",
                          "--warmup=0.2", "--connections=4",
                          "--text-file=" + data + "arquivo.txt",
                          "--hex-file=" + data + "signature.hex"},
                         c.dir);
      REQUIRE(r.is_object());
      CHECK(r["requests"].get<int>() > 0);
      CHECK(r["error_count"] == 0);
    }
  }

} // TEST_SUITE
