#pragma once

// A node's configuration: CAF's `actor_system_config` with duet's options
// bound to INI sections. duet reads the INI file and the command line
// itself, once (CAF 0.17's reader ignores unknown keys and values of the
// wrong type without a word): every key must exist, every value must have
// its key's type, and an error names the file, the line and the key. Each
// value is then handed to CAF with `set`, which stores it in the bound
// field (duet's options) or in CAF's own settings (`middleman.*`).

#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>

#include "actors/core/error.hpp"
#include "actors/core/options.hpp"

namespace duet {

/// CAF's configuration with duet's options.
class node_config : public caf::actor_system_config {
public:
  node_config();

  /// Reads `--config-file=FILE`, then the other arguments (the command line
  /// wins over the file), then validates. Returns `false` if only the help
  /// text was printed (`--help`).
  caf::expected<bool> init(int argc, char** argv);

  /// Writes every key with its default and description.
  void print_help(std::ostream& out) const;

  /// The loaded options.
  options opts;

private:
  /// Reads an INI file: `[section]` lines, `key = value` lines (strings
  /// quoted, lists on one line), `;` comments.
  caf::error read_file(const std::string& path);

  /// Reads `--section.key=value` and `--flag` arguments.
  caf::error read_args(const std::vector<std::string>& args);

  /// Parses `text` as the value of `key` (`quoted`: strings must be in
  /// quotes, as in INI files) and stores it.
  caf::error store(const std::string& key, const std::string& text,
                   bool quoted);

  /// Turns the names of roles, style, balance and log level into enums.
  caf::error read_names();

  caf::error validate();
  caf::error validate_tls();

  /// Options given as names (enums in `opts`), as read.
  struct names {
    std::vector<std::string> roles;
    std::string log_level;
    std::string style;
    std::string balance;
    std::string durability;
  } names_;

  /// Keys set in the file or on the command line.
  std::set<std::string> given_;
};

} // namespace duet
