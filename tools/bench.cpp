// duet-bench: load generator for a live duet cluster (or any HTTP server).
//
//   duet-bench --url=http://127.0.0.1:8080 --style=direct --duration=10
//   duet-bench --style=orchestration --rate=2000 --duration=10   # open loop
//   duet-bench --style=choreography --connections=16 --json
//
// Closed loop (default): each of --connections connections sends its next
// request as soon as the previous answer arrived: maximum throughput.
// Open loop (--rate=R): requests are scheduled at a fixed rate and each one
// is timed from its *scheduled* send time, so a stall shows up in the
// percentiles instead of being hidden (no coordinated omission).
// Styles: inline (the front's baseline without actors), direct,
// orchestration, choreography (POST, then long-poll
// GET /api/signature/<id>?wait=5000 until the task is final; the whole task
// is timed).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "tools/files.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

namespace {

using duet::tools::read_file;

constexpr const char* usage = R"(usage: duet-bench [options]
  --url=URL           front to load (default http://127.0.0.1:8080)
  --style=NAME        inline | direct | orchestration | choreography
                      (default direct)
  --connections=N     concurrent connections (default 32)
  --duration=SECONDS  measured time (default 10)
  --warmup=SECONDS    unmeasured time first (default 1)
  --rate=R            open loop at R requests/s (default: closed loop)
  --text-file=FILE    text to verify (default tests/data/seed-vector/arquivo.txt)
  --hex-file=FILE     its signature (default tests/data/seed-vector/signature.hex)
  --key-id=ID         keyId to send (default: the front's default)
  --document=NAME     send {"textFile": NAME} (a document in the front's
                      folder) instead of the text; --hex-file signs it
  --target=PATH       request path for a plain GET load (overrides --style)
  --tls=yes|no        whether the nodes behind the front talk over TLS (a
                      label in the JSON and the table; default yes)
  --label=TEXT        what else this run varies (e.g. "durability os"): in
                      the JSON and after the style in the table
  --json              print the result as JSON on stdout
  --table             read results (JSON lines, the first being the inline
                      baseline) from stdin and print them as one table
  --rows              read results from stdin and print them as one JSON
                      document, {"rows": [{"style", "mode", "document",
                      "tls", "rps", "p50_ms", "p99_ms", "errors"}, ...]}
)";

struct options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string style = "direct";
  size_t connections = 32;
  double duration = 10;
  double warmup = 1;
  double rate = 0;
  std::string text_file = "tests/data/seed-vector/arquivo.txt";
  std::string hex_file = "tests/data/seed-vector/signature.hex";
  std::string key_id;
  std::string document;
  std::string target;
  std::string label;
  bool as_json = false;
  bool table = false;
  bool rows = false;
  bool tls = true;
};

/// Shared measurement state (single-threaded: one io_context thread).
struct run_state {
  options opts;
  std::string body;
  std::string post_target;
  clock_type::time_point start;
  clock_type::time_point measure_from;
  clock_type::time_point stop_at;
  bool stopping = false;
  std::vector<double> latencies_ms;
  std::map<std::string, uint64_t> errors;
  uint64_t done_total = 0;
  // Open loop: scheduled send times not yet picked up by a connection.
  std::deque<clock_type::time_point> due;
  uint64_t scheduled = 0;

  bool measuring(clock_type::time_point t) const {
    return t >= measure_from && t < stop_at;
  }

  void record(clock_type::time_point scheduled_at, bool ok,
              const std::string& error) {
    ++done_total;
    if (!measuring(scheduled_at))
      return;
    if (ok)
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(
                               clock_type::now() - scheduled_at)
                               .count());
    else
      ++errors[error];
  }
};

class connection : public std::enable_shared_from_this<connection> {
public:
  connection(net::io_context& ioc, run_state& st)
    : stream_(ioc), timer_(ioc), st_(st) {
    // nop
  }

  void start(const tcp::resolver::results_type& endpoints) {
    endpoints_ = endpoints;
    connect();
  }

  /// Open loop: called when a scheduled request is due and we are idle.
  void kick() {
    if (idle_)
      next();
  }

