// The otsensor binary end to end on captures: exit codes, messages, logs, and the same logs whatever -w is.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;

namespace {

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// Every log file of a directory, as name -> content without #open/#close.
std::map<std::string, std::string> logs_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log") out[e.path().filename().string()] = log_without_times(e.path());
  }
  return out;
}

}  // namespace

TEST_CASE("a missing capture file is a one-line error and exit 1", "[replay]") {
  auto out = scratch_dir("replay_missing");
  auto r = run(otsensor() + " -r /nonexistent/file.pcap -l " + q(out));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("cannot open /nonexistent/file.pcap") != std::string::npos);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}

TEST_CASE("a file that is not a capture is a one-line error and exit 1", "[replay]") {
  auto out = scratch_dir("replay_notpcap");
  auto file = out / "notes.pcap";
  std::ofstream(file) << "this is not a capture file, just some text\n";
  auto r = run(otsensor() + " -r " + q(file) + " -l " + q(out / "logs"));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("not a pcap or pcapng capture") != std::string::npos);
}

TEST_CASE("no input is a usage error", "[replay]") {
  auto r = run(otsensor() + " -l /tmp");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("give a capture with -r FILE") != std::string::npos);
}

TEST_CASE("the version and help options answer and exit 0", "[replay]") {
  auto v = run(otsensor() + " --version");
  CHECK(v.exit_code == 0);
  CHECK(v.output.rfind("otsensor ", 0) == 0);
  auto h = run(otsensor() + " --help");
  CHECK(h.exit_code == 0);
  CHECK(h.output.find("-r,--read") != std::string::npos);
  CHECK(h.output.find("--json") != std::string::npos);
}

TEST_CASE("a truncated capture is processed up to the cut, with a warning and a weird, exit 0", "[replay]") {
  auto out = scratch_dir("replay_truncated");
  const fs::path demo = source_dir() / "pcaps" / "demo.pcap";
  REQUIRE(fs::exists(demo));
  // Cut the demo capture in the middle of its last record.
  const std::string bytes = read_file(demo);
  const auto cut = out / "cut.pcap";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  auto r = run(otsensor() + " -r " + q(cut) + " -l " + q(out / "logs"));
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("warning:") != std::string::npos);
  CHECK(r.output.find("truncated") != std::string::npos);
  const auto weird = read_file(out / "logs" / "weird.log");
  CHECK(weird.find("capture_file_problem") != std::string::npos);
  CHECK(!log_lines(out / "logs" / "conn.log").empty());
}

TEST_CASE("the demo capture gives the same logs with 1 and 2 workers", "[replay]") {
  auto out = scratch_dir("replay_workers_demo");
  const fs::path demo = source_dir() / "pcaps" / "demo.pcap";
  // One worker on the reading thread, one worker fed by a reading thread, two workers.
  REQUIRE(run(otsensor() + " -q -w 1 --inline-worker -r " + q(demo) + " -l " + q(out / "inline")).exit_code == 0);
  REQUIRE(run(otsensor() + " -q -w 1 -r " + q(demo) + " -l " + q(out / "w1")).exit_code == 0);
  REQUIRE(run(otsensor() + " -q -w 2 -r " + q(demo) + " -l " + q(out / "w2")).exit_code == 0);
  const auto i = logs_of(out / "inline"), a = logs_of(out / "w1"), b = logs_of(out / "w2");
  REQUIRE(a.count("conn.log"));
  CHECK(i == a);
  CHECK(a == b);
}

TEST_CASE("every shared capture gives the same logs with 1 and 2 workers", "[replay][shared]") {
  const auto shared = require_shared();
  auto out = scratch_dir("replay_workers_shared");
  // With the captures' site model, so that notice.log and conn.log's zone columns are compared too.
  const std::string model = " -c " + q(source_dir() / "config" / "shared-captures.yaml");
  int compared = 0;
  for (const auto& p : captures_under(shared / "pcaps")) {
    INFO(p.string());
    fs::remove_all(out / "w1");
    fs::remove_all(out / "w2");
    // The inline worker against two threaded ones: the demo test covers the reading thread with one.
    const auto r1 = run(otsensor() + " -q -w 1 --inline-worker" + model + " -r " + q(p) + " -l " + q(out / "w1"));
    const auto r2 = run(otsensor() + " -q -w 2" + model + " -r " + q(p) + " -l " + q(out / "w2"));
    REQUIRE(r1.exit_code == 0);
    REQUIRE(r2.exit_code == 0);
    CHECK(logs_of(out / "w1") == logs_of(out / "w2"));
    ++compared;
  }
  CHECK(compared > 100);
}

