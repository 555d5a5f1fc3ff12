// The central notice stage: notices raised on any worker are suppressed and written in one order, so
// notice.log is the same whatever the number of workers.
#include <catch2/catch.hpp>

#include <map>
#include <thread>

#include "output/log_manager.hpp"
#include "sensor/notice_stage.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots;
using namespace ots::test;

namespace {

constexpr uint64_t kS = 1'000'000'000ull;

// An OT::Unknown_Host notice about `addr` from a flow with peer `peer` (uid derived from the peer).
RaisedNotice unknown_host(uint64_t ts_s, const char* addr, const char* peer) {
  RaisedNotice r;
  Notice& n = r.notice;
  n.ts_ns = ts_s * kS;
  n.note = "OT::Unknown_Host";
  n.has_src = true;
  IpAddr::parse(addr, n.src);
  n.msg = std::string(addr) + " is in no zone of the site model but talks to " + peer;
  n.sub = peer;
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the peer: a stable uid per flow
  for (const char* c = peer; *c; ++c) h = (h ^ static_cast<uint8_t>(*c)) * 1099511628211ull;
  n.uid = Uid{h, 7};
  r.key = notice_key(n);
  return r;
}

struct Recorder : NoticeForwarder {
  std::vector<std::string> seen;
  void forward(const Notice& n, uint64_t suppressed) override {
    seen.push_back(n.sub + "/" + std::to_string(suppressed));
  }
};

// Runs the stage over ticks of notices spread over `workers` outboxes (notice i of a tick goes to worker
// (i * 7 + tick) % workers) and returns notice.log's data lines and what the forwarder saw.
std::pair<std::vector<std::string>, std::vector<std::string>> run_stage(
    size_t workers, const std::vector<std::vector<RaisedNotice>>& ticks, const std::string& name) {
  const auto dir = scratch_dir(name);
  Recorder fwd;
  {
    LogManager logs({dir.string(), false});
    const LogId id = logs.add(notice_schema());
    NoticeStage stage(workers, logs, id, 3600 * kS, &fwd);
    for (size_t t = 0; t < ticks.size(); ++t) {
      for (size_t i = 0; i < ticks[t].size(); ++i) stage.outbox((i * 7 + t) % workers).put(ticks[t][i]);
      // Workers close their ticks in any order; the stage waits for all of them.
      for (size_t w = workers; w-- > 0;) {
        stage.poll();
        stage.outbox(w).close_tick();
      }
      stage.tick((ticks[t].empty() ? 0 : ticks[t].back().notice.ts_ns) + kS);
      stage.poll();
    }
    for (size_t w = 0; w < workers; ++w) stage.outbox(w).close_tick();  // Worker::finish
    stage.finish();
    logs.close();
  }
  return {log_lines(dir / "notice.log"), fwd.seen};
}

}  // namespace

TEST_CASE("notice stage: one address's notices from several workers are suppressed as one worker's", "[notice]") {
  // 10.9.9.9 talks to six peers in three ticks; with 1, 2 or 3 workers the flows are spread differently.
  const std::vector<std::vector<RaisedNotice>> ticks = {
      {unknown_host(100, "10.9.9.9", "peer-a"), unknown_host(100, "10.9.9.9", "peer-b")},
      {},
      {unknown_host(103, "10.9.9.9", "peer-c"), unknown_host(101, "10.9.9.9", "peer-d"),
       unknown_host(102, "10.8.8.8", "peer-e")},
      {unknown_host(104, "10.9.9.9", "peer-f")},
  };
  const auto one = run_stage(1, ticks, "stage_w1");
  const auto two = run_stage(2, ticks, "stage_w2");
  const auto three = run_stage(3, ticks, "stage_w3");
  CHECK(one == two);
  CHECK(one == three);
  // Written: the first notice of each address, then at the end the summary of 10.9.9.9's window.
  REQUIRE(one.first.size() == 3);
  // peer-a and peer-b come in the same second: the uid decides (peer-b's is the smaller).
  CHECK(one.second == std::vector<std::string>{"peer-b/0", "peer-e/0", "peer-b/4"});
  CHECK(one.first[0].find("\tpeer-b\t10.9.9.9\t") != std::string::npos);
  CHECK(one.first[2].find("(4 identical notices suppressed in the window)") != std::string::npos);
}

