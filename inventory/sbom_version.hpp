// What `otsensor sbom query` compares: version strings in the segment-wise order of issue 6, and package
// URLs split into the parts it matches on. Pure functions, no SQLite.
#pragma once

#include <string>
#include <string_view>

namespace ots::sbom {

// Order of two version strings, segment by segment: a segment is a run of digits (compared as a number,
// of any length) or a run of letters (compared as text, ASCII case-insensitive); any other character only
// separates segments. At one position a number is above text (1.0.0 > 1.0-rc1). When one side runs out,
// trailing zero numbers do not count (1.0 == 1.0.0); a further number is above nothing (1.0.1 > 1.0); a
// further text segment is below nothing when it marks a pre-release (it follows '-' or '~', or is alpha,
// beta, rc, pre, preview, dev, snapshot: 2.0-rc1 < 2.0 and 2.0rc1 < 2.0) and above it otherwise (OpenSSL's
// letter releases: 1.1.1w > 1.1.1). Returns <0, 0 or >0.
int compare_versions(std::string_view a, std::string_view b);

// A purl split for matching: `base` is pkg:type/namespace/name (scheme and type lower-cased), `version` the
// part after its '@' (empty when none), `rest` the qualifiers and subpath as written ("?a=b#c", may be empty).
struct PurlParts {
  std::string base, version, rest;
};
// False when `purl` does not start with "pkg:" and a type followed by '/' and a name.
bool split_purl(std::string_view purl, PurlParts& out);

}  // namespace ots::sbom
