#include "output/sorted_run.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ots {

void sort_records(std::vector<RecordRef>& v) {
  const auto less = [](const RecordRef& a, const RecordRef& b) { return record_less(a, b); };
  if (std::is_sorted(v.begin(), v.end(), less)) return;
  struct Key {
    uint64_t ts_ns;
    size_t at;
  };
  std::vector<Key> keys(v.size());
  for (size_t i = 0; i < v.size(); ++i) keys[i] = Key{v[i].ts_ns, i};
  std::sort(keys.begin(), keys.end(), [&v](const Key& a, const Key& b) {
    if (a.ts_ns != b.ts_ns) return a.ts_ns < b.ts_ns;
    return record_less(v[a.at], v[b.at]);
  });
  std::vector<RecordRef> sorted;
  sorted.reserve(v.size());
  for (const Key& k : keys) sorted.push_back(v[k.at]);
  v.swap(sorted);
}

namespace {

constexpr size_t kIoChunk = 1u << 20;
// Smaller for reading: a merge holds one buffer per run it reads.
constexpr size_t kReadChunk = 256u << 10;

// The fixed part of a record in a run file (host byte order: runs never leave this process).
struct RunHeader {
  uint64_t ts_ns;
  uint64_t uid_hi;
  uint64_t seq;
  uint32_t uid_lo;
  uint32_t len;
  uint16_t log;
  uint8_t pad[6];
};
static_assert(sizeof(RunHeader) == 40);

bool write_all(int fd, const char* p, size_t n, int& err) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

RunWriter::~RunWriter() {
  if (fd_ >= 0) ::close(fd_);
}

bool RunWriter::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    err_ = errno;
    return false;
  }
  buf_.reserve(kIoChunk + 4096);
  return true;
}

bool RunWriter::drain() {
  if (err_ == 0 && !buf_.empty()) write_all(fd_, buf_.data(), buf_.size(), err_);
  drained_ += buf_.size();
  buf_.clear();
  return err_ == 0;
}

bool RunWriter::add(const RecordRef& r) {
  if (err_ != 0) return false;
  if (starts_.empty() || starts_.back().first != r.log) starts_.emplace_back(r.log, drained_ + buf_.size());
  RunHeader h{};
  h.ts_ns = r.ts_ns;
  h.uid_hi = r.uid_hi;
  h.seq = r.seq;
  h.uid_lo = r.uid_lo;
  h.len = r.len;
  h.log = r.log;
  buf_.append(reinterpret_cast<const char*>(&h), sizeof h);
  buf_.append(r.line, r.len);
  return buf_.size() < kIoChunk || drain();
}

bool RunWriter::finish() {
  drain();
  if (fd_ >= 0 && ::close(fd_) != 0 && err_ == 0) err_ = errno;
  fd_ = -1;
  return err_ == 0;
}

RunReader::RunReader(const std::string& path, uint64_t offset) : path_(path), buf_(new char[kReadChunk]) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("cannot open spill file " + path + ": " + std::strerror(errno));
  if (offset != 0 && ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    const int err = errno;
    ::close(fd_);
    throw std::runtime_error("cannot seek in spill file " + path + ": " + std::strerror(err));
  }
}

RunReader::~RunReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool RunReader::read_exact(void* dst, size_t n) {
  auto* out = static_cast<char*>(dst);
  size_t got = 0;
  while (got < n) {
    if (pos_ == end_) {
      ssize_t r;
      do {
        r = ::read(fd_, buf_.get(), kReadChunk);
      } while (r < 0 && errno == EINTR);
      if (r < 0) throw std::runtime_error("cannot read spill file " + path_ + ": " + std::strerror(errno));
      if (r == 0) {
        if (got == 0) return false;
        throw std::runtime_error("spill file " + path_ + " is truncated");
      }
      pos_ = 0;
      end_ = static_cast<size_t>(r);
    }
    const size_t take = std::min(n - got, end_ - pos_);
    std::memcpy(out + got, buf_.get() + pos_, take);
    pos_ += take;
    got += take;
  }
  return true;
}

bool RunReader::next() {
  RunHeader h;
  // Most records lie whole in the read buffer: the line is then read where it is, not copied (a merge
  // reads every spilled record back once, at the end of a run, while nothing else runs).
  if (end_ - pos_ >= sizeof h) {
    std::memcpy(&h, buf_.get() + pos_, sizeof h);
    pos_ += sizeof h;
  } else if (!read_exact(&h, sizeof h)) {
    return false;
  }
  if (h.len <= end_ - pos_) {
    cur_.line = buf_.get() + pos_;
    pos_ += h.len;
  } else {
    line_.resize(h.len);
    if (!read_exact(line_.data(), h.len)) throw std::runtime_error("spill file " + path_ + " is truncated");
    cur_.line = line_.data();
  }
  cur_.ts_ns = h.ts_ns;
  cur_.uid_hi = h.uid_hi;
  cur_.seq = h.seq;
  cur_.uid_lo = h.uid_lo;
  cur_.len = h.len;
  cur_.log = h.log;
  return true;
}

}  // namespace ots
