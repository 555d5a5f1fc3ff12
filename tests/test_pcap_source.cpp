// Packet sources from pcap and pcapng files: formats, bursts, errors, and the real captures in ../shared.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "capture/decode.hpp"
#include "capture/packet_source.hpp"
#include "tests/capture_files.hpp"
#include "tests/packet_builder.hpp"
#include "tests/test_support.hpp"

using namespace ots;
using namespace ots::test;
namespace fs = std::filesystem;

TEST_CASE("pcap files in both byte orders and timestamp precisions", "[capture]") {
  const fs::path dir = scratch_dir("pcap_source_formats");
  struct Variant {
    bool be, nano;
    const char* name;
  };
  for (const Variant v : {Variant{false, false, "le_us.pcap"}, Variant{false, true, "le_ns.pcap"},
                          Variant{true, false, "be_us.pcap"}, Variant{true, true, "be_ns.pcap"}}) {
    INFO(v.name);
    PcapFile f(v.be, v.nano, 1);
    f.record(1'700'000'000, v.nano ? 123'456'789 : 123'456, frame(1));
    f.record(1'700'000'001, v.nano ? 999'999'999 : 999'999, frame(2), 1514);
    write_file(dir / v.name, f.bytes);
    std::string err;
    auto src = open_pcap_file((dir / v.name).string(), 7, err);
    REQUIRE(src);
    CHECK(err.empty());
    CHECK(src->name() == (dir / v.name).string());
    std::vector<Bytes> copies;
    const auto pkts = read_all(*src, &copies);
    REQUIRE(pkts.size() == 2);
    CHECK(pkts[0].ts_ns == (v.nano ? 1'700'000'000'123'456'789ull : 1'700'000'000'123'456'000ull));
    CHECK(pkts[1].ts_ns == (v.nano ? 1'700'000'001'999'999'999ull : 1'700'000'001'999'999'000ull));
    CHECK(pkts[0].caplen == frame(1).size());
    CHECK(pkts[0].wirelen == frame(1).size());
    CHECK(pkts[1].caplen == frame(2).size());
    CHECK(pkts[1].wirelen == 1514);
    CHECK(pkts[0].ingress == 7);
    CHECK(pkts[0].link == LinkType::Ethernet);
    CHECK(copies[0] == frame(1));
    CHECK(copies[1] == frame(2));
    const SourceStats st = src->stats();
    CHECK(st.packets == 2);
    CHECK(st.bytes == frame(1).size() + frame(2).size());
    CHECK(st.dropped_kernel == 0);
    CHECK(st.damaged == 0);
    CHECK(src->take_warnings().empty());
    PacketBurst again;
    CHECK(src->next_burst(again) == SourceStatus::End);  // stays at the end
  }
}

TEST_CASE("bursts hold up to 32 packets whose views stay valid for the whole burst", "[capture]") {
  const fs::path dir = scratch_dir("pcap_source_bursts");
  PcapFile f(false, false, 1);
  for (uint32_t i = 0; i < 100; ++i) f.record(1000 + i, i, frame(i));
  write_file(dir / "many.pcap", f.bytes);
  std::string err;
  auto src = open_pcap_file((dir / "many.pcap").string(), 0, err);
  REQUIRE(src);
  PacketBurst burst;
  std::vector<size_t> sizes;
  uint32_t next = 0;
  while (src->next_burst(burst) == SourceStatus::Ok) {
    sizes.push_back(burst.count);
    // Every view of the burst is intact after the burst was filled (libpcap reuses its own buffer, our
    // readers refill theirs).
    for (size_t i = 0; i < burst.count; ++i, ++next) {
      const Bytes want = frame(next);
      REQUIRE(burst.pkts[i].caplen == want.size());
      CHECK(std::equal(want.begin(), want.end(), burst.pkts[i].data));
      CHECK(burst.pkts[i].ts_ns == (1000ull + next) * 1'000'000'000ull + next * 1000ull);
    }
  }
  CHECK(sizes == std::vector<size_t>{32, 32, 32, 4});
  CHECK(src->stats().packets == 100);
}

TEST_CASE("a truncated pcap delivers the packets before the cut and warns", "[capture]") {
  const fs::path dir = scratch_dir("pcap_source_truncated");
  PcapFile f(false, false, 1);
  for (uint32_t i = 0; i < 5; ++i) f.record(10 + i, 0, frame(i + 10));
  SECTION("cut inside the last record's data") {
    Bytes cut = f.bytes;
    cut.resize(cut.size() - 7);
    write_file(dir / "cut.pcap", cut);
    std::string err;
    auto src = open_pcap_file((dir / "cut.pcap").string(), 0, err);
    REQUIRE(src);
    const auto pkts = read_all(*src);
    CHECK(pkts.size() == 4);
    const auto warnings = src->take_warnings();
    REQUIRE(warnings.size() == 1);
    const std::string want =
        (dir / "cut.pcap").string() + ": truncated capture, last record incomplete after 4 packets (";
    CHECK(warnings[0].rfind(want, 0) == 0);
    CHECK(src->take_warnings().empty());  // taken once
    CHECK(src->error().empty());
    CHECK(src->stats().packets == 4);
    CHECK(src->stats().damaged == 1);
    PacketBurst b;
    CHECK(src->next_burst(b) == SourceStatus::End);
  }
  SECTION("cut inside a record header") {
    Bytes cut = f.bytes;
    cut.resize(cut.size() - frame(14).size() - 5);
    write_file(dir / "cut_hdr.pcap", cut);
    std::string err;
    auto src = open_pcap_file((dir / "cut_hdr.pcap").string(), 0, err);
    REQUIRE(src);
    CHECK(read_all(*src).size() == 4);
    const auto warnings = src->take_warnings();
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("truncated capture, last record incomplete after 4 packets") != std::string::npos);
  }
}

