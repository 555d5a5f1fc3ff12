// Notices about the capture itself (sensor/capture_health.hpp): CaptureLoss::Too_Much_Loss from the
// intervals of capture_loss.log, PacketFilter::Dropped_Packets from the capture layer's drop counters.
#include <catch2/catch.hpp>

#include <fstream>

#include "sensor/capture_health.hpp"
#include "tests/live_support.hpp"
#include "tests/packet_builder.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;
using namespace ots::test;
using namespace std::chrono_literals;

namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

CaptureInterval interval(uint64_t acks, uint64_t gaps, uint64_t packets = 0, uint64_t dropped = 0, bool live = false) {
  CaptureInterval in;
  in.ts_ns = 1'700'000'300'000'000'000ull;
  in.length_ns = 300'000'000'000ull;
  in.acks = acks;
  in.gaps = gaps;
  in.packets = packets;
  in.dropped = dropped;
  in.live = live;
  return in;
}

std::vector<Notice> notices_for(const CaptureInterval& in, const CaptureHealthConfig& cfg = {}) {
  std::vector<Notice> out;
  capture_health_notices(in, cfg, out);
  return out;
}

// Four TCP sessions (four clients, so that two workers share them) to one server over `seconds` seconds:
// every second each client sends 100 bytes and the server acknowledges them. In seconds [lossy_from,
// lossy_to) every other client segment is missing from the capture, as if the SPAN port dropped it: the
// server's ACK then acknowledges data never seen (a gap).
void write_lossy_capture(const fs::path& path, int seconds, int lossy_from, int lossy_to) {
  using namespace ots::tcp_flag;
  const V4Addr srv{10, 1, 0, 6};
  std::vector<std::pair<double, Bytes>> frames;
  for (int c = 0; c < 4; ++c) {
    const V4Addr cli{10, 1, 0, static_cast<uint8_t>(10 + c)};
    const auto port = static_cast<uint16_t>(40000 + c);
    const auto seg = [&](bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, size_t len) {
      return from_client ? tcp_frame(cli, port, srv, 8080, seq, ack, flags, len)
                         : tcp_frame(srv, 8080, cli, port, seq, ack, flags, len);
    };
    const uint32_t c0 = 1000, s0 = 5000;
    double t = 1'700'000'000.0 + 0.01 * c;
    frames.push_back({t, seg(true, c0, 0, SYN, 0)});
    frames.push_back({t + 0.001, seg(false, s0, c0 + 1, SYN | ACK, 0)});
    frames.push_back({t + 0.002, seg(true, c0 + 1, s0 + 1, ACK, 0)});
    uint32_t next = c0 + 1;
    for (int s = 1; s <= seconds; ++s) {
      const double ts = t + s;
      const bool missing = s >= lossy_from && s < lossy_to && s % 2 == 0;
      if (!missing) frames.push_back({ts, seg(true, next, s0 + 1, PSH | ACK, 100)});
      next += 100;
      frames.push_back({ts + 0.001, seg(false, s0 + 1, next, ACK, 0)});
    }
    frames.push_back({t + seconds + 0.5, seg(true, next, s0 + 1, FIN | ACK, 0)});
    frames.push_back({t + seconds + 0.501, seg(false, s0 + 1, next + 1, FIN | ACK, 0)});
    frames.push_back({t + seconds + 0.502, seg(true, next + 1, s0 + 2, ACK, 0)});
  }
  std::stable_sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  write_pcap(path, frames);
}

// capture_loss.log's measurements with the workers' rows summed: ts -> (gaps, acks).
std::map<std::string, std::pair<uint64_t, uint64_t>> loss_by_measurement(const fs::path& log) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;
  for (const auto& r : log_rows(log)) {
    auto& [gaps, acks] = out[r.at("ts")];
    gaps += std::stoull(r.at("gaps"));
    acks += std::stoull(r.at("acks"));
  }
  return out;
}

}  // namespace

TEST_CASE("capture loss at or above the threshold is CaptureLoss::Too_Much_Loss, with Zeek's message",
          "[capture_health]") {
  CHECK(notices_for(interval(100, 9)).empty());
  const auto n = notices_for(interval(100, 10));  // Zeek: pct_lost >= too_much_loss * 100
  REQUIRE(n.size() == 1);
  CHECK(n[0].note == "CaptureLoss::Too_Much_Loss");
  CHECK(n[0].msg == "The capture loss script detected an estimated loss rate above 10.000%");
  CHECK(n[0].sub == "10 of 100 TCP ACKs in 300.0 s acknowledged data never seen (threshold 10%)");
  CHECK(n[0].ts_ns == 1'700'000'300'000'000'000ull);
  CHECK_FALSE(n[0].has_conn);
  CHECK(notices_for(interval(0, 0)).empty());  // no ACKs: no loss, as Zeek computes it
  CaptureHealthConfig strict;
  strict.too_much_loss_percent = 2.5;
  CHECK(notices_for(interval(1000, 25), strict).size() == 1);
  CHECK(notices_for(interval(1000, 24), strict).empty());
}

