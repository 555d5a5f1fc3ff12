// YAML reading for the site model's loaders (zones/ and conduits/): positions, key checking and typed
// scalars with the house messages. Only the loaders include this; nothing downstream sees YAML nodes.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "zones/site_model.hpp"

namespace ots::site_yaml {

struct Key {
  std::string_view name;
  bool required = false;
};

struct Field {
  YAML::Node key, value;
  bool present = false;
  explicit operator bool() const { return present; }
};

class Reader {
 public:
  Reader(std::string path, std::vector<std::string>& errors) : path_(std::move(path)), errors_(errors) {}

  const std::string& path() const { return path_; }
  size_t error_count() const { return errors_.size(); }
  static SourcePos pos(const YAML::Node& n);
  std::string where(const YAML::Node& n) const;
  void error(const YAML::Node& at, std::string_view message);
  void error(SourcePos at, std::string_view message);

  // "'text'", "a list", "a map" or "nothing": what a node holds, for "expected X, got Y".
  static std::string describe(const YAML::Node& n);

  // The entries of a map, one Field per key of `keys` (in that order). Reports unknown keys, keys
  // given twice and missing required keys (at the map itself: yaml-cpp has no position for a key that
  // is not there). `subject` prefixes the messages ("zone 'control': "); `key_prefix` qualifies key
  // names in them ("defaults."). Callers check that `map` is a map first, with their own message.
  void fields(const YAML::Node& map, std::string_view subject, std::string_view key_prefix,
              std::initializer_list<Key> keys, std::vector<Field>& out);

  // Typed values; each reports "SUBJECT LABEL must be ..., got ..." or a range error and returns nullopt.
  std::optional<std::string> text(const Field& f, std::string_view subject, std::string_view label);
  std::optional<int64_t> integer(const Field& f, std::string_view subject, std::string_view label, int64_t lo,
                                 int64_t hi);
  std::optional<int64_t> integer(const YAML::Node& n, std::string_view subject, std::string_view label,
                                 int64_t lo, int64_t hi);
  std::optional<double> number(const Field& f, std::string_view subject, std::string_view label, double lo,
                               double hi);
  std::optional<bool> boolean(const Field& f, std::string_view subject, std::string_view label);
  // A sequence (possibly empty); reports and returns false otherwise.
  bool list(const Field& f, std::string_view subject, std::string_view label);

  // The node to report a value's problem at: a null value has no useful mark, its key does.
  static const YAML::Node& at(const Field& f) { return f.value.IsNull() ? f.key : f.value; }

 private:
  std::string path_;
  std::vector<std::string>& errors_;
};

// Reads and parses FILE. False (with the error in `errors`) when it cannot be read or is not YAML.
bool load_document(const std::string& path, YAML::Node& root, std::vector<std::string>& errors);

// Checks the top level (a map of known sections) and parses site, defaults and zones into `out`.
// Zone names that were given but are invalid go into `bad_zone_names`, so that conduits naming them
// are not reported a second time.
void parse_site_sections(Reader& r, const YAML::Node& root, SiteModel& out, std::set<std::string>& bad_zone_names);

}  // namespace ots::site_yaml
