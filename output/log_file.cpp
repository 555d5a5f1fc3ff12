#include "output/log_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace ots {

namespace {
constexpr size_t kBufBytes = 1u << 20;
}

LogFile::LogFile(LogFile&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), buf_(std::move(o.buf_)) {}

LogFile& LogFile::operator=(LogFile&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    path_ = std::move(o.path_);
    buf_ = std::move(o.buf_);
  }
  return *this;
}

LogFile::~LogFile() {
  if (fd_ < 0) return;
  try {
    flush();
  } catch (...) {
  }
  ::close(fd_);
}

void LogFile::open(const std::string& path, bool truncate) {
  close();
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
  fd_ = ::open(path.c_str(), flags, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  path_ = path;
  buf_.reserve(kBufBytes);
}

void LogFile::write_raw(const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void LogFile::write(std::string_view s) {
  if (buf_.size() + s.size() > kBufBytes) flush();
  if (s.size() >= kBufBytes) {
    write_raw(s.data(), s.size());
  } else {
    buf_.append(s);
  }
}

void LogFile::flush() {
  if (fd_ < 0 || buf_.empty()) return;
  // Cleared even when the write fails, so that nothing is written twice.
  struct ClearOnExit {
    std::string& b;
    ~ClearOnExit() { b.clear(); }
  } clear{buf_};
  write_raw(buf_.data(), buf_.size());
}

void LogFile::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  try {
    flush();
  } catch (...) {
    ::close(fd);
    fd_ = -1;
    throw;
  }
  fd_ = -1;
  if (::close(fd) != 0) throw std::runtime_error("cannot close " + path_ + ": " + std::strerror(errno));
}

}  // namespace ots
