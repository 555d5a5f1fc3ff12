// Our readers of classic pcap and pcapng files (capture/pcap_classic_source.cpp, capture/pcapng_source.cpp)
// held to libpcap's: the same packets, bytes and timestamps from every shared capture and from files made
// to exercise each rule, the same place to stop in a damaged file; and the few places we differ on purpose.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "capture/pcap_file_sources.hpp"
#include "tests/capture_files.hpp"
#include "tests/test_support.hpp"

using namespace ots;
using namespace ots::test;
namespace fs = std::filesystem;

namespace {

struct Read {
  std::vector<PacketView> pkts;
  std::vector<Bytes> bytes;
  SourceStats stats;
  std::vector<std::string> warnings;
};

Read read_source(PacketSource& src) {
  Read r;
  r.pkts = read_all(src, &r.bytes);
  r.stats = src.stats();
  r.warnings = src.take_warnings();
  return r;
}

// Whether open_pcap_file() gives `path` to one of our readers.
bool ours_reads(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> head(64 << 10);
  f.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  const size_t got = static_cast<size_t>(f.gcount());
  uint8_t classic[24];
  ClassicPcapHeader ch;
  PcapngStart ng;
  if (got >= sizeof classic) {
    std::copy_n(head.begin(), sizeof classic, classic);
    if (parse_classic_pcap_header(classic, ch)) return true;
  }
  return probe_pcapng(head.data(), got, ng);
}

Read read_ours(const fs::path& path) {
  REQUIRE(ours_reads(path));
  std::string err;
  auto src = open_pcap_file(path.string(), 3, err);
  REQUIRE(src);
  return read_source(*src);
}

Read read_libpcap(const fs::path& path) {
  std::string err;
  auto src = open_libpcap_file(path.string(), 3, err);
  REQUIRE(src);
  return read_source(*src);
}

// Reads `path` with open_pcap_file() and with libpcap and checks that they agree packet for packet, and
// on where a damaged file ends; returns our reading.
Read same_as_libpcap(const fs::path& path) {
  INFO(path.string());
  std::string err;
  auto ours_src = open_pcap_file(path.string(), 3, err);
  REQUIRE(ours_src);
  Read ours = read_source(*ours_src);
  const Read theirs = read_libpcap(path);
  REQUIRE(ours.pkts.size() == theirs.pkts.size());
  for (size_t i = 0; i < ours.pkts.size(); ++i) {
    INFO("packet " << i + 1);
    CHECK(ours.pkts[i].ts_ns == theirs.pkts[i].ts_ns);
    CHECK(ours.pkts[i].caplen == theirs.pkts[i].caplen);
    CHECK(ours.pkts[i].wirelen == theirs.pkts[i].wirelen);
    CHECK(ours.pkts[i].link == theirs.pkts[i].link);
    CHECK(ours.pkts[i].ingress == 3);
    CHECK(ours.bytes[i] == theirs.bytes[i]);
  }
  CHECK(ours.stats.packets == theirs.stats.packets);
  CHECK(ours.stats.bytes == theirs.stats.bytes);
  CHECK(ours.stats.damaged == theirs.stats.damaged);
  CHECK(ours.warnings.size() == theirs.warnings.size());
  return ours;
}

// A frame of `size` bytes whose content tells its index.
Bytes sized_frame(uint32_t i, size_t size) {
  Bytes b(size);
  for (size_t k = 0; k < size; ++k) b[k] = static_cast<uint8_t>(i * 7 + k);
  return b;
}

}  // namespace

TEST_CASE("our readers give libpcap's packets for every shared capture and every bundled one", "[capture][shared]") {
  const fs::path shared = require_shared();
  std::vector<fs::path> files;
  for (const fs::path& dir : {shared / "pcaps", source_dir() / "pcaps"}) {
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      const std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext.rfind(".pcap", 0) == 0 || ext == ".cap")) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() > 50);
  size_t ours = 0;
  for (const fs::path& f : files) {
    if (!ours_reads(f)) {
      std::cout << "read by libpcap: " << f.string() << "\n";
      continue;
    }
    ++ours;
    same_as_libpcap(f);
  }
  std::cout << ours << " of " << files.size() << " captures read by our readers\n";
  // Every file of a format they take: a file that falls back to libpcap has a reason to.
  CHECK(ours == files.size());
}

