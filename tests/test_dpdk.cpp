// The DPDK path (capture/dpdk_source.cpp) against the file path: otsensor --dpdk over DPDK's net_pcap
// virtual device replaying a capture must write the same logs as otsensor -r on that capture, with one
// and with two workers. The EAL initialises once per process, so every DPDK run is an otsensor child
// process. Needs root and a build with DPDK (OTS_DPDK): skipped (exit 77) with the reason otherwise.
#include <catch2/catch.hpp>

#include <pcap/pcap.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "capture/dpdk_source.hpp"
#include "tests/packet_builder.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;
using namespace ots::test;

namespace {

void require_dpdk() {
#ifndef OTS_HAVE_DPDK
  std::fprintf(stderr, "SKIPPED: otsensor was built without DPDK (libdpdk-dev not found, or -DOTS_DPDK=OFF)\n");
  std::exit(77);
#endif
  if (::geteuid() != 0) {
    std::fprintf(stderr, "SKIPPED: the DPDK EAL needs root here (--no-huge still maps memory and probes vdevs)\n");
    std::exit(77);
  }
}

std::string q(const std::string& s) { return "'" + s + "'"; }

// The EAL arguments for replaying `capture` through net_pcap on this machine: no hugepages, no PCI, no
// shared config, one lcore (otsensor's workers are its own threads).
std::string eal_args(const fs::path& capture) {
  return "--no-huge --no-pci --no-shconf -l 0 --log-level=lib.eal:error --vdev=net_pcap0,rx_pcap=" + capture.string();
}

// The capture's link type (DLT_*), or -1 when libpcap cannot read it.
int link_type(const fs::path& capture) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(capture.c_str(), errbuf);
  if (!p) return -1;
  const int dlt = pcap_datalink(p);
  pcap_close(p);
  return dlt;
}

// True when some packet's time has a sub-microsecond part (a nanosecond pcap or pcapng).
bool has_sub_microseconds(const fs::path& capture) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision(capture.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) return false;
  bool sub = false;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  while (!sub && pcap_next_ex(p, &h, &d) == 1) sub = h->ts.tv_usec % 1000 != 0;
  pcap_close(p);
  return sub;
}

// What net_pcap reads from `capture`: libpcap at microsecond precision, written as a microsecond pcap.
fs::path microsecond_copy(const fs::path& capture, const fs::path& out) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(capture.c_str(), errbuf);
  REQUIRE(p);
  pcap_dumper_t* dump = pcap_dump_open(p, out.c_str());
  REQUIRE(dump);
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  while (pcap_next_ex(p, &h, &d) == 1) pcap_dump(reinterpret_cast<u_char*>(dump), h, d);
  pcap_dump_close(dump);
  pcap_close(p);
  return out;
}

// Every log a run wrote, by name, without its #open/#close lines; the statistics logs are left out (they
// describe the run, not the traffic).
std::map<std::string, std::string> logs_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (e.path().extension() != ".log" || n == "stats.log" || n == "capture_loss.log") continue;
    out[n] = log_without_times(e.path());
  }
  return out;
}

// Runs -r on `capture` and --dpdk on `replayed` (the same capture unless said otherwise) with `workers`
// workers; CHECKs that both succeed and write the same logs. Returns the number of logs compared.
size_t compare_paths(const fs::path& capture, unsigned workers, const std::string& scratch, fs::path replayed = {}) {
  if (replayed.empty()) replayed = capture;
  const auto dir = scratch_dir(scratch);
  const std::string w = " -w " + std::to_string(workers);
  const auto a = run(otsensor() + " -q -r " + q(capture.string()) + " -l " + q((dir / "r").string()) + w);
  const auto b = run(otsensor() + " -q --dpdk " + q(eal_args(replayed)) + " -l " + q((dir / "dpdk").string()) + w);
  INFO("-r " << capture.string() << ", --dpdk " << replayed.string() << ", -w " << workers);
  INFO("-r output: " << a.output);
  INFO("--dpdk output: " << b.output);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  const auto la = logs_of(dir / "r");
  const auto lb = logs_of(dir / "dpdk");
  std::set<std::string> names;
  for (const auto& [n, _] : la) names.insert(n);
  for (const auto& [n, _] : lb) names.insert(n);
  for (const std::string& n : names) {
    INFO("log " << n);
    REQUIRE(la.count(n) == 1);
    REQUIRE(lb.count(n) == 1);
    CHECK(la.at(n) == lb.at(n));
  }
  fs::remove_all(dir);
  return names.size();
}

