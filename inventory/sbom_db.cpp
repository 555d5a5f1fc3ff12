// The SBOM database's file: opening it, its schema and upgrades, and the sensor's writes. The queries are in
// sbom_query.cpp.
#include "inventory/sbom_db.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "inventory/sbom_db_impl.hpp"

namespace ots::sbom {

namespace {

using sqlite::exec;
using sqlite::query_int;
using sqlite::Statement;
using sqlite::Use;

// "OTSB": PRAGMA application_id of our databases, so that the query command recognises them (sqlite's
// magic.txt convention: a 32-bit number in the file header).
constexpr int64_t kApplicationId = 0x4F545342;

// Schema version 1. Times are unix nanoseconds (INTEGER). devices.id is a surrogate key so that the link
// table, the large one (devices x components), holds two integers per row; device_id stays unique.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE devices (
  id               INTEGER PRIMARY KEY,
  device_id        TEXT    NOT NULL UNIQUE,          -- 32 hex digits (AQAT device_id)
  name             TEXT    NOT NULL,
  address          TEXT    NOT NULL,
  zone             TEXT    NOT NULL,                 -- '' outside every zone or without a site model
  fw_version       TEXT    NOT NULL,
  root_kind        TEXT    NOT NULL,                 -- puf, tpm_or_secure_element, software
  attested         INTEGER NOT NULL CHECK (attested IN (0, 1)),
  identity_verdict TEXT    NOT NULL,                 -- ok, or why its latest IDENTITY was rejected
  first_seen       INTEGER NOT NULL,
  last_attested    INTEGER,                          -- NULL: never
  sbom_digest      TEXT,                             -- hex BLAKE2b-256 of the verified SBOM; NULL: none
  updated          INTEGER NOT NULL                  -- wall clock of the run that wrote the row
);
CREATE INDEX devices_by_attested ON devices (attested);
CREATE TABLE components (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL,
  version      TEXT NOT NULL,
  purl         TEXT NOT NULL,
  cpe          TEXT NOT NULL,
  purl_base    TEXT NOT NULL,  -- pkg:type/namespace/name of purl ('' when purl is empty or not a purl)
  purl_version TEXT NOT NULL,  -- purl's version ('' when none)
  UNIQUE (name, version, purl, cpe)
);
CREATE INDEX components_by_name ON components (name COLLATE NOCASE);
CREATE INDEX components_by_purl ON components (purl_base, purl_version);
CREATE TABLE device_components (
  device    INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  component INTEGER NOT NULL REFERENCES components (id),
  PRIMARY KEY (component, device)
) WITHOUT ROWID;
CREATE INDEX device_components_by_device ON device_components (device);
CREATE TABLE schema_version (
  version INTEGER PRIMARY KEY,
  applied INTEGER NOT NULL     -- unix seconds
);
INSERT INTO schema_version (version, applied) VALUES (1, CAST(strftime('%s', 'now') AS INTEGER));
PRAGMA application_id = 1330926402;
PRAGMA user_version = 1;
)sql";
static_assert(kApplicationId == 1330926402, "kSchemaV1 writes the application id as a literal");

// Each upgrade takes a file from the version before it to `to`. A new file is version 1 brought up by every
// upgrade, so that new and upgraded files are the same.
struct Upgrade {
  int64_t to;
  const char* sql;
};
constexpr std::array<Upgrade, 2> kUpgrades = {{
    // 2: the query read its devices' rows, in device_id order, from a covering index alone: a scan of it
    // costs less than one table lookup per matching row once a component is on more than a few percent of
    // the plant (sbom_query.cpp). Partial: unattested devices are never returned. Replaced by 3.
    {2, R"sql(
CREATE INDEX devices_attested_by_device_id
  ON devices (device_id, id, name, address, zone, fw_version, last_attested) WHERE attested = 1;
INSERT INTO schema_version (version, applied) VALUES (2, CAST(strftime('%s', 'now') AS INTEGER));
PRAGMA user_version = 2;
)sql"},
    // 3: the printed columns as one value, query_row (decoded by sbom_query.cpp's parse_query_row), and the
    // covering index holds that instead of seven columns. Reading seven columns of each of 100,000 index
    // entries was two thirds of the time of a query over a common component: SQLite decodes a record's header
    // again for every column it is asked for. query_row is a generated column, computed by SQLite from the
    // row at every write, so it cannot disagree with the columns it is made of; the index stores it.
    // Its layout: seven decimal numbers, each followed by one space (id, last_attested or 0 when never,
    // then the byte lengths of device_id, name, address, zone and fw_version), then those five texts' bytes.
    {3, R"sql(
ALTER TABLE devices ADD COLUMN query_row BLOB GENERATED ALWAYS AS (CAST(
  printf('%d %d %d %d %d %d %d ', id, coalesce(last_attested, 0), length(CAST(device_id AS BLOB)),
         length(CAST(name AS BLOB)), length(CAST(address AS BLOB)), length(CAST(zone AS BLOB)),
         length(CAST(fw_version AS BLOB)))
  || device_id || name || address || zone || fw_version AS BLOB)) VIRTUAL;
CREATE INDEX devices_attested_rows ON devices (device_id, query_row) WHERE attested = 1;
DROP INDEX devices_attested_by_device_id;
INSERT INTO schema_version (version, applied) VALUES (3, CAST(strftime('%s', 'now') AS INTEGER));
PRAGMA user_version = 3;
)sql"},
}};
static_assert(kUpgrades.back().to == SbomDatabase::kSchemaVersion, "an upgrade to every schema version");

