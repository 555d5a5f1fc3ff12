// The attested SBOM and identity inventory (issue 6): devices, their attestation state and the components of
// their verified SBOMs, in an SQLite database in the log directory (LOGDIR/sbom.sqlite), and the queries of
// `otsensor sbom query`. docs/SBOM.md documents the schema and the command.
//
// SQLite stays inside sbom_db.cpp: callers see plain structs in and out, never a handle or a statement.
// One database file per SbomDatabase; statements are prepared once when it opens. WAL journal with
// synchronous=NORMAL, and every update() is one transaction: a process killed mid-update leaves the previous
// state (SQLite's rollback of the uncommitted WAL frames), never half of one update.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ots::sbom {

struct Component {
  std::string name;
  std::string version;  // empty when the SBOM gives none
  std::string purl;
  std::string cpe;
  bool operator==(const Component&) const = default;
};

// One device as the attestation stage knows it at the end of a run. Decoupled from attest_tap: the stage
// converts its DeviceInfo (sensor/attest_stage.cpp).
struct SbomDeviceRecord {
  std::string device_id;  // 32 lower-case hex digits
  std::string name, address, zone, fw_version, root_kind;
  bool attested = false;         // its latest IDENTITY was accepted
  std::string identity_verdict;  // "ok", or why the IDENTITY was rejected (untrusted_ca, ...)
  uint64_t first_seen_ns = 0;
  uint64_t last_attested_ns = 0;  // 0: never attested with valid TELEMETRY
  // has_sbom: `components` are those of a verified SBOM with digest `sbom_digest` (hex). Without one, the
  // stored components (from an earlier run) are kept as they are.
  bool has_sbom = false;
  std::string sbom_digest;
  std::vector<Component> components;
};

// Order of two version strings, segment by segment: a segment is a run of digits (compared as a number,
// of any length) or a run of letters (compared as text, ASCII case-insensitive); any other character only
// separates segments. At one position a number is above text (1.0.0 > 1.0-rc1). When one side runs out,
// trailing zero numbers do not count (1.0 == 1.0.0); a further number is above nothing (1.0.1 > 1.0); a
// further text segment is below nothing when it marks a pre-release (it follows '-' or '~', or is alpha,
// beta, rc, pre, preview, dev, snapshot: 2.0-rc1 < 2.0 and 2.0rc1 < 2.0) and above it otherwise (OpenSSL's
// letter releases: 1.1.1w > 1.1.1). Returns <0, 0 or >0.
int compare_versions(std::string_view a, std::string_view b);

// What `otsensor sbom query` asks.
struct SbomQuery {
  enum class Kind : uint8_t { Component, Purl };
  Kind kind = Kind::Component;
  std::string component;  // Component: the name (ASCII case-insensitive)
  enum class VersionTest : uint8_t { Any, Below, Equal };
  VersionTest test = VersionTest::Any;
  std::string version;    // for Below and Equal (compare_versions)
  // Purl: pkg:type/namespace/name[@version][?qualifiers][#subpath]. With a version: that version only;
  // without one: any version. Qualifiers and subpath, when given, must match exactly too.
  std::string purl;
};

struct SbomMatch {
  std::string device_id, name, address, zone, fw_version;
  std::string component, version, purl;
  uint64_t last_attested_ns = 0;  // 0: none
};

struct SbomDbStats {
  uint64_t devices = 0, attested = 0, components = 0, links = 0;
};

class SbomDatabase {
 public:
  enum class Mode : uint8_t {
    ReadWrite,  // create the file and the schema when absent (the sensor)
    ReadOnly,   // the file must exist and be an otsensor SBOM database (the query command)
  };
  // nullptr with `err` set (one line, naming the file) when the file cannot be opened, is not an SQLite
  // database, is another application's, or has a schema newer than this build's.
  static std::unique_ptr<SbomDatabase> open(const std::string& path, Mode mode, std::string& err);
  ~SbomDatabase();
  SbomDatabase(const SbomDatabase&) = delete;
  SbomDatabase& operator=(const SbomDatabase&) = delete;

  // Inserts or updates the devices, all in one transaction (on failure nothing changes). A device keeps its
  // row across runs: first_seen is the earliest seen, last_attested the latest; the other fields are the
  // record's. `updated_ns` (wall clock) goes into every row written.
  bool update(std::span<const SbomDeviceRecord> devices, uint64_t updated_ns, std::string& err);

  // The attested devices with a matching component, by device_id then component version. Devices that are
  // not attested are never returned (issue 6).
  bool query(const SbomQuery& q, std::vector<SbomMatch>& out, std::string& err);

  bool stats(SbomDbStats& out, std::string& err);
  // PRAGMA integrity_check: true when it says "ok".
  bool integrity_ok(std::string& err);

  static constexpr int kSchemaVersion = 1;

 private:
  struct Impl;
  explicit SbomDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A purl split for matching: `base` is pkg:type/namespace/name (scheme and type lower-cased), `version` the
// part after its '@' (empty when none), `rest` the qualifiers and subpath as written ("?a=b#c", may be empty).
struct PurlParts {
  std::string base, version, rest;
};
// False when `purl` does not start with "pkg:" and a type followed by '/' and a name.
bool split_purl(std::string_view purl, PurlParts& out);

}  // namespace ots::sbom