TEST_CASE("classic pcap records over the snapshot length are cut to it and over 262144 bytes end the file",
          "[capture]") {
  const fs::path dir = scratch_dir("pcap_readers_snaplen");
  for (const bool be : {false, true}) {
    INFO("big endian " << be);
    PcapFile f(be, false, 1, 64);
    f.record(1, 10, sized_frame(1, 60));
    f.record(2, 20, sized_frame(2, 100), 1500);  // 36 bytes over the snapshot length
    f.record(3, 30, sized_frame(3, 64));
    f.record(4, 40, sized_frame(4, 10), 0, 300000);  // a captured length no writer can have written
    f.record(5, 50, sized_frame(5, 60));
    const fs::path p = dir / (be ? "be.pcap" : "le.pcap");
    write_file(p, f.bytes);
    const Read r = same_as_libpcap(p);
    REQUIRE(r.pkts.size() == 3);
    CHECK(r.pkts[1].caplen == 64);
    CHECK(r.pkts[1].wirelen == 1500);
    const Bytes whole = sized_frame(2, 100);
    CHECK(r.bytes[1] == Bytes(whole.begin(), whole.begin() + 64));
    CHECK(r.pkts[2].ts_ns == 3'000'030'000ull);
    CHECK(r.bytes[2] == sized_frame(3, 64));
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0] == p.string() +
                               ": damaged record after 3 packets, rest of the file skipped (captured length 300000 over "
                               "the maximum of 262144)");
    CHECK(r.stats.damaged == 1);
  }
}

