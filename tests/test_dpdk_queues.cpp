// The DPDK path with one RX queue per worker on a real multi-queue device: net_af_packet with qpairs=2
// on a veth, whose queues are the sockets of a PACKET_FANOUT_HASH group. The kernel picks a socket by
// __skb_get_hash_symmetric(), so both directions of a flow land in one queue: with
// --dpdk-queue-hash symmetric each worker polls its own queue (sensor/capture_loop_queues.cpp). Traffic is
// the project's captures sent through the veth with tcpreplay; the logs must be those of -r on the same
// captures in everything that does not depend on when a packet was captured. Needs root, network
// namespaces, tcpreplay and a build with DPDK: skipped (exit 77) with the reason otherwise.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>

#include "tests/live_support.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;
using namespace std::chrono_literals;

namespace {

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

void require_dpdk() {
#ifndef OTS_HAVE_DPDK
  skip("otsensor was built without DPDK (libdpdk-dev not found, or -DOTS_DPDK=OFF)");
#endif
  if (::geteuid() != 0) skip("the DPDK EAL and network namespaces need root");
}

void require_dpdk_and_tcpreplay() {
  require_dpdk();
  if (run("command -v tcpreplay").exit_code != 0) skip("tcpreplay (Debian's tcpreplay) is not installed");
}

// Columns that depend on when the packets were captured: the DPDK path stamps packets from the wall
// clock, once per burst, where -r has the file's times. Uids derive from the time; ENIP/CIP's
// packet_correlation_id too; Zeek leaves a connection's byte counts unset when its duration is zero,
// which a burst's single time stamp makes of a short exchange.
bool time_dependent(const std::string& field) {
  static const std::set<std::string> fields = {"ts",         "uid",       "duration",  "orig_bytes",
                                               "resp_bytes", "first_seen", "last_seen", "packet_correlation_id"};
  return fields.count(field) || field.ends_with("uid") || field.ends_with("uids");
}

// Every log below each directory (stats.log and capture_loss.log left out: they describe the run), as
// the multiset of its rows without the time-dependent columns.
std::map<std::string, std::multiset<std::string>> timeless_logs(const std::vector<fs::path>& dirs) {
  std::map<std::string, std::multiset<std::string>> out;
  for (const fs::path& dir : dirs) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (e.path().extension() != ".log" || name == "stats.log" || name == "capture_loss.log") continue;
      for (const auto& row : log_rows(e.path())) {
        std::string text;
        for (const auto& [field, value] : row) {
          if (!time_dependent(field)) text += field + "=" + value + " ";
        }
        out[name].insert(text);
      }
    }
  }
  return out;
}

struct QueueRun {
  std::string output;
  fs::path logs;
};

// Replays `captures` through a veth into net_af_packet (qpairs=2) in another namespace, where otsensor
// -w 2 captures with `extra` options, stopped with SIGTERM once the replay is over.
QueueRun capture_replay(const std::vector<fs::path>& captures, const std::vector<std::string>& extra,
                        const std::string& name) {
  Netns a("qa"), b("qb");
  const auto out = scratch_dir(name);
  const std::string va = "otq" + std::to_string(::getpid()) + "a", vb = "otq" + std::to_string(::getpid()) + "b";
  a.exec_ok("ip link add " + va + " netns " + a.name() + " type veth peer name " + vb + " netns " + b.name());
  // No IPv6 on the pair: its neighbour discovery and MLD would be traffic the captures do not have.
  for (const Netns* ns : {&a, &b}) a.exec_ok(ns->shell("sysctl -qw net.ipv6.conf.all.disable_ipv6=1"));
  a.exec_ok("ip -n " + a.name() + " link set " + va + " up");
  a.exec_ok("ip -n " + b.name() + " link set " + vb + " up");
  // 4096 frames per socket ring: 4 s of this replay's packets if a worker is held up (a loaded CI machine).
  const std::string eal = "--no-huge --no-pci --no-shconf -l 0 --log-level=lib.eal:error --vdev=net_af_packet0,iface=" +
                          vb + ",qpairs=2,framecnt=4096";
  std::vector<std::string> cmd = {otsensor(), "--dpdk", eal, "-w", "2", "--stats-interval", "1", "-l",
                                  (out / "logs").string()};
  cmd.insert(cmd.end(), extra.begin(), extra.end());
  Child sensor(b.exec(cmd), out / "sensor.out");
  REQUIRE(sensor.started());
  REQUIRE_WITHIN(30s, out, file_has(out / "sensor.out", "capturing on "));
  std::string files;
  for (const fs::path& c : captures) files += " " + quoted(c);
  // 2000 packets/s: the socket rings never fill, so the kernel never rolls a packet over to the other
  // queue (PACKET_FANOUT_FLAG_ROLLOVER, which DPDK 22.11 sets), which would split that flow.
  const auto replay = run(a.shell("tcpreplay -q -i " + va + " --pps 2000" + files));
  INFO("tcpreplay: " << replay.output);
  REQUIRE(replay.exit_code == 0);
  std::this_thread::sleep_for(1500ms);
  sensor.signal(SIGTERM);
  const auto rc = sensor.wait(30s);
  QueueRun r{read_file(out / "sensor.out"), out / "logs"};
  INFO("sensor output:\n" << r.output);
  REQUIRE(rc.has_value());
  REQUIRE(*rc == 0);
  return r;
}

// The captures: the demo plant (25 connections of every protocol) and 150 short TCP sessions between
// many address pairs, so that both queues get flows.
std::vector<fs::path> test_captures(const fs::path& dir) {
  const fs::path many = dir / "many_flows.pcap";
  const auto gen = run("/usr/bin/python3 " + quoted(source_dir() / "tools" / "gen_pcap.py") +
                       " many-flows --seed 1 --flows 150 --packets-per-flow 8 -o " + quoted(many));
  INFO(gen.output);
  REQUIRE(gen.exit_code == 0);
  return {source_dir() / "pcaps" / "demo.pcap", many};
}