TEST_CASE("drops by the kernel or the interface on a live capture are PacketFilter::Dropped_Packets",
          "[capture_health]") {
  // Zeek's default: any drop. Files drop nothing (their counters are not drops): never for a replay.
  CHECK(notices_for(interval(0, 0, 1000, 0, true)).empty());
  CHECK(notices_for(interval(0, 0, 1000, 5, false)).empty());
  auto in = interval(0, 0, 995, 5, true);
  in.link = 1000;
  const auto n = notices_for(in);
  REQUIRE(n.size() == 1);
  CHECK(n[0].note == "PacketFilter::Dropped_Packets");
  CHECK(n[0].msg == "5 packets dropped after filtering, 1000 received, 1000 on link");
  CHECK(n[0].sub == "0.500% of the packets in 300.0 s dropped by the kernel or the interface (threshold 0%)");
  CaptureHealthConfig tolerant;
  tolerant.dropped_packets_percent = 0.5;  // exceeded, not reached
  CHECK(notices_for(interval(0, 0, 995, 5, true), tolerant).empty());
  CHECK(notices_for(interval(0, 0, 994, 6, true), tolerant).size() == 1);
}

TEST_CASE("a replay with missing segments raises Too_Much_Loss for its lossy interval, the same with -w 1 and -w 2",
          "[capture_health]") {
  const auto dir = scratch_dir("capture_health_replay");
  write_lossy_capture(dir / "lossy.pcap", 40, 15, 25);
  std::map<std::string, std::string> notice_logs;
  for (const std::string w : {"1", "2"}) {
    INFO("-w " << w);
    const auto logs = dir / ("w" + w);
    const auto r = run(otsensor() + " -q -w " + w + " --stats-interval 10 -r " + quoted(dir / "lossy.pcap") + " -l " +
                       quoted(logs));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    // The notices are exactly the measurements whose loss, summed over the workers, reached 10%.
    std::vector<std::string> lossy;
    size_t clean = 0;
    for (const auto& [ts, ga] : loss_by_measurement(logs / "capture_loss.log")) {
      const auto [gaps, acks] = ga;
      if (acks && 100.0 * static_cast<double>(gaps) / static_cast<double>(acks) >= 10.0) lossy.push_back(ts);
      else ++clean;
    }
    REQUIRE(lossy.size() == 1);
    CHECK(clean >= 2);
    const auto notices = rows_where(logs / "notice.log", "note", "CaptureLoss::Too_Much_Loss");
    REQUIRE(notices.size() == 1);
    CHECK(notices[0].at("ts") == lossy[0]);
    CHECK(notices[0].at("msg").rfind("The capture loss script detected an estimated loss rate above ", 0) == 0);
    notice_logs[w] = log_without_times(logs / "notice.log");
  }
  CHECK(notice_logs["1"] == notice_logs["2"]);

  // The site model's threshold: 60% is more than this capture ever loses.
  std::ofstream(dir / "site.yaml") << "sensor:\n  too_much_loss_percent: 60\n";
  const auto r = run(otsensor() + " -q -c " + quoted(dir / "site.yaml") + " --stats-interval 10 -r " +
                     quoted(dir / "lossy.pcap") + " -l " + quoted(dir / "strict"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(rows_where(dir / "strict" / "notice.log", "note", "CaptureLoss::Too_Much_Loss").empty());
}

// libpcap on lo with a 1 MB ring: the sensor is stopped (SIGSTOP) while a flood fills the ring, so the
// kernel drops what does not fit (ps_drop), and the next interval reports it.
TEST_CASE("live: packets the kernel dropped raise PacketFilter::Dropped_Packets", "[live][capture_health]") {
  Netns ns("d");
  const auto out = scratch_dir("capture_health_drops");
  const auto logs = out / "logs";
  std::ofstream(out / "flood.py") << "import socket\n"
                                     "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                                     "for i in range(20000):\n"
                                     "    s.sendto(b'x' * 1000, ('127.0.0.1', 9999))\n";
  Child sensor(ns.exec({otsensor(), "-i", "lo", "--buffer-mb", "1", "--stats-interval", "1", "-l", logs.string()}),
               out / "sensor.out");
  REQUIRE_WITHIN(20s, out, file_has(out / "sensor.out", "capturing on lo"));
  sensor.signal(SIGSTOP);
  const auto flood = run(ns.shell("/usr/bin/python3 " + quoted(out / "flood.py")));
  sensor.signal(SIGCONT);
  INFO(flood.output);
  REQUIRE(flood.exit_code == 0);
  REQUIRE_WITHIN(20s, out, file_has(logs / "notice.log", "PacketFilter::Dropped_Packets"));
  sensor.signal(SIGTERM);
  const auto rc = sensor.wait(20s);
  INFO("sensor output:\n" << read_file(out / "sensor.out"));
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  uint64_t dropped = 0;
  for (const auto& r : rows_where(logs / "stats.log", "peer", "lo")) {
    if (r.at("pkts_dropped") != "-") dropped += std::stoull(r.at("pkts_dropped"));
  }
  CHECK(dropped > 0);
  const auto notices = rows_where(logs / "notice.log", "note", "PacketFilter::Dropped_Packets");
  REQUIRE(!notices.empty());
  CHECK(notices[0].at("msg").find(" packets dropped after filtering, ") != std::string::npos);
}
