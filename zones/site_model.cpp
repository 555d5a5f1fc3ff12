#include "zones/site_model.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "zones/site_yaml.hpp"

namespace ots {

int16_t SiteModel::zone_index(std::string_view name) const {
  // Start-up only (the loaders resolve names to indices once); a linear scan is plenty.
  for (size_t i = 0; i < zones.size(); ++i)
    if (zones[i].name == name) return static_cast<int16_t>(i);
  return -1;
}

namespace {

std::pair<int, int> position_of(const std::string& path, const std::string& e) {
  if (e.size() <= path.size() || e.compare(0, path.size(), path) != 0 || e[path.size()] != ':') return {0, 0};
  const char* end = e.data() + e.size();
  int line = 0, col = 0;
  auto r = std::from_chars(e.data() + path.size() + 1, end, line);
  if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ':') return {0, 0};
  r = std::from_chars(r.ptr + 1, end, col);
  if (r.ec != std::errc{}) return {line, 0};
  return {line, col};
}

}  // namespace

void order_by_position(const std::string& path, std::vector<std::string>& errors, size_t from) {
  if (from >= errors.size()) return;
  std::stable_sort(errors.begin() + static_cast<std::ptrdiff_t>(from), errors.end(),
                   [&](const std::string& a, const std::string& b) {
                     return position_of(path, a) < position_of(path, b);
                   });
}

bool load_site_model(const std::string& path, SiteModel& out, std::vector<std::string>& errors) {
  const size_t before = errors.size();
  YAML::Node root;
  if (!site_yaml::load_document(path, root, errors)) return false;
  site_yaml::Reader r(path, errors);
  std::set<std::string> bad_names;
  site_yaml::parse_site_sections(r, root, out, bad_names);
  order_by_position(path, errors, before);
  return errors.size() == before;
}

}  // namespace ots
