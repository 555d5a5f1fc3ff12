// The attested SBOM and identity inventory (issue 6): devices, their attestation state and the components of
// their verified SBOMs, in an SQLite database in the log directory (LOGDIR/sbom.sqlite), and the queries of
// `otsensor sbom query`. docs/SBOM.md documents the schema and the command.
//
// SQLite stays inside inventory/ (sbom_db.cpp: schema, upgrades and writes; sbom_query.cpp: the queries):
// callers see plain structs in and out, never a handle or a statement.
// One database file per SbomDatabase; statements are prepared once when it opens. WAL journal with
// synchronous=NORMAL, and every update() is one transaction: a process killed mid-update leaves the previous
// state (SQLite's rollback of the uncommitted WAL frames), never half of one update.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "inventory/sbom_version.hpp"

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

// For writes of what changed only: asked of each device with a verified SBOM (its digest in hex, how many
// components it lists); true: its record goes without its components (has_sbom false: the stored ones
// stay), because the database holds them already or they wait for a later write.
using SbomOmitComponents =
    std::function<bool(std::string_view device_id, std::string_view sbom_digest, size_t components)>;

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

// One result row as the query produces it: the views are valid only during the sink's call (they point
// into SQLite's row), so that printing 50,000 rows copies no string it does not print.
struct SbomMatchView {
  std::string_view device_id, name, address, zone, fw_version;
  std::string_view component, version, purl;
  uint64_t last_attested_ns = 0;  // 0: none
};
// What query() hands its rows to.
class SbomMatchSink {
 public:
  virtual ~SbomMatchSink() = default;
  // Once, before the first row: at most this many rows follow (memory is reserved once, not grown).
  virtual void expect(size_t /*rows*/) {}
  virtual void row(const SbomMatchView& r) = 0;
};

struct SbomDbStats {
  uint64_t devices = 0, attested = 0, components = 0, links = 0;
};

class SbomDatabase {
 public:
  enum class Mode : uint8_t {
    ReadWrite,  // create the file and the schema when absent, upgrade an older schema (the sensor)
    ReadOnly,   // the file must exist and be an otsensor SBOM database (the query command)
  };
  // nullptr with `err` set (one line, naming the file) when the file cannot be opened, is not an SQLite
  // database, is another application's, has a schema newer than this build's, or (ReadOnly) an older one.
  static std::unique_ptr<SbomDatabase> open(const std::string& path, Mode mode, std::string& err);
  ~SbomDatabase();
  SbomDatabase(const SbomDatabase&) = delete;
  SbomDatabase& operator=(const SbomDatabase&) = delete;

  // Inserts or updates the devices, all in one transaction (on failure nothing changes). A device keeps its
  // row across runs: first_seen is the earliest seen, last_attested the latest; the other fields are the
  // record's. `updated_ns` (wall clock) goes into every row written.
  bool update(std::span<const SbomDeviceRecord> devices, uint64_t updated_ns, std::string& err);

  // The attested devices with a matching component, in device_id order (byte order of the hex), a device's
  // components by name, then version (compare_versions), then purl. Devices that are not attested are never
  // returned (issue 6). The cost grows with the number of matching rows: see inventory/sbom_query.cpp.
  bool query(const SbomQuery& q, SbomMatchSink& sink, std::string& err);
  // The same rows, copied (tests and small callers).
  bool query(const SbomQuery& q, std::vector<SbomMatch>& out, std::string& err);

  bool stats(SbomDbStats& out, std::string& err);
  // PRAGMA integrity_check: true when it says "ok".
  bool integrity_ok(std::string& err);

  // 2: the covering index devices_attested_by_device_id; 3: the generated column query_row and the index
  // devices_attested_rows in its place (docs/SBOM.md). A read-write open upgrades an older
  // file in place; a read-only one refuses it, saying how to upgrade (`otsensor sbom upgrade`).
  static constexpr int kSchemaVersion = 3;

 private:
  struct Impl;
  explicit SbomDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ots::sbom
