#include "http_front/documents.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <list>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <sys/stat.h>

#include "actors/core/text.hpp"

namespace fs = std::filesystem;

namespace duet::http {

/// Digests by file version, least recently used first out.
struct document_folder::cache {
  explicit cache(size_t capacity) : capacity(std::max<size_t>(capacity, 1)) {
    // nop
  }

  std::mutex mtx;
  size_t capacity;
  std::list<std::string> order; // keys, most recent first
  std::unordered_map<std::string,
                     std::pair<std::string, std::list<std::string>::iterator>>
    entries;
  std::atomic<uint64_t> hashed{0};
  std::atomic<uint64_t> hits{0};

  // The digest under `key`, counted as a hit, if cached.
  std::optional<std::string> find(const std::string& key) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = entries.find(key);
    if (i == entries.end())
      return std::nullopt;
    order.splice(order.begin(), order, i->second.second);
    ++hits;
    return i->second.first;
  }

  void put(const std::string& key, std::string digest) {
    std::lock_guard<std::mutex> guard{mtx};
    if (entries.count(key) > 0)
      return;
    order.push_front(key);
    entries.emplace(key, std::make_pair(std::move(digest), order.begin()));
    while (entries.size() > capacity) {
      entries.erase(order.back());
      order.pop_back();
    }
  }
};

namespace {

// The version of the file at `path`: device, inode, size and modification
// time, plus the algorithm; empty if it cannot be read.
std::string version_key(const std::string& path, crypto::algorithm algo) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return {};
  return std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':'
         + std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec)
         + '.' + std::to_string(st.st_mtim.tv_nsec) + ':'
         + crypto::to_string(algo);
}

} // namespace

document_folder::document_folder(const std::string& root, size_t cache_entries)
  : cache_(std::make_shared<cache>(cache_entries)) {
  if (root.empty())
    return;
  std::error_code err;
  auto canonical = fs::canonical(root, err);
  root_ = err ? root : canonical.string();
}

caf::expected<std::string>
document_folder::resolve(const std::string& name) const {
  if (root_.empty())
    return caf::make_error(
      ec::bad_request, "textFile is disabled on this front (front.documents is "
                       "not set); send the text inline as \"text\"");
  auto forbidden = caf::make_error(ec::forbidden_path,
                                   "textFile '" + printable(name)
                                     + "' is outside the document folder");
  if (name.empty() || name.find('\0') != std::string::npos)
    return caf::make_error(ec::bad_request,
                           "textFile must be a non-empty file name");
  fs::path rel{name};
  if (rel.is_absolute() || rel.has_root_name())
    return forbidden;
  std::error_code err;
  // Resolves symlinks of every existing component, so a link that points out
  // of the folder is caught like a `..`.
  auto full = fs::weakly_canonical(fs::path{root_} / rel, err);
  if (err)
    return caf::make_error(ec::no_such_document,
                           "textFile '" + printable(name) + "' not found");
  auto inside = full.lexically_relative(root_);
  if (inside.empty() || *inside.begin() == ".." || inside == ".")
    return forbidden;
  auto status = fs::status(full, err);
  if (err || !fs::exists(status))
    return caf::make_error(ec::no_such_document,
                           "textFile '" + printable(name)
                             + "' not found in the document folder");
  if (!fs::is_regular_file(status))
    return caf::make_error(ec::bad_request, "textFile '" + printable(name)
                                              + "' is not a regular file");
  return full.string();
}

caf::expected<std::string> document_folder::read(const std::string& name,
                                                 size_t limit) const {
  auto resolved = resolve(name);
  if (!resolved)
    return std::move(resolved.error());
  fs::path full{*resolved};
  std::error_code err;
  auto size = fs::file_size(full, err);
  if (err)
    return caf::make_error(ec::no_such_document,
                           "textFile '" + printable(name) + "' unreadable");
  if (size > limit)
    return caf::make_error(ec::payload_too_large,
                           "textFile '" + printable(name) + "' is "
                             + std::to_string(size) + " bytes, the limit is "
                             + std::to_string(limit));
  std::ifstream in{full, std::ios::binary};
  if (!in)
    return caf::make_error(ec::no_such_document,
                           "textFile '" + printable(name) + "' unreadable");
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

caf::expected<std::string> document_folder::digest(const std::string& path,
                                                   crypto::algorithm algo,
                                                   uint64_t limit) const {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto before = version_key(path, algo);
    if (before.empty())
      return caf::make_error(ec::no_such_document, "a textFile vanished");
    if (auto hit = cache_->find(before))
      return std::move(*hit);
    auto digest = crypto::file_digest(algo, path, limit);
    if (!digest) {
      // Named without the folder: clients see this message.
      auto name = fs::path{path}.filename().string();
      if (code_of(digest.error()) == ec::payload_too_large)
        return caf::make_error(ec::payload_too_large,
                               "textFile '" + printable(name) + "' is over "
                                 + std::to_string(limit)
                                 + " bytes (front.document-limit)");
      if (code_of(digest.error()) == ec::no_such_document)
        return caf::make_error(ec::no_such_document,
                               "textFile '" + printable(name) + "' unreadable");
      return digest;
    }
    ++cache_->hashed;
    // Changed while it was read: the digest may be of no version at all.
    if (version_key(path, algo) != before)
      continue;
    cache_->put(before, *digest);
    return digest;
  }
  return caf::make_error(ec::unavailable,
                         "a textFile kept changing while it was hashed");
}

std::optional<std::string>
document_folder::cached(const std::string& path, crypto::algorithm algo) const {
  auto key = version_key(path, algo);
  if (key.empty())
    return std::nullopt;
  return cache_->find(key);
}

uint64_t document_folder::hashed() const noexcept {
  return cache_->hashed;
}

uint64_t document_folder::hits() const noexcept {
  return cache_->hits;
}

} // namespace duet::http
