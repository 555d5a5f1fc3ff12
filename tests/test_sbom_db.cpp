// The attested SBOM inventory (issue 6): version order, the SQLite database (schema, upsert across runs,
// unattested devices kept out of query results, crash safety), `otsensor sbom query`, and the whole path
// from the fleet simulator's capture to the query's answer.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include "inventory/sbom_db.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;
using ots::sbom::compare_versions;
using ots::sbom::Component;
using ots::sbom::SbomDatabase;
using ots::sbom::SbomDeviceRecord;
using ots::sbom::SbomMatch;
using ots::sbom::SbomQuery;

namespace {

std::unique_ptr<SbomDatabase> open_rw(const fs::path& p) {
  std::string err;
  auto db = SbomDatabase::open(p.string(), SbomDatabase::Mode::ReadWrite, err);
  INFO(err);
  REQUIRE(db != nullptr);
  return db;
}

std::unique_ptr<SbomDatabase> open_ro(const fs::path& p) {
  std::string err;
  auto db = SbomDatabase::open(p.string(), SbomDatabase::Mode::ReadOnly, err);
  INFO(err);
  REQUIRE(db != nullptr);
  return db;
}

Component comp(const std::string& name, const std::string& version) {
  return {name, version, fmt::format("pkg:generic/{}@{}", name, version),
          fmt::format("cpe:2.3:a:{0}:{0}:{1}:*:*:*:*:*:*:*", name, version)};
}

SbomDeviceRecord device(const std::string& hex_byte, const std::string& name, bool attested,
                        std::vector<Component> components) {
  SbomDeviceRecord d;
  d.device_id = std::string(30, '0') + hex_byte;
  d.name = name;
  d.address = "192.168.110." + std::to_string(std::stoi(hex_byte, nullptr, 16));
  d.zone = "control";
  d.fw_version = "V1.0";
  d.root_kind = "tpm_or_secure_element";
  d.attested = attested;
  d.identity_verdict = attested ? "ok" : "untrusted_ca";
  d.first_seen_ns = 1'710'144'000'000'000'000ull;
  d.last_attested_ns = attested ? 1'710'144'100'000'000'000ull : 0;
  d.has_sbom = true;
  d.sbom_digest = std::string(64, 'a');
  d.components = std::move(components);
  return d;
}

std::vector<SbomMatch> query(SbomDatabase& db, SbomQuery q) {
  std::vector<SbomMatch> out;
  std::string err;
  const bool ok = db.query(q, out, err);
  INFO(err);
  REQUIRE(ok);
  return out;
}

SbomQuery by_name(const std::string& name, SbomQuery::VersionTest t = SbomQuery::VersionTest::Any,
                  const std::string& v = {}) {
  SbomQuery q;
  q.kind = SbomQuery::Kind::Component;
  q.component = name;
  q.test = t;
  q.version = v;
  return q;
}

SbomQuery by_purl(const std::string& purl) {
  SbomQuery q;
  q.kind = SbomQuery::Kind::Purl;
  q.purl = purl;
  return q;
}

std::set<std::string> names(const std::vector<SbomMatch>& rows) {
  std::set<std::string> out;
  for (const auto& r : rows) out.insert(r.name);
  return out;
}

// One row of a direct SQL look at the file (the schema, as another tool would see it).
std::string sql_text(const fs::path& p, const std::string& sql, int column = 0) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(p.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
    while (sqlite3_step(s) == SQLITE_ROW) {
      if (!out.empty()) out += '\n';
      const auto* t = sqlite3_column_text(s, column);
      out += t ? reinterpret_cast<const char*>(t) : "NULL";
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// A site model without its top-level `attestation:` section (the example plant's is for the demo fleet; the
// test's fleet has a CA of its own).
std::string without_attestation(const std::string& yaml) {
  std::istringstream in(yaml);
  std::string out;
  bool skipping = false;
  for (std::string line; std::getline(in, line);) {
    const bool top_level = !line.empty() && line[0] != ' ' && line[0] != '#';
    if (top_level) skipping = line.rfind("attestation:", 0) == 0;
    if (!skipping) out += line + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("sbom versions: numeric segments compare as numbers, text as text", "[sbom]") {
  CHECK(compare_versions("1.2.10", "1.2.9") > 0);
  CHECK(compare_versions("1.2.9", "1.2.10") < 0);
  CHECK(compare_versions("1.10", "1.9.9") > 0);
  CHECK(compare_versions("3.0.13", "3.0.8") > 0);
  CHECK(compare_versions("1.2.3", "1.2.3") == 0);
  CHECK(compare_versions("01.002", "1.2") == 0);
  CHECK(compare_versions("123456789012345678901234567890", "123456789012345678901234567889") > 0);
  // OpenSSL's letter releases: text within a segment position, later letters later.
  CHECK(compare_versions("1.1.1w", "1.1.1t") > 0);
  CHECK(compare_versions("1.1.1W", "1.1.1t") > 0);
  CHECK(compare_versions("1.1.1w", "3") < 0);
  CHECK(compare_versions("1.1.1n", "1.1.1") > 0);
  // Vendor formats: any non-alphanumeric separates.
  CHECK(compare_versions("04.03.03(25)", "04.02.13(24)") > 0);
  CHECK(compare_versions("5.15.125", "5.10.168") > 0);
  CHECK(compare_versions("V3.1.0", "V2.9.4") > 0);
}

TEST_CASE("sbom versions: missing segments, zeros and pre-releases", "[sbom]") {
  CHECK(compare_versions("1.0", "1.0.0") == 0);
  CHECK(compare_versions("1.0.0", "1.0") == 0);
  CHECK(compare_versions("1", "1.0.0.0") == 0);
  CHECK(compare_versions("1.0.1", "1.0") > 0);
  CHECK(compare_versions("1.0", "1.0.0.1") < 0);
  CHECK(compare_versions("2.0-rc1", "2.0") < 0);
  CHECK(compare_versions("2.0", "2.0-rc1") > 0);
  CHECK(compare_versions("2.0rc1", "2.0") < 0);
  CHECK(compare_versions("2.0-rc1", "2.0-rc2") < 0);
  CHECK(compare_versions("2.0-rc2", "1.9") > 0);
  CHECK(compare_versions("2.0.0-rc1", "2.0") < 0);
  CHECK(compare_versions("2.0-alpha", "2.0-beta") < 0);
  CHECK(compare_versions("2.0-beta", "2.0-rc1") < 0);
  CHECK(compare_versions("1.0.beta", "1.0") < 0);
  CHECK(compare_versions("1.0~pre1", "1.0") < 0);
  // At one position a number is above text: 1.0.0 after 1.0-rc1, 1.0.1 after 1.0a.
  CHECK(compare_versions("1.0.0", "1.0-rc1") > 0);
  CHECK(compare_versions("1.0a", "1.0.1") < 0);
  // Not a pre-release marker: a later build of the same release.
  CHECK(compare_versions("1.0.post1", "1.0") > 0);
  CHECK(compare_versions("", "") == 0);
  CHECK(compare_versions("", "1") < 0);
}

TEST_CASE("sbom versions: the cases issue 6's reviewers asked for", "[sbom]") {
  CHECK(compare_versions("1.10", "1.9") > 0);  // numbers, not text
  CHECK(compare_versions("1.9", "1.10") < 0);
  CHECK(compare_versions("1.0a", "1.0") > 0);  // a letter after the last number is a later build (OpenSSL)
  CHECK(compare_versions("1.0", "1.0a") < 0);
  CHECK(compare_versions("1.0a", "1.0b") < 0);
  CHECK(compare_versions("2", "2.0") == 0);  // trailing zeros do not count
  CHECK(compare_versions("2.0", "2") == 0);
  CHECK(compare_versions("2", "2.0.1") < 0);
  // Empty segments: separators only separate, however many.
  CHECK(compare_versions("1..2", "1.2") == 0);
  CHECK(compare_versions("1.2.", "1.2") == 0);
  CHECK(compare_versions(".1", "1") == 0);
  CHECK(compare_versions("1.-2", "1.2") == 0);  // '-' marks a pre-release before text only
  // Non-numeric versions: text, case-insensitive; a number outranks text at one position.
  CHECK(compare_versions("abc", "abd") < 0);
  CHECK(compare_versions("ABC", "abc") == 0);
  CHECK(compare_versions("abc", "1") < 0);
  CHECK(compare_versions("release", "2") < 0);
  CHECK(compare_versions("r12", "r9") > 0);  // r, 12 against r, 9
}

TEST_CASE("sbom purl: type lower-cased, version and qualifiers split off", "[sbom]") {
  ots::sbom::PurlParts p;
  REQUIRE(ots::sbom::split_purl("pkg:GENERIC/openssl@1.1.1w", p));
  CHECK(p.base == "pkg:generic/openssl");
  CHECK(p.version == "1.1.1w");
  CHECK(p.rest.empty());
  REQUIRE(ots::sbom::split_purl("pkg:npm/%40angular/core@16.2.0?arch=x64#lib", p));
  CHECK(p.base == "pkg:npm/%40angular/core");
  CHECK(p.version == "16.2.0");
  CHECK(p.rest == "?arch=x64#lib");
  REQUIRE(ots::sbom::split_purl("pkg:deb/debian/zlib1g", p));
  CHECK(p.base == "pkg:deb/debian/zlib1g");
  CHECK(p.version.empty());
  CHECK_FALSE(ots::sbom::split_purl("openssl@1.1.1", p));
  CHECK_FALSE(ots::sbom::split_purl("pkg:generic", p));
  CHECK_FALSE(ots::sbom::split_purl("pkg:/openssl", p));
  CHECK_FALSE(ots::sbom::split_purl("pkg:generic/@1.0", p));
}

TEST_CASE("sbom db: a new file gets the schema, its indexes, WAL mode and its version", "[sbom]") {
  const fs::path dir = scratch_dir("sbom_schema");
  const fs::path file = dir / "sbom.sqlite";
  {
    auto db = open_rw(file);
    const std::vector<SbomDeviceRecord> one = {device("01", "plc-01", true, {comp("openssl", "3.0.13")})};
    std::string err;
    REQUIRE(db->update(one, 1, err));
  }
  CHECK(sql_text(file, "PRAGMA journal_mode") == "wal");
  CHECK(sql_text(file, "PRAGMA user_version") == std::to_string(SbomDatabase::kSchemaVersion));
  CHECK(sql_text(file, "SELECT max(version) FROM schema_version") == std::to_string(SbomDatabase::kSchemaVersion));
  CHECK(sql_text(file, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name") ==
        "components\ndevice_components\ndevices\nschema_version");
  const std::string indexes = sql_text(file, "SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL");
  for (const char* i : {"components_by_name", "components_by_purl", "device_components_by_device",
                        "devices_attested_rows"}) {
    CHECK(indexes.find(i) != std::string::npos);
  }
  CHECK(indexes.find("devices_attested_by_device_id") == std::string::npos);  // schema 2's, replaced
  // A common component's devices come from the index alone, in device_id order: no sort, and the program
  // reads query_row from the index's cursor, never from the table's (whose value SQLite would compute).
  const std::string scan_sql =
      "SELECT query_row FROM devices INDEXED BY devices_attested_rows WHERE attested = 1 ORDER BY device_id";
  const std::string scan = sql_text(file, "EXPLAIN QUERY PLAN " + scan_sql, 3);
  INFO(scan);
  CHECK(scan.find("devices_attested_rows") != std::string::npos);
  CHECK(scan.find("TEMP B-TREE") == std::string::npos);
  const std::string program = sql_text(file, "EXPLAIN " + scan_sql, 1);  // the opcodes
  INFO(program);
  CHECK(program.find("Function") == std::string::npos);  // printf() and length() are not run per row
  CHECK(program.find("Column") != std::string::npos);
  // The value is what sbom_query.cpp decodes: seven numbers, then the texts by their byte lengths.
  CHECK(sql_text(file, "SELECT CAST(query_row AS TEXT) FROM devices") ==
        "1 1710144100000000000 32 6 13 7 4 00000000000000000000000000000001plc-01192.168.110.1controlV1.0");
  // The lookups the query command makes use those indexes, not a scan.
  const std::string plan = sql_text(
      file, "EXPLAIN QUERY PLAN SELECT d.device_id FROM components AS c CROSS JOIN device_components AS dc "
            "CROSS JOIN devices AS d WHERE c.name = 'openssl' COLLATE NOCASE AND dc.component = c.id AND d.id = dc.device",
      3);  // EXPLAIN QUERY PLAN's detail column
  INFO(plan);
  CHECK(plan.find("components_by_name") != std::string::npos);
  CHECK(plan.find("SCAN") == std::string::npos);
  // Reopening (read-only as the query command does, then read-write) keeps it as it is.
  open_ro(file);
  open_rw(file);
  CHECK(sql_text(file, "SELECT count(*) FROM schema_version") == std::to_string(SbomDatabase::kSchemaVersion));
}

TEST_CASE("sbom db: a schema 1 file is refused read-only, saying how to upgrade, and upgraded in place", "[sbom]") {
  const fs::path dir = scratch_dir("sbom_upgrade");
  const fs::path file = dir / "sbom.sqlite";
  {
    auto db = open_rw(file);
    const std::vector<SbomDeviceRecord> devs = {device("01", "plc-01", true, {comp("openssl", "1.1.1w")}),
                                                device("02", "plc-02", true, {comp("openssl", "3.0.13")})};
    std::string err;
    REQUIRE(db->update(devs, 1, err));
  }
  // What otsensor 0.1 (schema 1) wrote: the same tables, without the covering index and query_row.
  const auto downgrade = [](const fs::path& f) {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(f.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw,
                         "DROP INDEX devices_attested_rows; ALTER TABLE devices DROP COLUMN query_row; "
                         "DELETE FROM schema_version WHERE version > 1; PRAGMA user_version = 1",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  };
  downgrade(file);
  fs::copy_file(file, dir / "second.sqlite");
  std::string err;
  CHECK_FALSE(SbomDatabase::open(file.string(), SbomDatabase::Mode::ReadOnly, err));
  CHECK(err == file.string() + ": schema version 1 is older than this otsensor's (3): upgrade it with `otsensor sbom "
                               "upgrade --db " + file.string() + "` (the sensor also does at its next write)");
  auto r = run(fmt::format("{} sbom query --db {} --component openssl", otsensor(), file.string()));
  CHECK(r.exit_code == 2);
  CHECK(r.output == "otsensor: sbom query: " + err + "\n");  // one line
  CHECK(sql_text(file, "PRAGMA user_version") == "1");          // the query wrote nothing

  r = run(fmt::format("{} sbom upgrade --db {}", otsensor(), file.string()));
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output == file.string() + ": schema version 3\n");
  CHECK(names(query(*open_ro(file), by_name("openssl"))) == std::set<std::string>{"plc-01", "plc-02"});
  CHECK(sql_text(file, "SELECT group_concat(version) FROM (SELECT version FROM schema_version ORDER BY version)") ==
        "1,2,3");
  // The sensor's read-write open upgrades too; a second upgrade is nothing to do.
  open_rw(dir / "second.sqlite");
  CHECK(sql_text(dir / "second.sqlite", "PRAGMA user_version") == "3");
  CHECK(names(query(*open_ro(dir / "second.sqlite"), by_name("openssl", SbomQuery::VersionTest::Below, "3"))) ==
        std::set<std::string>{"plc-01"});
  CHECK(run(fmt::format("{} sbom upgrade --db {}", otsensor(), file.string())).exit_code == 0);
  CHECK(sql_text(file, "SELECT count(*) FROM schema_version") == "3");
  CHECK(run(fmt::format("{} sbom upgrade --db {}", otsensor(), (dir / "missing.sqlite").string())).exit_code == 2);
  CHECK_FALSE(fs::exists(dir / "missing.sqlite"));
}

TEST_CASE("sbom db: a second run updates rows instead of duplicating them", "[sbom]") {
  const fs::path file = scratch_dir("sbom_upsert") / "sbom.sqlite";
  std::string err;
  {
    auto db = open_rw(file);
    const std::vector<SbomDeviceRecord> run1 = {
        device("01", "plc-01", true, {comp("openssl", "1.1.1w"), comp("zlib", "1.2.13")}),
        device("02", "plc-02", true, {comp("openssl", "3.0.13"), comp("zlib", "1.3.1")}),
        device("03", "plc-03", true, {comp("busybox", "1.35.0")})};
    REQUIRE(db->update(run1, 100, err));
  }
  {
    // The next run: plc-01 upgraded (new firmware, new SBOM), seen earlier and attested later; plc-02 seen
    // without its SBOM this time (it keeps the stored one); plc-03 not seen at all.
    auto db = open_rw(file);
    SbomDeviceRecord d1 = device("01", "plc-01", true, {comp("openssl", "3.0.13"), comp("zlib", "1.3.1")});
    d1.fw_version = "V2.0";
    d1.first_seen_ns -= 5'000'000'000ull;
    d1.last_attested_ns += 60'000'000'000ull;
    SbomDeviceRecord d2 = device("02", "plc-02b", true, {});
    d2.has_sbom = false;
    d2.first_seen_ns += 1'000'000'000ull;  // later than stored: first_seen stays
    d2.last_attested_ns = 0;               // none in this run: last_attested stays
    const std::vector<SbomDeviceRecord> run2 = {d1, d2};
    REQUIRE(db->update(run2, 200, err));
    ots::sbom::SbomDbStats st;
    REQUIRE(db->stats(st, err));
    CHECK(st.devices == 3);
    CHECK(st.attested == 3);
    CHECK(st.links == 5);
    CHECK(st.components == 3);  // openssl 1.1.1w and zlib 1.2.13 are no device's any more
  }
  auto db = open_ro(file);
  const auto openssl = query(*db, by_name("openssl"));
  REQUIRE(openssl.size() == 2);
  CHECK(openssl[0].name == "plc-01");
  CHECK(openssl[0].version == "3.0.13");
  CHECK(openssl[0].fw_version == "V2.0");
  CHECK(openssl[0].last_attested_ns == 1'710'144'160'000'000'000ull);
  CHECK(openssl[1].name == "plc-02b");  // the latest name
  CHECK(openssl[1].version == "3.0.13");
  CHECK(openssl[1].last_attested_ns == 1'710'144'100'000'000'000ull);
  CHECK(query(*db, by_name("openssl", SbomQuery::VersionTest::Below, "3")).empty());
  CHECK(names(query(*db, by_name("busybox"))) == std::set<std::string>{"plc-03"});
  CHECK(sql_text(file, "SELECT first_seen FROM devices ORDER BY device_id") ==
        "1710143995000000000\n1710144000000000000\n1710144000000000000");
  CHECK(sql_text(file, "SELECT updated FROM devices ORDER BY device_id") == "200\n200\n100");
}

TEST_CASE("sbom db: devices that are not attested are stored but never returned", "[sbom]") {
  const fs::path file = scratch_dir("sbom_unattested") / "sbom.sqlite";
  std::string err;
  {
    auto db = open_rw(file);
    const std::vector<SbomDeviceRecord> devs = {device("01", "plc-01", true, {comp("openssl", "1.1.1w")}),
                                                device("02", "rogue", false, {comp("openssl", "1.1.1w")})};
    REQUIRE(db->update(devs, 1, err));
    ots::sbom::SbomDbStats st;
    REQUIRE(db->stats(st, err));
    CHECK(st.devices == 2);
    CHECK(st.attested == 1);
  }
  auto db = open_ro(file);
  CHECK(names(query(*db, by_name("openssl"))) == std::set<std::string>{"plc-01"});
  CHECK(names(query(*db, by_purl("pkg:generic/openssl@1.1.1w"))) == std::set<std::string>{"plc-01"});
  {
    // A device whose identity is later rejected drops out of the results.
    auto rw = open_rw(file);
    const std::vector<SbomDeviceRecord> later = {device("01", "plc-01", false, {comp("openssl", "1.1.1w")})};
    REQUIRE(rw->update(later, 2, err));
  }
  CHECK(query(*db, by_name("openssl")).empty());
}

TEST_CASE("sbom db: component, version and purl queries", "[sbom]") {
  const fs::path file = scratch_dir("sbom_queries") / "sbom.sqlite";
  std::string err;
  {
    auto db = open_rw(file);
    Component qualified = comp("openssl", "3.0.8");
    qualified.purl += "?arch=arm";
    const std::vector<SbomDeviceRecord> devs = {
        device("01", "a", true, {comp("openssl", "1.1.1w"), comp("zlib", "1.2.13")}),
        device("02", "b", true, {comp("OpenSSL", "1.1.1t")}),
        device("03", "c", true, {comp("openssl", "3.0.13")}),
        device("04", "d", true, {qualified}),
        device("05", "e", true, {comp("openssl", "3.0"), comp("openssl-fips", "1.0")}),
        device("06", "f", true, {comp("openssl", "")}),
        device("07", "g", true, {comp("openssl", "2.0-rc1")})};
    REQUIRE(db->update(devs, 1, err));
  }
  auto db = open_ro(file);
  using VT = SbomQuery::VersionTest;
  CHECK(names(query(*db, by_name("openssl"))) == std::set<std::string>{"a", "b", "c", "d", "e", "f", "g"});
  CHECK(names(query(*db, by_name("OPENSSL", VT::Below, "3"))) == std::set<std::string>{"a", "b", "g"});
  CHECK(names(query(*db, by_name("openssl", VT::Below, "2.0"))) == std::set<std::string>{"a", "b", "g"});
  CHECK(names(query(*db, by_name("openssl", VT::Below, "2.0-rc1"))) == std::set<std::string>{"a", "b"});
  CHECK(names(query(*db, by_name("openssl", VT::Below, "1.1.1u"))) == std::set<std::string>{"b"});
  CHECK(names(query(*db, by_name("openssl", VT::Equal, "3.0.0"))) == std::set<std::string>{"e"});
  CHECK(names(query(*db, by_name("openssl", VT::Equal, "3.0.13"))) == std::set<std::string>{"c"});
  CHECK(query(*db, by_name("openss")).empty());
  CHECK(names(query(*db, by_purl("pkg:generic/openssl@1.1.1w"))) == std::set<std::string>{"a"});
  CHECK(names(query(*db, by_purl("pkg:GENERIC/openssl@3.0.8"))) == std::set<std::string>{"d"});
  CHECK(names(query(*db, by_purl("pkg:generic/openssl@3.0.8?arch=arm"))) == std::set<std::string>{"d"});
  CHECK(query(*db, by_purl("pkg:generic/openssl@3.0.8?arch=x86")).empty());
  CHECK(names(query(*db, by_purl("pkg:generic/openssl"))) == std::set<std::string>{"a", "c", "d", "e", "f", "g"});
  CHECK(query(*db, by_purl("pkg:generic/openssl@9.9")).empty());
  // One row per device and component, ordered by device.
  const auto rows = query(*db, by_name("openssl", VT::Below, "3"));
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].device_id < rows[1].device_id);
  CHECK(rows[1].component == "OpenSSL");
  CHECK(rows[1].version == "1.1.1t");
  CHECK(rows[1].purl == "pkg:generic/OpenSSL@1.1.1t");
  CHECK(rows[1].zone == "control");
  CHECK(rows[1].address == "192.168.110.2");
}

TEST_CASE("sbom db: a schema 2 file gets query_row and its index, and answers as before", "[sbom]") {
  const fs::path file = scratch_dir("sbom_upgrade2") / "sbom.sqlite";
  const std::vector<SbomDeviceRecord> devs = {device("01", "plc-01", true, {comp("openssl", "1.1.1w")}),
                                              device("02", "plc-02", true, {comp("openssl", "3.0.13")}),
                                              device("03", "plc-03", false, {comp("openssl", "1.0.2u")})};
  {
    auto db = open_rw(file);
    std::string err;
    REQUIRE(db->update(devs, 1, err));
  }
  // What otsensor wrote before schema 3: seven columns in the covering index, no query_row.
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw,
                         "DROP INDEX devices_attested_rows; ALTER TABLE devices DROP COLUMN query_row; "
                         "CREATE INDEX devices_attested_by_device_id ON devices (device_id, id, name, address, zone, "
                         "fw_version, last_attested) WHERE attested = 1; "
                         "DELETE FROM schema_version WHERE version > 2; PRAGMA user_version = 2",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  std::string err;
  CHECK_FALSE(SbomDatabase::open(file.string(), SbomDatabase::Mode::ReadOnly, err));
  CHECK(err.find("schema version 2 is older than this otsensor's (3)") != std::string::npos);
  open_rw(file);
  CHECK(sql_text(file, "PRAGMA user_version") == "3");
  CHECK(sql_text(file, "SELECT group_concat(name) FROM sqlite_schema WHERE name LIKE 'devices_attested%'") ==
        "devices_attested_rows");
  const auto rows = query(*open_ro(file), by_name("openssl"));
  REQUIRE(rows.size() == 2);  // plc-03 is not attested
  CHECK(rows[0].name == "plc-01");
  CHECK(rows[0].address == "192.168.110.1");
  CHECK(rows[0].zone == "control");
  CHECK(rows[0].fw_version == "V1.0");
  CHECK(rows[0].last_attested_ns == 1'710'144'100'000'000'000ull);
  CHECK(rows[1].name == "plc-02");
  CHECK(rows[1].version == "3.0.13");
}

TEST_CASE("sbom query command: any bytes in names come back whole in the table and in JSON", "[sbom]") {
  // query_row holds the texts by their byte lengths, so spaces, digits and separators inside them cannot
  // shift a field; JSON escapes what RFC 8259 asks and keeps valid UTF-8, with runs longer than the 8 bytes
  // the writer tests at once and special bytes at every position of such a run.
  const fs::path file = scratch_dir("sbom_bytes") / "sbom.sqlite";
  const std::vector<std::string> names = {"12 34 56 ",
                                          "plc \"quoted\" and back\\slash",
                                          std::string("tab\there, newline\nthere, nul ") + '\0' + " and del \x7f",
                                          "caf\xc3\xa9 \xe2\x82\xac 0123456789abcdef",
                                          "bad \xff utf-8 \xc3",
                                          "abcdefg\"abcdefgh\\abcdefghi\x01" "abcdefghij",
                                          ""};
  std::vector<SbomDeviceRecord> devs;
  for (size_t i = 0; i < names.size(); ++i) {
    SbomDeviceRecord d = device(fmt::format("{:02x}", i + 1), names[i], true, {comp("zlib", "1.2.13")});
    d.zone = i == 0 ? "" : "zone " + std::to_string(i);  // '' outside every zone
    d.last_attested_ns = i == 1 ? 1'710'144'100'999'999'500ull : d.last_attested_ns + i;  // rounds up to .000000
    devs.push_back(std::move(d));
  }
  {
    auto db = open_rw(file);
    std::string err;
    REQUIRE(db->update(devs, 1, err));
  }
  const std::string q = fmt::format("{} sbom query --db {} --component zlib", otsensor(), file.string());
  const auto r = run(q + " --json");
  REQUIRE(r.exit_code == 0);
  std::istringstream lines(r.output);
  size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    INFO(line);
    REQUIRE(n < names.size());
    const auto j = nlohmann::json::parse(line);
    CHECK(j["device_id"] == devs[n].device_id);
    if (n == 4) {
      CHECK(line.find("\"name\":\"bad \\u00ff utf-8 \\u00c3\"") != std::string::npos);  // Latin-1 readings
    } else if (names[n].empty()) {
      CHECK_FALSE(j.contains("name"));  // unset fields are left out
    } else {
      CHECK(j["name"] == names[n]);
    }
    CHECK(j.contains("zone") == (n != 0));
    CHECK(j["address"] == devs[n].address);
  }
  CHECK(n == names.size());
  CHECK(r.output.find("\"last_attested\":1710144101.000000}") != std::string::npos);  // 100.9999995 s rounded
  CHECK(r.output.find("\"last_attested\":1710144100.000000}") != std::string::npos);  // device 1: +0 ns
  CHECK(r.output.find("\"last_attested\":1710144100.000000}\n", r.output.find("\"device_id\":\"0000000000000000000000000000"
                                                                               "0003\"")) != std::string::npos);

  // The table: every line as wide as the widest name needs, the name's bytes as they are.
  const auto t = run(q);
  REQUIRE(t.exit_code == 0);
  size_t widest = 0;
  for (const auto& s : names) widest = std::max(widest, s.size());
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;
    const size_t at = t.output.find(devs[i].device_id + "  " + names[i] + std::string(widest - names[i].size() + 2, ' ') +
                                    devs[i].address);
    CHECK(at != std::string::npos);
  }
  CHECK(t.output.find(devs[1].device_id) < t.output.find(devs[2].device_id));  // device_id order
}

TEST_CASE("sbom db: few devices are looked up one by one, many are scanned, both give device_id order", "[sbom]") {
  // 600 devices, written in an order unrelated to their device_id: "rare" on 3 of them (one not attested),
  // "common" on every other one (300 devices, 2 versions for some). Below 1/256 of the plant the query looks
  // devices up by id, above it scans the covering index (inventory/sbom_query.cpp): the answers must not
  // tell the two apart.
  const fs::path file = scratch_dir("sbom_paths") / "sbom.sqlite";
  {
    std::vector<SbomDeviceRecord> devs;
    for (int i = 0; i < 600; ++i) {
      std::vector<Component> cs = {comp("base", "1.0")};
      if (i % 2 == 0) cs.push_back(comp("common", i % 3 == 0 ? "2.0" : "1.5"));
      if (i % 10 == 0) cs.push_back(comp("common", "0.9"));
      if (i == 17 || i == 401 || i == 599) cs.push_back(comp("rare", "1.0"));
      SbomDeviceRecord d = device("01", fmt::format("dev{}", i), i != 401, std::move(cs));
      d.device_id = fmt::format("{:032x}", (i * 7919) % 600);  // ids not in insertion order
      devs.push_back(std::move(d));
    }
    auto db = open_rw(file);
    std::string err;
    REQUIRE(db->update(devs, 1, err));
  }
  auto db = open_ro(file);
  const auto in_order = [](const std::vector<SbomMatch>& rows) {
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i - 1].device_id > rows[i].device_id) return false;
      if (rows[i - 1].device_id == rows[i].device_id && compare_versions(rows[i - 1].version, rows[i].version) >= 0) {
        return false;
      }
    }
    return true;
  };
  const auto rare = query(*db, by_name("rare"));
  CHECK(names(rare) == std::set<std::string>{"dev17", "dev599"});
  CHECK(in_order(rare));
  const auto common = query(*db, by_name("common"));
  CHECK(common.size() == 300 + 60);
  CHECK(in_order(common));
  CHECK(common.front().device_id == fmt::format("{:032x}", 0));
  const auto below = query(*db, by_name("common", SbomQuery::VersionTest::Below, "2"));
  CHECK(below.size() == 200 + 60);
  CHECK(in_order(below));
  const auto purl = query(*db, by_purl("pkg:generic/rare@1.0"));
  CHECK(names(purl) == names(rare));
}

