// The on-disk spool of tcp/tls syslog destinations: order, acknowledgement, restart, bound, damage.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "output/syslog_spool.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;

namespace {

std::string message(int i) { return "<134>1 2024-03-11T08:00:00.000000Z h otsensor 1 T - message " + std::to_string(i); }

std::vector<std::string> read_all(SyslogSpool& s, std::vector<SpoolPos>* positions = nullptr) {
  std::vector<std::string> out;
  std::string m;
  SpoolPos after;
  while (s.next(m, after)) {
    out.push_back(m);
    if (positions) positions->push_back(after);
  }
  return out;
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".seg") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("syslog spool: messages come back in order, and after a restart from the acknowledged one", "[syslog]") {
  const auto dir = ots::test::scratch_dir("spool_order");
  std::vector<SpoolPos> pos;
  {
    SyslogSpool s(dir.string(), 1 << 20);
    for (int i = 0; i < 100; ++i) CHECK(s.append(message(i)) == 0);
    const auto got = read_all(s, &pos);
    REQUIRE(got.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(got[size_t(i)] == message(i));
    CHECK(s.pending() == 100);
    for (int i = 0; i < 40; ++i) s.ack(pos[size_t(i)]);
    CHECK(s.pending() == 60);
    // A lost connection: everything not acknowledged comes again.
    s.rewind();
    std::string m;
    SpoolPos after;
    REQUIRE(s.next(m, after));
    CHECK(m == message(40));
  }
  SyslogSpool again(dir.string(), 1 << 20);
  CHECK(again.recovered() == 60);
  const auto rest = read_all(again);
  REQUIRE(rest.size() == 60);
  CHECK(rest.front() == message(40));
  CHECK(rest.back() == message(99));
}

TEST_CASE("syslog spool: acknowledged segments are deleted and the acked file is replaced, not rewritten",
          "[syslog]") {
  const auto dir = ots::test::scratch_dir("spool_ack");
  SyslogSpool s(dir.string(), 16 << 20, 4096);
  for (int i = 0; i < 500; ++i) s.append(message(i));
  std::vector<SpoolPos> pos;
  REQUIRE(read_all(s, &pos).size() == 500);
  const size_t before = segments(dir).size();
  CHECK(before > 5);
  for (const SpoolPos& p : pos) s.ack(p);
  CHECK(s.pending() == 0);
  CHECK(segments(dir).size() == 1);  // the active segment stays
  s.save_ack();
  CHECK(fs::exists(dir / "acked"));
  CHECK_FALSE(fs::exists(dir / "acked.tmp"));
  s.append(message(500));
  std::string m;
  SpoolPos after;
  REQUIRE(s.next(m, after));
  CHECK(m == message(500));
}

TEST_CASE("syslog spool: a full spool drops its oldest segment and counts the undelivered messages", "[syslog]") {
  const auto dir = ots::test::scratch_dir("spool_full");
  // 64 KiB, segments of 8 KiB: about 700 messages of ~90 bytes fit.
  SyslogSpool s(dir.string(), 64 << 10, 8 << 10);
  uint64_t dropped = 0;
  const int n = 2000;
  for (int i = 0; i < n; ++i) dropped += s.append(message(i));
  CHECK(dropped > 0);
  CHECK(s.bytes() <= (64u << 10));
  CHECK(s.pending() + dropped == uint64_t(n));
  const auto got = read_all(s);
  REQUIRE(got.size() == s.pending());
  // The newest survive, in order.
  CHECK(got.back() == message(n - 1));
  CHECK(got.front() == message(int(dropped)));
}

TEST_CASE("syslog spool: a torn last record is found by its checksum and cut, the intact ones are kept",
          "[syslog]") {
  const auto dir = ots::test::scratch_dir("spool_torn");
  {
    SyslogSpool s(dir.string(), 1 << 20);
    for (int i = 0; i < 10; ++i) s.append(message(i));
  }
  const auto segs = segments(dir);
  REQUIRE(segs.size() == 1);
  const auto size = fs::file_size(segs[0]);
  SECTION("cut in the middle of the last record") { fs::resize_file(segs[0], size - 5); }
  SECTION("a flipped byte in the last record") {
    std::fstream f(segs[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 3));
    f.put('#');
  }
  SECTION("zeros after the last record (a crash after the file grew)") {
    std::ofstream(segs[0], std::ios::app | std::ios::binary) << std::string(300, '\0');
  }
  SyslogSpool s(dir.string(), 1 << 20);
  CHECK(s.corrupt() == 1);
  auto got = read_all(s);
  CHECK(got.size() >= 9);
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == message(int(i)));
  // Appending continues on a clean boundary.
  s.append("after the crash");
  std::string m;
  SpoolPos after;
  REQUIRE(s.next(m, after));
  CHECK(m == "after the crash");
}

TEST_CASE("syslog spool: damage inside an earlier segment skips the rest of that segment only", "[syslog]") {
  const auto dir = ots::test::scratch_dir("spool_damage");
  {
    SyslogSpool s(dir.string(), 1 << 20, 1024);
    for (int i = 0; i < 60; ++i) s.append(message(i));
  }
  const auto segs = segments(dir);
  REQUIRE(segs.size() > 3);
  {
    std::fstream f(segs[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('\xff');  // the first record's length is wrong: its checksum no longer matches
  }
  SyslogSpool s(dir.string(), 1 << 20, 1024);
  CHECK(s.corrupt() == 1);
  const auto got = read_all(s);
  CHECK(got.front() == message(0));
  CHECK(got.back() == message(59));
  CHECK(got.size() < 60);
}

TEST_CASE("syslog spool: a second user of the same directory is refused with the reason", "[syslog]") {
  const auto dir = ots::test::scratch_dir("spool_lock");
  SyslogSpool first(dir.string(), 1 << 20);
  try {
    SyslogSpool second(dir.string(), 1 << 20);
    FAIL("a second spool opened the same directory");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "spool_dir '" + dir.string() + "' is in use by another otsensor process");
  }
}

TEST_CASE("syslog spool: an uncreatable directory is a start-up error, not a crash", "[syslog]") {
  const auto dir = ots::test::scratch_dir("spool_bad");
  std::ofstream(dir / "file") << "x";
  CHECK_THROWS_WITH(SyslogSpool((dir / "file" / "spool").string(), 1 << 20),
                    Catch::Matchers::StartsWith("cannot create spool_dir"));
}