// Creates the schema of a new file (version 0) or upgrades an older one, in one transaction. BEGIN IMMEDIATE
// and a second look at the version: two sensors creating or upgrading one file at once do it once.
bool create_or_upgrade(sqlite3* db, std::string& why) {
  if (!exec(db, "BEGIN IMMEDIATE", why)) return false;
  int64_t version = 0;
  bool ok = query_int(db, "PRAGMA user_version", version, why) && (version != 0 || exec(db, kSchemaV1, why));
  for (const Upgrade& u : kUpgrades) {
    if (ok && std::max<int64_t>(version, 1) < u.to) ok = exec(db, u.sql, why);
  }
  if (ok && exec(db, "COMMIT", why)) return true;
  std::string ignored;
  exec(db, "ROLLBACK", ignored);
  return false;
}

constexpr const char* kUpsertDevice = R"sql(
INSERT INTO devices (device_id, name, address, zone, fw_version, root_kind, attested, identity_verdict,
                     first_seen, last_attested, sbom_digest, updated)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (device_id) DO UPDATE SET
  name = excluded.name, address = excluded.address, zone = excluded.zone, fw_version = excluded.fw_version,
  root_kind = excluded.root_kind, attested = excluded.attested, identity_verdict = excluded.identity_verdict,
  first_seen = min(devices.first_seen, excluded.first_seen),
  last_attested = CASE WHEN devices.last_attested IS NULL THEN excluded.last_attested
                       WHEN excluded.last_attested IS NULL THEN devices.last_attested
                       ELSE max(devices.last_attested, excluded.last_attested) END,
  sbom_digest = coalesce(excluded.sbom_digest, devices.sbom_digest),
  updated = excluded.updated
RETURNING id
)sql";

}  // namespace

SbomDatabase::SbomDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SbomDatabase::~SbomDatabase() = default;