TEST_CASE("notice stage: workers on their own threads give the same notices in the same order", "[notice]") {
  const auto dir = scratch_dir("stage_threads");
  Recorder fwd;
  constexpr size_t kWorkers = 3, kTicks = 200;
  {
    LogManager logs({dir.string(), false});
    const LogId id = logs.add(notice_schema());
    NoticeStage stage(kWorkers, logs, id, 0, &fwd);
    std::vector<std::thread> threads;
    for (size_t w = 0; w < kWorkers; ++w) {
      threads.emplace_back([&stage, w] {
        for (size_t t = 0; t < kTicks; ++t) {
          // Worker w raises notices of the peers i with i % kWorkers == w, newest first.
          for (size_t i = 3; i-- > 0;) {
            if ((t + i) % kWorkers != w) continue;
            stage.outbox(w).put(unknown_host(1000 + t, "10.9.9.9", ("p" + std::to_string(t * 3 + i)).c_str()));
          }
          stage.outbox(w).close_tick();
        }
        stage.outbox(w).close_tick();
      });
    }
    for (size_t t = 0; t < kTicks; ++t) {
      stage.tick((1000 + t) * kS);
      stage.poll();
    }
    for (auto& th : threads) th.join();
    stage.finish();
    CHECK(stage.raised() == kTicks * 3);
    logs.close();
  }
  REQUIRE(fwd.seen.size() == kTicks * 3);
  // Within one second the peers come in uid order, whichever worker raised them.
  std::vector<std::string> expected;
  for (size_t t = 0; t < kTicks; ++t) {
    std::vector<RaisedNotice> tick;
    for (size_t i = 0; i < 3; ++i) tick.push_back(unknown_host(1000 + t, "10.9.9.9", ("p" + std::to_string(t * 3 + i)).c_str()));
    std::sort(tick.begin(), tick.end(), RaisedNoticeLess{});
    for (const auto& r : tick) expected.push_back(r.notice.sub + "/0");
  }
  CHECK(fwd.seen == expected);
}

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST_CASE("notice.log is byte-identical with 1, 2 and 3 workers when unknown hosts talk to many peers", "[notice][replay]") {
  const auto dir = scratch_dir("notice_workers");
  // 4096 flows from distinct clients to 1024 servers; the servers of 172.20.0.0/24 are in no zone, and
  // each talks to several clients, whose flows the host-pair hash spreads over the workers.
  const auto pcap = dir / "many.pcap";
  REQUIRE(run("/usr/bin/python3 " + q(source_dir() / "tools" / "gen_pcap.py") +
              " many-flows --flows 4096 --packets-per-flow 7 --seed 3 -o " + q(pcap))
              .exit_code == 0);
  const auto model = dir / "site.yaml";
  std::ofstream(model) << "site: many flows\n"
                          "defaults:\n  notice_suppress_s: 3600\n"
                          "zones:\n"
                          "  - name: clients\n    security_level: 1\n    networks: [\"10.0.0.0/8\"]\n"
                          "  - name: servers\n    security_level: 2\n"
                          "    networks: [\"172.20.1.0/24\", \"172.20.2.0/24\", \"172.20.3.0/24\"]\n"
                          "conduits:\n"
                          "  - name: clients-to-servers\n    zones: [clients, servers]\n    allow:\n"
                          "      - protocol: tcp\n        from: clients\n        ports: [502, 20000, 102, 44818]\n";
  std::map<int, std::string> notice_logs;
  for (int w : {1, 2, 3}) {
    const auto out = dir / ("w" + std::to_string(w));
    const auto r = run(otsensor() + " -q -w " + std::to_string(w) + " -c " + q(model) + " -r " + q(pcap) + " -l " + q(out));
    REQUIRE(r.exit_code == 0);
    notice_logs[w] = log_without_times(out / "notice.log");
  }
  CHECK(notice_logs[1] == notice_logs[2]);
  CHECK(notice_logs[1] == notice_logs[3]);
  // One Unknown_Host notice per server address of 172.20.0.0/24 (255 of them: the generator makes .0
  // into .1), and its window's summary, never one per worker.
  std::map<std::string, int> first_notices;
  for (const auto& line : log_lines(dir / "w2" / "notice.log")) {
    if (line.find("\tOT::Unknown_Host\t") == std::string::npos || line.find("suppressed in the window") != std::string::npos) continue;
    const auto msg = line.substr(line.find("\tOT::Unknown_Host\t") + 18);
    ++first_notices[msg.substr(0, msg.find(' '))];
  }
  CHECK(first_notices.size() == 255);
  for (const auto& [addr, n] : first_notices) {
    INFO(addr);
    CHECK(n == 1);
  }
}