TEST_CASE("files that are not captures, missing files and unsupported link types fail with one line", "[capture]") {
  const fs::path dir = scratch_dir("pcap_source_errors");
  std::string err;

  const fs::path text_file = dir / "notes.pcap";
  std::ofstream(text_file) << "this is not a capture file, just some text\n";
  CHECK(open_pcap_file(text_file.string(), 0, err) == nullptr);
  CHECK(err == text_file.string() + " is not a pcap or pcapng capture");

  const fs::path empty = dir / "empty.pcap";
  write_file(empty, {});
  CHECK(open_pcap_file(empty.string(), 0, err) == nullptr);
  CHECK(err == empty.string() + " is not a pcap or pcapng capture");

  const fs::path missing = dir / "missing.pcap";
  CHECK(open_pcap_file(missing.string(), 0, err) == nullptr);
  CHECK(err == "cannot open " + missing.string() + ": No such file or directory");

  CHECK(open_pcap_file(dir.string(), 0, err) == nullptr);
  CHECK(err == "cannot open " + dir.string() + ": Is a directory");

  PcapFile user0(false, false, 147);
  user0.record(1, 0, Bytes(20, 0));
  write_file(dir / "user0.pcap", user0.bytes);
  CHECK(open_pcap_file((dir / "user0.pcap").string(), 0, err) == nullptr);
  CHECK(err == "unsupported link type 147 (USER0)");

  PcapFile wifi(false, false, 127);  // IEEE802_11_RADIO
  write_file(dir / "wifi.pcap", wifi.bytes);
  CHECK(open_pcap_file((dir / "wifi.pcap").string(), 0, err) == nullptr);
  CHECK(err.rfind("unsupported link type 127 (", 0) == 0);
  CHECK(err.find('\n') == std::string::npos);
}

TEST_CASE("link types map from the file header", "[capture]") {
  const fs::path dir = scratch_dir("pcap_source_links");
  const std::pair<uint32_t, LinkType> cases[] = {
      {0, LinkType::Null},       {1, LinkType::Ethernet},    {101, LinkType::Raw},      {12, LinkType::Raw},
      {108, LinkType::Loop},     {113, LinkType::LinuxSll},  {276, LinkType::LinuxSll2}, {228, LinkType::Ipv4},
      {229, LinkType::Ipv6},
  };
  for (const auto& [lt, want] : cases) {
    INFO("linktype " << lt);
    PcapFile f(false, false, lt);
    f.record(1, 0, Bytes{0x45, 0, 0, 20});
    const fs::path p = dir / ("lt" + std::to_string(lt) + ".pcap");
    write_file(p, f.bytes);
    std::string err;
    auto src = open_pcap_file(p.string(), 0, err);
    REQUIRE(src);
    const auto pkts = read_all(*src);
    REQUIRE(pkts.size() == 1);
    CHECK(pkts[0].link == want);
  }
}

