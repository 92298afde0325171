#pragma once

// A local duet cluster for scenario tests: real duet-node processes started
// from the real files in config/, with free loopback ports given on the
// command line. Everything it starts is stopped when it goes away.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace duet::test {

/// Where the tests find the repository and the node binary.
std::string source_dir();
std::string node_binary();

/// The test run's cluster PKI (made once per test process, removed at its
/// end): the CA file, and a certificate and key issued for `name` on first
/// use, vouching for every role (the name "rogue": front and verifier;
/// names starting "norole": none).
struct test_pki {
  static const std::string& ca();
  static std::string certificate(const std::string& name);
  static std::string key(const std::string& name);
};

/// `--tls.ca=... --tls.certificate=... --tls.key=...` for node `name`.
std::vector<std::string> tls_args(const std::string& name);

/// Starts `duet-node --config-file=config/<config> extra...`. Unless `extra`
/// sets `--tls.` keys, the node gets the test PKI's certificate for its
/// name (`--node.name=` in `extra`, else the file's).
std::unique_ptr<process> start_node(const std::string& config,
                                    std::vector<std::string> extra,
                                    const std::string& log_prefix);

/// What a test cluster runs.
struct cluster_options {
  /// Verifier nodes (config/verifier-1.ini ... -3.ini).
  size_t verifiers = 2;
  /// Whether a supervisor runs; if so the front uses the orchestration
  /// style, otherwise the direct style.
  bool supervisor = false;
  /// Whether a hub runs; if so the front uses the choreography style.
  bool hub = false;
  /// Whether a second hub runs (listed after the first in
  /// choreography.hubs).
  bool second_hub = false;
  std::vector<std::string> front_extra;
  std::vector<std::string> verifier_extra;
  std::vector<std::string> supervisor_extra;
  /// Plaintext between the nodes (tls.insecure=true) instead of the test
  /// PKI's certificates.
  bool insecure = false;
};

/// A front, verifier nodes and optionally a supervisor, on free ports.
class cluster {
public:
  explicit cluster(cluster_options opts = {});
  ~cluster();

  /// (Re)starts verifier `i` (0-based) on its port.
  void start_verifier(size_t i);

  /// (Re)starts the front with the arguments it first had (its ports and
  /// its task store).
  void start_front();

  /// (Re)starts the supervisor on its port.
  void start_supervisor();

  /// (Re)starts the hub (`which` 1: the second hub) on its ports.
  void start_hub(size_t which = 0);

  /// Waits until the front has a hub and every running verifier's consumer
  /// beats there (choreography).
  bool wait_members(std::chrono::milliseconds timeout = 15s);

  /// The `/api/cluster` document of the front.
  nlohmann::json view();

  /// The supervisor's view of instance `name` (null if not listed).
  nlohmann::json instance(const std::string& name);

  /// Waits until the front has `n` verifiers connected.
  bool wait_verifiers_up(size_t n, std::chrono::milliseconds timeout = 15s);

  /// POSTs a JSON body to the front.
  http_response post(const std::string& target, const nlohmann::json& body);

  /// The `/healthz` document of the front.
  nlohmann::json health();

  /// `--choreography.hub(s)=...` for this cluster's nodes.
  std::vector<std::string> hub_args() const;

  /// The `/metrics` text of hub `which`.
  std::string hub_metrics(size_t which = 0);

  cluster_options opts;
  std::string dir;
  uint16_t http_port = 0;
  uint16_t supervisor_port = 0;
  std::unique_ptr<process> supervisor;
  uint16_t hub_port = 0;
  std::unique_ptr<process> hub;
  uint16_t hub2_port = 0;
  std::unique_ptr<process> hub2;
  /// HTTP ports of the hubs (/metrics).
  uint16_t hub_http_port = 0;
  uint16_t hub2_http_port = 0;
  std::vector<uint16_t> verifier_ports;
  /// HTTP ports of the verifier nodes (/metrics, /readyz).
  std::vector<uint16_t> verifier_http_ports;
  std::unique_ptr<process> front;
  std::vector<std::string> front_args;
  std::vector<std::unique_ptr<process>> verifiers;
};

/// Runs `duet-rogue ARGS...` (a hostile cluster member) to its end; returns
/// its exit code (-1 if it did not end within `timeout`) and its output.
/// `tls` is "member" (a certificate of the test CA), "none" (plaintext), or
/// "CA,CERT,KEY".
int run_rogue(std::vector<std::string> args, std::string& output,
              const std::string& tls = "member",
              std::chrono::milliseconds timeout = 60s);

/// Runs `duet-rogue ARG` (see above).
inline int run_rogue(const std::string& arg, std::string& output,
                     const std::string& tls = "member",
                     std::chrono::milliseconds timeout = 60s) {
  return run_rogue(std::vector<std::string>{arg}, output, tls, timeout);
}

/// Returns the resident set size of process `pid` in KiB (0 if unknown).
size_t rss_kib(int pid);

/// Returns the value of the Prometheus series `series` (exactly as printed,
/// labels included) at `http_port`/metrics, or -1 if absent.
double metric(uint16_t http_port, const std::string& series);

/// The seed's text, signature and LF-only negative.
struct seed_vector {
  seed_vector();
  std::string text;
  std::string text_lf;
  std::string signature;
};

/// The seed vector, read once.
const seed_vector& seed();

/// A verification body with the seed's signature over its text (tampered
/// unless `valid`), naming `key` (default: the front's default key).
nlohmann::json seed_body(bool valid, const std::string& key = {});

/// The body of `res` as JSON (discarded if it is not JSON).
nlohmann::json parse_json(const http_response& res);

/// Submits a choreography task; returns its id, or "" if refused (the
/// status in `status` if given).
std::string submit_task(cluster& c, const nlohmann::json& body,
                        int* status = nullptr);

/// The view of task `id` (`GET /api/signature/<id>`), or null.
nlohmann::json get_task(cluster& c, const std::string& id);

} // namespace duet::test