// Compares every capture below `dir` (or the files given) with -w 1 and -w 2. Captures whose link type
// is not Ethernet cannot go through net_pcap (a DPDK port carries Ethernet frames): they are skipped and
// named on stderr. Devargs are comma-separated, so a path with a comma cannot be given to net_pcap.
void compare_all(const std::vector<fs::path>& captures, const std::string& tag) {
  size_t compared = 0, logs = 0;
  for (const fs::path& c : captures) {
    const int dlt = link_type(c);
    if (dlt != DLT_EN10MB) {
      std::fprintf(stderr, "note: %s skipped: link type %d is not Ethernet, net_pcap cannot replay it\n",
                   c.string().c_str(), dlt);
      continue;
    }
    if (c.string().find(',') != std::string::npos) {
      std::fprintf(stderr, "note: %s skipped: a comma in the path cannot be given in net_pcap devargs\n",
                   c.string().c_str());
      continue;
    }
    // net_pcap reads at microsecond precision (see the nanosecond test below): a capture with
    // sub-microsecond times is compared with -r on its microsecond copy (uids derive from the times).
    fs::path r_file = c;
    if (has_sub_microseconds(c)) {
      r_file = microsecond_copy(c, scratch_dir(tag + "_us") / "us.pcap");
      std::fprintf(stderr, "note: %s has sub-microsecond times: -r reads its microsecond copy\n", c.string().c_str());
    }
    for (unsigned w : {1u, 2u}) logs += compare_paths(r_file, w, tag + "_" + std::to_string(w), c);
    ++compared;
  }
  std::fprintf(stderr, "note: %s: %zu captures compared (%zu log comparisons)\n", tag.c_str(), compared, logs);
  REQUIRE(compared > 0);
}

std::vector<fs::path> shared_captures(const std::string& sub) {
  const auto shared = require_shared();
  const auto dir = shared / "pcaps" / sub;
  if (!fs::is_directory(dir)) {
    std::fprintf(stderr, "SKIPPED: %s not found\n", dir.string().c_str());
    std::exit(77);
  }
  return captures_under(dir);
}

