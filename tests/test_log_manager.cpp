// The log manager: ordering, determinism whatever the workers and spills, files, headers and footers.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "output/log_manager.hpp"
#include "test_support.hpp"

using namespace ots;
using F = FieldType;
namespace fs = std::filesystem;

namespace {

const LogSchema& test_schema() {
  static const LogSchema s{"test", {{"ts", F::Time}, {"uid", F::String}, {"n", F::Count}, {"s", F::String}}};
  return s;
}

const LogSchema& other_schema() {
  static const LogSchema s{"other", {{"ts", F::Time}, {"v", F::Int}}};
  return s;
}

struct Rec {
  uint64_t ts;
  Uid uid;
  uint64_t n;
  std::string s;
};

void write_rec(LogSink& sink, LogId log, const Rec& r) {
  const std::string uid = r.uid.is_set() ? r.uid.to_string() : std::string();
  const Value v[4] = {Value{r.ts}, uid.empty() ? Value{Unset{}} : Value{std::string_view(uid)}, Value{r.n},
                      Value{std::string_view(r.s)}};
  sink.write(log, r.ts, r.uid, v);
}

// Writes `recs` through one sink, handing over every `every` records and at the end, and waits until
// the manager has formatted (and spilled) them all.
void write_settled(LogManager& m, LogId id, const std::vector<Rec>& recs, size_t every) {
  auto s = m.make_sink();
  for (size_t i = 0; i < recs.size(); ++i) {
    write_rec(*s, id, recs[i]);
    if (i % every == every - 1) s->handoff();
  }
  s->handoff();
  m.settle();
}

// The spill run files in `dir` (directories put in their place by a test do not count).
int run_files(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    n += e.is_regular_file() && e.path().filename().string().ends_with(".run");
  }
  return n;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b < s.size()) {
    size_t e = s.find('\n', b);
    if (e == std::string::npos) e = s.size();
    out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

// The wall-clock values of #open and #close differ between runs; everything else must not.
std::string mask_times(const std::string& file) {
  std::string out;
  for (const std::string& l : lines_of(file)) {
    if (l.rfind("#open\t", 0) == 0) {
      out += "#open\tX\n";
    } else if (l.rfind("#close\t", 0) == 0) {
      out += "#close\tX\n";
    } else {
      out += l + "\n";
    }
  }
  return out;
}

std::vector<std::string> data_lines(const std::string& file) {
  std::vector<std::string> out;
  for (const std::string& l : lines_of(file)) {
    if (!l.empty() && l[0] != '#') out.push_back(l);
  }
  return out;
}

bool is_meta_time(const std::string& v) {
  if (v.size() != 19) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool dash = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
    if (dash ? v[i] != '-' : (v[i] < '0' || v[i] > '9')) return false;
  }
  return true;
}

// The rules of ../shared/tools/parity/zeeklog.py header_problems().
std::vector<std::string> header_problems(const std::string& file) {
  const auto l = lines_of(file);
  std::vector<std::string> probs;
  if (l.size() < 8) return {"fewer than 8 lines"};
  if (l[0] != "#separator \\x09") probs.push_back("first line is " + l[0]);
  const char* keys[] = {"#set_separator", "#empty_field", "#unset_field", "#path", "#open", "#fields", "#types"};
  for (int i = 0; i < 7; ++i) {
    if (l[static_cast<size_t>(i) + 1].rfind(std::string(keys[i]) + "\t", 0) != 0) {
      probs.push_back(std::string("expected ") + keys[i]);
    }
  }
  const auto tabs = [](const std::string& s) { return std::count(s.begin(), s.end(), '\t'); };
  if (tabs(l[6]) != tabs(l[7])) probs.push_back("#fields and #types differ in length");
  return probs;
}

std::vector<Rec> make_records(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Rec> out;
  for (size_t i = 0; i < n; ++i) {
    Rec r;
    r.ts = 1600000000000000000ull + (rng() % 50) * 1000000ull;  // many equal times
    if (rng() % 4 != 0) r.uid = Uid{rng() % 5, static_cast<uint32_t>(rng() % 3)};  // some unset, many equal
    r.n = rng() % 4;
    r.s = "rec" + std::to_string(rng() % 7);
    out.push_back(r);
  }
  return out;
}