TEST_CASE("captures larger than the read buffer read whole across its refills", "[capture]") {
  const fs::path dir = scratch_dir("pcap_readers_large");
  PcapFile classic(false, true, 1);
  PcapngFile ng(true);
  ng.interface(1, 0, 9);
  // 3 MiB in records of 1 to 16,000 bytes, so that records straddle every refill point.
  size_t total = 0;
  uint32_t i = 0;
  while (total < (size_t{3} << 20)) {
    const size_t size = 1 + (i * 7919u) % 16000;
    classic.record(1'700'000'000 + i, i, sized_frame(i, size));
    ng.packet(0, 1'700'000'000'000'000'000ull + i, sized_frame(i, size));
    total += size;
    ++i;
  }
  write_file(dir / "big.pcap", classic.bytes);
  write_file(dir / "big.pcapng", ng.bytes);
  for (const char* name : {"big.pcap", "big.pcapng"}) {
    INFO(name);
    const Read r = same_as_libpcap(dir / name);
    REQUIRE(r.pkts.size() == i);
    for (uint32_t k = 0; k < i; ++k) {
      if (r.bytes[k] != sized_frame(k, 1 + (k * 7919u) % 16000)) FAIL("packet " << k << " differs");
    }
    CHECK(r.warnings.empty());
  }
}

TEST_CASE("pcapng timestamps follow each interface's resolution and offset", "[capture]") {
  const fs::path dir = scratch_dir("pcap_readers_tsresol");
  for (const bool be : {false, true}) {
    INFO("big endian " << be);
    PcapngFile f(be);
    f.interface(1);                       // microseconds, the default
    f.interface(1, 262144, 9);            // nanoseconds
    f.interface(1, 262144, 0x80 | 20);    // 2^-20 s
    f.interface(1, 262144, 3, 100);       // milliseconds, 100 s later
    f.interface(1, 262144, 12, -1000);    // picoseconds, 1000 s earlier
    f.interface(1, 262144, 0);            // seconds
    f.packet(0, 1'700'000'000'123'456ull, frame(0));
    f.packet(1, 1'700'000'000'123'456'789ull, frame(1));
    f.packet(2, (uint64_t{1'700'000'000} << 20) + (1u << 19) + 1, frame(2));
    f.packet(3, 5'250, frame(3));
    f.packet(4, 1'000'000'000'000'000'000ull + 123'456'789'012ull, frame(4));
    f.packet(5, 42, frame(5));
    const fs::path p = dir / (be ? "be.pcapng" : "le.pcapng");
    write_file(p, f.bytes);
    const Read r = same_as_libpcap(p);
    REQUIRE(r.pkts.size() == 6);
    CHECK(r.pkts[0].ts_ns == 1'700'000'000'123'456'000ull);
    CHECK(r.pkts[1].ts_ns == 1'700'000'000'123'456'789ull);
    CHECK(r.pkts[2].ts_ns == 1'700'000'000'500'000'953ull);  // 2^-20 s is 953.67 ns: floored
    CHECK(r.pkts[3].ts_ns == 105'250'000'000ull);
    CHECK(r.pkts[4].ts_ns == (1'000'000ull - 1000) * 1'000'000'000ull + 123'456'789ull);
    CHECK(r.pkts[5].ts_ns == 42'000'000'000ull);
    CHECK(r.bytes[4] == frame(4));
  }
}

TEST_CASE("pcapng simple and obsolete packet blocks unknown blocks and a second section", "[capture]") {
  const fs::path dir = scratch_dir("pcap_readers_blocks");
  for (const bool be : {false, true}) {
    INFO("big endian " << be);
    PcapngFile f(be);
    f.other(5, 6);  // a statistics block before the first interface: skipped
    f.interface(1, 200);
    f.packet(0, 1'000'000, frame(1));
    f.other(0x40000bad, 3);  // a custom block
    f.simple(sized_frame(2, 200), 300);
    f.other(0x40000bad, 600000);  // 2.4 MB: more than the reader's buffer holds, read past
    f.old_packet(0, 2'000'000, frame(3));
    f.section();
    f.interface(1, 200, 9);
    f.packet(0, 3'000'000'000ull, sized_frame(4, 150), 250);
    const fs::path p = dir / (be ? "be.pcapng" : "le.pcapng");
    write_file(p, f.bytes);
    const Read r = same_as_libpcap(p);
    REQUIRE(r.pkts.size() == 4);
    CHECK(r.pkts[0].ts_ns == 1'000'000'000ull);
    CHECK(r.pkts[1].ts_ns == 0);  // a simple packet has no timestamp
    CHECK(r.pkts[1].caplen == 200);
    CHECK(r.pkts[1].wirelen == 300);
    CHECK(r.bytes[2] == frame(3));
    CHECK(r.pkts[2].ts_ns == 2'000'000'000ull);
    CHECK(r.pkts[3].ts_ns == 3'000'000'000ull);  // the new section's interface counts in nanoseconds
    CHECK(r.pkts[3].caplen == 150);
    CHECK(r.pkts[3].wirelen == 250);
    CHECK(r.warnings.empty());
  }
}

TEST_CASE("pcapng files libpcap stops reading stop at the same packet", "[capture]") {
  const fs::path dir = scratch_dir("pcap_readers_damaged");
  struct Case {
    const char* name;
    void (*damage)(PcapngFile&);
    const char* why;
  };
  const Case cases[] = {
      {"undescribed interface", [](PcapngFile& f) { f.packet(5, 1, frame(9)); }, "on interface 5"},
      {"section without interfaces",
       [](PcapngFile& f) {
         f.section();
         f.packet(0, 1, frame(9));
       },
       "on interface 0"},
      {"other snapshot length", [](PcapngFile& f) { f.interface(1, 1000); }, "snapshot length 1000"},
      {"length not a multiple of 4",
       [](PcapngFile& f) {
         f.u32(6);
         f.u32(34);
         f.bytes.resize(f.bytes.size() + 26, 0);
       },
       "with length 34"},
      {"block over the maximum", [](PcapngFile& f) { f.other(0x40000bad, 4194302); }, "with length 16777220"},
      {"trailing length not the length", [](PcapngFile& f) { f.other(0x40000bad, 3, 99); }, "trailing length 99"},
      {"large block with a wrong trailing length", [](PcapngFile& f) { f.other(0x40000bad, 400000, 7); },
       "trailing length 7"},
      {"captured length over the block", [](PcapngFile& f) { f.packet(0, 1, frame(9), 0, 1000); }, "too short"},
      {"captured length over the snapshot length", [](PcapngFile& f) { f.packet(0, 1, sized_frame(9, 262148)); },
       "over the snapshot length 262144"},
      {"other byte order",
       [](PcapngFile& f) {
         PcapngFile other(!f.big_endian);
         append(f.bytes, other.bytes);
       },
       "block of type 168627466 with length 469762048"},  // its length read in this section's order
  };
  for (const Case& c : cases) {
    INFO(c.name);
    PcapngFile f;
    f.interface(1);
    f.packet(0, 1, frame(1));
    f.packet(0, 2, frame(2));
    c.damage(f);
    f.packet(0, 3, frame(3));
    const fs::path p = dir / (std::string(c.name) + ".pcapng");
    write_file(p, f.bytes);
    const Read r = same_as_libpcap(p);
    CHECK(r.pkts.size() == 2);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("damaged record after 2 packets, rest of the file skipped (") != std::string::npos);
    CHECK(r.warnings[0].find(c.why) != std::string::npos);
  }
  SECTION("cut inside a block") {
    PcapngFile f;
    f.interface(1);
    f.packet(0, 1, frame(1));
    f.packet(0, 2, frame(2));
    f.bytes.resize(f.bytes.size() - 9);
    write_file(dir / "cut.pcapng", f.bytes);
    const Read r = same_as_libpcap(dir / "cut.pcapng");
    CHECK(r.pkts.size() == 1);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("truncated capture, last record incomplete after 1 packets (") != std::string::npos);
  }
  // Two packets, then a block too large for the read buffer (read past, not held), the file cut `cut`
  // bytes before the block's end.
  const auto cut_large = [&](const char* name, size_t cut) {
    PcapngFile f;
    f.interface(1);
    f.packet(0, 1, frame(1));
    f.packet(0, 2, frame(2));
    f.other(0x40000bad, 400000);
    f.bytes.resize(f.bytes.size() - cut);
    write_file(dir / name, f.bytes);
    const Read r = same_as_libpcap(dir / name);
    CHECK(r.pkts.size() == 2);
    CHECK(r.stats.damaged == 1);
    REQUIRE(r.warnings.size() == 1);
    return r.warnings[0];
  };
  SECTION("cut inside a block too large to hold") {
    CHECK(cut_large("cut-large.pcapng", 100) ==
          (dir / "cut-large.pcapng").string() +
              ": truncated capture, last record incomplete after 2 packets (96 bytes of a skipped block missing)");
  }
  SECTION("cut just before the trailing length of a block too large to hold") {
    CHECK(cut_large("cut-trailer.pcapng", 4).find(
              "truncated capture, last record incomplete after 2 packets (0 of 4 bytes") != std::string::npos);
  }
}

TEST_CASE("where our readers differ from libpcap they follow the formats' definitions", "[capture]") {
  const fs::path dir = scratch_dir("pcap_readers_differences");
  SECTION("classic pcap seconds are unsigned: times after January 2038") {
    PcapFile f(false, false, 1);
    f.record(0x80000000u, 5, frame(1));
    write_file(dir / "y2038.pcap", f.bytes);
    const Read r = read_ours(dir / "y2038.pcap");
    REQUIRE(r.pkts.size() == 1);
    CHECK(r.pkts[0].ts_ns == 2'147'483'648'000'005'000ull);
    CHECK(read_libpcap(dir / "y2038.pcap").pkts.at(0).ts_ns == 0);  // libpcap's signed seconds
  }
  SECTION("binary fractions finer than 2^-34 s scale without overflow") {
    PcapngFile f;
    f.interface(1, 262144, 0x80 | 40);
    f.packet(0, (uint64_t{5} << 40) + (uint64_t{1} << 39), frame(1));
    write_file(dir / "fine.pcapng", f.bytes);
    const Read r = read_ours(dir / "fine.pcapng");
    REQUIRE(r.pkts.size() == 1);
    CHECK(r.pkts[0].ts_ns == 5'500'000'000ull);
    CHECK(read_libpcap(dir / "fine.pcapng").pkts.at(0).ts_ns != 5'500'000'000ull);
  }
  SECTION("a packet block too large for our buffer ends the file") {
    // More than 760 KiB of options on one packet: libpcap takes blocks up to 16 MiB; a packet must be
    // whole in our buffer to be a view into it.
    PcapngFile f;
    f.interface(1);
    f.packet(0, 1, frame(1));
    const Bytes data = frame(2);
    const uint32_t padded = static_cast<uint32_t>((data.size() + 3) / 4 * 4);
    const uint32_t len = 32 + padded + 20 * (4 + 60000) + 4;  // twenty 60000-byte comments, opt_endofopt
    f.u32(6);
    f.u32(len);
    f.u32(0);
    f.u32(0);
    f.u32(2);
    f.u32(static_cast<uint32_t>(data.size()));
    f.u32(static_cast<uint32_t>(data.size()));
    append(f.bytes, data);
    f.bytes.resize(f.bytes.size() + (padded - data.size()), 0);
    for (int i = 0; i < 20; ++i) {
      f.u16(1);  // opt_comment
      f.u16(60000);
      f.bytes.resize(f.bytes.size() + 60000, 'x');
    }
    f.u32(0);
    f.u32(len);
    f.packet(0, 3, frame(3));
    write_file(dir / "options.pcapng", f.bytes);
    const Read r = read_ours(dir / "options.pcapng");
    CHECK(r.pkts.size() == 1);
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].find("damaged record after 1 packets, rest of the file skipped (block of type 6 with length " +
                             std::to_string(len) + ", over our 1048576-byte buffer)") != std::string::npos);
    CHECK(read_libpcap(dir / "options.pcapng").pkts.size() == 3);
  }
  SECTION("two raw-IP interfaces are one link type") {
    PcapngFile f;
    f.interface(101);
    f.interface(101);
    f.packet(0, 1, Bytes{0x45, 0, 0, 20});
    f.packet(1, 2, Bytes{0x45, 0, 0, 20});
    write_file(dir / "raw2.pcapng", f.bytes);
    const Read r = read_ours(dir / "raw2.pcapng");
    CHECK(r.pkts.size() == 2);
    CHECK(r.warnings.empty());
    CHECK(read_libpcap(dir / "raw2.pcapng").pkts.empty());  // libpcap compares its DLT_RAW (12) with 101
  }
}

TEST_CASE("file starts our readers leave to libpcap", "[capture]") {
  PcapFile v23(false, false, 1);
  v23.bytes[6] = 3;  // version 2.3: libpcap's rules for swapped length fields
  uint8_t head[24];
  std::copy_n(v23.bytes.begin(), 24, head);
  ClassicPcapHeader ch;
  CHECK_FALSE(parse_classic_pcap_header(head, ch));
  PcapFile fcs(false, false, 1 | 0x14000000u);  // an FCS length in the link type's top bits
  std::copy_n(fcs.bytes.begin(), 24, head);
  CHECK_FALSE(parse_classic_pcap_header(head, ch));
  PcapFile modified(false, false, 1);
  modified.bytes[0] = 0x34;  // 0xa1b2cd34, Kuznetzov's modified pcap
  modified.bytes[1] = 0xcd;
  std::copy_n(modified.bytes.begin(), 24, head);
  CHECK_FALSE(parse_classic_pcap_header(head, ch));
  PcapFile ok(true, true, 113, 0);
  std::copy_n(ok.bytes.begin(), 24, head);
  REQUIRE(parse_classic_pcap_header(head, ch));
  CHECK(ch.swapped == (std::endian::native == std::endian::little));  // written big-endian
  CHECK(ch.nano);
  CHECK(ch.snaplen == 262144);
  CHECK(ch.link == LinkType::LinuxSll);

  PcapngStart ng;
  PcapngFile packet_first;
  packet_first.packet(0, 1, frame(1));
  packet_first.interface(1);
  CHECK_FALSE(probe_pcapng(packet_first.bytes.data(), packet_first.bytes.size(), ng));
  PcapngFile unknown_link;
  unknown_link.interface(147);
  CHECK_FALSE(probe_pcapng(unknown_link.bytes.data(), unknown_link.bytes.size(), ng));
  PcapngFile good;
  good.other(4, 2);
  good.interface(1, 1514, 9, 7);
  REQUIRE(probe_pcapng(good.bytes.data(), good.bytes.size(), ng));
  CHECK(ng.first_record == good.bytes.size());
  CHECK(ng.snaplen == 1514);
  CHECK(ng.units == 1'000'000'000ull);
  CHECK(ng.offset_s == 7);
  CHECK_FALSE(probe_pcapng(good.bytes.data(), good.bytes.size() - 4, ng));  // the interface block is cut

  // Starts libpcap refuses to open, so open_pcap_file() must not read them either.
  const fs::path dir = scratch_dir("pcap_readers_refused");
  PcapngFile bad_idb_trailer;
  bad_idb_trailer.interface(1);
  bad_idb_trailer.bytes[bad_idb_trailer.bytes.size() - 4] ^= 1;  // the interface block's trailing length, one off
  bad_idb_trailer.packet(0, 1, frame(1));
  PcapngFile bad_custom_trailer;
  bad_custom_trailer.other(0x40000bad, 3, 99);
  bad_custom_trailer.interface(1);
  bad_custom_trailer.packet(0, 1, frame(1));
  PcapngFile short_section;
  short_section.interface(1);
  short_section.packet(0, 1, frame(1));
  short_section.bytes[4] = 12;  // a section header of 12 bytes, whose byte-order magic reads as its trailer
  for (const auto& [name, file] : {std::pair{"bad-idb-trailer", &bad_idb_trailer},
                                   std::pair{"bad-custom-trailer", &bad_custom_trailer},
                                   std::pair{"short-section", &short_section}}) {
    INFO(name);
    CHECK_FALSE(probe_pcapng(file->bytes.data(), file->bytes.size(), ng));
    const fs::path p = dir / (std::string(name) + ".pcapng");
    write_file(p, file->bytes);
    std::string err;
    CHECK_FALSE(open_libpcap_file(p.string(), 3, err));
    CHECK_FALSE(open_pcap_file(p.string(), 3, err));
    CHECK_FALSE(err.empty());
  }
}
