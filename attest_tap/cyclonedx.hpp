// CycloneDX JSON documents (https://cyclonedx.org/docs/1.5/json/): the components an attested SBOM lists.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ots::attest {

struct SbomComponent {
  std::string name;
  std::string version;  // empty when the document gives none
  std::string purl;
  std::string cpe;
  bool operator==(const SbomComponent&) const = default;
};

// The components of a CycloneDX JSON document (`bomFormat` "CycloneDX"): the top-level `components` and
// the components nested in them, depth first, in document order. Nesting deeper than 16 levels is not
// followed. False with `why` set when the bytes are not JSON or not a CycloneDX BOM.
bool parse_cyclonedx(std::span<const uint8_t> json, std::vector<SbomComponent>& out, std::string& why);

}  // namespace ots::attest
