#include "actors/node/config.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>

#include <caf/config_option_adder.hpp>
#include <caf/config_value.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/core/limits.hpp"
#include "actors/core/small_file.hpp"
#include "actors/core/text.hpp"
#include "actors/crypto/pki.hpp"
#include "actors/protocol/fwd.hpp"

namespace fs = std::filesystem;

namespace duet {

namespace {

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
    if (line[i] == '\\' && in_string)
      ++i; // an escaped character, e.g. \"
    else if (line[i] == '"')
      in_string = !in_string;
    else if (line[i] == ';' && !in_string)
      return line.substr(0, i);
  }
  return line;
}

// Reads a quoted string with the escapes \" \\ \n \t; nullopt if malformed.
std::optional<std::string> unquote(const std::string& text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"')
    return std::nullopt;
  std::string result;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    auto c = text[i];
    if (c == '"')
      return std::nullopt; // a quote in the middle: two strings
    if (c != '\\') {
      result += c;
      continue;
    }
    if (++i + 1 >= text.size())
      return std::nullopt;
    switch (text[i]) {
      case '"':
      case '\\':
        result += text[i];
        break;
      case 'n':
        result += '\n';
        break;
      case 't':
        result += '\t';
        break;
      default:
        return std::nullopt;
    }
  }
  return result;
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

caf::error bad(const std::string& where, const std::string& what) {
  return caf::make_error(ec::invalid_config, where + ": " + what);
}

// Resolves `path` against the folder of the config file.
std::string resolve(const std::string& config_file, const std::string& path) {
  if (path.empty() || fs::path{path}.is_absolute())
    return path;
  return (fs::path{config_file}.parent_path() / path).lexically_normal();
}

// A host name or an IP address (v4, or v6 without brackets), no port (one
// colon means host:port; IPv6 has at least two).
bool is_host(const std::string& str) {
  return !str.empty() && str.size() <= 253
         && std::count(str.begin(), str.end(), ':') != 1
         && str.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "abcdefghijklmnopqrstuvwxyz0123456789.-:")
              == std::string::npos;
}

bool parse_host_port(const std::string& str) {
  std::string host;
  uint16_t port = 0;
  return split_address(str, host, port);
}

// Renders a value for --help: durations in ms or s, strings quoted.
std::string show(const caf::config_value& x) {
  if (auto ts = caf::get_if<caf::timespan>(&x)) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*ts);
    if (ms.count() % 1000 == 0)
      return std::to_string(ms.count() / 1000) + "s";
    return std::to_string(ms.count()) + "ms";
  }
  if (auto str = caf::get_if<std::string>(&x))
    return "\"" + *str + "\"";
  return to_string(x);
}