// Which of `nsinks` sinks writes record i: every record of a connection goes to one worker, as the
// sensor's flow hash does; records without a uid to any.
size_t sink_of(const Rec& r, size_t i, size_t nsinks) {
  return r.uid.is_set() ? static_cast<size_t>(r.uid.hi * 31 + r.uid.lo) % nsinks : i % nsinks;
}

// `n` worker threads, each writing its share of `recs` (sink_of) through a sink of its own and handing
// over when asked, as the sensor's workers do; each counts itself in `done` when it has handed over all.
std::vector<std::thread> start_writers(LogManager& m, LogId id, const std::vector<Rec>& recs, size_t n,
                                       std::atomic<int>& done) {
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n; ++t) {
    threads.emplace_back([&m, &recs, &done, id, t, n] {
      auto sink = m.make_sink();
      for (size_t i = 0; i < recs.size(); ++i) {
        if (sink_of(recs[i], i, n) != t) continue;
        write_rec(*sink, id, recs[i]);
        if (sink->wants_handoff()) sink->handoff();
      }
      sink->handoff();
      ++done;
    });
  }
  return threads;
}

// Writes `recs` through `nsinks` sinks and returns test.log's bytes.
std::string run_manager(const std::string& name, const std::vector<Rec>& recs, size_t nsinks, size_t spill_bytes,
                        bool json = false) {
  const auto dir = ots::test::scratch_dir(name);
  {
    LogManager m(LogManager::Options{dir.string(), json, spill_bytes});
    const LogId id = m.add(test_schema());
    std::vector<std::unique_ptr<LogSink>> sinks;
    for (size_t i = 0; i < nsinks; ++i) sinks.push_back(m.make_sink());
    for (size_t i = 0; i < recs.size(); ++i) write_rec(*sinks[sink_of(recs[i], i, nsinks)], id, recs[i]);
    for (auto& s : sinks) s->handoff();
    m.close();
    REQUIRE(m.counts().size() == 1);
    CHECK(m.counts()[0].path == "test");
    CHECK(m.counts()[0].records == recs.size());
  }
  // Spill runs are temporary: nothing but the log is left.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"test.log"});
  return slurp(dir / "test.log");
}

}  // namespace

TEST_CASE("log manager merges two sinks written in interleaved order into one sorted file", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_interleaved");
  LogManager m(LogManager::Options{dir.string()});
  const LogId id = m.add(test_schema());
  auto a = m.make_sink();
  auto b = m.make_sink();
  const uint64_t base = 1646150638000000000ull;
  write_rec(*a, id, {base + 5000, Uid{1, 1}, 1, "a5"});
  write_rec(*b, id, {base + 3000, Uid{2, 2}, 2, "b3"});
  write_rec(*a, id, {base + 1000, Uid{3, 3}, 3, "a1"});
  write_rec(*b, id, {base + 7000, Uid{}, 4, "b7"});
  write_rec(*a, id, {base + 9000, Uid{5, 5}, 5, "a9"});
  write_rec(*b, id, {base + 2000, Uid{6, 6}, 6, "b2"});
  // Same time: unset uid first, then by uid, then by the line's bytes.
  write_rec(*a, id, {base + 4000, Uid{9, 0}, 7, "t-uid9"});
  write_rec(*b, id, {base + 4000, Uid{}, 8, "t-zz"});
  write_rec(*a, id, {base + 4000, Uid{}, 8, "t-aa"});
  write_rec(*b, id, {base + 4000, Uid{1, 0}, 9, "t-uid1"});
  // One connection's records of one time: in the order they were written (its worker's wire order).
  write_rec(*b, id, {base + 8000, Uid{4, 4}, 2, "zz"});
  write_rec(*b, id, {base + 8000, Uid{4, 4}, 1, "aa"});
  a->handoff();
  b->handoff();
  m.close();

  const std::string file = slurp(dir / "test.log");
  const auto d = data_lines(file);
  const std::string u1 = Uid{1, 1}.to_string(), u2 = Uid{2, 2}.to_string(), u3 = Uid{3, 3}.to_string(),
                    u5 = Uid{5, 5}.to_string(), u6 = Uid{6, 6}.to_string(), u9 = Uid{9, 0}.to_string(),
                    u10 = Uid{1, 0}.to_string(), u4 = Uid{4, 4}.to_string();
  const std::vector<std::string> want = {
      "1646150638.000001\t" + u3 + "\t3\ta1",   "1646150638.000002\t" + u6 + "\t6\tb2",
      "1646150638.000003\t" + u2 + "\t2\tb3",   "1646150638.000004\t-\t8\tt-aa",
      "1646150638.000004\t-\t8\tt-zz",          "1646150638.000004\t" + u10 + "\t9\tt-uid1",
      "1646150638.000004\t" + u9 + "\t7\tt-uid9", "1646150638.000005\t" + u1 + "\t1\ta5",
      "1646150638.000007\t-\t4\tb7",            "1646150638.000008\t" + u4 + "\t2\tzz",
      "1646150638.000008\t" + u4 + "\t1\taa",     "1646150638.000009\t" + u5 + "\t5\ta9"};
  CHECK(d == want);
  const auto l = lines_of(file);
  REQUIRE(l.size() == 8 + want.size() + 1);
  CHECK(l[4] == "#path\ttest");
  CHECK(l[6] == "#fields\tts\tuid\tn\ts");
  CHECK(l[7] == "#types\ttime\tstring\tcount\tstring");
  CHECK(header_problems(file).empty());
  REQUIRE(l.back().rfind("#close\t", 0) == 0);
  CHECK(is_meta_time(l.back().substr(7)));
  CHECK(is_meta_time(l[5].substr(6)));
  CHECK(file.back() == '\n');
}