TEST_CASE("several -r files are merged by time: same conn.log as the merged capture", "[replay]") {
  auto out = scratch_dir("replay_multi");
  const fs::path demo = source_dir() / "pcaps" / "demo.pcap";
  const fs::path states = source_dir() / "pcaps" / "conn-states.pcap";
  auto r = run(otsensor() + " -q -r " + q(demo) + " -r " + q(states) + " -l " + q(out / "both"));
  REQUIRE(r.exit_code == 0);
  REQUIRE(run(otsensor() + " -q -r " + q(demo) + " -l " + q(out / "a")).exit_code == 0);
  REQUIRE(run(otsensor() + " -q -r " + q(states) + " -l " + q(out / "b")).exit_code == 0);
  // The captures do not share flows, so the merged run's conn.log is the union of the two runs'.
  auto both = log_lines(out / "both" / "conn.log");
  auto a = log_lines(out / "a" / "conn.log"), b = log_lines(out / "b" / "conn.log");
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  std::sort(both.begin(), both.end());
  CHECK(both == a);
}

TEST_CASE("JSON mode writes one JSON object a line with Zeek's keys, and --stats-json the run figures", "[replay]") {
  auto out = scratch_dir("replay_json");
  const fs::path demo = source_dir() / "pcaps" / "demo.pcap";
  auto r = run(otsensor() + " -q --json -r " + q(demo) + " -l " + q(out / "logs") + " --stats-json " +
               q(out / "stats.json"));
  REQUIRE(r.exit_code == 0);
  size_t n = 0;
  for (const auto& line : log_lines(out / "logs" / "conn.log")) {
    const auto j = nlohmann::json::parse(line);
    CHECK(j.contains("ts"));
    CHECK(j.contains("uid"));
    CHECK(j.contains("id.orig_h"));
    CHECK(j["proto"].is_string());
    ++n;
  }
  CHECK(n > 0);
  const auto stats = nlohmann::json::parse(read_file(out / "stats.json"));
  CHECK(stats["logs"]["conn"].get<size_t>() == n);
  CHECK(stats["packets"].get<uint64_t>() > 0);
  // One worker thread fed by the reading thread (the default with two or more CPUs): its CPU time is
  // measured on its own; an inline worker's cannot be told from the reading.
  REQUIRE(stats["worker_cpu_seconds"].is_array());
  REQUIRE(stats["worker_cpu_seconds"].size() == 1);
  if (std::thread::hardware_concurrency() >= 2) CHECK(stats["worker_cpu_seconds"][0].is_number());
  REQUIRE(run(otsensor() + " -q --inline-worker -r " + q(demo) + " -l " + q(out / "inline") + " --stats-json " +
              q(out / "inline.json"))
              .exit_code == 0);
  const auto inline_stats = nlohmann::json::parse(read_file(out / "inline.json"));
  CHECK(inline_stats["worker_cpu_seconds"][0].is_null());
}

TEST_CASE("the --logs option writes only the logs named, each the same as in a full run", "[replay]") {
  auto out = scratch_dir("replay_only_logs");
  const fs::path demo = source_dir() / "pcaps" / "enip.pcap";
  REQUIRE(fs::exists(demo));
  auto full = run(otsensor() + " -q -r " + q(demo) + " -l " + q(out / "full"));
  REQUIRE(full.exit_code == 0);
  auto some = run(otsensor() + " -q -r " + q(demo) + " -l " + q(out / "some") + " --logs conn,cip");
  REQUIRE(some.exit_code == 0);
  const auto all_logs = logs_of(out / "full");
  REQUIRE(all_logs.count("enip.log") == 1);  // the full run writes more than the two asked for
  const auto two = logs_of(out / "some");
  REQUIRE(two.size() == 2);
  CHECK(two.at("conn.log") == all_logs.at("conn.log"));
  CHECK(two.at("cip.log") == all_logs.at("cip.log"));
}