TEST_CASE("sbom db: files that are missing, not SQLite or another application's are refused", "[sbom]") {
  const fs::path dir = scratch_dir("sbom_refused");
  std::string err;
  CHECK_FALSE(SbomDatabase::open((dir / "none.sqlite").string(), SbomDatabase::Mode::ReadOnly, err));
  CHECK(err.find("no such database file") != std::string::npos);
  CHECK_FALSE(fs::exists(dir / "none.sqlite"));

  std::ofstream(dir / "text.sqlite") << "this is not a database, just some text that is long enough to be a header\n";
  for (auto mode : {SbomDatabase::Mode::ReadOnly, SbomDatabase::Mode::ReadWrite}) {
    err.clear();
    CHECK_FALSE(SbomDatabase::open((dir / "text.sqlite").string(), mode, err));
    CHECK(err.find("not an SQLite database") != std::string::npos);
  }
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open((dir / "other.sqlite").c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  for (auto mode : {SbomDatabase::Mode::ReadOnly, SbomDatabase::Mode::ReadWrite}) {
    err.clear();
    CHECK_FALSE(SbomDatabase::open((dir / "other.sqlite").string(), mode, err));
    CHECK(err.find("not an otsensor SBOM database") != std::string::npos);
  }
  CHECK(sql_text(dir / "other.sqlite", "SELECT count(*) FROM t") == "1");  // untouched
}

TEST_CASE("sbom db: a writer killed mid-transaction leaves the last committed update whole", "[sbom]") {
  const fs::path file = scratch_dir("sbom_crash") / "sbom.sqlite";
  constexpr int kDevices = 300, kComponents = 200;
  // Generation g: every device has firmware "g" and components c0..c199 at version "g.<i>".
  const auto generation = [&](int g) {
    std::vector<SbomDeviceRecord> devs;
    for (int i = 0; i < kDevices; ++i) {
      std::vector<Component> cs;
      for (int c = 0; c < kComponents; ++c) cs.push_back(comp(fmt::format("c{}", c), fmt::format("{}.{}", g, c)));
      SbomDeviceRecord d = device(fmt::format("{:02x}", i % 256), fmt::format("dev{}", i), true, std::move(cs));
      d.device_id = fmt::format("{:032x}", i + 1);
      d.fw_version = std::to_string(g);
      devs.push_back(std::move(d));
    }
    return devs;
  };
  // Three writers, each killed at another moment of its update; after each, recovery on open must find
  // the file whole with exactly one generation, at least the last one the writer reported committed.
  int g = 0;
  for (const int delay_ms : {3, 30, 80}) {
    INFO("killed " << delay_ms << " ms into an update");
    const int first = g + 1;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The writer: updates forever, reporting each commit. Nothing of the test framework runs here. The
      // next generation is built before the report, so that the update starts as the report leaves.
      ::close(fds[0]);
      std::string err;
      auto db = SbomDatabase::open(file.string(), SbomDatabase::Mode::ReadWrite, err);
      if (!db) ::_exit(3);
      auto devs = generation(first);
      for (int n = first;; ++n) {
        if (!db->update(devs, static_cast<uint64_t>(n), err)) ::_exit(4);
        devs = generation(n + 1);
        if (::write(fds[1], &n, sizeof n) != sizeof n) ::_exit(5);
      }
    }
    ::close(fds[1]);
    int committed = 0;
    while (committed < first + 1) {
      int n = 0;
      REQUIRE(::read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n));
      committed = n;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    for (int n = 0; ::read(fds[0], &n, sizeof n) == static_cast<ssize_t>(sizeof n);) committed = n;
    ::close(fds[0]);
    INFO("last generation reported committed: " << committed);

    auto db = open_rw(file);
    std::string err;
    const bool whole = db->integrity_ok(err);
    INFO(err);
    REQUIRE(whole);
    const std::string fw = sql_text(file, "SELECT DISTINCT fw_version FROM devices");
    REQUIRE(fw.find('\n') == std::string::npos);
    g = std::stoi(fw);
    CHECK(g >= committed);
    CHECK(g <= committed + 1);
    ots::sbom::SbomDbStats st;
    REQUIRE(db->stats(st, err));
    CHECK(st.devices == kDevices);
    CHECK(st.components == kComponents);
    CHECK(st.links == uint64_t{kDevices} * kComponents);
    for (int c : {0, 117, kComponents - 1}) {
      INFO("component c" << c);
      CHECK(query(*db, by_name(fmt::format("c{}", c), SbomQuery::VersionTest::Equal, fmt::format("{}.{}", g, c)))
                .size() == kDevices);
      CHECK(query(*db, by_name(fmt::format("c{}", c))).size() == kDevices);
    }
  }
  auto db = open_rw(file);
  std::string err;
  // And it takes the next update.
  REQUIRE(db->update(generation(g + 1), 0, err));
  CHECK(sql_text(file, "SELECT DISTINCT fw_version FROM devices") == std::to_string(g + 1));
}

