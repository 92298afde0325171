#pragma once

// The node's configuration: CAF's `actor_system_config` plus duet's options,
// loaded strictly. CAF silently ignores unknown keys and values of the wrong
// type in INI files; `load` refuses them and names file, line and key.

#include <set>
#include <string>

#include <caf/actor_system_config.hpp>

#include "actors/error.hpp"
#include "actors/options.hpp"

namespace duet {

/// CAF's configuration with duet's options bound to INI sections.
class node_config : public caf::actor_system_config {
public:
  node_config();

  /// Reads `--config-file=FILE` and command-line overrides (file < command
  /// line), then validates. Returns `false` if only help was printed.
  expected<bool> init(int argc, char** argv);

  /// The loaded options.
  options opts;

private:
  expected<bool> check_file(const std::string& path);
  expected<bool> check_cli(const std::vector<std::string>& args);
  expected<bool> check_value(const std::string& key, const std::string& value,
                             bool ini) const;
  expected<bool> validate();
  expected<bool> validate_tls();

  /// Keys set in the file or on the command line.
  std::set<std::string> given_;
  void print_help(std::ostream& out) const;
};

} // namespace duet
