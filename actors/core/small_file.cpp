#include "actors/core/small_file.hpp"

#include <filesystem>
#include <fstream>

namespace duet {

caf::expected<std::string> read_small_file(const std::string& path,
                                           size_t limit) {
  namespace fs = std::filesystem;
  std::error_code err;
  auto status = fs::status(path, err);
  if (err || !fs::exists(status))
    return caf::make_error(ec::invalid_config, path + ": no such file");
  if (!fs::is_regular_file(status))
    return caf::make_error(ec::invalid_config, path + ": not a regular file");
  auto size = fs::file_size(path, err);
  if (err)
    return caf::make_error(ec::invalid_config, path + ": cannot read its size");
  if (size > limit)
    return caf::make_error(ec::invalid_config,
                           path + ": " + std::to_string(size)
                             + " bytes, more than " + std::to_string(limit)
                             + " allowed");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return caf::make_error(ec::invalid_config, path + ": cannot open");
  std::string data(size, '\0');
  in.read(data.data(), static_cast<std::streamsize>(size));
  data.resize(static_cast<size_t>(in.gcount()));
  return data;
}

} // namespace duet
