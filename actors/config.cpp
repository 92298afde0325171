#include "actors/config.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/fwd.hpp"
#include "actors/limits.hpp"
#include "actors/pki.hpp"
#include "actors/small_file.hpp"
#include "actors/text.hpp"

namespace fs = std::filesystem;

namespace duet {

namespace {

const std::set<std::string> known_roles{"front", "verifier", "supervisor",
                                        "hub"};
const std::set<std::string> balances{"round-robin", "least-loaded"};
const std::set<std::string> log_levels{"error", "warning", "info", "debug"};

// Sections whose keys `--help` lists, plus the CAF keys duet sets; CAF's
// other keys are accepted but rarely needed.
const std::set<std::string> help_sections{
  "node", "front", "verifier", "supervisor", "choreography", "tls"};
const std::set<std::string> help_keys{"middleman.heartbeat-interval",
                                      "middleman.connection-timeout"};

std::string trim(const std::string& str) {
  auto first = str.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return {};
  auto last = str.find_last_not_of(" \t\r");
  return str.substr(first, last - first + 1);
}

// Cuts a trailing `; comment` that is not inside a string literal.
std::string strip_comment(const std::string& line) {
  auto in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '"' && (i == 0 || line[i - 1] != '\\'))
      in_string = !in_string;
    else if (line[i] == ';' && !in_string)
      return line.substr(0, i);
  }
  return line;
}

std::string describe(const caf::config_option& opt) {
  auto type = std::string{opt.type_name().begin(), opt.type_name().end()};
  if (type == "uint16")
    return "an integer in 0..65535";
  if (type == "uint64")
    return "a non-negative integer";
  if (type == "string")
    return "a quoted string";
  if (type == "list of string")
    return "a list of quoted strings, e.g. [\"a\", \"b\"]";
  if (type == "timespan")
    return "a duration such as 250ms or 2s";
  if (type == "boolean")
    return "true or false";
  return "a value of type " + type;
}

failure bad(const std::string& where, const std::string& what) {
  return failure{ec::invalid_config, where + ": " + what};
}

// Resolves `path` against the folder of the config file.
std::string resolve(const std::string& config_file, const std::string& path) {
  if (path.empty() || fs::path{path}.is_absolute())
    return path;
  return (fs::path{config_file}.parent_path() / path).lexically_normal();
}

bool parse_host_port(const std::string& str) {
  std::string host;
  uint16_t port = 0;
  return split_address(str, host, port);
}

} // namespace

bool options::has_role(const std::string& role) const {
  for (auto& x : node.roles)
    if (x == role)
      return true;
  return false;
}