// A classic pcap file, little-endian, with microsecond or nanosecond timestamps.
struct PcapWriter {
  Bytes bytes;
  explicit PcapWriter(bool nano, uint32_t linktype = 1) {
    for (uint32_t v : {nano ? 0xa1b23c4du : 0xa1b2c3d4u}) le32(v);
    le16(2);
    le16(4);
    le32(0);
    le32(0);
    le32(262144);
    le32(linktype);
  }
  void le16(uint16_t v) {
    bytes.push_back(static_cast<uint8_t>(v));
    bytes.push_back(static_cast<uint8_t>(v >> 8));
  }
  void le32(uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void record(uint32_t sec, uint32_t frac, const Bytes& frame) {
    le32(sec);
    le32(frac);
    le32(static_cast<uint32_t>(frame.size()));
    le32(static_cast<uint32_t>(frame.size()));
    append(bytes, frame);
  }
  void write(const fs::path& p) const {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
};

// A Modbus/TCP session whose client sends `n` read-holding-registers requests in one jumbo segment and
// whose server answers them all in another: frames of about 8 KB, four mbufs each in net_pcap. Its times
// have nanosecond parts; a microsecond file gets them truncated, as libpcap truncates when it reads a
// nanosecond file at microsecond precision.
void write_jumbo_modbus(const fs::path& p, bool nano, unsigned n) {
  V4Spec c2s, s2c;
  s2c.src = c2s.dst;
  s2c.dst = c2s.src;
  const auto ph_c = pseudo(c2s.src, c2s.dst);
  const auto ph_s = pseudo(s2c.src, s2c.dst);
  Bytes reqs, resps;
  for (unsigned i = 0; i < n; ++i) {
    const auto tid = static_cast<uint16_t>(i + 1);
    put16(reqs, tid);
    put16(reqs, 0);
    put16(reqs, 6);
    put8(reqs, 1);
    put8(reqs, 3);
    put16(reqs, static_cast<uint16_t>(100 + i));  // a distinct register per request
    put16(reqs, 1);
    put16(resps, tid);
    put16(resps, 0);
    put16(resps, 5);
    put8(resps, 1);
    put8(resps, 3);
    put8(resps, 2);
    put16(resps, static_cast<uint16_t>(i * 7));
  }
  const uint32_t cseq = 1000, sseq = 5000;
  const auto tcp_c = [&](uint32_t seq, uint32_t ack, uint8_t flags, const Bytes& payload) {
    TcpSpec t;
    t.sport = 40001;
    t.dport = 502;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    return eth(0x0800, ipv4(c2s, tcp(t, payload, ph_c)));
  };
  const auto tcp_s = [&](uint32_t seq, uint32_t ack, uint8_t flags, const Bytes& payload) {
    TcpSpec t;
    t.sport = 502;
    t.dport = 40001;
    t.seq = seq;
    t.ack = ack;
    t.flags = flags;
    return eth(0x0800, ipv4(s2c, tcp(t, payload, ph_s)));
  };
  using namespace tcp_flag;
  PcapWriter w(nano);
  const auto frac = [nano](uint32_t ns) { return nano ? ns : ns / 1000; };
  const uint32_t f = 123456789;
  const auto c_end = static_cast<uint32_t>(cseq + 1 + reqs.size());
  const auto s_end = static_cast<uint32_t>(sseq + 1 + resps.size());
  w.record(1700000000, frac(f), tcp_c(cseq, 0, SYN, {}));
  w.record(1700000000, frac(f + 1000), tcp_s(sseq, cseq + 1, SYN | ACK, {}));
  w.record(1700000000, frac(f + 2000), tcp_c(cseq + 1, sseq + 1, ACK, {}));
  w.record(1700000001, frac(f), tcp_c(cseq + 1, sseq + 1, PSH | ACK, reqs));
  w.record(1700000001, frac(f + 5000), tcp_s(sseq + 1, c_end, PSH | ACK, resps));
  w.record(1700000002, frac(f), tcp_c(c_end, s_end, FIN | ACK, {}));
  w.record(1700000002, frac(f + 1000), tcp_s(s_end, c_end + 1, FIN | ACK, {}));
  w.record(1700000002, frac(f + 2000), tcp_c(c_end + 1, s_end + 1, ACK, {}));
  w.write(p);
}

}  // namespace

TEST_CASE("EAL argument strings split as a shell splits words", "[dpdk]") {
#ifdef OTS_HAVE_DPDK
  std::vector<std::string> w;
  std::string err;
  REQUIRE(split_shell_words("  --no-huge   -l 0\t--vdev=net_pcap0,rx_pcap=/a/b.pcap ", w, err));
  CHECK(w == std::vector<std::string>{"--no-huge", "-l", "0", "--vdev=net_pcap0,rx_pcap=/a/b.pcap"});
  REQUIRE(split_shell_words("--vdev='net_pcap0,rx_pcap=/my caps/x.pcap' \"a \\\"b\\\" \\c\" d\\ e ''", w, err));
  CHECK(w == std::vector<std::string>{"--vdev=net_pcap0,rx_pcap=/my caps/x.pcap", "a \"b\" \\c", "d e", ""});
  CHECK_FALSE(split_shell_words("--vdev='unterminated", w, err));
  CHECK(err.find("unterminated") != std::string::npos);
  CHECK_FALSE(split_shell_words("x \"y", w, err));
  CHECK_FALSE(split_shell_words("trailing\\", w, err));
  REQUIRE(split_shell_words("", w, err));
  CHECK(w.empty());
#else
  std::fprintf(stderr, "SKIPPED: otsensor was built without DPDK\n");
  std::exit(77);
#endif
}

TEST_CASE("DPDK net_pcap replay of our captures writes the same logs as -r, with 1 and 2 workers", "[dpdk]") {
  require_dpdk();
  compare_all(captures_under(source_dir() / "pcaps"), "dpdk_own");
}

TEST_CASE("DPDK net_pcap replay of jumbo frames (multi-segment mbufs) writes the same logs as -r", "[dpdk]") {
  require_dpdk();
  const auto dir = scratch_dir("dpdk_jumbo_in");
  // 680 requests: 8160 bytes of payload, a frame of 8214 bytes; the answers 7480 bytes.
  write_jumbo_modbus(dir / "jumbo_us.pcap", false, 680);
  compare_all({dir / "jumbo_us.pcap"}, "dpdk_jumbo");
  // Not merely equal: every request of the segment's tail (beyond the first mbuf) was decoded.
  const auto out = scratch_dir("dpdk_jumbo_out");
  const auto r = run(otsensor() + " -q --dpdk " + q(eal_args(dir / "jumbo_us.pcap")) + " -l " + q(out.string()));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string modbus = read_file(out / "modbus.log");
  CHECK(modbus.find("\t680\t") != std::string::npos);
  CHECK(log_rows(out / "modbus.log").size() >= 680);
}

// net_pcap (DPDK 22.11) opens its file with pcap_open_offline(), at microsecond precision, and stamps
// microseconds: a nanosecond capture replays as its microsecond truncation, whereas -r keeps the
// nanoseconds (and the logs round them). The DPDK logs of the nanosecond file are the -r logs of the
// truncated one.
TEST_CASE("DPDK net_pcap replay of a nanosecond capture is the replay of its microsecond truncation", "[dpdk]") {
  require_dpdk();
  const auto dir = scratch_dir("dpdk_ns_in");
  write_jumbo_modbus(dir / "ns.pcap", true, 40);
  write_jumbo_modbus(dir / "us.pcap", false, 40);
  for (unsigned w : {1u, 2u}) CHECK(compare_paths(dir / "us.pcap", w, "dpdk_ns", dir / "ns.pcap") >= 3);
  // And the difference is real: -r on the nanosecond file rounds 1700000000.123456789 up.
  const auto out = scratch_dir("dpdk_ns_r");
  const auto r = run(otsensor() + " -q -r " + q((dir / "ns.pcap").string()) + " -l " + q(out.string()));
  REQUIRE(r.exit_code == 0);
  CHECK(read_file(out / "conn.log").find("1700000000.123457\t") != std::string::npos);
}

// Half of a list (0: the first, 1: the rest): every EAL start costs about a second, so the larger
// directories are split to stay well inside CTest's per-test timeout on a loaded machine.
static std::vector<fs::path> half(const std::vector<fs::path>& all, int which) {
  const auto mid = all.begin() + static_cast<std::ptrdiff_t>(all.size() / 2);
  return which == 0 ? std::vector<fs::path>(all.begin(), mid) : std::vector<fs::path>(mid, all.end());
}

TEST_CASE("DPDK net_pcap replay of shared captures writes the same logs as -r: DNP3, first half", "[dpdk][shared]") {
  require_dpdk();
  compare_all(half(shared_captures("dnp3"), 0), "dpdk_dnp3a");
}

TEST_CASE("DPDK net_pcap replay of shared captures writes the same logs as -r: DNP3, second half", "[dpdk][shared]") {
  require_dpdk();
  compare_all(half(shared_captures("dnp3"), 1), "dpdk_dnp3b");
}

TEST_CASE("DPDK net_pcap replay of shared captures writes the same logs as -r: Modbus", "[dpdk][shared]") {
  require_dpdk();
  compare_all(shared_captures("modbus"), "dpdk_modbus");
}

TEST_CASE("DPDK net_pcap replay of shared captures writes the same logs as -r: EtherNet/IP", "[dpdk][shared]") {
  require_dpdk();
  compare_all(shared_captures("enip"), "dpdk_enip");
}

TEST_CASE("DPDK net_pcap replay of shared captures writes the same logs as -r: S7comm", "[dpdk][shared]") {
  require_dpdk();
  compare_all(shared_captures("s7comm"), "dpdk_s7");
}

TEST_CASE("DPDK net_pcap replay of shared captures writes the same logs as -r: other protocols", "[dpdk][shared]") {
  require_dpdk();
  compare_all(shared_captures("other"), "dpdk_other");
}

TEST_CASE("DPDK errors are one line with the reason", "[dpdk]") {
  require_dpdk();
  const auto dir = scratch_dir("dpdk_errors");
  const std::string modbus = (source_dir() / "pcaps" / "modbus.pcap").string();
  const auto one_error = [&](const std::string& args, const std::string& expect) {
    const auto r = run(otsensor() + " -q -l " + q((dir / "logs").string()) + " " + args);
    INFO(args << "\n" << r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("otsensor: error: " + expect) != std::string::npos);
  };
  // The EAL refuses its arguments: its own reason and ours.
  one_error("--dpdk '--no-huge --no-pci --no-shconf -l 0 --no-such-eal-option'", "DPDK EAL initialisation failed");
  one_error("--dpdk \"--no-huge --in-memory --vdev='net_pcap0,rx_pcap=" + modbus + "\"",
            "--dpdk: cannot split the EAL arguments: unterminated ' quote");
  one_error("--dpdk '--no-huge --no-pci --no-shconf -l 0'", "the DPDK EAL found no port");
  one_error("--dpdk '" + eal_args(modbus) + "' --dpdk-ports 3", "no DPDK port 3 (the EAL found: 0 net_pcap0)");
  one_error("--dpdk '" + eal_args(modbus) + "' --dpdk-mbufs 100", "--dpdk-mbufs 100 is too few");
  // A capture that is not Ethernet: refused, not decoded as garbage.
  PcapWriter raw(false, 101);
  raw.record(1700000000, 0, ipv4(V4Spec{}, udp(1, 2, {}, pseudo(V4Spec{}.src, V4Spec{}.dst))));
  raw.write(dir / "raw.pcap");
  one_error("--dpdk '" + eal_args(dir / "raw.pcap") + "'", "net_pcap0: rx_pcap " + (dir / "raw.pcap").string() +
                                                               " has link type 12 (RAW)");
  one_error("-r " + q(modbus) + " --dpdk '" + eal_args(modbus) + "'", "");
}
