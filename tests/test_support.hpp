// Paths and helpers the tests share.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

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

// A fresh, empty directory for one test's output under the build tree.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto p = binary_dir() / "test-scratch" / name;
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p;
}

}  // namespace ots::test
