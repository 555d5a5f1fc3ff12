// The SBOM inventory written during a run (sensor/sbom_writer.hpp): every interval of packet time, on a
// thread of its own, only the SBOMs that changed; a file removed in between is written whole again; the
// figures docs/SBOM.md quotes for 1,000 devices come from the first case (run with -s to see them).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "inventory/sbom_db.hpp"
#include "sensor/sbom_writer.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;
using ots::SbomWriter;
using ots::sbom::SbomDatabase;
using ots::sbom::SbomDeviceRecord;

namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

// A plant of `devices` devices with `components` components each, as the attestation stage would report it.
std::vector<SbomDeviceRecord> plant(size_t devices, size_t components) {
  std::vector<SbomDeviceRecord> out;
  for (size_t d = 0; d < devices; ++d) {
    SbomDeviceRecord r;
    r.device_id = fmt::format("{:032x}", d + 1);
    r.name = fmt::format("plc-{:04}", d + 1);
    r.address = fmt::format("10.0.{}.{}", d / 250, d % 250 + 1);
    r.zone = "control";
    r.fw_version = "V2.9.4";
    r.root_kind = "tpm_or_secure_element";
    r.attested = true;
    r.identity_verdict = "ok";
    r.first_seen_ns = 1'710'144'000 * kSecond;
    r.last_attested_ns = r.first_seen_ns + 60 * kSecond;
    r.has_sbom = true;
    r.sbom_digest = fmt::format("{:064x}", d + 1);
    for (size_t c = 0; c < components; ++c) {
      const std::string name = fmt::format("lib{}", (c * 7 + d) % (components * 3));
      const std::string version = fmt::format("1.{}.{}", c % 5, d % 3);
      r.components.push_back({name, version, fmt::format("pkg:generic/{}@{}", name, version),
                              fmt::format("cpe:2.3:a:{0}:{0}:{1}:*:*:*:*:*:*:*", name, version)});
    }
    out.push_back(std::move(r));
  }
  return out;
}

// A plant as the attestation stage holds it: each device's record without its components, and those apart.
struct Plant {
  std::vector<SbomDeviceRecord> devices;  // components empty
  std::vector<std::vector<ots::sbom::Component>> components;
};

Plant split(std::vector<SbomDeviceRecord> records) {
  Plant p;
  for (SbomDeviceRecord& r : records) {
    p.components.push_back(std::move(r.components));
    r.components.clear();
    p.devices.push_back(std::move(r));
  }
  return p;
}

// As AttestStage::sbom_records: every device, with its components unless `omit` leaves them out.
SbomWriter::Snapshot snapshot_of(const Plant& plant) {
  return [&plant](const ots::sbom::SbomOmitComponents& omit) {
    std::vector<SbomDeviceRecord> out;
    out.reserve(plant.devices.size());
    for (size_t i = 0; i < plant.devices.size(); ++i) {
      SbomDeviceRecord r = plant.devices[i];
      if (r.has_sbom && omit && omit(r.device_id, r.sbom_digest, plant.components[i].size())) {
        r.has_sbom = false;
      } else {
        r.components = plant.components[i];
      }
      out.push_back(std::move(r));
    }
    return out;
  };
}

// Waits until the writer has made `n` writes (or failed), at most a minute.
void wait_writes(const SbomWriter& w, uint64_t n) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (w.stats().writes < n && w.stats().failures == 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(w.stats().failures == 0);
  REQUIRE(w.stats().writes == n);
}

// Links in the file so far (0 while it does not exist).
uint64_t db_links(const fs::path& file) {
  std::string err;
  auto db = SbomDatabase::open(file.string(), SbomDatabase::Mode::ReadOnly, err);
  ots::sbom::SbomDbStats st;
  return db && db->stats(st, err) ? st.links : 0;
}

ots::sbom::SbomDbStats db_stats(const fs::path& file) {
  std::string err;
  auto db = SbomDatabase::open(file.string(), SbomDatabase::Mode::ReadOnly, err);
  INFO(err);
  REQUIRE(db);
  ots::sbom::SbomDbStats st;
  REQUIRE(db->stats(st, err));
  return st;
}