TEST_CASE("sbom query command: exit 0 with results, 1 without, 2 on errors", "[sbom]") {
  const fs::path dir = scratch_dir("sbom_cli");
  const fs::path file = dir / "sbom.sqlite";
  {
    auto db = open_rw(file);
    std::string err;
    const std::vector<SbomDeviceRecord> devs = {device("01", "plc \"01\"", true, {comp("openssl", "1.1.1w")})};
    REQUIRE(db->update(devs, 1, err));
  }
  const std::string q = fmt::format("{} sbom query --db {}", otsensor(), file.string());
  auto r = run(q + " --component openssl");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("device_id") == 0);
  CHECK(r.output.find("\n00000000000000000000000000000001  plc \"01\"  192.168.110.1  control  V1.0      openssl    "
                      "1.1.1w   2024-03-11T08:01:40.000Z\n") != std::string::npos);
  r = run(q + " --component openssl --version-below 3 --json");
  CHECK(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j["device_id"] == "00000000000000000000000000000001");
  CHECK(j["name"] == "plc \"01\"");
  CHECK(j["zone"] == "control");
  CHECK(j["fw_version"] == "V1.0");
  CHECK(j["version"] == "1.1.1w");
  CHECK(j["purl"] == "pkg:generic/openssl@1.1.1w");
  CHECK(j["last_attested"].get<double>() == Approx(1710144100.0));
  CHECK(run(q + " --purl pkg:generic/openssl@1.1.1w").exit_code == 0);
  CHECK(run(q + " --purl pkg:generic/openssl").exit_code == 0);

  r = run(q + " --component openssl --version-below 1.1.1");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("no attested device matches") != std::string::npos);
  CHECK(run(q + " --purl pkg:generic/openssl@3.0.0").exit_code == 1);
  CHECK(run(q + " --component zlib").exit_code == 1);

  for (const std::string bad : {" --component openssl --purl pkg:generic/openssl", " --version-below 3",
                                " --component openssl --version 1 --version-below 2", " --purl openssl",
                                " --purl pkg:generic/openssl --version-below 2", ""}) {
    INFO(bad);
    r = run(q + bad);
    CHECK(r.exit_code == 2);
  }
  r = run(fmt::format("{} sbom query --db {} --component openssl", otsensor(), (dir / "missing.sqlite").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("missing.sqlite: no such database file") != std::string::npos);
  std::ofstream(dir / "notes.txt") << "plain text, not a database at all; long enough to fill a page header.\n";
  r = run(fmt::format("{} sbom query --db {} --component openssl", otsensor(), (dir / "notes.txt").string()));
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("not an SQLite database") != std::string::npos);
  CHECK(run(fmt::format("{} sbom query --component openssl", otsensor())).exit_code == 2);  // no --db
  CHECK(run(fmt::format("{} sbom", otsensor())).exit_code == 2);
}

