#include "support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace duet::test {

process::process(std::vector<std::string> argv, std::string log_prefix)
  : log_prefix_(std::move(log_prefix)) {
  auto out = log_prefix_ + ".out";
  auto err = log_prefix_ + ".err";
  pid_ = fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    auto fd_out = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    auto fd_err = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd_out, 1);
    dup2(fd_err, 2);
    std::vector<char*> args;
    for (auto& arg : argv)
      args.push_back(arg.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

process::~process() {
  stop(5000ms);
}

void process::signal(int sig) {
  if (pid_ > 0 && status_ < 0)
    kill(pid_, sig);
}

bool process::running() {
  return wait(0ms) < 0;
}

int process::wait(std::chrono::milliseconds timeout) {
  if (status_ >= 0 || pid_ <= 0)
    return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    auto rc = waitpid(pid_, &st, WNOHANG);
    if (rc == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return -1;
    std::this_thread::sleep_for(10ms);
  }
}

int process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || status_ >= 0)
    return status_;
  kill(pid_, SIGCONT);
  kill(pid_, SIGTERM);
  if (wait(grace) >= 0)
    return status_;
  kill(pid_, SIGKILL);
  return wait(5000ms);
}

std::string process::out() const {
  return read_file(log_prefix_ + ".out");
}

std::string process::err() const {
  return read_file(log_prefix_ + ".err");
}

uint16_t free_port() {
  auto fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(20ms);
  }
}

namespace {

int connect_to(const std::string& host, uint16_t port,
               std::chrono::milliseconds timeout) {
  auto fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1
      || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    auto n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string recv_all(int fd) {
  std::string result;
  char buf[8192];
  for (;;) {
    auto n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    result.append(buf, static_cast<size_t>(n));
  }
  return result;
}

int connect_to(uint16_t port, std::chrono::milliseconds timeout) {
  return connect_to("127.0.0.1", port, timeout);
}

} // namespace

std::string raw_exchange(const std::string& host, uint16_t port,
                         const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  auto fd = connect_to(host, port, timeout);
  if (fd < 0)
    return {};
  send_all(fd, bytes);
  auto result = recv_all(fd);
  close(fd);
  return result;
}

std::string raw_exchange(uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  return raw_exchange("127.0.0.1", port, bytes, timeout);
}

namespace {

std::string make_request(const std::string& method, const std::string& target,
                         const std::string& body) {
  std::ostringstream req;
  req << method << " " << target << " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      << "Connection: close\r\n";
  if (!body.empty() || method == "POST")
    req << "Content-Type: application/json\r\nContent-Length: " << body.size()
        << "\r\n";
  req << "\r\n" << body;
  return req.str();
}

http_response parse_response(const std::string& raw) {
  http_response res;
  auto end = raw.find("\r\n\r\n");
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos)
    return res;
  res.status = std::stoi(raw.substr(9, 3));
  std::istringstream head{raw.substr(0, end)};
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (!value.empty() && value.back() == '\r')
      value.pop_back();
    std::string name;
    for (auto c : line.substr(0, colon))
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    res.headers[name] = value;
  }
  res.body = raw.substr(end + 4);
  return res;
}

} // namespace

http_response http_request(uint16_t port, const std::string& method,
                           const std::string& target, const std::string& body,
                           std::chrono::milliseconds timeout) {
  return http_request("127.0.0.1", port, method, target, body, timeout);
}

http_response http_request(const std::string& host, uint16_t port,
                           const std::string& method, const std::string& target,
                           const std::string& body,
                           std::chrono::milliseconds timeout) {
  return parse_response(
    raw_exchange(host, port, make_request(method, target, body), timeout));
}

http_response https_request(uint16_t port, const std::string& ca,
                            const std::string& host, const std::string& method,
                            const std::string& target, const std::string& body,
                            std::chrono::milliseconds timeout) {
  auto fd = connect_to(port, timeout);
  if (fd < 0)
    return {};
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{
    SSL_CTX_new(TLS_client_method()), SSL_CTX_free};
  SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(), nullptr);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl{SSL_new(ctx.get()), SSL_free};
  SSL_set1_host(ssl.get(), host.c_str());
  SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  SSL_set_fd(ssl.get(), fd);
  std::string raw;
  if (SSL_connect(ssl.get()) == 1) {
    auto req = make_request(method, target, body);
    SSL_write(ssl.get(), req.data(), static_cast<int>(req.size()));
    char buf[8192];
    for (int n; (n = SSL_read(ssl.get(), buf, sizeof(buf))) > 0;)
      raw.append(buf, static_cast<size_t>(n));
  }
  ERR_clear_error();
  close(fd);
  return parse_response(raw);
}

tcp_client::tcp_client(uint16_t port, const std::string& source) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    return;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0
      || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

tcp_client::~tcp_client() {
  if (fd_ >= 0)
    close(fd_);
}

bool tcp_client::send(const std::string& data) {
  return fd_ >= 0 && send_all(fd_, data);
}

std::string tcp_client::read_all(std::chrono::milliseconds timeout) {
  std::string result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    auto n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    result.append(buf, static_cast<size_t>(n));
  }
  return result;
}

bool tcp_client::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0)
      return false;
    auto n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0)
      return true;
  }
  return true;
}

client_threads::client_threads(int n, std::function<void(int, int)> step) {
  for (int t = 0; t < n; ++t)
    threads_.emplace_back([this, step, t] {
      for (int i = 0; !stop_; ++i)
        step(t, i);
    });
}

client_threads::~client_threads() {
  stop();
}

void client_threads::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string make_temp_dir() {
  std::string tmpl = "/tmp/duet-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

} // namespace duet::test