node_config::node_config() {
  add_duet_types(*this);
  load<caf::io::middleman>();
  // CAF disables heartbeats by default: a frozen peer would never be noticed.
  set("middleman.heartbeat-interval",
      caf::timespan{defaults::heartbeat_interval});
  set("middleman.connection-timeout",
      caf::timespan{defaults::connection_timeout});
  // With the middleman's utility actors on their own threads, a node that
  // stops while connects are pending hangs in CAF's shutdown (measured: 1 of
  // 3 starts that failed fast); on the scheduler they stop cleanly.
  set("middleman.attach-utility-actors", true);
  // CAF's default work-stealing workers poll with 50 us naps even when idle;
  // with several nodes on few cores that polling cost most of the
  // throughput (tools/bench: direct style 7.0k -> 12.3k req/s on 2 cores).
  set("scheduler.policy", caf::atom("sharing"));
  auto& n = opts.node;
  opt_group{custom_options_, "node"}
    .add(n.name, "name", "name of this node (required)")
    .add(n.roles, "roles", "roles to run: [\"front\"], [\"verifier\"] or both")
    .add(n.host, "host", "address the CAF port binds to")
    .add(n.port, "port", "CAF port this node publishes on (0: any)")
    .add(n.log_level, "log-level", "error, warning, info or debug")
    .add(n.http_port, "http-port",
         "non-front nodes: /healthz, /readyz, /metrics here (0: off)");
  auto& f = opts.front;
  opt_group{custom_options_, "front"}
    .add(f.http_host, "http-host", "address the HTTP server binds to")
    .add(f.http_port, "http-port", "HTTP port (0: any, printed at start)")
    .add(f.style, "style",
         "style of POST /api/signature: \"direct\" or \"orchestration\"")
    .add(f.verifiers, "verifiers",
         "verifier nodes for the direct style: [\"host:port\", ...]")
    .add(f.supervisor, "supervisor",
         "supervisor for the orchestration style: \"host:port\"")
    .add(f.balance, "balance", "\"round-robin\" or \"least-loaded\"")
    .add(f.default_key_id, "default-key-id", "keyId when a request has none")
    .add(f.documents, "documents", "folder for textFile (empty: disabled)")
    .add(f.request_timeout, "request-timeout", "deadline per request")
    .add(f.attempt_timeout, "attempt-timeout", "deadline per verifier try")
    .add(f.connect_timeout, "connect-timeout", "deadline to reach a node")
    .add(f.reconnect_interval, "reconnect-interval",
         "pause before reconnecting to a failed verifier node")
    .add(f.io_threads, "io-threads", "HTTP server threads")
    .add(f.body_limit, "body-limit", "largest request body in bytes")
    .add(f.header_timeout, "header-timeout", "time to send a request header")
    .add(f.body_timeout, "body-timeout", "time to send a request body")
    .add(f.keep_alive_timeout, "keep-alive-timeout",
         "idle time before a keep-alive connection is closed")
    .add(f.pipeline_limit, "pipeline-limit",
         "requests in progress per connection")
    .add(f.max_connections, "max-connections",
         "open connections at once (past it the one waiting longest for a "
         "request is closed)")
    .add(f.max_connections_per_client, "max-connections-per-client",
         "open connections from one client address at once")
    .add(f.fault_injection, "fault-injection",
         "honor keyIds \"!router-crash\", \"!router-throw\", "
         "\"!desk-crash\" (tests only; off by default)")
    .add(f.tls_certificate, "tls-certificate",
         "HTTPS: the front's certificate (PEM); empty: plain HTTP")
    .add(f.tls_key, "tls-key", "HTTPS: its private key (PEM)")
    .add(f.keys, "keys",
         "key folder (keys.json) whose keys the front pins (required)")
    .add(f.inline_keys, "inline-keys",
         "key folder for the inline baseline POST /api/inline/signature "
         "(benchmarks only; empty: off)");
  auto& v = opts.verifier;
  opt_group{custom_options_, "verifier"}
    .add(v.keys, "keys", "key folder with a keys.json manifest")
    .add(v.instances, "instances", "verifier actors on this node")
    .add(v.supervisor, "supervisor",
         "supervisor to register with: \"host:port\" (empty: none)")
    .add(v.fault_injection, "fault-injection",
         "honor keyId \"!crash\" (tests only; off by default)");
  auto& s = opts.supervisor;
  opt_group{custom_options_, "supervisor"}
    .add(s.ping_interval, "ping-interval", "pause between pings per instance")
    .add(s.suspect_after, "suspect-after", "silence before \"suspect\"")
    .add(s.down_after, "down-after", "silence before \"down\"")
    .add(s.restart_intensity, "restart-intensity",
         "restarts allowed per instance within restart-period")
    .add(s.restart_period, "restart-period", "window of restart-intensity")
    .add(s.restart_backoff, "restart-backoff", "first restart delay")
    .add(s.restart_backoff_max, "restart-backoff-max", "largest delay")
    .add(s.failed_cooldown, "failed-cooldown",
         "a failed instance is tried again after this long (doubles per "
         "failure in a row)")
    .add(s.failed_cooldown_max, "failed-cooldown-max",
         "largest cool-down of a failed instance");
  auto& c = opts.choreography;
  opt_group{custom_options_, "choreography"}
    .add(c.hub, "hub",
         "hub node with the task and result groups: "
         "\"host:port\" (empty: choreography off)")
    .add(c.max_pending, "max-pending", "front: pending tasks before 503")
    .add(c.redeliver_after, "redeliver-after",
         "front: publish a task again after this long without result")
    .add(c.task_timeout, "task-timeout",
         "front: a task without result this long ends failed")
    .add(c.keep_results, "keep-results", "front: finished tasks kept")
    .add(c.keep_for, "keep-for", "front: how long finished tasks are kept")
    .add(c.beat_interval, "beat-interval", "verifier: heartbeat period")
    .add(c.member_timeout, "member-timeout",
         "verifier: silence after which a member's tasks are taken over")
    .add(c.warm_up, "warm-up", "verifier: time to learn members first")
    .add(c.lookup_timeout, "lookup-timeout",
         "give up a group lookup after this long and retry");
  auto& t = opts.tls;
  opt_group{custom_options_, "tls"}
    .add(t.ca, "ca", "PEM CA certificate(s) trusted for peers")
    .add(t.certificate, "certificate",
         "this node's certificate (PEM; its CN is node.name)")
    .add(t.key, "key", "this node's private key (PEM)")
    .add(t.insecure, "insecure",
         "plaintext between nodes (tests only; warns loudly)");
}

