// Signals on a replay: SIGTERM/SIGINT end it early with every flow flushed and every log closed (exit 0);
// SIGHUP reopens the logs. The capture comes through a FIFO, packet by packet, so the sensor is still
// reading when the signal arrives. (Live runs: tests/test_live_capture.cpp.)
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "tests/packet_builder.hpp"
#include "tests/test_support.hpp"

namespace fs = std::filesystem;
using namespace ots::test;
using namespace std::chrono_literals;

extern char** environ;

namespace {

// Writes a pcap header, then one UDP datagram of one flow every 20 ms, until the reader goes away (EPIPE)
// or `limit` datagrams are written.
class FifoFeeder {
 public:
  FifoFeeder(const fs::path& fifo, int limit) {
    thread_ = std::thread([this, fifo, limit] {
      FILE* f = std::fopen(fifo.c_str(), "wb");  // blocks until the sensor opens it
      if (!f) return;
      const auto le32 = [&](uint32_t v) {
        for (int i = 0; i < 4; ++i) std::fputc(static_cast<int>((v >> (8 * i)) & 0xff), f);
      };
      le32(0xa1b2c3d4);
      le32(2 | (4u << 16));
      le32(0);
      le32(0);
      le32(65535);
      le32(1);
      const V4Addr a{10, 2, 0, 1}, b{10, 2, 0, 2};
      V4Spec ip;
      ip.src = a;
      ip.dst = b;
      ip.proto = 17;
      const Bytes frame = eth(0x0800, ipv4(ip, udp(50000, 50001, text("hello"), pseudo(a, b))));
      for (int i = 0; i < limit; ++i) {
        le32(1'700'000'000u + static_cast<uint32_t>(i));  // a datagram a second of packet time
        le32(0);
        le32(static_cast<uint32_t>(frame.size()));
        le32(static_cast<uint32_t>(frame.size()));
        const bool ok = std::fwrite(frame.data(), 1, frame.size(), f) == frame.size() && std::fflush(f) == 0;
        if (!ok) break;  // EPIPE: the sensor has stopped reading
        written_ = i + 1;
        std::this_thread::sleep_for(20ms);
      }
      std::fclose(f);
    });
  }
  ~FifoFeeder() { thread_.join(); }
  int written() const { return written_; }

 private:
  std::thread thread_;
  std::atomic<int> written_{0};
};

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

bool closed(const fs::path& log) {
  const std::string s = read_file(log);
  if (s.size() < 2 || s.back() != '\n') return false;
  const size_t nl = s.rfind('\n', s.size() - 2);
  return s.compare(nl == std::string::npos ? 0 : nl + 1, 7, "#close\t") == 0;
}

struct Spawned {
  pid_t pid = -1;
  Spawned() = default;
  Spawned(Spawned&& o) noexcept : pid(std::exchange(o.pid, -1)) {}
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;
  ~Spawned() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  int wait() {
    int st = 0;
    ::waitpid(pid, &st, 0);
    pid = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
};

Spawned spawn_sensor(const std::vector<std::string>& args, const fs::path& output) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<std::string> all = {otsensor()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  Spawned s;
  if (posix_spawn(&s.pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) s.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return s;
}

void stop_replay_early(int sig) {
  ::signal(SIGPIPE, SIG_IGN);  // the feeder learns that the sensor stopped from EPIPE
  const auto out = scratch_dir("signal_stop_" + std::to_string(sig));
  const auto fifo = out / "capture.pcap";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  constexpr int kLimit = 3000;  // a minute of feeding: far more than the test waits
  Spawned sensor = spawn_sensor({"-r", fifo.string(), "-l", (out / "logs").string()}, out / "sensor.out");
  REQUIRE(sensor.pid > 0);
  {
    FifoFeeder feeder(fifo, kLimit);
    REQUIRE(wait_for([&] { return feeder.written() >= 40; }, 20s));
    ::kill(sensor.pid, sig);
    const int rc = sensor.wait();
    INFO(read_file(out / "sensor.out"));
    CHECK(rc == 0);
  }
  const auto logs = out / "logs";
  // The flow still open at the stop was ended and written; the replay did not read to the end.
  const auto conn = log_rows(logs / "conn.log");
  REQUIRE(conn.size() == 1);
  CHECK(conn[0].at("id.resp_p") == "50001");
  const int pkts = std::stoi(conn[0].at("orig_pkts"));
  CHECK(pkts >= 32);
  CHECK(pkts < kLimit);
  CHECK(closed(logs / "conn.log"));
}

}  // namespace

TEST_CASE("SIGTERM ends a replay early: flows flushed, logs closed, exit 0", "[signals]") { stop_replay_early(SIGTERM); }

TEST_CASE("SIGINT ends a replay early: flows flushed, logs closed, exit 0", "[signals]") { stop_replay_early(SIGINT); }