  bool idle() const {
    return idle_;
  }

private:
  void connect() {
    stream_.expires_after(std::chrono::seconds(5));
    stream_.async_connect(endpoints_,
                          [self = shared_from_this()](beast::error_code err,
                                                      const tcp::endpoint&) {
                            if (err) {
                              self->st_.errors["connect"]++;
                              self->retry_later();
                              return;
                            }
                            self->connected_ = true;
                            if (self->resend_) {
                              self->resend_ = false;
                              self->write();
                            } else {
                              self->next();
                            }
                          });
  }

  // A connection the server closed while it was idle (a front closes those
  // at header-timeout or to make room): the request never reached it, so
  // it is sent again on a new connection, once, as HTTP clients do.
  bool stale(beast::error_code err) const {
    return !retried_ && buffer_.size() == 0
           && (err == http::error::end_of_stream || err == net::error::eof
               || err == net::error::connection_reset
               || err == net::error::broken_pipe);
  }

  void reopen() {
    retried_ = true;
    resend_ = true;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    connect();
  }

  void retry_later() {
    connected_ = false;
    idle_ = false;
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([self = shared_from_this()](beast::error_code) {
      if (!self->st_.stopping)
        self->connect();
    });
  }

  void next() {
    if (st_.stopping) {
      idle_ = false;
      return;
    }
    if (st_.opts.rate > 0) {
      if (st_.due.empty()) {
        idle_ = true;
        return;
      }
      scheduled_ = st_.due.front();
      st_.due.pop_front();
    } else {
      scheduled_ = clock_type::now();
    }
    idle_ = false;
    task_id_.clear();
    send(st_.opts.target.empty() ? http::verb::post : http::verb::get,
         st_.opts.target.empty() ? st_.post_target : st_.opts.target,
         st_.opts.target.empty() ? st_.body : std::string{});
  }

  void send(http::verb verb, const std::string& target,
            const std::string& body) {
    req_ = {verb, target, 11};
    req_.set(http::field::host, st_.opts.host);
    if (verb == http::verb::post) {
      req_.set(http::field::content_type, "application/json");
      req_.body() = body;
    }
    req_.prepare_payload();
    write();
  }