expected<bool> node_config::check_value(const std::string& key,
                                        const std::string& value,
                                        bool ini) const {
  auto opt = custom_options_.qualified_name_lookup(key);
  if (opt == nullptr)
    return bad(key, "unknown key (see duet-node --help)");
  if (opt->type_name() == "string") {
    if (ini
        && (value.size() < 2 || value.front() != '"' || value.back() != '"'))
      return bad(key + "=" + value,
                 "strings must be quoted, e.g. " + key + "=\"" + value + "\"");
    return true;
  }
  auto parsed = caf::config_value::parse(value);
  if (!parsed || opt->check(*parsed))
    return bad(key + "=" + value, "expected " + describe(*opt));
  return true;
}

expected<bool> node_config::check_file(const std::string& path) {
  auto text = read_small_file(path);
  if (!text)
    return text.error();
  std::istringstream in{*text};
  std::string line;
  std::string section;
  std::set<std::string> seen;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    auto where = path + ":" + std::to_string(lineno);
    line = trim(strip_comment(line));
    if (line.empty())
      continue;
    if (line.front() == '[') {
      if (line.back() != ']')
        return bad(where, "malformed section header '" + line + "'");
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return bad(where, "expected key=value, got '" + line + "'");
    if (section.empty())
      return bad(where, "key outside of a [section]");
    auto key = section + "." + trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (!seen.insert(key).second)
      return bad(where, key + " is set twice");
    given_.insert(key);
    if (!value.empty() && value.front() == '[' && value.back() != ']')
      return bad(where, key + ": lists must be written on one line");
    if (auto ok = check_value(key, value, true); !ok)
      return bad(where, ok.error().message);
  }
  return true;
}

expected<bool> node_config::check_cli(const std::vector<std::string>& args) {
  for (auto& arg : args) {
    if (arg.compare(0, 2, "--") != 0)
      return bad(arg, "unexpected argument (options look like "
                      "--section.key=value)");
    auto eq = arg.find('=');
    given_.insert(arg.substr(2, eq == std::string::npos ? eq : eq - 2));
    if (eq == std::string::npos) {
      auto opt = custom_options_.qualified_name_lookup(arg.substr(2));
      if (opt != nullptr && opt->is_flag())
        continue;
      return bad(arg, opt == nullptr ? "unknown key (see duet-node --help)"
                                     : "missing =value");
    }
    if (auto ok = check_value(arg.substr(2, eq - 2), arg.substr(eq + 1), false);
        !ok)
      return bad("command line", ok.error().message);
  }
  return true;
}

