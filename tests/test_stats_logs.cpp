// stats.log and capture_loss.log on replays: one record per worker and per source every interval of
// packet time (and one at the end, as Zeek writes when it terminates); the figures add up to the run's.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/packet_builder.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

using Rows = std::vector<std::map<std::string, std::string>>;

Rows rows_of(const Rows& rows, const std::string& peer) {
  Rows out;
  for (const auto& r : rows) {
    if (r.at("peer") == peer) out.push_back(r);
  }
  return out;
}

uint64_t sum(const Rows& rows, const std::string& field) {
  uint64_t s = 0;
  for (const auto& r : rows) s += std::stoull(r.at(field));
  return s;
}

}  // namespace

TEST_CASE("stats.log on a replay: a record per worker and per source every interval, packets add up",
          "[stats_logs]") {
  const auto out = scratch_dir("stats_demo");
  const fs::path demo = source_dir() / "pcaps" / "demo.pcap";  // 414 packets over 19.2 s
  for (const std::string w : {"1", "2"}) {
    INFO("workers " << w);
    const auto logs = out / ("w" + w);
    const auto r = run(otsensor() + " -q -w " + w + " --stats-interval 5 -r " + q(demo) + " -l " + q(logs) +
                       " --stats-json " + q(logs / "run.json"));
    REQUIRE(r.exit_code == 0);
    const auto run_stats = nlohmann::json::parse(read_file(logs / "run.json"));
    const uint64_t packets = run_stats["packets"];
    const auto stats = log_rows(logs / "stats.log");
    const auto src = rows_of(stats, demo.string());
    // Measurements once 5, 10 and 15 s of packet time have passed since the first packet (at the end of
    // the burst that crossed the mark; the third falls on the last packet, so no extra one at the end).
    REQUIRE(src.size() == 3);
    CHECK(sum(src, "pkts_proc") == packets);
    CHECK(src[0].at("pkts_dropped") == "-");  // a file drops nothing: the live columns are unset
    CHECK(src[0].at("pkt_lag") == "-");
    uint64_t worker_packets = 0, tcp_conns = 0;
    for (int i = 1; i <= std::stoi(w); ++i) {
      const auto wr = rows_of(stats, "worker-" + std::to_string(i));
      REQUIRE(wr.size() == 3);
      worker_packets += sum(wr, "pkts_proc");
      tcp_conns += sum(wr, "tcp_conns");
      CHECK(std::stod(wr[1].at("ts")) - std::stod(wr[0].at("ts")) >= 5.0);
      CHECK(std::stoull(wr[0].at("mem")) > 0);
      CHECK(std::stoull(wr[0].at("active_tcp_conns")) > 0);
    }
    CHECK(worker_packets == packets);
    // Every TCP connection of conn.log was counted once, by the worker that had it.
    uint64_t tcp_in_conn = 0;
    for (const auto& c : log_rows(logs / "conn.log")) tcp_in_conn += c.at("proto") == "tcp";
    CHECK(tcp_conns == tcp_in_conn);

    const auto loss = log_rows(logs / "capture_loss.log");
    REQUIRE(rows_of(loss, "worker-1").size() == 3);
    CHECK(sum(loss, "acks") > 0);
    CHECK(sum(loss, "gaps") == 0);  // the generated capture misses nothing
    // The first measurement counts from the first packet.
    const auto first_loss = rows_of(loss, "worker-1")[0];
    CHECK(std::stod(first_loss.at("ts_delta")) >= 5.0);
    CHECK(std::stod(first_loss.at("ts")) - std::stod(first_loss.at("ts_delta")) == Approx(1710144550.651178));
  }
}

TEST_CASE("a replay writes no stats.log unless an interval is asked for", "[stats_logs]") {
  const auto out = scratch_dir("stats_none");
  REQUIRE(run(otsensor() + " -q -r " + q(source_dir() / "pcaps" / "demo.pcap") + " -l " + q(out)).exit_code == 0);
  CHECK(fs::exists(out / "conn.log"));
  CHECK(!fs::exists(out / "stats.log"));
  CHECK(!fs::exists(out / "capture_loss.log"));
}

TEST_CASE("capture_loss.log counts an ACK above a hole as a gap, as Zeek's capture-loss script does",
          "[stats_logs]") {
  const auto out = scratch_dir("stats_gap");
  const V4Addr cli{10, 1, 0, 5}, srv{10, 1, 0, 6};
  const auto seg = [&](bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, size_t len) {
    return from_client ? tcp_frame(cli, 40000, srv, 8080, seq, ack, flags, len)
                       : tcp_frame(srv, 8080, cli, 40000, seq, ack, flags, len);
  };
  using namespace ots::tcp_flag;
  const uint32_t c0 = 1000, s0 = 5000;
  double t = 1'700'000'000.0;
  std::vector<std::pair<double, Bytes>> frames = {
      {t += 0.01, seg(true, c0, 0, SYN, 0)},
      {t += 0.01, seg(false, s0, c0 + 1, SYN | ACK, 0)},
      {t += 0.01, seg(true, c0 + 1, s0 + 1, ACK, 0)},
      {t += 0.01, seg(true, c0 + 1, s0 + 1, PSH | ACK, 100)},     // bytes 1-100
      {t += 0.01, seg(false, s0 + 1, c0 + 101, ACK, 0)},          // ACK of seen data
      {t += 0.01, seg(true, c0 + 201, s0 + 1, PSH | ACK, 100)},   // 201-300: 101-200 were never captured
      {t += 0.01, seg(false, s0 + 1, c0 + 301, ACK, 0)},          // ACK above the hole: a gap
      {t += 0.01, seg(true, c0 + 301, s0 + 1, FIN | ACK, 0)},
      {t += 0.01, seg(false, s0 + 1, c0 + 302, FIN | ACK, 0)},
      {t += 0.01, seg(true, c0 + 302, s0 + 2, ACK, 0)},
  };
  write_pcap(out / "gap.pcap", frames);
  REQUIRE(run(otsensor() + " -q --stats-interval 60 -r " + q(out / "gap.pcap") + " -l " + q(out / "logs")).exit_code ==
          0);
  const auto conn = log_rows(out / "logs" / "conn.log");
  REQUIRE(conn.size() == 1);
  CHECK(conn[0].at("missed_bytes") == "100");
  const auto loss = log_rows(out / "logs" / "capture_loss.log");
  REQUIRE(loss.size() == 1);  // the end of the run; the capture is shorter than the interval
  const uint64_t acks = std::stoull(loss[0].at("acks")), gaps = std::stoull(loss[0].at("gaps"));
  CHECK(gaps == 1);
  CHECK(acks >= 2);
  CHECK(std::stod(loss[0].at("percent_lost")) == Approx(100.0 * static_cast<double>(gaps) / static_cast<double>(acks)));
  CHECK(loss[0].at("peer") == "worker-1");
}