  void write() {
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, req_,
                      [self = shared_from_this()](beast::error_code err,
                                                  size_t) {
                        if (err) {
                          if (self->stale(err))
                            self->reopen();
                          else
                            self->fail("write");
                          return;
                        }
                        self->read();
                      });
  }

  void read() {
    res_ = {};
    http::async_read(
      stream_, buffer_, res_,
      [self = shared_from_this()](beast::error_code err, size_t) {
        if (err) {
          if (self->stale(err))
            self->reopen();
          else
            self->fail(err == beast::error::timeout ? "timeout" : "read");
          return;
        }
        self->retried_ = false;
        self->on_response();
      });
  }

  void on_response() {
    auto status = res_.result_int();
    auto keep_alive = res_.keep_alive();
    if (st_.opts.style == "choreography" && st_.opts.target.empty()) {
      if (task_id_.empty()) {
        if (status != 202) {
          finish(false, "http_" + std::to_string(status), keep_alive);
          return;
        }
        task_id_ = json::parse(res_.body(), nullptr, false).value("taskId", "");
        poll(keep_alive);
        return;
      }
      auto doc = json::parse(res_.body(), nullptr, false);
      auto state = doc.is_object() ? doc.value("state", "") : "";
      if (status == 200 && state == "pending") {
        poll(keep_alive);
        return;
      }
      finish(status == 200 && state == "done",
             status != 200 ? "http_" + std::to_string(status) : "task_" + state,
             keep_alive);
      return;
    }
    finish(status >= 200 && status < 300, "http_" + std::to_string(status),
           keep_alive);
  }

  void poll(bool keep_alive) {
    if (!keep_alive) {
      fail("closed");
      return;
    }
    // Long poll: the front answers as soon as the task is final.
    send(http::verb::get, "/api/signature/" + task_id_ + "?wait=5000", {});
  }

  void finish(bool ok, const std::string& error, bool keep_alive) {
    st_.record(scheduled_, ok, error);
    if (!keep_alive) {
      beast::error_code ignored;
      stream_.socket().close(ignored);
      connect();
      return;
    }
    next();
  }

  void fail(const char* what) {
    st_.record(scheduled_, false, what);
    beast::error_code ignored;
    stream_.socket().close(ignored);
    retry_later();
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  run_state& st_;
  tcp::resolver::results_type endpoints_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  clock_type::time_point scheduled_;
  std::string task_id_;
  bool connected_ = false;
  bool idle_ = false;
  // The current request was sent again after a stale connection; send it
  // on the connection being opened.
  bool retried_ = false;
  bool resend_ = false;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto idx = static_cast<size_t>(
    std::lround(p / 100.0 * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(idx, sorted.size() - 1)];
}

bool parse_args(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    auto key = arg.substr(0, eq);
    auto val = eq == std::string::npos ? std::string{} : arg.substr(eq + 1);
    try {
      if (key == "--help" || key == "-h") {
        std::cout << usage;
        std::exit(0);
      } else if (key == "--url") {
        auto rest = val.substr(
          val.find("://") == std::string::npos ? 0 : val.find("://") + 3);
        rest = rest.substr(0, rest.find('/'));
        auto colon = rest.rfind(':');
        o.host = rest.substr(0, colon);
        o.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
      } else if (key == "--style") {
        o.style = val;
      } else if (key == "--connections") {
        o.connections = std::stoul(val);
      } else if (key == "--duration") {
        o.duration = std::stod(val);
      } else if (key == "--warmup") {
        o.warmup = std::stod(val);
      } else if (key == "--rate") {
        o.rate = std::stod(val);
      } else if (key == "--text-file") {
        o.text_file = val;
      } else if (key == "--hex-file") {
        o.hex_file = val;
      } else if (key == "--key-id") {
        o.key_id = val;
      } else if (key == "--document") {
        o.document = val;
      } else if (key == "--target") {
        o.target = val;
      } else if (key == "--json") {
        o.as_json = true;
      } else if (key == "--label") {
        o.label = val;
      } else if (key == "--tls") {
        if (val != "yes" && val != "no") {
          std::cerr << "duet-bench: --tls takes yes or no\n";
          return false;
        }
        o.tls = val == "yes";
      } else if (key == "--table") {
        o.table = true;
      } else if (key == "--rows") {
        o.rows = true;
      } else {
        std::cerr << "duet-bench: unknown option '" << arg << "'\n" << usage;
        return false;
      }
    } catch (const std::exception&) {
      std::cerr << "duet-bench: bad value in '" << arg << "'\n";
      return false;
    }
  }
  static const std::vector<std::string> styles{"inline", "direct",
                                               "orchestration", "choreography"};
  if (std::find(styles.begin(), styles.end(), o.style) == styles.end()) {
    std::cerr << "duet-bench: --style must be one of inline, direct, "
                 "orchestration, choreography\n";
    return false;
  }
  if (o.connections < 1 || o.duration <= 0 || o.warmup < 0 || o.rate < 0) {
    std::cerr << "duet-bench: --connections, --duration must be positive\n";
    return false;
  }
  return true;
}

// "3.3KB": the size of the text sent inline, for the table and the JSON.
std::string document_size(const std::string& file) {
  std::string text;
  if (!read_file(file, text))
    return "?";
  char buf[32];
  if (text.size() >= (1u << 20))
    std::snprintf(buf, sizeof(buf), "%.1fMB",
                  static_cast<double>(text.size()) / (1u << 20));
  else
    std::snprintf(buf, sizeof(buf), "%.1fKB",
                  static_cast<double>(text.size()) / 1000);
  return buf;
}

} // namespace