TEST_CASE("log manager gives the same bytes for one sink and for several", "[logwriter]") {
  const auto recs = make_records(3000, 1);
  const std::string one = run_manager("logmgr_one", recs, 1, 256u << 20);
  const std::string three = run_manager("logmgr_three", recs, 3, 256u << 20);
  CHECK(data_lines(one).size() == recs.size());
  CHECK(mask_times(one) == mask_times(three));
  const auto d = data_lines(one);
  CHECK(std::is_sorted(d.begin(), d.end(), [](const std::string& x, const std::string& y) {
    return x.substr(0, 17) < y.substr(0, 17);  // same-width times: text order is time order
  }));
}

TEST_CASE("log manager spilling sorted runs gives the same file as keeping all in memory", "[logwriter]") {
  const auto recs = make_records(5000, 2);
  const std::string mem = run_manager("logmgr_mem", recs, 1, 256u << 20);
  const std::string spilled = run_manager("logmgr_spill", recs, 3, 2048);
  const std::string tiny = run_manager("logmgr_tiny", recs, 2, 1);
  CHECK(mask_times(mem) == mask_times(spilled));
  CHECK(mask_times(mem) == mask_times(tiny));
  const std::string mem_json = run_manager("logmgr_mem_json", recs, 1, 256u << 20, true);
  const std::string spilled_json = run_manager("logmgr_spill_json", recs, 4, 4096, true);
  CHECK(mem_json == spilled_json);
}

// Three logs written interleaved, spilled to many runs (each holding a part of every log) or kept in
// memory: every file the same. The final merge reads each log's part of each run on its own and writes
// the logs in parallel.
TEST_CASE("log manager spilling several logs to many runs gives the same files as keeping them in memory", "[logwriter]") {
  static const LogSchema third{"third", {{"ts", F::Time}, {"uid", F::String}, {"n", F::Count}, {"s", F::String}}};
  const auto recs = make_records(6000, 11);
  auto run = [&](const std::string& name, size_t spill_bytes) {
    const auto dir = ots::test::scratch_dir(name);
    {
      LogManager m(LogManager::Options{dir.string(), false, spill_bytes});
      const LogId t = m.add(test_schema());
      const LogId o = m.add(other_schema());
      const LogId h = m.add(third);
      auto a = m.make_sink();
      auto b = m.make_sink();
      for (size_t i = 0; i < recs.size(); ++i) {
        LogSink& s = i % 2 ? *a : *b;
        if (i % 3 == 0) {
          const Value v[2] = {Value{recs[i].ts}, Value{static_cast<int64_t>(i)}};
          s.write(o, recs[i].ts, Uid{}, v);
        } else {
          write_rec(s, i % 3 == 1 ? t : h, recs[i]);
        }
      }
      a->handoff();
      b->handoff();
      m.close();
    }
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"other.log", "test.log", "third.log"});
    return std::vector<std::string>{mask_times(slurp(dir / "test.log")), mask_times(slurp(dir / "other.log")),
                                    mask_times(slurp(dir / "third.log"))};
  };
  const auto mem = run("logmgr_multi_mem", 256u << 20);
  const auto spilled = run("logmgr_multi_spill", 4096);
  const auto tiny = run("logmgr_multi_tiny", 1);  // a run per hand-over: more than the merge's fan-in
  CHECK(data_lines(mem[0]).size() == 2000);
  CHECK(data_lines(mem[1]).size() == 2000);
  CHECK(data_lines(mem[2]).size() == 2000);
  CHECK(spilled == mem);
  CHECK(tiny == mem);
}