template <class E>
caf::error read_name(const std::string& key, const std::string& text, E& out) {
  if (auto x = parse<E>(text)) {
    out = *x;
    return {};
  }
  return bad(key + "=\"" + printable(text) + "\"",
             "expected " + name_list<E>());
}

} // namespace

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
  names_.log_level = to_string(defaults::log_level);
  names_.style = to_string(defaults::default_style);
  names_.balance = to_string(defaults::balancing);
  names_.durability = to_string(defaults::durability);
  auto& n = opts.node;
  opt_group{custom_options_, "node"}
    .add(n.name, "name", "name of this node (required; its certificate's CN)")
    .add(names_.roles, "roles",
         "roles to run, any of " + name_list<role>()
           + " (verifier, supervisor and hub each need a node of their own)")
    .add(n.host, "host",
         "address the CAF port binds to (0.0.0.0: every interface)")
    .add(n.advertise, "advertise",
         "address other nodes reach this node at (default: node.host; "
         "required when node.host is a wildcard such as 0.0.0.0)")
    .add(n.port, "port", "CAF port this node publishes on (0: any)")
    .add(names_.log_level, "log-level",
         "least severe level logged: " + name_list<log::level>())
    .add(n.http_port, "http-port",
         "non-front nodes: /healthz, /readyz, /metrics here (0: off)")
    .add(n.keeper_intensity, "keeper-intensity",
         "restarts of a local actor (router, task desk, consumer) allowed "
         "within keeper-period; past it the node exits with code 3")
    .add(n.keeper_period, "keeper-period", "window of keeper-intensity")
    .add(n.stop_timeout, "stop-timeout",
         "how long a stopping node waits to deregister; the whole stop "
         "takes at most twice this plus 3 s");
  auto& f = opts.front;
  opt_group{custom_options_, "front"}
    .add(f.http_host, "http-host", "address the HTTP server binds to")
    .add(f.http_port, "http-port",
         "HTTP port of the API and of the dashboard at / (0: any, printed at "
         "start)")
    .add(names_.style, "style",
         "style of POST /api/signature: " + name_list<style>())
    .add(f.verifiers, "verifiers",
         "verifier nodes for the direct style: [\"host:port\", ...]")
    .add(f.supervisor, "supervisor",
         "supervisor for the orchestration style: \"host:port\"")
    .add(names_.balance, "balance",
         "how instances are picked: " + name_list<balance>())
    .add(f.default_key_id, "default-key-id", "keyId when a request has none")
    .add(f.documents, "documents", "folder for textFile (empty: disabled)")
    .add(f.request_timeout, "request-timeout", "deadline per request")
    .add(f.attempt_timeout, "attempt-timeout", "deadline per verifier try")
    .add(f.connect_timeout, "connect-timeout", "deadline to reach a node")
    .add(f.reconnect_interval, "reconnect-interval",
         "pause before reconnecting to a failed node")
    .add(f.view_timeout, "view-timeout",
         "deadline of the supervisor's and task desk's parts of "
         "GET /api/cluster")
    .add(f.write_timeout, "write-timeout", "time to write one response")
    .add(f.answer_grace, "answer-grace",
         "past request-timeout plus this, an unanswered request gets 503")
    .add(f.max_wait, "max-wait",
         "longest long poll of GET /api/signature/<id>?wait=ms")
    .add(f.io_threads, "io-threads", "HTTP server threads")
    .add(f.body_limit, "body-limit", "largest request body in bytes")
    .add(f.document_limit, "document-limit",
         "largest textFile in bytes (hashed in chunks, never read whole)")
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
    .add(v.verify_timeout, "verify-timeout",
         "choreography: deadline of a task's verification on an instance")
    .add(v.connect_timeout, "connect-timeout",
         "deadline to reach the supervisor or this node's agent")
    .add(v.reconnect_interval, "reconnect-interval",
         "pause before reconnecting to the supervisor")
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
         "largest cool-down of a failed instance")
    .add(s.respawn_timeout, "respawn-timeout",
         "deadline of a node agent's answer to a restart");
  auto& c = opts.choreography;
  opt_group{custom_options_, "choreography"}
    .add(c.hub, "hub",
         "the hub node: \"host:port\" (empty: choreography off); one "
         "hub of choreography.hubs")
    .add(c.hubs, "hubs",
         "hub nodes, [\"host:port\", ...] in order of preference: fronts "
         "publish through the first reachable, consumers join all")
    .add(c.max_pending, "max-pending", "front: pending tasks before 503")
    .add(c.redeliver_after, "redeliver-after",
         "front: publish a task again after this long without result")
    .add(c.task_timeout, "task-timeout",
         "front: a task without result this long ends failed")
    .add(c.keep_results, "keep-results", "front: finished tasks kept")
    .add(c.keep_for, "keep-for", "front: how long finished tasks are kept")
    .add(c.store, "store",
         "front: the task store, a SQLite file (relative to this file)")
    .add(names_.durability, "durability",
         "front: what a 202 promises: " + name_list<durability>()
           + " (fsync: survives a machine crash; os: a process crash; "
             "memory: neither, no store)")
    .add(c.store_max_bytes, "store-max-bytes",
         "front: size cap of the task store (full: 503)")
    .add(c.tick_interval, "tick-interval",
         "front: how often tasks are expired and redelivered")
    .add(c.beat_interval, "beat-interval",
         "verifier: heartbeat period (front: waits two after a hub move)")
    .add(c.member_timeout, "member-timeout",
         "front: silence after which a consumer's tasks go to the others")
    .add(c.lookup_timeout, "lookup-timeout",
         "give up each step of joining a hub after this long and retry")
    .add(c.lookup_retry, "lookup-retry",
         "pause before connecting to a failed or lost hub again");
  auto& t = opts.tls;
  opt_group{custom_options_, "tls"}
    .add(t.ca, "ca", "PEM CA certificate(s) trusted for peers")
    .add(t.certificate, "certificate",
         "this node's certificate (PEM; its CN is node.name)")
    .add(t.key, "key", "this node's private key (PEM)")
    .add(t.insecure, "insecure",
         "plaintext between nodes (tests only; warns loudly)")
    .add(t.proof_ttl, "proof-ttl",
         "lifetime of a challenge to prove a name; oldest signed heartbeat "
         "taken");
}

