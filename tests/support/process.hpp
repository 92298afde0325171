#pragma once

// Test support: child processes, free ports, bounded waits, a tiny blocking
// HTTP client. Every wait here has a deadline.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace duet::test {

using namespace std::chrono_literals;

/// A child process whose stdout and stderr go to files; stopped (SIGTERM,
/// then SIGKILL) when destroyed.
class process {
public:
  /// Starts `argv[0]` with `argv`; output goes to `log_prefix`.out/.err.
  process(std::vector<std::string> argv, std::string log_prefix);
  ~process();

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  /// Sends `sig` to the process.
  void signal(int sig);

  /// Stops with SIGTERM (SIGKILL after `grace`); returns the exit code, or
  /// 128 + signal if it was killed.
  int stop(std::chrono::milliseconds grace = 5000ms);

  /// Waits up to `timeout` for the process to exit; returns its exit code
  /// (or 128 + signal), or -1 if it still runs.
  int wait(std::chrono::milliseconds timeout);

  /// Returns whether the process still runs.
  bool running();

  /// Returns what the process wrote to stdout / stderr so far.
  std::string out() const;
  std::string err() const;

  pid_t pid() const {
    return pid_;
  }

private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_prefix_;
};

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
uint16_t free_port();

/// Milliseconds since `t0` (steady clock).
inline long ms_since(std::chrono::steady_clock::time_point t0) {
  return static_cast<long>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - t0)
      .count());
}

/// Polls `pred` every 20 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout);

/// An HTTP response as seen by the test client.
struct http_response {
  /// 0 if the request failed at the socket level.
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

/// Sends one HTTP/1.1 request (Connection: close) to 127.0.0.1:`port` and
/// reads the response; gives up after `timeout`.
http_response http_request(uint16_t port, const std::string& method,
                           const std::string& target,
                           const std::string& body = {},
                           std::chrono::milliseconds timeout = 10000ms);

/// Like `http_request`, to `host` (an IPv4 address) instead of 127.0.0.1.
http_response http_request(const std::string& host, uint16_t port,
                           const std::string& method, const std::string& target,
                           const std::string& body = {},
                           std::chrono::milliseconds timeout = 10000ms);

/// Like `http_request`, over HTTPS: the server's certificate must chain to
/// `ca` and name `host` (else status 0).
http_response https_request(uint16_t port, const std::string& ca,
                            const std::string& host, const std::string& method,
                            const std::string& target,
                            const std::string& body = {},
                            std::chrono::milliseconds timeout = 10000ms);

/// Sends raw bytes and returns everything read until the peer closes.
std::string raw_exchange(const std::string& host, uint16_t port,
                         const std::string& bytes,
                         std::chrono::milliseconds timeout = 10000ms);
std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout = 10000ms);

/// A raw TCP connection to 127.0.0.1:`port` from the loopback address
/// `source` (any 127.x.y.z: tests tell clients apart by address); closed
/// when destroyed.
class tcp_client {
public:
  explicit tcp_client(uint16_t port, const std::string& source = "127.0.0.1");
  ~tcp_client();

  tcp_client(const tcp_client&) = delete;
  tcp_client& operator=(const tcp_client&) = delete;

  /// Returns whether the connection was established.
  bool connected() const {
    return fd_ >= 0;
  }

  /// Sends all of `data`; false on error.
  bool send(const std::string& data);

  /// Reads until the peer closes or `timeout` passes; returns what came.
  std::string read_all(std::chrono::milliseconds timeout);

  /// Returns whether the peer closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);

private:
  int fd_ = -1;
};

/// Client threads that each call `step(client, iteration)` until stopped:
/// the background load of scenario tests.
class client_threads {
public:
  client_threads(int n, std::function<void(int, int)> step);
  ~client_threads();

  /// Stops every client after its current step and waits for it.
  void stop();

private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

/// Reads a whole file.
std::string read_file(const std::string& path);

/// Creates a fresh temporary folder and returns its path.
std::string make_temp_dir();

} // namespace duet::test
