// `otsensor sbom query` and `sbom upgrade`: which attested devices carry a component (issue 6), from the SBOM database the
// sensor writes in its log directory (LOGDIR/sbom.sqlite, inventory/sbom_db.hpp). docs/SBOM.md.
#pragma once

#include <cstdio>
#include <string>

namespace ots {

struct SbomQueryOptions {
  std::string db;
  std::string component;      // --component NAME
  std::string version_below;  // --version-below V (with --component)
  std::string version;        // --version V (with --component)
  std::string purl;           // --purl PURL
  bool json = false;          // JSON lines instead of a table
};

// Exit status as grep's: 0 when at least one device matches, 1 when none does, 2 on an error (bad
// arguments, a missing file, a file that is not an otsensor SBOM database). Results go to `out`, errors to
// `err`, one line each.
int sbom_query(const SbomQueryOptions& o, std::FILE* out, std::FILE* err);
inline int sbom_query_command(const SbomQueryOptions& o) { return sbom_query(o, stdout, stderr); }

// `otsensor sbom upgrade --db FILE`: brings a database written by an older otsensor to this one's schema (the
// query command opens files read-only and refuses older ones; the sensor upgrades them when it writes).
// 0 when done or nothing to do, 2 on an error.
int sbom_upgrade(const std::string& db, std::FILE* out, std::FILE* err);

}  // namespace ots