// -r on each capture apart (the replay sends them one after the other), into dir/r0, dir/r1, ...
std::vector<fs::path> read_each(const std::vector<fs::path>& captures, const fs::path& dir) {
  std::vector<fs::path> out;
  for (size_t i = 0; i < captures.size(); ++i) {
    out.push_back(dir / ("r" + std::to_string(i)));
    REQUIRE(run(otsensor() + " -q -r " + quoted(captures[i]) + " -l " + quoted(out.back())).exit_code == 0);
  }
  return out;
}

uint64_t worker_packets(const fs::path& logs, const std::string& worker) {
  uint64_t n = 0;
  for (const auto& r : rows_where(logs / "stats.log", "peer", worker)) n += std::stoull(r.at("pkts_proc"));
  return n;
}

void check_same_logs(const QueueRun& run, const std::vector<fs::path>& r_dirs) {
  const auto want = timeless_logs(r_dirs);
  const auto got = timeless_logs({run.logs});
  std::set<std::string> names;
  for (const auto& [n, _] : want) names.insert(n);
  for (const auto& [n, _] : got) names.insert(n);
  for (const std::string& n : names) {
    INFO("log " << n);
    REQUIRE(want.count(n) == 1);
    REQUIRE(got.count(n) == 1);
    CHECK(want.at(n) == got.at(n));
  }
  CHECK(names.count("conn.log") == 1);
}

}  // namespace

TEST_CASE("DPDK per-queue capture: each worker polls its own af_packet fanout queue, flows stay whole, logs as -r",
          "[live][dpdk]") {
  require_dpdk_and_tcpreplay();
  const auto dir = scratch_dir("dpdk_queues_in");
  const auto captures = test_captures(dir);
  const fs::path stats = scratch_dir("dpdk_queues_symmetric_stats") / "stats.json";
  const QueueRun r = capture_replay(captures, {"--dpdk-queue-hash", "symmetric", "--stats-json", stats.string()},
                                    "dpdk_queues_symmetric");
  CHECK(r.output.find("2 RX queues spread by the device's own symmetric hash") != std::string::npos);
  // Each polling worker reports its own thread's CPU time (what sizing a multi-queue appliance needs).
  const auto j = nlohmann::json::parse(read_file(stats));
  REQUIRE(j["worker_cpu_seconds"].size() == 2);
  for (const auto& cpu : j["worker_cpu_seconds"]) {
    REQUIRE(cpu.is_number());
    CHECK(cpu.get<double>() > 0);
  }
  CHECK(r.output.find("each worker polls its own RX queue") != std::string::npos);
  // Both workers had traffic, and together every packet (414 + 1200).
  const uint64_t w1 = worker_packets(r.logs, "worker-1"), w2 = worker_packets(r.logs, "worker-2");
  CHECK(w1 > 0);
  CHECK(w2 > 0);
  CHECK(w1 + w2 == 1614);
  // A flow whose two directions reached different workers would be two connections, each with half of
  // the history: every conn.log row equal to -r's (history, packets, IP bytes, state) proves they did not.
  check_same_logs(r, read_each(captures, dir));
}

// Without the option the device's hash is not trusted: its queues are still all read (the kernel fills
// each of them whether read or not), by the run loop, which dispatches by our own symmetric hash.
TEST_CASE("DPDK net_af_packet with two queue pairs and no trusted hash: both read, dispatched in software",
          "[live][dpdk]") {
  require_dpdk_and_tcpreplay();
  const auto dir = scratch_dir("dpdk_queues_auto_in");
  const auto captures = test_captures(dir);
  const QueueRun r = capture_replay(captures, {}, "dpdk_queues_auto");
  CHECK(r.output.find("the run loop reads them all and dispatches") != std::string::npos);
  CHECK(r.output.find("each worker polls its own RX queue") == std::string::npos);
  CHECK(worker_packets(r.logs, "worker-1") + worker_packets(r.logs, "worker-2") == 1614);
  check_same_logs(r, read_each(captures, dir));
}

TEST_CASE("dpdk: --dpdk-queue-hash symmetric is refused where it cannot hold, in one line", "[dpdk]") {
  require_dpdk();
  Netns ns("qe");
  const auto dir = scratch_dir("dpdk_queues_errors");
  const auto one_error = [&](const std::string& args, const std::string& expect) {
    const auto r = run(ns.shell(otsensor() + " -q -l " + quoted(dir / "logs") + " " + args));
    INFO(args << "\n" << r.output);
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("otsensor: error: " + expect) != std::string::npos);
  };
  const std::string eal = "--no-huge --no-pci --no-shconf -l 0 --log-level=lib.eal:error ";
  one_error("--dpdk '" + eal + "--vdev=net_af_packet0,iface=lo,qpairs=2' --dpdk-queue-hash symmetric -w 3",
            "--dpdk-queue-hash symmetric: net_af_packet0 has 2 queue pair(s) (qpairs), each given a share of the "
            "traffic by the kernel, for 3 worker(s) (-w): give qpairs=3");
  one_error("--dpdk '" + eal + "--vdev=net_pcap0,rx_pcap=" + (source_dir() / "pcaps" / "modbus.pcap").string() +
                "' --dpdk-queue-hash symmetric -w 2",
            "--dpdk-queue-hash symmetric: net_pcap0 (net_pcap) reads one file or interface per queue");
  one_error("--dpdk '" + eal + "' --dpdk-queue-hash sideways", "--dpdk-queue-hash: Check sideways value in");
}