double ms_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("sbom writer: 1,000 devices written every interval off the caller's thread, then only what changed",
          "[sbom][writer]") {
  const fs::path file = scratch_dir("sbom_writer_periodic") / "sbom.sqlite";
  Plant p = split(plant(1000, 200));
  SbomWriter w(file.string(), 60 * kSecond, snapshot_of(p));
  const uint64_t t0 = 1'710'144'000 * kSecond;
  w.tick(t0);  // arms the interval
  w.tick(t0 + 59 * kSecond);
  CHECK_FALSE(fs::exists(file));

  // The first write: 200,000 components, in slices of kComponentsPerSnapshot, one per tick once the writer
  // is free, each tick costing one slice's copy. Packet time moves a microsecond a tick, so however slow
  // the machine it stays far below the next interval: the whole database can only be there if the slices
  // follow each other tick by tick, not an interval each.
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::seconds(120);
  uint64_t t = t0 + 60 * kSecond;
  double max_tick_ms = 0;
  while (db_links(file) < 200'000 && std::chrono::steady_clock::now() < until) {
    max_tick_ms = std::max(max_tick_ms, ms_of([&] { w.tick(t); }));
    t += kSecond / 1'000'000;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(db_links(file) == 200'000);
  const double first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  constexpr size_t kPerSlice = SbomWriter::kComponentsPerSnapshot / 200;  // devices: never split
  constexpr size_t kSlices = (1000 + kPerSlice - 1) / kPerSlice;
  wait_writes(w, kSlices);
  const SbomWriter::Stats first = w.stats();
  CHECK(first.last_devices == 1000);
  CHECK(first.last_with_components == 1000 - (kSlices - 1) * kPerSlice);
  CHECK(db_stats(file).devices == 1000);

  // One device's firmware update brings a new SBOM: the next write, an interval later, carries its
  // components alone.
  p.devices[7].sbom_digest = std::string(64, 'e');
  p.components[7].resize(150);
  p.components[7].push_back({"openssl", "3.0.13", "pkg:generic/openssl@3.0.13", ""});
  p.devices[9].last_attested_ns += 120 * kSecond;
  const uint64_t before = w.stats().writes;
  w.tick(t + 30 * kSecond);  // before the interval: nothing
  const double next_tick_ms = ms_of([&] { w.tick(t + 61 * kSecond); });
  wait_writes(w, before + 1);
  const SbomWriter::Stats next = w.stats();
  CHECK(next.last_devices == 1000);
  CHECK(next.last_with_components == 1);
  const auto st = db_stats(file);
  CHECK(st.devices == 1000);
  CHECK(st.links == 200'000 - 200 + 151);
  std::string err;
  auto db = SbomDatabase::open(file.string(), SbomDatabase::Mode::ReadOnly, err);
  REQUIRE(db);
  ots::sbom::SbomQuery q;
  q.component = "openssl";
  std::vector<ots::sbom::SbomMatch> rows;
  REQUIRE(db->query(q, rows, err));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].name == "plc-0008");

  // The end of the run: written whole from this thread, the same way.
  Plant more = split(plant(1001, 3));
  p.devices.push_back(more.devices.back());
  p.components.push_back(more.components.back());
  REQUIRE(w.finish(err));
  CHECK(w.stats().last_with_components == 1);
  CHECK(db_stats(file).devices == 1001);
  std::fprintf(stderr,
               "sbom writer, 1,000 devices x 200 components: first write in %zu slices, %.0f ms in all; ticks at most "
               "%.1f ms (snapshots: at most %.1f ms); a slice's write %.0f ms at most on the writer thread; then one "
               "changed SBOM: tick %.2f ms, write %.1f ms\n",
               static_cast<size_t>(first.writes), first_ms, max_tick_ms, first.max_snapshot_ms, first.max_write_ms,
               next_tick_ms, next.last_write_ms);
}

TEST_CASE("sbom writer: a database removed between writes is written whole again, none without an interval",
          "[sbom][writer]") {
  const fs::path dir = scratch_dir("sbom_writer_removed");
  const fs::path file = dir / "sbom.sqlite";
  const Plant devices = split(plant(40, 20));
  {
    SbomWriter w(file.string(), 10 * kSecond, snapshot_of(devices));
    w.tick(10 * kSecond);
    w.tick(20 * kSecond);
    wait_writes(w, 1);
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(file.string() + suffix);
    // The next snapshot leaves every component out (all unchanged); the writer sees the file is gone, drops
    // it, and the tick after takes one with every component, without waiting for the interval.
    w.tick(30 * kSecond);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (uint64_t t = 31; w.stats().writes < 2 && std::chrono::steady_clock::now() < until; ++t) {
      w.tick(t * kSecond / 1000 + 30 * kSecond);  // milliseconds of packet time: well within the interval
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    wait_writes(w, 2);
    CHECK(w.stats().last_with_components == 40);
    const auto st = db_stats(file);
    CHECK(st.devices == 40);
    CHECK(st.links == 40 * 20);
  }
  // Interval 0 (a replay): only finish() writes; a directory that cannot hold the file is its error.
  const fs::path other = dir / "only_at_end.sqlite";
  SbomWriter w(other.string(), 0, snapshot_of(devices));
  for (uint64_t t = 1; t < 1000; t += 10) w.tick(t * kSecond);
  CHECK_FALSE(fs::exists(other));
  std::string err;
  REQUIRE(w.finish(err));
  CHECK(db_stats(other).links == 40 * 20);
  SbomWriter bad((dir / "no" / "such" / "dir.sqlite").string(), 0, snapshot_of(devices));
  CHECK_FALSE(bad.finish(err));
  CHECK(err.find("dir.sqlite") != std::string::npos);
}
