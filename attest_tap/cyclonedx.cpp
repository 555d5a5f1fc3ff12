#include "attest_tap/cyclonedx.hpp"

#include <nlohmann/json.hpp>

namespace ots::attest {

namespace {

constexpr int kMaxComponentDepth = 16;
// JSON nesting kept by the parser. Deeper values are dropped while parsing, so a hostile document of a
// million '[' builds nothing deep. A component at depth 16 sits at JSON depth 2 + 2*15 = 32.
constexpr int kMaxJsonDepth = 2 * kMaxComponentDepth + 2;

std::string text_field(const nlohmann::json& c, const char* key) {
  const auto it = c.find(key);
  return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void collect(const nlohmann::json& components, int depth, std::vector<SbomComponent>& out) {
  if (!components.is_array() || depth > kMaxComponentDepth) return;
  for (const auto& c : components) {
    if (!c.is_object()) continue;
    out.push_back({text_field(c, "name"), text_field(c, "version"), text_field(c, "purl"), text_field(c, "cpe")});
    if (const auto it = c.find("components"); it != c.end()) collect(*it, depth + 1, out);
  }
}

}  // namespace

bool parse_cyclonedx(std::span<const uint8_t> json, std::vector<SbomComponent>& out, std::string& why) {
  out.clear();
  const nlohmann::json::parser_callback_t keep_shallow = [](int depth, nlohmann::json::parse_event_t,
                                                           nlohmann::json&) { return depth <= kMaxJsonDepth; };
  const auto doc = nlohmann::json::parse(json.begin(), json.end(), keep_shallow, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    why = "the SBOM document is not JSON";
    return false;
  }
  if (!doc.is_object() || text_field(doc, "bomFormat") != "CycloneDX") {
    why = "the SBOM document is not a CycloneDX BOM (no bomFormat \"CycloneDX\")";
    return false;
  }
  if (const auto it = doc.find("components"); it != doc.end()) collect(*it, 1, out);
  return true;
}

}  // namespace ots::attest
