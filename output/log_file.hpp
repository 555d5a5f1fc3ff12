// One open log file, written through a large buffer with write(2). Used by the log manager on the thread
// that flushes; errors throw std::runtime_error naming the file.
#pragma once

#include <string>
#include <string_view>

namespace ots {

class LogFile {
 public:
  LogFile() = default;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  LogFile(LogFile&& o) noexcept;
  LogFile& operator=(LogFile&& o) noexcept;
  ~LogFile();  // best effort: writes what is buffered, ignores errors

  bool is_open() const { return fd_ >= 0; }
  // `truncate` starts the file afresh (a new run, as Zeek does); otherwise appends, so a reopen that
  // no rotation preceded loses nothing.
  void open(const std::string& path, bool truncate);
  void write(std::string_view s);
  void flush();
  void close();

 private:
  void write_raw(const char* p, size_t n);
  int fd_ = -1;
  std::string path_;
  std::string buf_;
};

}  // namespace ots