std::unique_ptr<SbomDatabase> SbomDatabase::open(const std::string& path, Mode mode, std::string& err) {
  const bool rw = mode == Mode::ReadWrite;
  std::error_code ec;
  if (!rw && !std::filesystem::is_regular_file(path, ec)) {
    err = fmt::format("{}: no such database file", path);
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  sqlite3* raw = nullptr;
  const int flags = (rw ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  impl->db.reset(raw);
  if (rc != SQLITE_OK) {
    err = fmt::format("{}: cannot open: {}", path, raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3* db = raw;
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);  // another otsensor writing the same file: wait for its transaction
  std::string why;
  const auto fail = [&](std::string_view what) {
    err = fmt::format("{}: {}: {}", path, what, why);
    return nullptr;
  };

  // The header's application id tells our files from others before anything else reads them.
  int64_t app_id = 0, version = 0, objects = 0;
  if (!query_int(db, "PRAGMA application_id", app_id, why)) {
    return fail("not an SQLite database");
  }
  if (!query_int(db, "PRAGMA user_version", version, why) ||
      !query_int(db, "SELECT count(*) FROM sqlite_schema", objects, why)) {
    return fail("cannot read the schema");
  }
  if (app_id != kApplicationId && !(rw && app_id == 0 && objects == 0)) {
    err = fmt::format("{}: not an otsensor SBOM database (application_id {:#x}, expected {:#x})", path, app_id,
                      kApplicationId);
    return nullptr;
  }
  if (version > kSchemaVersion) {
    err = fmt::format("{}: schema version {} is newer than this otsensor's ({}): use a newer otsensor", path, version,
                      kSchemaVersion);
    return nullptr;
  }
  if (rw) {
    // WAL: readers (the query command) never block the sensor's update and see the last committed one;
    // NORMAL: a crash of the process loses nothing committed, a power loss at most the last update.
    Statement wal;
    if (!wal.prepare(db, "PRAGMA journal_mode = WAL", why) || wal.step() != SQLITE_ROW || wal.text(0) != "wal") {
      if (why.empty()) why = sqlite3_errmsg(db);
      return fail("cannot switch to WAL mode");
    }
    wal.reset();
    // Up to 64 MB of page cache: an update of many devices appends to the link table at one place per
    // component (about 4 KB each), and those pages must stay in memory for the update to be fast.
    if (!exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536", why)) {
      return fail("cannot configure");
    }
    if (version < kSchemaVersion && !create_or_upgrade(db, why)) {
      return fail(version == 0 ? "cannot create the schema" : "cannot upgrade the schema");
    }
  } else {
    if (version == 0) {
      err = fmt::format("{}: not an otsensor SBOM database (no schema)", path);
      return nullptr;
    }
    if (version < kSchemaVersion) {
      // Read-only: the query command never writes the sensor's file; the upgrade is one command away.
      err = fmt::format("{0}: schema version {1} is older than this otsensor's ({2}): upgrade it with "
                        "`otsensor sbom upgrade --db {0}` (the sensor also does at its next write)",
                        path, version, kSchemaVersion);
      return nullptr;
    }
    // query_only: this handle cannot write, whatever a bug asks. Mapped: a query over a common component
    // reads thousands of pages of the covering index once, in order; through the mapping they cost a page
    // fault per 16 pages (the kernel's fault-around) instead of a pread, a copy and a cache page each:
    // 25% less CPU on tools/bench_sbom.sh's openssl query.
    if (!exec(db, "PRAGMA query_only = 1; PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384", why)) {
      return fail("cannot configure");
    }
    if (const char* mm = getenv("OTS_MMAP")) exec(db, (std::string("PRAGMA mmap_size = ") + mm).c_str(), why);
  }
  Impl& m = *impl;
  // INDEXED BY: a file without the index fails here, loudly, rather than the query scanning the table.
  constexpr const char* kDeviceById = "SELECT query_row FROM devices WHERE id = ?1 AND attested = 1";
  constexpr const char* kDevicesInOrder =
      "SELECT query_row FROM devices INDEXED BY devices_attested_rows WHERE attested = 1 ORDER BY device_id";
  const std::array<std::pair<Statement*, const char*>, 16> statements = {{
      {&m.begin, "BEGIN IMMEDIATE"},
      {&m.commit, "COMMIT"},
      {&m.rollback, "ROLLBACK"},
      {&m.upsert_device, kUpsertDevice},
      {&m.delete_links, "DELETE FROM device_components WHERE device = ?1"},
      {&m.find_component, "SELECT id FROM components WHERE name = ?1 AND version = ?2 AND purl = ?3 AND cpe = ?4"},
      {&m.insert_component,
       "INSERT INTO components (name, version, purl, cpe, purl_base, purl_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&m.insert_link, "INSERT OR IGNORE INTO device_components (device, component) VALUES (?1, ?2)"},
      {&m.delete_orphans,
       "DELETE FROM components WHERE NOT EXISTS (SELECT 1 FROM device_components WHERE component = components.id)"},
      {&m.components_named, "SELECT id, name, version, purl FROM components WHERE name = ?1 COLLATE NOCASE"},
      {&m.components_of_purl,
       "SELECT id, name, version, purl FROM components WHERE purl_base = ?1 AND (?2 = '' OR purl_version = ?2)"},
      {&m.links_of, "SELECT device FROM device_components WHERE component = ?1"},
      {&m.device_by_id, kDeviceById},
      {&m.devices_in_order, kDevicesInOrder},
      {&m.max_device_id, "SELECT coalesce(max(id), 0) FROM devices"},
      {&m.stats,
       "SELECT (SELECT count(*) FROM devices), (SELECT count(*) FROM devices WHERE attested = 1), "
       "(SELECT count(*) FROM components), (SELECT count(*) FROM device_components)"},
  }};
  for (const auto& [stmt, sql] : statements) {
    if (!stmt->prepare(db, sql, why)) return fail("not an otsensor SBOM database (schema)");
  }
  return std::unique_ptr<SbomDatabase>(new SbomDatabase(std::move(impl)));
}

bool SbomDatabase::update(std::span<const SbomDeviceRecord> devices, uint64_t updated_ns, std::string& err) {
  Impl& m = *impl_;
  {
    Use u(m.begin);
    if (m.begin.step() != SQLITE_DONE) {
      err = m.error("cannot begin the update");
      return false;
    }
  }
  // Until COMMIT succeeds, the transaction is rolled back on every way out.
  bool committed = false;
  struct Rollback {
    Impl& impl;
    const bool& done;
    ~Rollback() {
      if (done || sqlite3_get_autocommit(impl.db.get())) return;
      Use u(impl.rollback);
      impl.rollback.step();
    }
  } rollback{m, committed};

  using Key = std::tuple<std::string_view, std::string_view, std::string_view, std::string_view>;
  std::map<Key, int64_t> ids;  // components met in this update
  bool replaced_any = false;
  for (const SbomDeviceRecord& d : devices) {
    int64_t device_row = 0;
    {
      Statement& s = m.upsert_device;
      Use u(s);
      s.bind(1, d.device_id);
      s.bind(2, d.name);
      s.bind(3, d.address);
      s.bind(4, d.zone);
      s.bind(5, d.fw_version);
      s.bind(6, d.root_kind);
      s.bind(7, int64_t{d.attested ? 1 : 0});
      s.bind(8, d.identity_verdict);
      s.bind(9, static_cast<int64_t>(d.first_seen_ns));
      if (d.last_attested_ns) {
        s.bind(10, static_cast<int64_t>(d.last_attested_ns));
      } else {
        s.bind_null(10);
      }
      if (d.has_sbom) {
        s.bind(11, d.sbom_digest);
      } else {
        s.bind_null(11);
      }
      s.bind(12, static_cast<int64_t>(updated_ns));
      if (s.step() != SQLITE_ROW) {
        err = m.error(fmt::format("cannot write device {}", d.device_id));
        return false;
      }
      device_row = s.integer(0);
      if (s.step() != SQLITE_DONE) {
        err = m.error(fmt::format("cannot write device {}", d.device_id));
        return false;
      }
    }
    if (!d.has_sbom) continue;
    replaced_any = true;
    {
      Use u(m.delete_links);
      m.delete_links.bind(1, device_row);
      if (m.delete_links.step() != SQLITE_DONE) {
        err = m.error(fmt::format("cannot replace the components of device {}", d.device_id));
        return false;
      }
    }
    for (const Component& c : d.components) {
      const Key key{c.name, c.version, c.purl, c.cpe};
      auto it = ids.find(key);
      if (it == ids.end()) {
        int64_t id = 0;
        {
          Statement& s = m.find_component;
          Use u(s);
          s.bind(1, c.name);
          s.bind(2, c.version);
          s.bind(3, c.purl);
          s.bind(4, c.cpe);
          const int rc = s.step();
          if (rc == SQLITE_ROW) {
            id = s.integer(0);
          } else if (rc != SQLITE_DONE) {
            err = m.error("cannot look up a component");
            return false;
          }
        }
        if (id == 0) {
          PurlParts p;
          if (!split_purl(c.purl, p)) p = PurlParts{};
          Statement& s = m.insert_component;
          Use u(s);
          s.bind(1, c.name);
          s.bind(2, c.version);
          s.bind(3, c.purl);
          s.bind(4, c.cpe);
          s.bind(5, p.base);
          s.bind(6, p.version);
          if (s.step() != SQLITE_DONE) {
            err = m.error(fmt::format("cannot write component {} {}", c.name, c.version));
            return false;
          }
          id = sqlite3_last_insert_rowid(m.db.get());
        }
        it = ids.emplace(key, id).first;
      }
      Statement& s = m.insert_link;
      Use u(s);
      s.bind(1, device_row);
      s.bind(2, it->second);
      if (s.step() != SQLITE_DONE) {
        err = m.error(fmt::format("cannot link device {} to component {}", d.device_id, c.name));
        return false;
      }
    }
  }
  if (replaced_any) {
    // Components no device lists any more (every device moved to a newer release).
    Use u(m.delete_orphans);
    if (m.delete_orphans.step() != SQLITE_DONE) {
      err = m.error("cannot remove unused components");
      return false;
    }
  }
  Use u(m.commit);
  if (m.commit.step() != SQLITE_DONE) {
    err = m.error("cannot commit the update");
    return false;
  }
  committed = true;
  return true;
}

bool SbomDatabase::stats(SbomDbStats& out, std::string& err) {
  Impl& m = *impl_;
  Use u(m.stats);
  if (m.stats.step() != SQLITE_ROW) {
    err = m.error("cannot count");
    return false;
  }
  out.devices = static_cast<uint64_t>(m.stats.integer(0));
  out.attested = static_cast<uint64_t>(m.stats.integer(1));
  out.components = static_cast<uint64_t>(m.stats.integer(2));
  out.links = static_cast<uint64_t>(m.stats.integer(3));
  return true;
}

bool SbomDatabase::integrity_ok(std::string& err) {
  Impl& m = *impl_;
  Statement s;
  if (!s.prepare(m.db.get(), "PRAGMA integrity_check", err)) return false;
  if (s.step() != SQLITE_ROW) {
    err = m.error("integrity_check");
    return false;
  }
  if (s.text(0) != "ok") {
    err = fmt::format("{}: integrity_check: {}", m.path, s.text(0));
    return false;
  }
  return true;
}

}  // namespace ots::sbom