namespace {

// The fleet simulator's capture (12 devices, every fault), a site model for it, and the oracle from the
// simulator's own account: attested devices with a verified SBOM (bad_sbom's never verifies) listing
// openssl, and the 1.x ones among them. Exits 77 (skipped) without python3 and PyNaCl.
struct Fleet {
  struct Want {
    std::string name, address, fw_version, version;
  };
  fs::path dir, site, pcap;
  std::map<std::string, Want> want_all, want_old;  // by device_id
  std::set<std::string> faulty_ids;
  size_t expect_in_db = 0, expect_attested = 0;
};

Fleet make_fleet(const std::string& name, const std::string& sensor_section = {}) {
  const fs::path tool = source_dir() / "tools" / "aqat_fleet.py";
  if (!fs::exists(tool) || !fs::exists("/usr/bin/python3")) {
    std::fprintf(stderr, "SKIPPED: tools/aqat_fleet.py or /usr/bin/python3 not found\n");
    std::exit(77);
  }
  Fleet f;
  f.dir = scratch_dir(name);
  f.site = f.dir / "site.yaml";
  f.pcap = f.dir / "fleet.pcap";
  std::string faults;
  for (const char* k : {"bad_sbom", "untrusted_ca", "expired", "software_key", "unknown_device", "unattested"}) {
    faults += fmt::format(" --fault {}", k);
  }
  const auto gen = run(fmt::format("/usr/bin/python3 {} {} --seed 61 --devices 12 --duration 120{} --emit-config {} "
                                   "--emit-expect {}",
                                   tool.string(), f.pcap.string(), faults, (f.dir / "attestation.yaml").string(),
                                   (f.dir / "expect.json").string()));
  if (gen.exit_code != 0) {
    std::fprintf(stderr, "SKIPPED: tools/aqat_fleet.py failed (PyNaCl missing?): %s\n", gen.output.c_str());
    std::exit(77);
  }
  std::ofstream(f.site) << without_attestation(example_site_model()) << "\n"
                        << read_file(f.dir / "attestation.yaml") << "\n"
                        << sensor_section;
  const auto expect = nlohmann::json::parse(std::ifstream(f.dir / "expect.json"));
  for (const auto& d : expect["devices"]) {
    const std::string fault = d["fault"].is_null() ? "none" : d["fault"].get<std::string>();
    if (fault != "none" && !d["device_id"].is_null()) f.faulty_ids.insert(d["device_id"].get<std::string>());
    if (fault != "unattested" && fault != "unknown_device") {  // those send no IDENTITY: never a device
      ++f.expect_in_db;
      if (d["attested"].get<bool>()) ++f.expect_attested;
    }
    if (!d["attested"].get<bool>() || fault == "bad_sbom") continue;
    for (const auto& c : d["sbom_components"]) {
      if (c["name"] != "openssl") continue;
      const Fleet::Want w{d["name"], d["address"], d["fw_version"], c["version"]};
      f.want_all[d["device_id"].get<std::string>()] = w;
      if (w.version.rfind("1.", 0) == 0) f.want_old[d["device_id"].get<std::string>()] = w;
    }
  }
  REQUIRE(f.want_all.size() >= 4);
  REQUIRE_FALSE(f.want_old.empty());
  REQUIRE(f.want_old.size() < f.want_all.size());
  return f;
}

// `otsensor sbom query --db DB ARGS --json`'s rows by device_id.
std::map<std::string, nlohmann::json> answer(const fs::path& db, const std::string& args) {
  const auto q = run(fmt::format("{} sbom query --db {} {} --json", otsensor(), db.string(), args));
  INFO(q.output);
  REQUIRE(q.exit_code == 0);
  std::map<std::string, nlohmann::json> got;
  std::istringstream lines(q.output);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    got[j["device_id"].get<std::string>()] = j;
  }
  return got;
}

