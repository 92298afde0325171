#include "support/cluster.hpp"

#include <csignal>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>

#include "actors/crypto/pki.hpp"

namespace duet::test {

std::string source_dir() {
  return DUET_SOURCE_DIR;
}

std::string node_binary() {
  return DUET_NODE_BIN;
}

namespace {

struct pki_state {
  std::mutex mtx;
  std::string dir;
  std::set<std::string> issued;

  pki_state() : dir(make_temp_dir()) {
    if (!pki::init_ca(dir))
      throw std::runtime_error("cannot make the test CA");
  }

  ~pki_state() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::string path(const std::string& name, const char* ext) {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<std::string> roles{"front", "verifier", "supervisor", "hub"};
    if (name == "rogue")
      roles = {"front", "verifier"};
    else if (name.rfind("norole", 0) == 0)
      roles.clear();
    if (issued.insert(name).second && !pki::issue(dir, name, roles))
      throw std::runtime_error("cannot issue a test certificate for " + name);
    return dir + "/" + name + ext;
  }
};

pki_state& the_pki() {
  static pki_state instance;
  return instance;
}

// The node.name a config file of config/ gives.
std::string name_in(const std::string& config) {
  auto text = read_file(source_dir() + "/config/" + config);
  auto pos = text.find("\nname=\"");
  if (pos == std::string::npos)
    return {};
  auto start = pos + 7;
  return text.substr(start, text.find('"', start) - start);
}

} // namespace

const std::string& test_pki::ca() {
  static const std::string path = the_pki().dir + "/ca.pem";
  return path;
}

std::string test_pki::certificate(const std::string& name) {
  return the_pki().path(name, ".pem");
}

std::string test_pki::key(const std::string& name) {
  return the_pki().path(name, ".key");
}

std::vector<std::string> tls_args(const std::string& name) {
  return {"--tls.ca=" + test_pki::ca(),
          "--tls.certificate=" + test_pki::certificate(name),
          "--tls.key=" + test_pki::key(name)};
}

std::unique_ptr<process> start_node(const std::string& config,
                                    std::vector<std::string> extra,
                                    const std::string& log_prefix) {
  std::vector<std::string> argv{node_binary(), "--config-file=" + source_dir()
                                                 + "/config/" + config};
  auto name = name_in(config);
  auto has_tls = false;
  for (auto& arg : extra) {
    if (arg.rfind("--node.name=", 0) == 0)
      name = arg.substr(12);
    if (arg.rfind("--tls.", 0) == 0)
      has_tls = true;
  }
  if (!has_tls && !name.empty())
    for (auto& arg : tls_args(name))
      argv.push_back(std::move(arg));
  for (auto& arg : extra)
    argv.push_back(std::move(arg));
  return std::make_unique<process>(std::move(argv), log_prefix);
}

namespace {

// Waits for the node's ready line; false if it exited (e.g. its port was
// taken between free_port() and the start) or took too long.
bool started(process& p) {
  wait_until(
    [&] {
      return p.out().find(" ready:") != std::string::npos || !p.running();
    },
    15000ms);
  return p.out().find(" ready:") != std::string::npos;
}

} // namespace

cluster::cluster(cluster_options options)
  : opts(std::move(options)), dir(make_temp_dir()) {
  for (int attempt = 0; opts.supervisor && attempt < 3; ++attempt) {
    supervisor_port = free_port();
    start_supervisor();
    if (started(*supervisor))
      break;
  }
  for (int attempt = 0; opts.hub && attempt < 3; ++attempt) {
    hub_port = free_port();
    hub_http_port = free_port();
    start_hub();
    if (started(*hub))
      break;
  }
  for (int attempt = 0; opts.hub && opts.second_hub && attempt < 3; ++attempt) {
    hub2_port = free_port();
    hub2_http_port = free_port();
    start_hub(1);
    if (started(*hub2))
      break;
  }
  verifiers.resize(opts.verifiers);
  verifier_ports.resize(opts.verifiers);
  verifier_http_ports.resize(opts.verifiers);
  for (size_t i = 0; i < opts.verifiers; ++i)
    for (int attempt = 0; attempt < 3; ++attempt) {
      verifier_ports[i] = free_port();
      verifier_http_ports[i] = free_port();
      start_verifier(i);
      if (started(*verifiers[i]))
        break;
    }
  std::string list = "[";
  for (size_t i = 0; i < opts.verifiers; ++i) {
    if (i > 0)
      list += ",";
    list += "\"127.0.0.1:" + std::to_string(verifier_ports[i]) + "\"";
  }
  list += "]";
  http_port = free_port();
  std::vector<std::string> args{"--front.http-port="
                                  + std::to_string(http_port),
                                "--front.verifiers=" + list};
  if (opts.supervisor)
    args.push_back("--front.supervisor=127.0.0.1:"
                   + std::to_string(supervisor_port));
  else
    args.push_back("--front.supervisor=\"\"");
  for (auto& arg : hub_args())
    args.push_back(arg);
  args.push_back("--choreography.store=" + dir + "/front-tasks.db");
  args.push_back(opts.hub          ? "--front.style=choreography"
                 : opts.supervisor ? "--front.style=orchestration"
                                   : "--front.style=direct");
  if (opts.insecure)
    args.push_back("--tls.insecure=true");
  for (auto& arg : opts.front_extra)
    args.push_back(arg);
  front_args = args;
  for (int attempt = 0; attempt < 3; ++attempt) {
    start_front();
    if (started(*front))
      break;
    http_port = free_port();
    front_args[0] = "--front.http-port=" + std::to_string(http_port);
  }
}

void cluster::start_front() {
  front = start_node("front.ini", front_args, dir + "/front");
}

cluster::~cluster() {
  // Stop every node at once; each may take a moment to shut down.
  for (auto* p : {front.get(), supervisor.get(), hub.get(), hub2.get()})
    if (p != nullptr)
      p->signal(SIGTERM);
  for (auto& v : verifiers)
    if (v)
      v->signal(SIGTERM);
  front.reset();
  verifiers.clear();
  supervisor.reset();
  hub.reset();
  hub2.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

void cluster::start_verifier(size_t i) {
  // config/ has three verifier files; more verifiers reuse the last one.
  auto file = "verifier-" + std::to_string(std::min<size_t>(i + 1, 3)) + ".ini";
  std::vector<std::string> args{
    "--node.port=" + std::to_string(verifier_ports[i]),
    "--node.http-port=" + std::to_string(verifier_http_ports[i]),
    "--node.name=verifier-" + std::to_string(i + 1),
    opts.supervisor
      ? "--verifier.supervisor=127.0.0.1:" + std::to_string(supervisor_port)
      : std::string{"--verifier.supervisor=\"\""}};
  for (auto& arg : hub_args())
    args.push_back(arg);
  if (opts.insecure)
    args.push_back("--tls.insecure=true");
  for (auto& arg : opts.verifier_extra)
    args.push_back(arg);
  verifiers[i] = start_node(file, std::move(args),
                            dir + "/verifier-" + std::to_string(i + 1));
}

std::vector<std::string> cluster::hub_args() const {
  if (!opts.hub)
    return {"--choreography.hub=\"\""};
  if (!opts.second_hub)
    return {"--choreography.hub=127.0.0.1:" + std::to_string(hub_port)};
  // The config files name one hub: cleared.
  return {"--choreography.hub=\"\"",
          "--choreography.hubs=[\"127.0.0.1:" + std::to_string(hub_port)
            + "\",\"127.0.0.1:" + std::to_string(hub2_port) + "\"]"};
}

void cluster::start_hub(size_t which) {
  auto port = which == 0 ? hub_port : hub2_port;
  auto http = which == 0 ? hub_http_port : hub2_http_port;
  std::vector<std::string> args{"--node.port=" + std::to_string(port),
                                "--node.http-port=" + std::to_string(http)};
  if (opts.insecure)
    args.push_back("--tls.insecure=true");
  (which == 0 ? hub : hub2) = start_node("hub.ini", std::move(args),
                                         dir + (which == 0 ? "/hub" : "/hub2"));
}

std::string cluster::hub_metrics(size_t which) {
  auto port = which == 0 ? hub_http_port : hub2_http_port;
  return http_request(port, "GET", "/metrics", {}, 2000ms).body;
}

bool cluster::wait_members(std::chrono::milliseconds timeout) {
  return wait_until(
    [&] {
      size_t running = 0;
      for (auto& v : verifiers)
        if (v && v->running())
          ++running;
      // The front has a hub and knows every running consumer on it.
      auto doc = view();
      return doc.is_object() && doc["choreography"].is_object()
             && doc["choreography"].value("joined", false)
             && doc["choreography"].value("members", 0u) == running;
    },
    timeout);
}

void cluster::start_supervisor() {
  std::vector<std::string> args{
    "--node.port=" + std::to_string(supervisor_port), "--node.http-port=0"};
  if (opts.insecure)
    args.push_back("--tls.insecure=true");
  for (auto& arg : opts.supervisor_extra)
    args.push_back(arg);
  supervisor = start_node("supervisor.ini", std::move(args),
                          dir + "/supervisor");
}

nlohmann::json cluster::view() {
  auto res = http_request(http_port, "GET", "/api/cluster", {}, 2000ms);
  if (res.status != 200)
    return nullptr;
  return nlohmann::json::parse(res.body, nullptr, false);
}

nlohmann::json cluster::instance(const std::string& name) {
  auto doc = view();
  if (!doc.is_object())
    return nullptr;
  for (auto& n : doc["nodes"])
    for (auto& x : n["instances"])
      if (x["name"] == name)
        return x;
  return nullptr;
}

bool cluster::wait_verifiers_up(size_t n, std::chrono::milliseconds timeout) {
  return wait_until(
    [&] {
      auto doc = health();
      return doc.is_object() && doc.value("verifiersUp", 0u) == n;
    },
    timeout);
}

http_response cluster::post(const std::string& target,
                            const nlohmann::json& body) {
  return http_request(http_port, "POST", target, body.dump());
}

nlohmann::json cluster::health() {
  auto res = http_request(http_port, "GET", "/healthz", {}, 1000ms);
  if (res.status != 200)
    return nullptr;
  return nlohmann::json::parse(res.body, nullptr, false);
}

seed_vector::seed_vector() {
  auto base = source_dir() + "/tests/data/seed-vector/";
  text = read_file(base + "arquivo.txt");
  text_lf = read_file(base + "arquivo_lf_negative.txt");
  signature = read_file(base + "signature.hex");
}

const seed_vector& seed() {
  static seed_vector instance;
  return instance;
}

nlohmann::json seed_body(bool valid, const std::string& key) {
  nlohmann::json result{{"text",
                         valid ? seed().text : seed().text + "tampered"},
                        {"hexSignature", seed().signature}};
  if (!key.empty())
    result["keyId"] = key;
  return result;
}

nlohmann::json parse_json(const http_response& res) {
  return nlohmann::json::parse(res.body, nullptr, false);
}

std::string submit_task(cluster& c, const nlohmann::json& body, int* status) {
  auto res = c.post("/api/choreography/signature", body);
  if (status != nullptr)
    *status = res.status;
  return res.status == 202 ? parse_json(res).value("taskId", "")
                           : std::string{};
}

nlohmann::json get_task(cluster& c, const std::string& id) {
  auto res = http_request(c.http_port, "GET", "/api/signature/" + id, {},
                          2000ms);
  return res.status == 200 ? parse_json(res) : nlohmann::json{};
}

int run_rogue(std::vector<std::string> args, std::string& output,
              const std::string& tls, std::chrono::milliseconds timeout) {
  auto dir = make_temp_dir();
  std::vector<std::string> argv{DUET_ROGUE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  if (tls == "member")
    argv.push_back("--tls=" + test_pki::ca() + ","
                   + test_pki::certificate("rogue") + ","
                   + test_pki::key("rogue"));
  else if (tls != "none")
    argv.push_back("--tls=" + tls);
  process p{std::move(argv), dir + "/rogue"};
  auto rc = p.wait(timeout);
  output = p.out() + p.err();
  if (rc < 0)
    p.stop(1000ms);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return rc;
}

size_t rss_kib(int pid) {
  auto status = read_file("/proc/" + std::to_string(pid) + "/status");
  auto pos = status.find("VmRSS:");
  if (pos == std::string::npos)
    return 0;
  return std::stoul(status.substr(pos + 6));
}

double metric(uint16_t http_port, const std::string& series) {
  auto res = http_request(http_port, "GET", "/metrics", {}, 2000ms);
  auto pos = res.body.find("\n" + series + " ");
  if (pos == std::string::npos)
    return -1;
  return std::stod(res.body.substr(pos + series.size() + 2));
}

} // namespace duet::test
