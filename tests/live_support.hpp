// Helpers of the live-capture tests: child processes, network namespaces, waiting for a condition, and
// reading the logs a live run wrote. Every test that uses a namespace needs root; without it (or without
// namespaces) the test process exits 77 (CTest: skipped) and says why.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "tests/test_support.hpp"

namespace ots::test {

// A process of ours: started with its output in a file, killed (SIGKILL) if still running when the test
// leaves, however it leaves.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::filesystem::path& output) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  void signal(int sig) const {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
  }
  // The exit code (128 + signal when killed), or nothing when it is still running after `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!status_) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

inline bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

inline bool file_has(const std::filesystem::path& p, const std::string& text) {
  return read_file(p).find(text) != std::string::npos;
}

// Waits for `cond`; on a timeout the test fails with what the sensor printed so far.
#define REQUIRE_WITHIN(limit, out, ...)                                                        \
  do {                                                                                          \
    if (!wait_for([&] { return (__VA_ARGS__); }, limit)) {                                        \
      FAIL("timed out waiting for " #__VA_ARGS__ "; sensor output:\n" << read_file(out / "sensor.out")); \
    }                                                                                           \
  } while (0)

inline void skip(const std::string& why) {
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
  std::exit(77);
}

// Namespaces of this test process (otsn<pid><suffix>), deleted when it leaves, however it leaves; those
// of test processes that died without cleaning up are deleted on the way in.
class Netns {
 public:
  explicit Netns(const std::string& suffix) : name_("otsn" + std::to_string(::getpid()) + suffix) {
    remove_stale();
    if (::geteuid() != 0) skip("live capture tests need root (network namespaces, packet capture)");
    const auto r = run("ip netns add " + name_);
    if (r.exit_code != 0) skip("network namespaces are not available here: " + r.output);
    created_ = true;
    exec_ok("ip -n " + name_ + " link set lo up");
  }
  ~Netns() {
    if (created_) run("ip netns del " + name_);
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // argv prefix that runs a command inside.
  std::vector<std::string> exec(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
    return argv;
  }
  std::string shell(const std::string& cmd) const { return "ip netns exec " + name_ + " " + cmd; }
  void exec_ok(const std::string& cmd) const {
    const auto r = run(cmd);
    INFO(cmd << ": " << r.output);
    REQUIRE(r.exit_code == 0);
  }

 private:
  static void remove_stale() {
    const auto list = run("ip netns list");
    std::istringstream in(list.output);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("otsn", 0) != 0) continue;
      const std::string name = line.substr(0, line.find(' '));
      size_t i = 4;
      while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i]))) ++i;
      const std::string pid = name.substr(4, i - 4);
      if (!pid.empty() && !std::filesystem::exists("/proc/" + pid)) run("ip netns del " + name);
    }
  }
  std::string name_;
  bool created_ = false;
};

inline std::vector<std::map<std::string, std::string>> rows_where(const std::filesystem::path& log,
                                                                  const std::string& field, const std::string& value) {
  std::vector<std::map<std::string, std::string>> out;
  for (auto& r : log_rows(log)) {
    if (r[field] == value) out.push_back(r);
  }
  return out;
}

// The file ends with Zeek's #close line.
inline bool closed(const std::filesystem::path& log) {
  const std::string s = read_file(log);
  if (s.size() < 2 || s.back() != '\n') return false;
  const size_t nl = s.rfind('\n', s.size() - 2);
  return s.compare(nl == std::string::npos ? 0 : nl + 1, 7, "#close\t") == 0;
}

// The writing end of a FIFO that a sensor replays (`-r FIFO`): made fresh; try_open() succeeds once the
// sensor has opened its end (the open is non-blocking, ENXIO while nobody reads, so a sensor that died
// fails the test instead of hanging it), after which writes block; close() is the sensor's end of input.
class FifoWriter {
 public:
  explicit FifoWriter(std::filesystem::path path) : path_(std::move(path)) {
    ::signal(SIGPIPE, SIG_IGN);  // a sensor that stopped reading shows as EPIPE
    std::filesystem::remove(path_);
    made_ = ::mkfifo(path_.c_str(), 0600) == 0;
  }
  ~FifoWriter() { close(); }
  FifoWriter(const FifoWriter&) = delete;
  FifoWriter& operator=(const FifoWriter&) = delete;

  bool made() const { return made_; }
  const std::filesystem::path& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool try_open() {
    if (fd_ >= 0) return true;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) return false;
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
    return true;
  }
  bool write(std::string_view bytes) {
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  std::filesystem::path path_;
  bool made_ = false;
  int fd_ = -1;
};

}  // namespace ots::test