// Prints JSON result lines from stdin as a table; ratios against the first
// closed-loop line (the baseline).
int print_table() {
  std::string line;
  // The baseline of each document: its first closed-loop inline line (the
  // first closed line of all for documents without one).
  double first = 0;
  std::map<std::string, double> baselines;
  std::printf(
    "| style | document | TLS between nodes | mode | requests/s | ratio to "
    "inline | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  while (std::getline(std::cin, line)) {
    auto r = json::parse(line, nullptr, false);
    if (!r.is_object())
      continue;
    auto rps = r.value("rps", 0.0);
    auto closed = r.value("mode", "") == "closed";
    auto style = r.value("style", "");
    auto document = r.value("document", "");
    if (closed && first == 0)
      first = rps;
    if (closed && style == "inline" && baselines.count(document) == 0)
      baselines[document] = rps;
    auto baseline = baselines.count(document) > 0 ? baselines[document] : first;
    auto mode = closed
                  ? std::string{"closed"}
                  : "open @ "
                      + std::to_string(static_cast<long>(r.value("rate", 0.0)))
                      + "/s";
    char ratio[32] = "-";
    if (closed && baseline > 0)
      std::snprintf(ratio, sizeof(ratio), "%.2f", rps / baseline);
    auto& l = r["latency_ms"];
    auto tls = style == "inline" ? "-" : r.value("tls", true) ? "yes" : "no";
    if (auto label = r.value("label", ""); !label.empty())
      style += " (" + label + ")";
    std::printf("| %s | %s | %s | %s | %.0f | %s | %.2f | %.2f | %.2f | %.2f "
                "| %llu |\n",
                style.c_str(), document.c_str(), tls, mode.c_str(), rps, ratio,
                l.value("p50", 0.0), l.value("p90", 0.0), l.value("p99", 0.0),
                l.value("p999", 0.0),
                static_cast<unsigned long long>(r.value("error_count", 0)));
  }
  return 0;
}

// Prints JSON result lines from stdin as one JSON document of rows.
int print_rows() {
  std::string line;
  auto rows = json::array();
  while (std::getline(std::cin, line)) {
    auto r = json::parse(line, nullptr, false);
    if (!r.is_object())
      continue;
    auto& l = r["latency_ms"];
    json row{{"style", r.value("style", "")},
             {"mode", r.value("mode", "")},
             {"document", r.value("document", "")},
             {"tls", r.value("tls", true)},
             {"rps", r.value("rps", 0.0)},
             {"p50_ms", l.value("p50", 0.0)},
             {"p99_ms", l.value("p99", 0.0)},
             {"errors", r.value("error_count", 0)}};
    if (auto label = r.value("label", ""); !label.empty())
      row["label"] = label;
    if (row["mode"] == "open")
      row["rate"] = r.value("rate", 0.0);
    rows.push_back(std::move(row));
  }
  std::cout << json{{"rows", std::move(rows)}}.dump(2) << std::endl;
  return 0;
}