expected<bool> node_config::init(int argc, char** argv) {
  std::vector<std::string> args;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      print_help(std::cout);
      return false;
    }
    if (arg.compare(0, 14, "--config-file=") == 0)
      file = arg.substr(14);
    else
      args.push_back(std::move(arg));
  }
  if (file.empty())
    return failure{ec::invalid_config,
                   "missing --config-file=FILE (see config/ for examples, "
                   "duet-node --help for every key)"};
  if (auto ok = check_file(file); !ok)
    return ok;
  if (auto ok = check_cli(args); !ok)
    return ok;
  // CAF's command line only knows `--flag` (true); duet also takes
  // `--flag=true` and `--flag=false` and applies them after the file.
  std::vector<std::pair<const caf::config_option*, bool>> flags;
  for (auto i = args.begin(); i != args.end();) {
    auto eq = i->find('=');
    auto opt = eq == std::string::npos
                 ? nullptr
                 : custom_options_.qualified_name_lookup(i->substr(2, eq - 2));
    if (opt != nullptr && opt->is_flag()) {
      flags.emplace_back(opt, i->substr(eq + 1) == "true");
      i = args.erase(i);
    } else {
      ++i;
    }
  }
  if (auto err = parse(args, file.c_str()))
    return bad(file, "CAF refused the configuration: " + caf::to_string(err));
  for (auto& [opt, value] : flags)
    opt->store(caf::config_value{value});
  opts.config_file = file;
  auto ok = validate();
  if (ok && !opts.tls.insecure) {
    // Mutual TLS on every CAF link: a peer without a certificate of the
    // cluster CA never gets past the handshake to BASP.
    load<caf::openssl::manager>();
    set("openssl.certificate", opts.tls.certificate);
    set("openssl.key", opts.tls.key);
    set("openssl.cafile", opts.tls.ca);
  }
  if (ok && given_.count("scheduler.max-threads") == 0) {
    // One CAF worker per actor that does real work: the verifier instances,
    // plus one for everything else. CAF's default (at least 4) made the
    // threads of several nodes on few cores fight (tools/bench, 2 cores:
    // direct style 14.8k -> 16.3k req/s).
    size_t workers = 1;
    if (opts.has_role("verifier"))
      workers = opts.verifier.instances + (opts.node.roles.size() > 1 ? 1 : 0);
    set("scheduler.max-threads", workers);
  }
  return ok;
}

