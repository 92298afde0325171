#include "actors/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace duet::log {

namespace {

std::atomic<int> max_level_{static_cast<int>(level::info)};
std::string node_ = "duet";
std::mutex mtx_;

} // namespace

void init(std::string node, level max_level) {
  node_ = std::move(node);
  max_level_ = static_cast<int>(max_level);
}

bool enabled(level x) noexcept {
  return static_cast<int>(x) <= max_level_.load(std::memory_order_relaxed);
}

bool throttle(std::atomic<int64_t>& last,
              std::chrono::milliseconds every) noexcept {
  using namespace std::chrono;
  auto now = duration_cast<milliseconds>(steady_clock::now().time_since_epoch())
               .count();
  auto prev = last.load(std::memory_order_relaxed);
  return now - prev >= every.count()
         && last.compare_exchange_strong(prev, now, std::memory_order_relaxed);
}

void write(level x, const std::string& line) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
  std::lock_guard<std::mutex> guard{mtx_};
  std::fprintf(stderr, "%s.%03d [%s] %s: %s\n", stamp, static_cast<int>(ms),
               to_string(x), node_.c_str(), line.c_str());
}

} // namespace duet::log