TEST_CASE("log manager spills to hidden run files and removes them after the merge", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_runs");
  LogManager m(LogManager::Options{dir.string(), false, 512});
  const LogId id = m.add(test_schema());
  auto s = m.make_sink();
  const auto recs = make_records(200, 3);
  for (const Rec& r : recs) write_rec(*s, id, r);
  s->handoff();
  m.settle();  // the log thread formats and spills what was handed over
  size_t runs = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    CHECK(n[0] == '.');
    ++runs;
  }
  CHECK(runs > 1);
  m.flush();
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"test.log"});
  CHECK(data_lines(slurp(dir / "test.log")).size() == recs.size());
}

// A run file that cannot be written (a full disk; here a directory in its place): the spill's records
// stay in memory, later spills go on, and the flush writes every record once, in order.
TEST_CASE("log manager keeps the records of a spill it cannot write and loses none", "[logwriter]") {
  const auto recs = make_records(3000, 7);
  const std::string mem = run_manager("logmgr_spillfail_mem", recs, 1, 256u << 20);
  const auto dir = ots::test::scratch_dir("logmgr_spillfail");
  const fs::path blocked = dir / (".ots-spill-" + std::to_string(::getpid()) + "-0.run");
  fs::create_directory(blocked);
  {
    LogManager m(LogManager::Options{dir.string(), false, 4096});
    const LogId id = m.add(test_schema());
    write_settled(m, id, recs, 500);
    CHECK(run_files(dir) > 1);  // the later spills were written
    m.close();
    REQUIRE(m.counts().size() == 1);
    CHECK(m.counts()[0].records == recs.size());
  }
  fs::remove(blocked);
  CHECK(mask_times(slurp(dir / "test.log")) == mask_times(mem));
}

