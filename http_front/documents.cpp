#include "http_front/documents.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "actors/core/text.hpp"

namespace fs = std::filesystem;

namespace duet::http {

document_folder::document_folder(const std::string& root) {
  if (root.empty())
    return;
  std::error_code err;
  auto canonical = fs::canonical(root, err);
  root_ = err ? root : canonical.string();
}

caf::expected<std::string> document_folder::read(const std::string& name,
                                                 size_t limit) const {
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

} // namespace duet::http