// With conn.log alone, analyzers are detached once they confirm their protocol (nothing else consumes
// their work); conn.log, its service column included, must not notice.
TEST_CASE("the --logs conn run detaches confirmed analyzers and writes the same conn.log", "[replay]") {
  auto out = scratch_dir("replay_only_conn");
  for (const char* name : {"modbus.pcap", "dnp3.pcap", "enip.pcap", "s7comm.pcap", "demo.pcap"}) {
    const fs::path cap = source_dir() / "pcaps" / name;
    REQUIRE(fs::exists(cap));
    const fs::path full = out / (std::string(name) + ".full"), conn = out / (std::string(name) + ".conn");
    REQUIRE(run(otsensor() + " -q -r " + q(cap) + " -l " + q(full)).exit_code == 0);
    REQUIRE(run(otsensor() + " -q -r " + q(cap) + " -l " + q(conn) + " --logs conn").exit_code == 0);
    const auto a = logs_of(full), b = logs_of(conn);
    INFO(name);
    REQUIRE(b.size() == 1);
    CHECK(b.at("conn.log") == a.at("conn.log"));
    const std::string& log = a.at("conn.log");  // the captures do confirm services
    CHECK((log.find("\tmodbus\t") != std::string::npos || log.find("\tdnp3\t") != std::string::npos ||
           log.find("\tenip\t") != std::string::npos || log.find("\ts7comm") != std::string::npos));
  }
}

TEST_CASE("the --logs option with a name no log has is a usage error that lists the logs", "[replay]") {
  auto out = scratch_dir("replay_only_logs_bad");
  const fs::path demo = source_dir() / "pcaps" / "demo.pcap";
  auto r = run(otsensor() + " -q -r " + q(demo) + " -l " + q(out) + " --logs conn,connn");
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("no log named 'connn'") != std::string::npos);
  CHECK(r.output.find("conn,conn_long,weird") != std::string::npos);
  CHECK(!fs::exists(out / "conn.log"));
}

// A payload reaches one analyzer that is probing or already confirmed, without payload rules, on the
// worker's short path (Worker::on_payload); stream rules send every TCP payload of the flows they watch
// down the general one. Stream rules that never match must then change nothing but their own weirds: the
// short path settles confirmations and rejections as the general path does (a service missing in
// conn.log, an analyzer not detached, would show here).
TEST_CASE("payloads on the worker's short path give the same logs as on the general path of stream rules",
          "[replay]") {
  auto out = scratch_dir("replay_payload_paths");
  const fs::path rules = out / "never.yaml";
  {
    std::ofstream f(rules);
    int id = 1990001;
    for (const char* proto : {"modbus", "dnp3", "enip", "s7comm", "s7comm-plus"}) {
      f << "- id: " << id++ << "\n  name: \"never " << proto << "\"\n  severity: low\n  protocol: " << proto
        << "\n  scope: stream\n  content: [\"|f1 e2 d3 c4 b5 a6 97 88 79 6a|never\"]\n";
    }
  }
  // weird.log's records but the rules' own (a stream's depth reached).
  const auto weirds = [](const std::map<std::string, std::string>& logs) {
    std::string kept;
    if (!logs.count("weird.log")) return kept;
    std::istringstream in(logs.at("weird.log"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind('#', 0) != 0 && line.find("rule_stream_") == std::string::npos) kept += line + "\n";
    }
    return kept;
  };
  for (const char* name : {"modbus.pcap", "dnp3.pcap", "enip.pcap", "s7comm.pcap", "demo.pcap"}) {
    const fs::path cap = source_dir() / "pcaps" / name;
    REQUIRE(fs::exists(cap));
    const fs::path plain = out / (std::string(name) + ".plain"), streamed = out / (std::string(name) + ".streamed");
    REQUIRE(run(otsensor() + " -q -r " + q(cap) + " -l " + q(plain)).exit_code == 0);
    REQUIRE(run(otsensor() + " -q -r " + q(cap) + " -l " + q(streamed) + " --rules " + q(rules) + " --stats-json " +
                q(out / (std::string(name) + ".json")))
                .exit_code == 0);
    INFO(name);
    // The general path was taken: the rules opened streams.
    std::ifstream js(out / (std::string(name) + ".json"));
    CHECK(nlohmann::json::parse(js)["rule_streams"]["opened"].get<uint64_t>() > 0);
    auto a = logs_of(plain), b = logs_of(streamed);
    CHECK(weirds(b) == weirds(a));
    a.erase("weird.log");
    b.erase("weird.log");
    REQUIRE(a.size() == b.size());
    for (const auto& [log, text] : a) {
      INFO(log);
      CHECK(b.at(log) == text);
    }
    const std::string& conn = a.at("conn.log");  // the captures do confirm services
    CHECK((conn.find("\tmodbus\t") != std::string::npos || conn.find("\tdnp3\t") != std::string::npos ||
           conn.find("\tenip\t") != std::string::npos || conn.find("\ts7comm") != std::string::npos));
  }
}