void check_answer(const Fleet& f, const std::map<std::string, nlohmann::json>& got,
                  const std::map<std::string, Fleet::Want>& want) {
  std::set<std::string> got_ids, want_ids;
  for (const auto& [id, j] : got) got_ids.insert(id);
  for (const auto& [id, w] : want) want_ids.insert(id);
  CHECK(got_ids == want_ids);
  for (const auto& [id, w] : want) {
    if (!got.count(id)) continue;
    const auto& j = got.at(id);
    INFO(w.name);
    CHECK(j["name"] == w.name);
    CHECK(j["address"] == w.address);
    CHECK(j["fw_version"] == w.fw_version);
    CHECK(j["version"] == w.version);
    CHECK(j["zone"].get<std::string>() == (w.name.rfind("hmi", 0) == 0 ? "supervisory" : "control"));
    CHECK(j.contains("last_attested"));
  }
  for (const auto& [id, j] : got) CHECK(f.faulty_ids.count(id) == 0);
}

}  // namespace

TEST_CASE("sbom pipeline: the fleet's attested devices with a component, and only they, come back", "[sbom][pipeline]") {
  const Fleet f = make_fleet("sbom_pipeline");
  const fs::path logs = f.dir / "logs";
  const fs::path file = logs / "sbom.sqlite";
  const std::string sensor =
      fmt::format("{} -q -c {} -r {} -l {}", otsensor(), f.site.string(), f.pcap.string(), logs.string());
  auto r = run(sensor);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("SBOM inventory not updated") == std::string::npos);
  REQUIRE(fs::exists(file));

  check_answer(f, answer(file, "--component openssl"), f.want_all);
  check_answer(f, answer(file, "--component openssl --version-below 3"), f.want_old);
  check_answer(f, answer(file, "--purl pkg:generic/openssl"), f.want_all);
  const Fleet::Want& some = f.want_old.begin()->second;
  std::map<std::string, Fleet::Want> same_version;
  for (const auto& [id, w] : f.want_all) {
    if (w.version == some.version) same_version[id] = w;
  }
  check_answer(f, answer(file, "--purl pkg:generic/openssl@" + some.version), same_version);

  // The rejected identities are in the inventory, not attested; a second run over the same logs updates.
  auto db = open_ro(file);
  ots::sbom::SbomDbStats before, after;
  std::string err;
  REQUIRE(db->stats(before, err));
  CHECK(before.devices == f.expect_in_db);
  CHECK(before.attested == f.expect_attested);
  r = run(sensor);
  REQUIRE(r.exit_code == 0);
  REQUIRE(db->stats(after, err));
  CHECK(after.devices == before.devices);
  CHECK(after.links == before.links);
  CHECK(after.components == before.components);
  check_answer(f, answer(file, "--component openssl"), f.want_all);
}