expected<bool> node_config::validate() {
  auto& file = opts.config_file;
  auto& n = opts.node;
  if (n.name.empty())
    return bad(file, "node.name is required");
  if (!is_name(n.name, 64) || n.name.find_first_of("/#") != std::string::npos)
    return bad(file, "node.name=\"" + printable(n.name)
                       + "\": use 1..64 of A-Z a-z 0-9 - _ . : @");
  if (n.roles.empty())
    return bad(file, "node.roles is required, e.g. roles=[\"verifier\"]");
  for (auto& role : n.roles)
    if (known_roles.count(role) == 0)
      return bad(file, "node.roles: unknown role '" + role
                         + "' (known: front, verifier, supervisor, hub)");
  auto publishers = opts.has_role("verifier") + opts.has_role("supervisor")
                    + opts.has_role("hub");
  if (publishers > 1)
    return bad(file, "node.roles: verifier, supervisor and hub each publish "
                     "on node.port; run them as separate nodes");
  auto& c = opts.choreography;
  if (!c.hub.empty() && !parse_host_port(c.hub))
    return bad(file, "choreography.hub=\"" + c.hub
                       + "\": not host:port with a port in 1..65535");
  {
    using namespace std::chrono_literals;
    if (c.redeliver_after <= 0s || c.task_timeout <= 0s || c.keep_for <= 0s
        || c.beat_interval <= 0s || c.member_timeout <= 0s
        || c.lookup_timeout <= 0s || c.warm_up < 0s)
      return bad(file, "choreography: durations must be positive");
    if (c.max_pending < 1 || c.keep_results < 1)
      return bad(file, "choreography.max-pending and keep-results must be "
                       "at least 1");
    if (c.member_timeout <= c.beat_interval)
      return bad(file, "choreography.member-timeout must exceed "
                       "beat-interval");
  }
  if (auto ok = validate_tls(); !ok)
    return ok;
  if (log_levels.count(n.log_level) == 0)
    return bad(file, "node.log-level=\"" + n.log_level
                       + "\": expected error, warning, info or debug");
  if (opts.has_role("verifier")) {
    if (opts.verifier.keys.empty())
      return bad(file, "verifier.keys is required for the verifier role");
    opts.verifier.keys = resolve(file, opts.verifier.keys);
    if (!fs::is_directory(opts.verifier.keys))
      return bad(file,
                 "verifier.keys=\"" + opts.verifier.keys + "\": not a folder");
    if (opts.verifier.instances < 1 || opts.verifier.instances > 256)
      return bad(file, "verifier.instances must be in 1..256");
    if (!opts.verifier.supervisor.empty()
        && !parse_host_port(opts.verifier.supervisor))
      return bad(file, "verifier.supervisor=\"" + opts.verifier.supervisor
                         + "\": not host:port with a port in 1..65535");
  }
  if (opts.has_role("supervisor")) {
    auto& s = opts.supervisor;
    using namespace std::chrono_literals;
    if (s.ping_interval <= 0s || s.suspect_after <= 0s || s.down_after <= 0s
        || s.restart_period <= 0s || s.restart_backoff <= 0s)
      return bad(file, "supervisor: durations must be positive");
    if (s.suspect_after > s.down_after)
      return bad(file, "supervisor.suspect-after must not exceed down-after");
    if (s.restart_backoff_max < s.restart_backoff)
      return bad(file, "supervisor.restart-backoff-max must be at least "
                       "restart-backoff");
    if (s.failed_cooldown <= 0s || s.failed_cooldown_max < s.failed_cooldown)
      return bad(file, "supervisor.failed-cooldown must be positive and at "
                       "most failed-cooldown-max");
  }
  if (opts.has_role("front")) {
    auto& f = opts.front;
    auto how = parse_style(f.style);
    if (!how)
      return bad(file, "front.style=\"" + f.style
                         + "\": unknown style (available: direct, "
                           "orchestration, choreography)");
    if (f.verifiers.empty() && *how == style::direct)
      return bad(file, "front.verifiers is required for the direct style, "
                       "e.g. verifiers=[\"127.0.0.1:4101\"]");
    for (auto& v : f.verifiers)
      if (!parse_host_port(v))
        return bad(file, "front.verifiers: '" + v
                           + "' is not host:port with a port in 1..65535");
    if (f.supervisor.empty() && *how == style::orchestration)
      return bad(file, "front.supervisor is required for the orchestration "
                       "style, e.g. supervisor=\"127.0.0.1:4100\"");
    if (c.hub.empty() && *how == style::choreography)
      return bad(file, "choreography.hub is required for the choreography "
                       "style, e.g. hub=\"127.0.0.1:4200\"");
    if (!f.supervisor.empty() && !parse_host_port(f.supervisor))
      return bad(file, "front.supervisor=\"" + f.supervisor
                         + "\": not host:port with a port in 1..65535");
    if (balances.count(f.balance) == 0)
      return bad(file, "front.balance=\"" + f.balance
                         + "\": expected round-robin or least-loaded");
    if (f.tls_certificate.empty() != f.tls_key.empty())
      return bad(file, "front.tls-certificate and front.tls-key go together "
                       "(HTTPS), or both stay empty (HTTP)");
    f.tls_certificate = resolve(file, f.tls_certificate);
    f.tls_key = resolve(file, f.tls_key);
    if (f.keys.empty())
      return bad(file, "front.keys is required: the key folder (keys.json) "
                       "whose keys this front pins, e.g. keys=\"keys\"");
    f.keys = resolve(file, f.keys);
    if (!fs::is_directory(f.keys))
      return bad(file, "front.keys=\"" + f.keys + "\": not a folder");
    if (!f.inline_keys.empty()) {
      f.inline_keys = resolve(file, f.inline_keys);
      if (!fs::is_directory(f.inline_keys))
        return bad(file,
                   "front.inline-keys=\"" + f.inline_keys + "\": not a folder");
    }
    if (!f.documents.empty()) {
      f.documents = resolve(file, f.documents);
      if (!fs::is_directory(f.documents))
        return bad(file,
                   "front.documents=\"" + f.documents + "\": not a folder");
    }
    using namespace std::chrono_literals;
    for (auto [key, value] : {std::pair{"request-timeout", f.request_timeout},
                              {"attempt-timeout", f.attempt_timeout},
                              {"connect-timeout", f.connect_timeout},
                              {"reconnect-interval", f.reconnect_interval},
                              {"header-timeout", f.header_timeout},
                              {"body-timeout", f.body_timeout},
                              {"keep-alive-timeout", f.keep_alive_timeout}})
      if (value <= 0s)
        return bad(file, std::string{"front."} + key + " must be positive");
    if (f.io_threads < 1 || f.io_threads > 64)
      return bad(file, "front.io-threads must be in 1..64");
    if (f.body_limit < 1024 || f.body_limit > limits::text)
      return bad(file, "front.body-limit must be in 1024.."
                         + std::to_string(limits::text));
    if (f.pipeline_limit < 1)
      return bad(file, "front.pipeline-limit must be at least 1");
    if (f.max_connections < 1)
      return bad(file, "front.max-connections must be at least 1");
    if (f.max_connections_per_client < 1)
      return bad(file, "front.max-connections-per-client must be at least 1");
  }
  return true;
}