// After a failed spill its records are back in memory, past the budget still: the next attempt waits until
// twice as much is buffered, instead of sorting and trying to write everything again at each hand-over.
TEST_CASE("log manager backs off after a spill it cannot write", "[logwriter]") {
  const auto recs = make_records(3000, 7);
  const std::string mem = run_manager("logmgr_spillretry_mem", recs, 1, 256u << 20);
  const auto dir = ots::test::scratch_dir("logmgr_spillretry");
  const auto run_path = [&](int n) {
    return dir / (".ots-spill-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".run");
  };
  for (int n = 0; n < 3; ++n) fs::create_directory(run_path(n));
  constexpr size_t kBudget = 4096;
  {
    LogManager m(LogManager::Options{dir.string(), false, kBudget});
    const LogId id = m.add(test_schema());
    write_settled(m, id, recs, 20);
    // Attempts 0, 1 and 2 failed (past 4, 8 and 16 KiB); the fourth came past 32 KiB and was written.
    // Retried at every hand-over, it would have come a few hand-overs after the first failure.
    REQUIRE(fs::is_regular_file(run_path(3)));
    CHECK(fs::file_size(run_path(3)) > 6 * kBudget);
    m.close();
    REQUIRE(m.counts().size() == 1);
    CHECK(m.counts()[0].records == recs.size());
  }
  for (int n = 0; n < 3; ++n) fs::remove(run_path(n));
  CHECK(mask_times(slurp(dir / "test.log")) == mask_times(mem));
}

// More runs than one merge reads at once are first merged in groups; when such a group's merge cannot be
// written (a full disk; here a directory in its place), the logs are merged from all the runs at once
// instead of being lost with them.
TEST_CASE("log manager writes every record when merging groups of runs fails", "[logwriter]") {
  const auto recs = make_records(3000, 7);
  const std::string mem = run_manager("logmgr_fanin_mem", recs, 1, 256u << 20);
  const auto dir = ots::test::scratch_dir("logmgr_fanin");
  std::vector<fs::path> blocked;
  {
    LogManager m(LogManager::Options{dir.string(), false, 1024});
    const LogId id = m.add(test_schema());
    write_settled(m, id, recs, 30);
    const int runs = run_files(dir);
    REQUIRE(runs > 64);  // more than one merge reads at once: the flush merges groups of them first
    for (int n = runs; n < runs + 4; ++n) {
      blocked.push_back(dir / (".ots-spill-" + std::to_string(::getpid()) + "-" + std::to_string(n) + ".run"));
      fs::create_directory(blocked.back());
    }
    m.close();
    REQUIRE(m.counts().size() == 1);
    CHECK(m.counts()[0].records == recs.size());
  }
  for (const fs::path& b : blocked) fs::remove(b);
  CHECK(mask_times(slurp(dir / "test.log")) == mask_times(mem));
  CHECK(run_files(dir) == 0);  // every run removed once written
}

TEST_CASE("log manager with workers on threads matches one sink", "[logwriter]") {
  const auto recs = make_records(20000, 4);
  const std::string one = run_manager("logmgr_thr_one", recs, 1, 256u << 20);
  const auto dir = ots::test::scratch_dir("logmgr_thr_many");
  {
    LogManager m(LogManager::Options{dir.string(), false, 64u << 10});
    const LogId id = m.add(test_schema());
    std::atomic<int> done{0};
    std::vector<std::thread> threads = start_writers(m, id, recs, 4, done);
    for (int i = 0; i < 20; ++i) {
      m.request_handoff();
      std::this_thread::yield();
    }
    for (auto& th : threads) th.join();
    m.close();
  }
  CHECK(mask_times(one) == mask_times(slurp(dir / "test.log")));
}

TEST_CASE("log manager writes one file per log, none for a log without records", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_files");
  LogManager m(LogManager::Options{dir.string()});
  const LogId t = m.add(test_schema());
  const LogId o = m.add(other_schema());
  static const LogSchema never{"never", {{"ts", F::Time}}};
  m.add(never);
  auto s = m.make_sink();
  write_rec(*s, t, {2000000000, Uid{}, 1, "x"});
  const Value v[2] = {Value{uint64_t{1000000000}}, Value{int64_t{-3}}};
  s->write(o, 1000000000, Uid{}, v);
  s->write(static_cast<LogId>(99), 0, Uid{}, v);  // unregistered: dropped
  s->handoff();
  m.close();
  CHECK(fs::exists(dir / "test.log"));
  CHECK(fs::exists(dir / "other.log"));
  CHECK(!fs::exists(dir / "never.log"));
  CHECK(data_lines(slurp(dir / "other.log")) == std::vector<std::string>{"1.000000\t-3"});
  const auto c = m.counts();
  REQUIRE(c.size() == 3);
  CHECK(c[0].records == 1);
  CHECK(c[1].path == "other");
  CHECK(c[1].records == 1);
  CHECK(c[2].records == 0);
}

TEST_CASE("log manager flushes in steps and closes with #close", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_steps");
  LogManager m(LogManager::Options{dir.string()});
  const LogId id = m.add(test_schema());
  auto s = m.make_sink();
  write_rec(*s, id, {1000, Uid{}, 1, "first"});
  s->handoff();
  m.flush();
  std::string file = slurp(dir / "test.log");
  CHECK(data_lines(file) == std::vector<std::string>{"0.000001\t-\t1\tfirst"});
  CHECK(file.find("#close") == std::string::npos);
  write_rec(*s, id, {2000, Uid{}, 2, "second"});
  s->handoff();
  m.close();
  file = slurp(dir / "test.log");
  const auto l = lines_of(file);
  REQUIRE(l.size() == 11);
  CHECK(l[8] == "0.000001\t-\t1\tfirst");
  CHECK(l[9] == "0.000002\t-\t2\tsecond");
  CHECK(l[10].rfind("#close\t", 0) == 0);
  CHECK(header_problems(file).empty());
}

TEST_CASE("log manager reopen closes each file with #close and starts a fresh header", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_reopen");
  LogManager m(LogManager::Options{dir.string()});
  const LogId id = m.add(test_schema());
  auto s = m.make_sink();
  write_rec(*s, id, {1000, Uid{}, 1, "before"});
  s->handoff();
  m.flush();
  // logrotate moves the file, then signals.
  fs::rename(dir / "test.log", dir / "test.log.1");
  m.reopen();
  write_rec(*s, id, {2000, Uid{}, 2, "after"});
  s->handoff();
  m.close();
  const std::string old_file = slurp(dir / "test.log.1");
  const std::string new_file = slurp(dir / "test.log");
  CHECK(data_lines(old_file) == std::vector<std::string>{"0.000001\t-\t1\tbefore"});
  CHECK(lines_of(old_file).back().rfind("#close\t", 0) == 0);
  CHECK(header_problems(new_file).empty());
  CHECK(data_lines(new_file) == std::vector<std::string>{"0.000002\t-\t2\tafter"});
  CHECK(lines_of(new_file).back().rfind("#close\t", 0) == 0);

  // Without a rotation the reopened file is appended to, not truncated.
  const auto dir2 = ots::test::scratch_dir("logmgr_reopen_inplace");
  LogManager m2(LogManager::Options{dir2.string()});
  const LogId id2 = m2.add(test_schema());
  auto s2 = m2.make_sink();
  write_rec(*s2, id2, {1000, Uid{}, 1, "before"});
  s2->handoff();
  m2.reopen();
  write_rec(*s2, id2, {2000, Uid{}, 2, "after"});
  s2->handoff();
  m2.close();
  const std::string both = slurp(dir2 / "test.log");
  CHECK(data_lines(both) == std::vector<std::string>{"0.000001\t-\t1\tbefore", "0.000002\t-\t2\tafter"});
  size_t headers = 0, closes = 0;
  for (const auto& l : lines_of(both)) {
    headers += l.rfind("#separator", 0) == 0;
    closes += l.rfind("#close", 0) == 0;
  }
  CHECK(headers == 2);
  CHECK(closes == 2);
}

TEST_CASE("log manager JSON files have no header or footer and parse line by line", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_json");
  {
    LogManager m(LogManager::Options{dir.string(), true});
    const LogId id = m.add(test_schema());
    auto s = m.make_sink();
    write_rec(*s, id, {1362692526869344000ull, Uid{1, 2}, 5, "x\ty"});
    write_rec(*s, id, {1362692526000000000ull, Uid{}, 6, "\xff"});
    s->handoff();
    // The destructor closes.
  }
  const auto l = lines_of(slurp(dir / "test.log"));
  REQUIRE(l.size() == 2);
  CHECK(l[0] == "{\"ts\":1362692526.0,\"n\":6,\"s\":\"\\\\xff\"}");
  const auto j = nlohmann::json::parse(l[1]);
  CHECK(j["ts"].get<double>() == 1362692526.869344);
  CHECK(j["uid"] == Uid{1, 2}.to_string());
  CHECK(j["s"] == "x\ty");
}

TEST_CASE("log manager sinks report a requested hand-over once", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_wants");
  LogManager m(LogManager::Options{dir.string()});
  m.add(test_schema());
  auto s = m.make_sink();
  CHECK(!s->wants_handoff());
  m.request_handoff();
  CHECK(s->wants_handoff());
  s->handoff();
  CHECK(!s->wants_handoff());
  auto late = m.make_sink();  // made after the request: nothing owed
  CHECK(!late->wants_handoff());
}

TEST_CASE("log manager creates its directory and refuses one it cannot write", "[logwriter]") {
  const auto base = ots::test::scratch_dir("logmgr_dirs");
  {
    LogManager m(LogManager::Options{(base / "a" / "b").string()});
    CHECK(fs::is_directory(base / "a" / "b"));
  }
  // A path through a regular file cannot be created, whoever runs the test.
  std::ofstream(base / "file") << "x";
  try {
    LogManager m(LogManager::Options{(base / "file" / "logs").string()});
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK(what.find((base / "file" / "logs").string()) != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
  }
  CHECK_THROWS_AS(LogManager(LogManager::Options{(base / "file").string()}), std::runtime_error);
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directories(base / "ro");
    ::chmod((base / "ro").c_str(), 0555);
    CHECK_THROWS_AS(LogManager(LogManager::Options{(base / "ro").string()}), std::runtime_error);
    ::chmod((base / "ro").c_str(), 0755);
  }
}

TEST_CASE("log manager TSV files pass the parity tool's header check", "[logwriter]") {
  const auto recs = make_records(10, 5);
  run_manager("logmgr_parity", recs, 1, 256u << 20);
  const auto file = ots::test::scratch_root() / "logmgr_parity" / "test.log";
  CHECK(header_problems(slurp(file)).empty());
  const auto tool = ots::test::shared_dir() / "tools" / "parity" / "zeeklog.py";
  if (ots::test::shared_dir().empty() || !fs::exists(tool) || !fs::exists("/usr/bin/python3")) {
    WARN("zeeklog.py or python3 not found; checked with the C++ rules only");
    return;
  }
  const std::string cmd = "/usr/bin/python3 -c \"import sys; sys.path.insert(0, sys.argv[1]); import zeeklog; "
                          "p = zeeklog.header_problems(sys.argv[2]); print(p) if p else None; "
                          "rows = zeeklog.read(sys.argv[2]); sys.exit(1 if p or len(rows) != 10 else 0)\" '" +
                          tool.parent_path().string() + "' '" + file.string() + "'";
  CHECK(std::system(cmd.c_str()) == 0);
}

// After close() there is no log thread: a hand-over formats on the sink's own thread, into records no
// flush writes any more, and must neither wait for the thread nor touch the freed manager.
TEST_CASE("a sink that hands over after its manager closed neither hangs nor writes", "[logwriter]") {
  const auto dir = ots::test::scratch_dir("logmgr_late_sink");
  std::unique_ptr<LogSink> s;
  LogId id = 0;
  {
    LogManager m(LogManager::Options{dir.string()});
    id = m.add(test_schema());
    s = m.make_sink();
    write_rec(*s, id, {1600000000000000000ull, Uid{1, 1}, 1, "before"});
    s->handoff();
    m.close();
    write_rec(*s, id, {1600000001000000000ull, Uid{1, 1}, 2, "after close"});
    s->handoff();
  }
  write_rec(*s, id, {1600000002000000000ull, Uid{1, 1}, 3, "after the manager"});
  s->handoff();
  s.reset();
  const auto d = data_lines(slurp(dir / "test.log"));
  REQUIRE(d.size() == 1);
  CHECK(d[0].find("before") != std::string::npos);
}

// As a live run flushes every second while its workers write: hand-overs, formatting, spills and
// flushes all at once. Every record reaches the file once (flushes write in steps, so the file holds
// each step's records in order; the set of lines is the one a single flush at the end writes).
TEST_CASE("log manager flushing while workers write and spill loses and repeats nothing", "[logwriter]") {
  const auto recs = make_records(8000, 21);
  const std::string once = run_manager("logmgr_live_once", recs, 1, 256u << 20);
  for (const size_t spill : {size_t{2048}, size_t{64} << 10}) {
    const auto dir = ots::test::scratch_dir("logmgr_live_" + std::to_string(spill));
    {
      LogManager m(LogManager::Options{dir.string(), false, spill});
      const LogId id = m.add(test_schema());
      std::atomic<int> done{0};
      std::vector<std::thread> threads = start_writers(m, id, recs, 2, done);
      while (done.load() < 2) {
        m.request_handoff();
        m.flush();
      }
      for (auto& th : threads) th.join();
      m.close();
    }
    auto got = data_lines(mask_times(slurp(dir / "test.log")));
    auto want = data_lines(mask_times(once));
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    CHECK(names == std::vector<std::string>{"test.log"});
  }
}
