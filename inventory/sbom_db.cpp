#include "inventory/sbom_db.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>

namespace ots::sbom {

// ---------------------------------------------------------------------------------------------------
// Versions

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

struct Segment {
  std::string_view text;
  bool numeric = false;
  char separator = 0;  // the last non-alphanumeric character before it; 0 when glued to the previous segment
};

// Walks a version string segment by segment.
class VersionCursor {
 public:
  explicit VersionCursor(std::string_view v) : v_(v) {}
  bool next(Segment& s) {
    s.separator = 0;
    while (i_ < v_.size() && !is_digit(v_[i_]) && !is_alpha(v_[i_])) s.separator = v_[i_++];
    if (i_ == v_.size()) return false;
    const size_t start = i_;
    s.numeric = is_digit(v_[i_]);
    while (i_ < v_.size() && (s.numeric ? is_digit(v_[i_]) : is_alpha(v_[i_]))) ++i_;
    s.text = v_.substr(start, i_ - start);
    return true;
  }

 private:
  std::string_view v_;
  size_t i_ = 0;
};

std::string_view strip_zeros(std::string_view n) {
  while (n.size() > 1 && n[0] == '0') n.remove_prefix(1);
  return n;
}

bool is_zero(const Segment& s) { return s.numeric && strip_zeros(s.text) == "0"; }

int compare_numbers(std::string_view a, std::string_view b) {
  a = strip_zeros(a);
  b = strip_zeros(b);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int compare_text(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const char x = lower(a[i]), y = lower(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

bool marks_prerelease(const Segment& s) {
  if (s.separator == '-' || s.separator == '~') return true;
  static constexpr std::array<std::string_view, 7> kWords = {"alpha", "beta", "rc", "pre", "preview", "dev",
                                                             "snapshot"};
  return std::any_of(kWords.begin(), kWords.end(), [&](std::string_view w) { return compare_text(s.text, w) == 0; });
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  VersionCursor ca(a), cb(b);
  for (;;) {
    Segment sa, sb;
    const bool ha = ca.next(sa), hb = cb.next(sb);
    if (!ha && !hb) return 0;
    if (ha && hb) {
      int c;
      if (sa.numeric && sb.numeric) {
        c = compare_numbers(sa.text, sb.text);
      } else if (sa.numeric != sb.numeric) {
        c = sa.numeric ? 1 : -1;
      } else {
        c = compare_text(sa.text, sb.text);
      }
      if (c != 0) return c;
      continue;
    }
    // One side ran out: the other side's remainder decides. `sign` is the answer when the longer is greater.
    VersionCursor& rest = ha ? ca : cb;
    Segment s = ha ? sa : sb;
    const int sign = ha ? 1 : -1;
    while (is_zero(s)) {
      if (!rest.next(s)) return 0;
    }
    if (s.numeric) return sign;
    return marks_prerelease(s) ? -sign : sign;
  }
}

bool split_purl(std::string_view purl, PurlParts& out) {
  if (purl.size() < 4 || compare_text(purl.substr(0, 4), "pkg:") != 0) return false;
  std::string_view body = purl.substr(4);
  while (!body.empty() && body[0] == '/') body.remove_prefix(1);  // "pkg://type/..." is tolerated (purl spec)
  const size_t cut = body.find_first_of("?#");
  out.rest = cut == std::string_view::npos ? std::string() : std::string(body.substr(cut));
  body = body.substr(0, cut == std::string_view::npos ? body.size() : cut);
  const size_t slash = body.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == body.size()) return false;
  const size_t at = body.rfind('@');
  out.version.clear();
  if (at != std::string_view::npos && at > slash) {
    out.version = std::string(body.substr(at + 1));
    body = body.substr(0, at);
    if (body.size() == slash + 1) return false;  // no name before '@'
  }
  out.base = "pkg:";
  for (size_t i = 0; i < slash; ++i) out.base += lower(body[i]);
  out.base.append(body.substr(slash));
  return true;
}

// ---------------------------------------------------------------------------------------------------
// SQLite, wrapped once

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement. Text bound with bind() must outlive the next step(); reset() after each use
// (Use does it on scope exit).
class Statement {
 public:
  bool prepare(sqlite3* db, const char* sql, std::string& err) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      err = sqlite3_errmsg(db);
      return false;
    }
    stmt_.reset(s);
    return true;
  }
  void bind(int i, std::string_view t) {
    sqlite3_bind_text(stmt_.get(), i, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_.get(), i, v); }
  void bind_null(int i) { sqlite3_bind_null(stmt_.get(), i); }
  int step() { return sqlite3_step(stmt_.get()); }
  void reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }
  std::string_view text(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string_view();
  }
  int64_t integer(int col) { return sqlite3_column_int64(stmt_.get(), col); }
  bool is_null(int col) { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

 private:
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

// Resets a statement when the scope ends, whichever way it ends.
class Use {
 public:
  explicit Use(Statement& s) : s_(s) {}
  ~Use() { s_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

 private:
  Statement& s_;
};

bool exec(sqlite3* db, const char* sql, std::string& err) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    err = msg ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return false;
  }
  return true;
}

// The first column of the first row of `sql` as an integer (PRAGMA application_id, user_version, counts).
bool query_int(sqlite3* db, const char* sql, int64_t& out, std::string& err) {
  Statement s;
  if (!s.prepare(db, sql, err)) return false;
  const int rc = s.step();
  if (rc != SQLITE_ROW) {
    err = rc == SQLITE_DONE ? std::string("no result") : sqlite3_errmsg(db);
    return false;
  }
  out = s.integer(0);
  return true;
}

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

// CROSS JOIN fixes the loop order (SQLite never reorders it): the few matching components through their
// index, then their devices through the link table's primary key, then each device by its id. No ORDER BY:
// SQLite's sorter costs several times the join on tens of thousands of rows; query() sorts the results.
constexpr const char* kQueryComponent = R"sql(
SELECT d.device_id, d.name, d.address, d.zone, d.fw_version, c.name, c.version, c.purl, d.last_attested
FROM components AS c CROSS JOIN device_components AS dc CROSS JOIN devices AS d
WHERE c.name = ?1 COLLATE NOCASE
  AND (?2 = 0 OR (c.version <> '' AND ((?2 = 1 AND ots_version_cmp(c.version, ?3) < 0) OR
                                        (?2 = 2 AND ots_version_cmp(c.version, ?3) = 0))))
  AND dc.component = c.id AND d.id = dc.device AND d.attested = 1
)sql";

