// Paths and helpers the tests share.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace ots::test {

inline std::filesystem::path source_dir() { return OTS_SOURCE_DIR; }
inline std::filesystem::path binary_dir() { return OTS_BINARY_DIR; }

// ../shared beside the checkout (or $OTS_SHARED_DIR), or empty when absent.
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("OTS_SHARED_DIR"); env && *env) return env;
  auto p = source_dir().parent_path() / "shared";
  return std::filesystem::is_directory(p / "pcaps") ? p : std::filesystem::path{};
}

// Call first in a test that needs the real captures: exits the test process with 77 (CTest: skipped)
// and says why when ../shared is not there.
inline std::filesystem::path require_shared() {
  auto p = shared_dir();
  if (p.empty()) {
    std::fprintf(stderr, "SKIPPED: ../shared (real ICS captures and tshark oracle) not found; set OTS_SHARED_DIR\n");
    std::exit(77);
  }
  return p;
}

// A fresh, empty directory for one test's output under the build tree. CTest runs every test case in
// its own process, in parallel, so the directory is per process (test-scratch/<pid>/<name>): two
// processes that ask for the same name must not delete each other's files. Directories of processes
// that have ended are removed on the way.
inline std::filesystem::path scratch_root() {
  namespace fs = std::filesystem;
  static const fs::path root = [] {
    const fs::path base = binary_dir() / "test-scratch";
    std::error_code ec;
    fs::create_directories(base, ec);
    for (const auto& e : fs::directory_iterator(base, ec)) {
      const std::string n = e.path().filename().string();
      if (n.empty() || !std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
      if (!fs::exists(fs::path("/proc") / n)) fs::remove_all(e.path(), ec);
    }
    return base / std::to_string(::getpid());
  }();
  return root;
}

inline std::filesystem::path scratch_dir(const std::string& name) {
  auto p = scratch_root() / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

// The otsensor binary of this build.
inline std::string otsensor() { return (binary_dir() / "otsensor").string(); }

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line, capturing its output and exit code.
inline CommandResult run(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int st = pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// config/site.example.yaml as text, for tests that write a variant of it elsewhere: its `rules:` path is
// relative to config/ (the loader resolves it against the model's directory), so it is made absolute.
inline std::string example_site_model() {
  std::string m = read_file(source_dir() / "config" / "site.example.yaml");
  const std::string relative = "\nrules: [../rules/";
  if (const size_t at = m.find(relative); at != std::string::npos)
    m.replace(at, relative.size(), "\nrules: [" + (source_dir() / "rules").string() + "/");
  return m;
}

// A log's data lines (no '#' meta lines), in file order.
inline std::vector<std::string> log_lines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream f(p);
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

// A Zeek TSV log's data lines as column name -> text, by its #fields line.
inline std::vector<std::map<std::string, std::string>> log_rows(const std::filesystem::path& p) {
  std::vector<std::string> fields;
  std::vector<std::map<std::string, std::string>> rows;
  std::ifstream f(p);
  for (std::string line; std::getline(f, line);) {
    std::vector<std::string> cols;
    size_t start = 0;
    for (size_t i = 0; i <= line.size(); ++i) {
      if (i == line.size() || line[i] == '\t') {
        cols.push_back(line.substr(start, i - start));
        start = i + 1;
      }
    }
    if (line.rfind("#fields", 0) == 0) {
      fields.assign(cols.begin() + 1, cols.end());
    } else if (!line.empty() && line[0] != '#') {
      std::map<std::string, std::string> row;
      for (size_t i = 0; i < fields.size() && i < cols.size(); ++i) row[fields[i]] = cols[i];
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

// A log file without its #open/#close lines (their wall-clock times differ between runs).
inline std::string log_without_times(const std::filesystem::path& p) {
  std::string out;
  std::ifstream f(p);
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("#open", 0) == 0 || line.rfind("#close", 0) == 0) continue;
    out += line;
    out += '\n';
  }
  return out;
}

// Every capture file below a directory, sorted.
inline std::vector<std::filesystem::path> captures_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng" || ext == ".cap")) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ots::test