caf::error node_config::store(const std::string& key, const std::string& text,
                              bool quoted) {
  auto opt = custom_options_.qualified_name_lookup(key);
  if (opt == nullptr)
    return bad(key, "unknown key (see duet-node --help)");
  caf::config_value value;
  if (opt->type_name() == "string") {
    auto str = unquote(text);
    if (!str && quoted)
      return bad(key + "=" + text, "strings must be quoted, e.g. " + key + "=\""
                                     + printable(text) + "\"");
    value = caf::config_value{str ? *str : text};
  } else {
    auto parsed = caf::config_value::parse(text);
    if (!parsed || opt->check(*parsed))
      return bad(key + "=" + text, "expected " + describe(*opt));
    value = std::move(*parsed);
  }
  set(key, std::move(value));
  given_.insert(key);
  return {};
}

caf::error node_config::read_file(const std::string& path) {
  auto text = read_small_file(path);
  if (!text)
    return std::move(text.error());
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
        return bad(where, "malformed section header '" + printable(line) + "'");
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return bad(where, "expected key=value, got '" + printable(line) + "'");
    if (section.empty())
      return bad(where, "key outside of a [section]");
    auto key = section + "." + trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (!seen.insert(key).second)
      return bad(where, key + " is set twice");
    if (!value.empty() && value.front() == '[' && value.back() != ']')
      return bad(where, key + ": lists must be written on one line");
    if (auto err = store(key, value, true))
      return bad(where, message_of(err));
  }
  return {};
}

caf::error node_config::read_args(const std::vector<std::string>& args) {
  for (auto& arg : args) {
    if (arg.compare(0, 2, "--") != 0)
      return bad(arg, "unexpected argument (options look like "
                      "--section.key=value)");
    auto eq = arg.find('=');
    auto key = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    auto opt = custom_options_.qualified_name_lookup(key);
    if (eq == std::string::npos) {
      if (opt != nullptr && opt->is_flag()) {
        set(key, true);
        given_.insert(key);
        continue;
      }
      return bad(arg, opt == nullptr ? "unknown key (see duet-node --help)"
                                     : "missing =value");
    }
    if (auto err = store(key, arg.substr(eq + 1), false))
      return bad("command line", message_of(err));
  }
  return {};
}

caf::error node_config::read_names() {
  opts.node.roles.clear();
  for (auto& name : names_.roles) {
    role x = role::front;
    if (auto err = read_name("node.roles", name, x))
      return err;
    opts.node.roles.push_back(x);
  }
  if (auto err = read_name("node.log-level", names_.log_level,
                           opts.node.log_level))
    return err;
  if (auto err = read_name("front.style", names_.style,
                           opts.front.default_style))
    return err;
  if (auto err = read_name("front.balance", names_.balance,
                           opts.front.balancing))
    return err;
  return read_name("choreography.durability", names_.durability,
                   opts.choreography.durability);
}

caf::expected<bool> node_config::init(int argc, char** argv) {
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
    return caf::make_error(ec::invalid_config,
                           "missing --config-file=FILE (see config/ for "
                           "examples, duet-node --help for every key)");
  opts.config_file = file;
  if (auto err = read_file(file))
    return err;
  if (auto err = read_args(args))
    return err;
  if (auto err = read_names())
    return bad(file, message_of(err));
  if (auto err = validate())
    return err;
  if (!opts.tls.insecure) {
    // Mutual TLS on every CAF link: a peer without a certificate of the
    // cluster CA never gets past the handshake to BASP.
    load<caf::openssl::manager>();
    set("openssl.certificate", opts.tls.certificate);
    set("openssl.key", opts.tls.key);
    set("openssl.cafile", opts.tls.ca);
  }
  if (given_.count("scheduler.max-threads") == 0) {
    // One CAF worker per actor that does real work: the verifier instances,
    // plus one for everything else. CAF's default (at least 4) made the
    // threads of several nodes on few cores fight (tools/bench, 2 cores:
    // direct style 14.8k -> 16.3k req/s).
    size_t workers = 1;
    if (opts.has_role(role::verifier))
      workers = opts.verifier.instances + (opts.node.roles.size() > 1 ? 1 : 0);
    set("scheduler.max-threads", workers);
  }
  return true;
}