constexpr const char* kQueryPurl = R"sql(
SELECT d.device_id, d.name, d.address, d.zone, d.fw_version, c.name, c.version, c.purl, d.last_attested
FROM components AS c CROSS JOIN device_components AS dc CROSS JOIN devices AS d
WHERE c.purl_base = ?1 AND (?2 = '' OR c.purl_version = ?2)
  AND dc.component = c.id AND d.id = dc.device AND d.attested = 1
)sql";

void version_cmp_function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto text = [](sqlite3_value* v) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_value_bytes(v))) : std::string_view();
  };
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  sqlite3_result_int(ctx, compare_versions(text(argv[0]), text(argv[1])));
}

}  // namespace

struct SbomDatabase::Impl {
  DbHandle db;
  std::string path;
  Statement begin, commit, rollback;
  Statement upsert_device, delete_links, find_component, insert_component, insert_link, delete_orphans;
  Statement query_component, query_purl, stats;

  std::string error(std::string_view what) const {
    return fmt::format("{}: {}: {}", path, what, sqlite3_errmsg(db.get()));
  }
};

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
    if (version == 0) {
      // A new file. BEGIN IMMEDIATE and a second look: two sensors creating it at once make it once.
      if (!exec(db, "BEGIN IMMEDIATE", why)) return fail("cannot create the schema");
      if (!query_int(db, "PRAGMA user_version", version, why) ||
          (version == 0 && !exec(db, kSchemaV1, why)) || !exec(db, "COMMIT", why)) {
        std::string ignored;
        exec(db, "ROLLBACK", ignored);
        return fail("cannot create the schema");
      }
    }
  } else {
    if (version == 0) {
      err = fmt::format("{}: not an otsensor SBOM database (no schema)", path);
      return nullptr;
    }
    // A query over a common component reads thousands of pages of the devices table. Read, not mapped: on
    // the benchmark (tools/bench_sbom.sh) the page faults of a mapping cost more than the reads.
    if (!exec(db, "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY", why)) {
      return fail("cannot configure");
    }
  }
  if (sqlite3_create_function_v2(db, "ots_version_cmp", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                 nullptr, version_cmp_function, nullptr, nullptr, nullptr) != SQLITE_OK) {
    why = sqlite3_errmsg(db);
    return fail("cannot register ots_version_cmp");
  }
  Impl& m = *impl;
  const std::array<std::pair<Statement*, const char*>, 12> statements = {{
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
      {&m.query_component, kQueryComponent},
      {&m.query_purl, kQueryPurl},
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

bool SbomDatabase::query(const SbomQuery& q, std::vector<SbomMatch>& out, std::string& err) {
  Impl& m = *impl_;
  PurlParts want;
  Statement* s = nullptr;
  if (q.kind == SbomQuery::Kind::Component) {
    s = &m.query_component;
    s->bind(1, q.component);
    const int64_t test = q.test == SbomQuery::VersionTest::Below ? 1 : (q.test == SbomQuery::VersionTest::Equal ? 2 : 0);
    s->bind(2, test);
    s->bind(3, q.version);
  } else {
    if (!split_purl(q.purl, want)) {
      err = fmt::format("'{}' is not a package URL (pkg:type/namespace/name@version)", q.purl);
      return false;
    }
    s = &m.query_purl;
    s->bind(1, want.base);
    s->bind(2, want.version);
  }
  Use u(*s);
  const size_t first = out.size();
  for (;;) {
    const int rc = s->step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      err = m.error("query failed");
      return false;
    }
    if (!want.rest.empty()) {
      // Qualifiers or subpath asked for: they must be the component's too.
      PurlParts have;
      if (!split_purl(s->text(7), have) || have.rest != want.rest) continue;
    }
    SbomMatch r;
    r.device_id = s->text(0);
    r.name = s->text(1);
    r.address = s->text(2);
    r.zone = s->text(3);
    r.fw_version = s->text(4);
    r.component = s->text(5);
    r.version = s->text(6);
    r.purl = s->text(7);
    r.last_attested_ns = s->is_null(8) ? 0 : static_cast<uint64_t>(s->integer(8));
    out.push_back(std::move(r));
  }
  // Sorted through an index: moving tens of thousands of nine-string rows around costs more than the join.
  std::vector<uint32_t> order(out.size() - first);
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  const SbomMatch* rows = out.data() + first;
  std::sort(order.begin(), order.end(), [rows](uint32_t x, uint32_t y) {
    const SbomMatch& a = rows[x];
    const SbomMatch& b = rows[y];
    return std::tie(a.device_id, a.component, a.version, a.purl) < std::tie(b.device_id, b.component, b.version, b.purl);
  });
  std::vector<SbomMatch> sorted;
  sorted.reserve(order.size());
  for (const uint32_t i : order) sorted.push_back(std::move(out[first + i]));
  std::move(sorted.begin(), sorted.end(), out.begin() + static_cast<std::ptrdiff_t>(first));
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