TEST_CASE("pcapng files are read with nanosecond timestamps", "[capture]") {
  const fs::path dir = scratch_dir("pcap_source_pcapng");
  PcapngFile f;
  f.interface(1);
  f.packet(0, 1'700'000'000'123'456ull, frame(1));
  f.packet(0, 1'700'000'000'223'456ull, frame(2));
  write_file(dir / "one.pcapng", f.bytes);
  std::string err;
  auto src = open_pcap_file((dir / "one.pcapng").string(), 2, err);
  REQUIRE(src);
  std::vector<Bytes> copies;
  const auto pkts = read_all(*src, &copies);
  REQUIRE(pkts.size() == 2);
  CHECK(pkts[0].ts_ns == 1'700'000'000'123'456'000ull);
  CHECK(pkts[1].ts_ns == 1'700'000'000'223'456'000ull);
  CHECK(copies[1] == frame(2));
  CHECK(pkts[1].link == LinkType::Ethernet);
  CHECK(pkts[1].ingress == 2);

  // Interfaces of different link types in one file: libpcap refuses; its reason is passed on.
  PcapngFile mixed;
  mixed.interface(1);
  mixed.packet(0, 1, frame(1));
  mixed.interface(101);
  mixed.packet(1, 2, Bytes{0x45, 0, 0, 20});
  write_file(dir / "mixed.pcapng", mixed.bytes);
  // Accepted, and the file fails at the second interface block, as with libpcap 1.10; the packets before
  // it count.
  auto msrc = open_pcap_file((dir / "mixed.pcapng").string(), 0, err);
  REQUIRE(msrc);
  CHECK(read_all(*msrc).size() == 1);
  const auto warnings = msrc->take_warnings();
  REQUIRE(warnings.size() == 1);
  const std::string want =
      (dir / "mixed.pcapng").string() + ": damaged record after 1 packets, rest of the file skipped (";
  CHECK(warnings[0].rfind(want, 0) == 0);
  CHECK(warnings[0].find("link type 101, the first's is 1") != std::string::npos);
}

namespace {

// The top-level "packets" count of an oracle summary (the first such key in the file).
long oracle_packets(const fs::path& json) {
  std::ifstream f(json);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  const auto at = s.find("\"packets\":");
  if (at == std::string::npos) return -1;
  return std::strtol(s.c_str() + at + 10, nullptr, 10);
}

struct NullSink final : WeirdSink {
  std::map<std::string, int> names;
  void weird(const WeirdEvent& ev) override { ++names[std::string(ev.name)]; }
};

}  // namespace

TEST_CASE("every shared capture reads with the oracle's packet count and decodes", "[capture][shared]") {
  const fs::path shared = require_shared();
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(shared / "pcaps")) {
    if (e.is_regular_file() && e.path().extension().string().rfind(".pcap", 0) == 0) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() > 50);
  for (const fs::path& file : files) {
    const fs::path rel = fs::relative(file, shared / "pcaps");
    INFO(rel.string());
    std::string err;
    auto src = open_pcap_file(file.string(), 0, err);
    REQUIRE(src);
    Decoder dec;
    NullSink sink;
    DecodedPacket p;
    PacketBurst burst;
    uint64_t malformed = 0;
    std::vector<uint64_t> malformed_at;
    uint64_t index = 0;
    while (src->next_burst(burst) == SourceStatus::Ok) {
      for (size_t i = 0; i < burst.count; ++i, ++index) {
        if (dec.decode(burst.pkts[i], p, sink) == DecodeResult::Malformed) {
          ++malformed;
          if (malformed_at.size() < 10) malformed_at.push_back(index + 1);
        }
      }
    }
    dec.expire(~0ull, sink);
    for (const auto& w : src->take_warnings()) std::cout << "warning: " << w << "\n";
    const fs::path oracle = shared / "oracle" / (rel.string() + ".json");
    const long want = oracle_packets(oracle);
    CHECK(want >= 0);
    CHECK(static_cast<long>(src->stats().packets) == want);
    if (malformed || !sink.names.empty()) {
      std::cout << rel.string() << ": " << malformed << " malformed of " << index << " (frames";
      for (uint64_t m : malformed_at) std::cout << " " << m;
      std::cout << "), weirds:";
      for (const auto& [name, n] : sink.names) std::cout << " " << name << "=" << n;
      std::cout << "\n";
    }
    CHECK(malformed <= 5);
  }
}