expected<bool> node_config::validate_tls() {
  auto& file = opts.config_file;
  auto& t = opts.tls;
  if (t.insecure)
    return true;
  if (t.ca.empty() || t.certificate.empty() || t.key.empty())
    return bad(file, "tls.ca, tls.certificate and tls.key are required: nodes "
                     "talk over mutual TLS. Make them with `tools/cluster "
                     "up` (run/pki/) or `duet-pki init DIR && duet-pki issue "
                     "DIR "
                       + opts.node.name
                       + "`, or set tls.insecure=true for plaintext (tests "
                         "only)");
  t.ca = resolve(file, t.ca);
  t.certificate = resolve(file, t.certificate);
  t.key = resolve(file, t.key);
  // CAF hangs on a missing file and terminates on a certificate without its
  // key: check them with OpenSSL first.
  auto id = pki::check(t.ca, t.certificate, t.key);
  if (!id)
    return bad("tls", id.error().message);
  if (id->name != opts.node.name)
    return bad("tls.certificate", t.certificate + " is for node '"
                                    + printable(id->name)
                                    + "', but node.name is '" + opts.node.name
                                    + "'; issue one for this node (duet-pki "
                                      "issue DIR "
                                    + opts.node.name + ")");
  for (auto& role : opts.node.roles)
    if (!id->has_role(role))
      return bad("tls.certificate",
                 t.certificate + " does not vouch for the role '" + role
                   + "' of this node; issue one that does (duet-pki issue "
                     "DIR "
                   + opts.node.name + " --roles=...)");
  t.proven_name = id->name;
  return true;
}

void node_config::print_help(std::ostream& out) const {
  out << "duet-node: runs the roles of one duet node (front, verifier).\n\n"
         "usage: duet-node --config-file=FILE [--section.key=value ...]\n\n"
         "Values from the command line override the file. Relative paths\n"
         "are resolved against the config file's folder. In the file,\n"
         "strings are quoted and lists are [\"a\", \"b\"] on one line.\n\n"
         "keys:\n";
  for (auto& opt : custom_options_) {
    auto category = std::string{opt.category().begin(), opt.category().end()};
    auto name = opt.full_name();
    if (help_sections.count(category) == 0
        && help_keys.count(std::string{name.begin(), name.end()}) == 0)
      continue;
    out << "  " << name;
    for (auto i = name.size(); i < 32; ++i)
      out << ' ';
    out << ' '
        << std::string{opt.description().begin(), opt.description().end()}
        << "\n";
  }
  out << "\nsee config/*.ini for commented examples.\n";
}

} // namespace duet