int main(int argc, char** argv) {
  run_state st;
  if (!parse_args(argc, argv, st.opts))
    return 2;
  if (st.opts.table)
    return print_table();
  if (st.opts.rows)
    return print_rows();
  auto& o = st.opts;
  if (o.target.empty()) {
    std::string text, hex;
    if ((o.document.empty() && !read_file(o.text_file, text))
        || !read_file(o.hex_file, hex)) {
      std::cerr << "duet-bench: cannot read " << o.text_file << " or "
                << o.hex_file
                << " (run from the repository root, or give "
                   "--text-file and --hex-file)\n";
      return 2;
    }
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r'))
      hex.pop_back();
    json body{{"hexSignature", hex}};
    if (o.document.empty())
      body["text"] = text;
    else
      body["textFile"] = o.document;
    if (!o.key_id.empty())
      body["keyId"] = o.key_id;
    st.body = body.dump();
    st.post_target = "/api/" + o.style + "/signature";
  }
  net::io_context ioc{1};
  tcp::resolver resolver{ioc};
  beast::error_code err;
  auto endpoints = resolver.resolve(o.host, o.port, err);
  if (err) {
    std::cerr << "duet-bench: cannot resolve " << o.host << ":" << o.port
              << ": " << err.message() << "\n";
    return 2;
  }
  st.start = clock_type::now();
  auto warm = std::chrono::duration_cast<clock_type::duration>(
    std::chrono::duration<double>(o.warmup));
  auto measured = std::chrono::duration_cast<clock_type::duration>(
    std::chrono::duration<double>(o.duration));
  st.measure_from = st.start + warm;
  st.stop_at = st.measure_from + measured;
  std::vector<std::shared_ptr<connection>> conns;
  for (size_t i = 0; i < o.connections; ++i) {
    conns.push_back(std::make_shared<connection>(ioc, st));
    conns.back()->start(endpoints);
  }
  // Open loop: a 1 ms ticker schedules requests at their exact times.
  net::steady_timer ticker{ioc};
  std::function<void()> schedule = [&] {
    auto now = clock_type::now();
    if (now >= st.stop_at) {
      return;
    }
    auto elapsed = std::chrono::duration<double>(now - st.start).count();
    auto want = static_cast<uint64_t>(elapsed * o.rate);
    while (st.scheduled < want) {
      auto at = st.start
                + std::chrono::duration_cast<clock_type::duration>(
                  std::chrono::duration<double>(
                    static_cast<double>(st.scheduled) / o.rate));
      st.due.push_back(at);
      ++st.scheduled;
    }
    for (auto& c : conns)
      if (st.due.empty())
        break;
      else if (c->idle())
        c->kick();
    ticker.expires_after(std::chrono::milliseconds(1));
    ticker.async_wait([&](beast::error_code) { schedule(); });
  };
  if (o.rate > 0)
    schedule();
  // Progress once a second, then stop.
  net::steady_timer progress{ioc};
  uint64_t last_done = 0;
  std::function<void()> report = [&] {
    auto now = clock_type::now();
    auto secs = std::chrono::duration<double>(now - st.start).count();
    if (now >= st.stop_at) {
      st.stopping = true;
      // Requests still queued in open loop never got a connection in time:
      // they count as late, with their full waiting time.
      for (auto& at : st.due)
        if (st.measuring(at))
          st.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(now - at).count());
      st.due.clear();
      ioc.stop();
      return;
    }
    std::fprintf(stderr, "\r[%5.1fs] %s %llu done, %llu/s, errors %zu   ", secs,
                 now < st.measure_from ? "warmup " : "measure",
                 static_cast<unsigned long long>(st.done_total),
                 static_cast<unsigned long long>(st.done_total - last_done),
                 st.errors.size());
    last_done = st.done_total;
    progress.expires_after(std::chrono::seconds(1));
    progress.async_wait([&](beast::error_code) { report(); });
  };
  report();
  ioc.run();
  std::fprintf(stderr, "\n");

  auto& lat = st.latencies_ms;
  std::sort(lat.begin(), lat.end());
  uint64_t errors = 0;
  for (auto& kvp : st.errors)
    errors += kvp.second;
  double mean = 0;
  for (auto x : lat)
    mean += x;
  mean = lat.empty() ? 0 : mean / static_cast<double>(lat.size());
  json result{{"style", o.target.empty() ? o.style : "get " + o.target},
              {"mode", o.rate > 0 ? "open" : "closed"},
              {"label", o.label},
              {"document",
               o.document.empty() ? document_size(o.text_file) : o.document},
              {"tls", o.tls},
              {"connections", o.connections},
              {"rate", o.rate},
              {"duration_s", o.duration},
              {"requests", lat.size()},
              {"errors", st.errors},
              {"error_count", errors},
              {"rps", static_cast<double>(lat.size()) / o.duration},
              {"latency_ms",
               {{"p50", percentile(lat, 50)},
                {"p90", percentile(lat, 90)},
                {"p99", percentile(lat, 99)},
                {"p999", percentile(lat, 99.9)},
                {"max", lat.empty() ? 0 : lat.back()},
                {"mean", mean}}}};
  if (o.as_json) {
    std::cout << result.dump() << std::endl;
  } else {
    std::printf("%s, %s loop, %zu connections%s, %.1f s\n",
                result["style"].get<std::string>().c_str(),
                result["mode"].get<std::string>().c_str(), o.connections,
                o.rate > 0 ? (", " + std::to_string(static_cast<long>(o.rate))
                              + " req/s scheduled")
                               .c_str()
                           : "",
                o.duration);
    std::printf("  %.0f requests/s, %zu ok, %llu errors",
                result["rps"].get<double>(), lat.size(),
                static_cast<unsigned long long>(errors));
    for (auto& kvp : st.errors)
      std::printf(" [%s: %llu]", kvp.first.c_str(),
                  static_cast<unsigned long long>(kvp.second));
    std::printf(
      "\n  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
      percentile(lat, 50), percentile(lat, 90), percentile(lat, 99),
      percentile(lat, 99.9), lat.empty() ? 0 : lat.back());
  }
  return 0;
}