caf::error node_config::validate() {
  auto& file = opts.config_file;
  auto& n = opts.node;
  if (n.name.empty())
    return bad(file, "node.name is required");
  if (!is_name(n.name, 64) || n.name.find_first_of("/#") != std::string::npos)
    return bad(file, "node.name=\"" + printable(n.name)
                       + "\": use 1..64 of A-Z a-z 0-9 - _ . : @");
  if (n.roles.empty())
    return bad(file, "node.roles is required, e.g. roles=[\"verifier\"]");
  if (n.advertise.empty()) {
    if (is_wildcard(n.host))
      return bad(file, "node.host=\"" + printable(n.host)
                         + "\" binds every interface: set node.advertise to "
                           "the address other nodes reach this one at");
    n.advertise = n.host;
  } else if (is_wildcard(n.advertise) || !is_host(n.advertise)) {
    return bad(file, "node.advertise=\"" + printable(n.advertise)
                       + "\": not an address other nodes can use (a host "
                         "name or an IP address, no port, no wildcard)");
  }
  auto publishers = opts.has_role(role::verifier)
                    + opts.has_role(role::supervisor)
                    + opts.has_role(role::hub);
  if (publishers > 1)
    return bad(file, "node.roles: verifier, supervisor and hub each publish "
                     "on node.port; run them as separate nodes");
  using namespace std::chrono_literals;
  auto& c = opts.choreography;
  if (!c.hub.empty() && !c.hubs.empty())
    return bad(file, "choreography.hub and choreography.hubs are both set; "
                     "keep one (hub is the one-hub case of hubs; on the "
                     "command line, --choreography.hub=\"\" clears the "
                     "file's hub)");
  if (!c.hub.empty())
    c.hubs = {c.hub};
  if (opts.has_role(role::front) && !c.hubs.empty()
      && c.durability != durability::memory && c.store.empty())
    return bad(file, std::string{"choreography.durability=\""}
                       + to_string(c.durability)
                       + "\" needs choreography.store, a file for the "
                         "front's tasks (e.g. store=\"../run/front-tasks.db\"),"
                         " or durability=\"memory\" (tasks die with the "
                         "process)");
  if (!c.store.empty())
    c.store = resolve(file, c.store);
  if (c.store_max_bytes < (uint64_t{1} << 20))
    return bad(file, "choreography.store-max-bytes: at least 1 MiB");
  if (c.hubs.size() > limits::hubs)
    return bad(file, "choreography.hubs: at most "
                       + std::to_string(limits::hubs) + " hubs");
  for (size_t i = 0; i < c.hubs.size(); ++i) {
    if (!parse_host_port(c.hubs[i]))
      return bad(file, "choreography.hubs: '" + c.hubs[i]
                         + "' is not host:port with a port in 1..65535");
    if (std::find(c.hubs.begin(), c.hubs.begin() + i, c.hubs[i])
        != c.hubs.begin() + i)
      return bad(file, "choreography.hubs: '" + c.hubs[i] + "' twice");
  }
  {
    if (c.redeliver_after <= 0s || c.task_timeout <= 0s || c.keep_for <= 0s
        || c.beat_interval <= 0s || c.member_timeout <= 0s
        || c.lookup_timeout <= 0s || c.lookup_retry <= 0s
        || c.tick_interval <= 0s)
      return bad(file, "choreography: durations must be positive");
    if (c.max_pending < 1 || c.keep_results < 1)
      return bad(file, "choreography.max-pending and keep-results must be "
                       "at least 1");
    if (c.member_timeout <= c.beat_interval)
      return bad(file, "choreography.member-timeout must exceed "
                       "beat-interval");
  }
  if (n.keeper_intensity < 1 || n.keeper_period <= 0s || n.stop_timeout <= 0s)
    return bad(file, "node.keeper-intensity must be at least 1, "
                     "keeper-period and stop-timeout positive");
  if (auto err = validate_tls())
    return err;
  if (opts.has_role(role::verifier)) {
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
    auto& v = opts.verifier;
    if (v.verify_timeout <= 0s || v.connect_timeout <= 0s
        || v.reconnect_interval <= 0s)
      return bad(file, "verifier: durations must be positive");
  }
  if (opts.has_role(role::supervisor)) {
    auto& s = opts.supervisor;
    if (s.ping_interval <= 0s || s.suspect_after <= 0s || s.down_after <= 0s
        || s.restart_period <= 0s || s.restart_backoff <= 0s
        || s.respawn_timeout <= 0s)
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
  if (opts.has_role(role::front)) {
    auto& f = opts.front;
    auto how = f.default_style;
    if (f.verifiers.empty() && how == style::direct)
      return bad(file, "front.verifiers is required for the direct style, "
                       "e.g. verifiers=[\"127.0.0.1:4101\"]");
    for (auto& v : f.verifiers)
      if (!parse_host_port(v))
        return bad(file, "front.verifiers: '" + v
                           + "' is not host:port with a port in 1..65535");
    if (f.supervisor.empty() && how == style::orchestration)
      return bad(file, "front.supervisor is required for the orchestration "
                       "style, e.g. supervisor=\"127.0.0.1:4100\"");
    if (c.hubs.empty() && how == style::choreography)
      return bad(file, "choreography.hub (or hubs) is required for the "
                       "choreography style, e.g. hub=\"127.0.0.1:4200\"");
    if (!f.supervisor.empty() && !parse_host_port(f.supervisor))
      return bad(file, "front.supervisor=\"" + f.supervisor
                         + "\": not host:port with a port in 1..65535");
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
    for (auto [key, value] : {std::pair{"request-timeout", f.request_timeout},
                              {"attempt-timeout", f.attempt_timeout},
                              {"connect-timeout", f.connect_timeout},
                              {"reconnect-interval", f.reconnect_interval},
                              {"header-timeout", f.header_timeout},
                              {"body-timeout", f.body_timeout},
                              {"keep-alive-timeout", f.keep_alive_timeout},
                              {"view-timeout", f.view_timeout},
                              {"write-timeout", f.write_timeout},
                              {"answer-grace", f.answer_grace},
                              {"max-wait", f.max_wait}})
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
  return {};
}

caf::error node_config::validate_tls() {
  auto& file = opts.config_file;
  auto& t = opts.tls;
  if (t.proof_ttl <= std::chrono::nanoseconds::zero())
    return bad(file, "tls.proof-ttl must be positive");
  if (t.insecure)
    return {};
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
    return bad("tls", message_of(id.error()));
  if (id->name != opts.node.name)
    return bad("tls.certificate", t.certificate + " is for node '"
                                    + printable(id->name)
                                    + "', but node.name is '" + opts.node.name
                                    + "'; issue one for this node (duet-pki "
                                      "issue DIR "
                                    + opts.node.name + ")");
  for (auto x : opts.node.roles)
    if (!id->has_role(to_string(x)))
      return bad("tls.certificate",
                 t.certificate + " does not vouch for the role '" + to_string(x)
                   + "' of this node; issue one that does (duet-pki issue "
                     "DIR "
                   + opts.node.name + " --roles=...)");
  t.proven_name = id->name;
  return {};
}

void node_config::print_help(std::ostream& out) const {
  out << "duet-node: runs the roles of one duet node: " << name_list<role>()
      << ".\n\n"
         "usage: duet-node --config-file=FILE [--section.key=value ...]\n\n"
         "Values from the command line override the file. Relative paths\n"
         "are resolved against the config file's folder. In the file,\n"
         "strings are quoted and lists are [\"a\", \"b\"] on one line.\n"
         "Styles: "
      << name_list<style>()
      << " (each front serves all it is configured for;\n"
         "front.style picks the one POST /api/signature uses).\n\n"
         "keys (default in brackets):\n";
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
        << std::string{opt.description().begin(), opt.description().end()};
    if (auto x = opt.get()) {
      auto text = show(*x);
      if (!text.empty() && text != "\"\"" && text != "[]")
        out << " [" << text << "]";
    }
    out << "\n";
  }
  out << "\nsee config/*.ini for commented examples.\n";
}

} // namespace duet