TEST_CASE("sbom pipeline: a running sensor writes the inventory every interval, before it stops", "[sbom][pipeline]") {
  // The capture comes through a FIFO that stays open: the sensor has read every packet (it waits for more
  // without blocking, capture/pcap_stream.hpp), its packet time has passed several intervals, and it keeps
  // running until the FIFO closes. The ticks and
  // the writes are the live path's (CaptureLoop::tick, sensor/sbom_writer.cpp); only the clock is the
  // packets'.
  const Fleet f = make_fleet("sbom_periodic", "sensor:\n  inventory_interval_s: 10\n");
  const fs::path logs = f.dir / "logs";
  const fs::path file = logs / "sbom.sqlite";
  const fs::path fifo = f.dir / "fleet.fifo";
  fs::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CommandResult result;
  std::atomic<bool> ended{false};
  std::thread sensor([&] {
    // The default threaded worker: while the FIFO stalls, the run loop goes on taking the worker's records
    // into the stages and the SBOM writer (CaptureLoop::run_files), so the interval's write comes without
    // more packets.
    result = run(fmt::format("{} -q -c {} -r {} -l {}", otsensor(), f.site.string(), fifo.string(), logs.string()));
    ended = true;
  });
  struct Join {
    std::thread& t;
    ~Join() { t.join(); }  // after the FIFO below closed, whichever way the test leaves
  } join{sensor};
  {
    std::ofstream feed(fifo, std::ios::binary);  // blocks until the sensor opens it
    const std::string pcap = read_file(f.pcap);
    feed.write(pcap.data(), static_cast<std::streamsize>(pcap.size()));
    feed.flush();
    // Until the inventory has every device of the fleet, with their components, while the sensor runs.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool complete = false;
    while (!complete && !ended && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::string err;
      auto db = SbomDatabase::open(file.string(), SbomDatabase::Mode::ReadOnly, err);
      std::vector<SbomMatch> rows;
      ots::sbom::SbomDbStats st;
      complete = db && db->stats(st, err) && st.devices == f.expect_in_db &&
                 db->query(by_name("openssl"), rows, err) && rows.size() == f.want_all.size();
    }
    CHECK_FALSE(ended);
    REQUIRE(complete);
    check_answer(f, answer(file, "--component openssl --version-below 3"), f.want_old);
  }  // the FIFO closes: end of input
  while (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(result.output.find("SBOM inventory not updated") == std::string::npos);
  check_answer(f, answer(file, "--component openssl"), f.want_all);
  auto db = open_ro(file);
  ots::sbom::SbomDbStats st;
  std::string err;
  REQUIRE(db->stats(st, err));
  CHECK(st.devices == f.expect_in_db);
  CHECK(st.attested == f.expect_attested);
}
