#include "output/syslog_spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace ots {

namespace {

constexpr size_t kHeader = 8;                 // u32 length, u32 CRC-32C
constexpr uint32_t kMaxRecord = 16u << 20;    // no message is this long: a larger length is damage
constexpr size_t kReadWindow = 256u << 10;
constexpr size_t kWriteBuffer = 1u << 20;

// CRC-32C (Castagnoli, reflected 0x82F63B78), as iSCSI and ext4 use it for the same purpose.
constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

uint32_t crc32c(const char* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = kCrcTable[(c ^ static_cast<uint8_t>(p[i])) & 0xFF] ^ (c >> 8);
  return ~c;
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

bool parse_segment_name(const std::string& name, uint64_t& id) {
  if (name.size() != 24 || name.compare(20, 4, ".seg") != 0) return false;
  id = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    id = id * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return id != 0;
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

SyslogSpool::SyslogSpool(const std::string& dir, uint64_t max_bytes, uint64_t segment_bytes)
    : dir_(dir), max_bytes_(max_bytes) {
  segment_bytes_ = segment_bytes ? segment_bytes : std::clamp<uint64_t>(max_bytes / 16, 64u << 10, 64u << 20);
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create spool_dir '{}': {}", dir_, ec.message()));
  const std::string lock = dir_ + "/lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", lock, std::strerror(errno)));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(lock_fd_);
    throw std::runtime_error(e == EWOULDBLOCK
                                 ? fmt::format("spool_dir '{}' is in use by another otsensor process", dir_)
                                 : fmt::format("cannot lock {}: {}", lock, std::strerror(e)));
  }
  scan();
  if (segs_.empty()) {
    open_active(1, true);
  } else {
    open_active(segs_.back().id, false);
    if (active_fd_ >= 0 && segs_.back().size >= segment_bytes_) roll();
  }
  if (active_fd_ < 0) {
    ::close(lock_fd_);
    throw std::runtime_error(io_error_);
  }
}

SyslogSpool::~SyslogSpool() {
  sync();
  save_ack();
  if (active_fd_ >= 0) ::close(active_fd_);
  if (read_fd_ >= 0) ::close(read_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

std::string SyslogSpool::seg_path(uint64_t id) const { return fmt::format("{}/{:020}.seg", dir_, id); }

void SyslogSpool::set_error(const std::string& what) {
  io_error_ = fmt::format("spool {}: {}", what, std::strerror(errno));
}

SyslogSpool::Segment* SyslogSpool::find(uint64_t id) {
  for (Segment& s : segs_)
    if (s.id == id) return &s;
  return nullptr;
}

bool SyslogSpool::fill(uint64_t segment, uint64_t offset, size_t need) {
  if (rbuf_seg_ == segment && offset >= rbuf_off_ && offset + need <= rbuf_off_ + rbuf_len_) return true;
  if (read_fd_seg_ != segment) {
    if (read_fd_ >= 0) ::close(read_fd_);
    read_fd_ = ::open(seg_path(segment).c_str(), O_RDONLY | O_CLOEXEC);
    read_fd_seg_ = read_fd_ >= 0 ? segment : ~0ull;
    if (read_fd_ < 0) return false;
  }
  // Grown, never shrunk: growing a string zero-fills it, and a sender that keeps up with the notices
  // refills the window for nearly every message (it reads the tail of the segment being appended to).
  if (rbuf_.size() < std::max(need, kReadWindow)) rbuf_.resize(std::max(need, kReadWindow));
  size_t got = 0;
  while (got < rbuf_.size()) {
    const ssize_t r = ::pread(read_fd_, rbuf_.data() + got, rbuf_.size() - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  rbuf_len_ = got;
  rbuf_seg_ = segment;
  rbuf_off_ = offset;
  return got >= need;
}

void SyslogSpool::scan() {
  std::vector<uint64_t> ids;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      uint64_t id = 0;
      if (parse_segment_name(e->d_name, id)) ids.push_back(id);
    }
    ::closedir(d);
  }
  std::sort(ids.begin(), ids.end());
  SpoolPos acked{0, 0};
  if (FILE* f = std::fopen((dir_ + "/acked").c_str(), "r")) {
    unsigned long long s = 0, o = 0;
    if (std::fscanf(f, "%llu %llu", &s, &o) == 2) acked = {s, o};
    std::fclose(f);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    if (id < acked.segment) {
      ::unlink(seg_path(id).c_str());  // delivered; its deletion was cut short
      continue;
    }
    struct stat st {};
    if (::stat(seg_path(id).c_str(), &st) != 0) continue;
    const auto file_size = static_cast<uint64_t>(st.st_size);
    Segment seg{id, 0, 0};
    uint64_t acked_records = 0;
    bool damaged = false;
    while (seg.size + kHeader <= file_size) {
      if (!fill(id, seg.size, kHeader)) break;
      const char* h = rbuf_.data() + (seg.size - rbuf_off_);
      const uint32_t len = get_u32(h), crc = get_u32(h + 4);
      if (len == 0 || len > kMaxRecord || seg.size + kHeader + len > file_size || !fill(id, seg.size, kHeader + len) ||
          crc32c(rbuf_.data() + (seg.size - rbuf_off_) + kHeader, len) != crc) {
        damaged = true;
        break;
      }
      if (id == acked.segment && seg.size + kHeader + len <= acked.offset) ++acked_records;
      seg.size += kHeader + len;
      ++seg.records;
    }
    if (damaged || seg.size < file_size) {
      // A torn last record (the sensor or the machine stopped mid-write) or a damaged disk block: the
      // rest of this segment cannot be framed. The last segment is cut there so that appends continue
      // on a clean boundary; an earlier one keeps its bytes but is read only up to the damage.
      ++corrupt_;
      if (i + 1 == ids.size()) {
        if (::truncate(seg_path(id).c_str(), static_cast<off_t>(seg.size)) != 0) set_error("truncate");
      }
    }
    if (id == acked.segment) {
      // An acknowledged offset inside a record (or past the damage) means: resend from the record's start.
      uint64_t off = 0, n = 0;
      while (n < acked_records) {
        fill(id, off, kHeader);
        off += kHeader + get_u32(rbuf_.data() + (off - rbuf_off_));
        ++n;
      }
      ack_ = {id, off};
      acked_in_seg_ = acked_records;
    }
    segs_.push_back(seg);
    total_bytes_ += seg.size;
  }
  rbuf_seg_ = ~0ull;
  if (!segs_.empty() && ack_.segment < segs_.front().id) {
    ack_ = {segs_.front().id, 0};
    acked_in_seg_ = 0;
  }
  normalise_ack();
  read_ = ack_;
  recovered_ = pending();
}

void SyslogSpool::open_active(uint64_t id, bool fresh) {
  active_fd_ = ::open(seg_path(id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (active_fd_ < 0) {
    set_error(fmt::format("cannot open {}", seg_path(id)));
    return;
  }
  if (fresh) {
    segs_.push_back(Segment{id, 0, 0});
    dir_dirty_ = true;
    if (segs_.size() == 1) {
      ack_ = read_ = {id, 0};
      acked_in_seg_ = 0;
    }
  }
}

void SyslogSpool::roll() {
  flush();
  if (!wbuf_.empty()) return;  // cannot write: keep appending to the buffer of this segment
  if (data_dirty_ && ::fdatasync(active_fd_) == 0) data_dirty_ = false;
  ::close(active_fd_);
  open_active(segs_.back().id + 1, true);
  if (active_fd_ < 0) {
    // Keep the old segment active: reopen it for appending.
    active_fd_ = ::open(seg_path(segs_.back().id).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    return;
  }
  normalise_ack();
}

void SyslogSpool::delete_front() {
  const Segment s = segs_.front();
  if (read_fd_seg_ == s.id) {
    ::close(read_fd_);
    read_fd_ = -1;
    read_fd_seg_ = ~0ull;
  }
  if (rbuf_seg_ == s.id) rbuf_seg_ = ~0ull;
  ::unlink(seg_path(s.id).c_str());
  total_bytes_ -= s.size;
  segs_.pop_front();
  dir_dirty_ = true;
}

void SyslogSpool::normalise_ack() {
  // Segments before the acknowledged position, or acknowledged to their end, are delivered.
  while (segs_.size() > 1 && (ack_.segment < segs_.front().id ||
                              (ack_.segment == segs_.front().id && ack_.offset >= segs_.front().size))) {
    if (ack_.segment == segs_.front().id) {
      delete_front();
      ack_ = {segs_.front().id, 0};
      acked_in_seg_ = 0;
    } else {
      ack_ = {segs_.front().id, 0};
      acked_in_seg_ = 0;
    }
  }
  if (read_ < ack_) read_ = ack_;
}

void SyslogSpool::drop_oldest(uint64_t& dropped) {
  const Segment& f = segs_.front();
  dropped += f.records - (ack_.segment == f.id ? acked_in_seg_ : 0);
  delete_front();
  ack_ = {segs_.front().id, 0};
  acked_in_seg_ = 0;
  if (read_ < ack_) read_ = ack_;
}

uint64_t SyslogSpool::append(std::string_view msg) {
  const uint64_t rec = kHeader + msg.size();
  if (rec > max_bytes_ || msg.empty() || msg.size() > kMaxRecord) return 1;
  if (segs_.back().size > 0 && segs_.back().size + rec > segment_bytes_) roll();
  uint64_t dropped = 0;
  while (total_bytes_ + rec > max_bytes_) {
    if (segs_.size() == 1) {
      roll();
      if (segs_.size() == 1) return 1;  // cannot start a new segment: this message is the one lost
    }
    drop_oldest(dropped);
  }
  put_u32(wbuf_, static_cast<uint32_t>(msg.size()));
  put_u32(wbuf_, crc32c(msg.data(), msg.size()));
  wbuf_.append(msg);
  segs_.back().size += rec;
  ++segs_.back().records;
  total_bytes_ += rec;
  if (wbuf_.size() >= kWriteBuffer) flush();
  return dropped;
}

void SyslogSpool::flush() {
  size_t done = 0;
  while (done < wbuf_.size()) {
    const ssize_t w = ::write(active_fd_, wbuf_.data() + done, wbuf_.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      set_error("write");
      // A partial record may be on disk now: the next open cuts it (a torn record). Until then the bytes
      // that were written are not written again.
      wbuf_.erase(0, done);
      return;
    }
    done += static_cast<size_t>(w);
    data_dirty_ = true;
  }
  wbuf_.clear();
  io_error_.clear();
}

void SyslogSpool::sync() {
  flush();
  if (data_dirty_ && active_fd_ >= 0) {
    if (::fdatasync(active_fd_) == 0) {
      data_dirty_ = false;
    } else {
      set_error("fdatasync");
    }
  }
  if (dir_dirty_) {
    fsync_dir(dir_);
    dir_dirty_ = false;
  }
}

bool SyslogSpool::next(std::string& msg, SpoolPos& after) {
  if (!wbuf_.empty()) flush();
  for (;;) {
    Segment* s = find(read_.segment);
    if (!s) {
      // Dropped under the cursor: continue with the oldest segment after it.
      auto it = std::find_if(segs_.begin(), segs_.end(), [&](const Segment& x) { return x.id > read_.segment; });
      if (it == segs_.end()) return false;
      read_ = {it->id, 0};
      continue;
    }
    const bool active = s == &segs_.back();
    const uint64_t limit = s->size - (active ? wbuf_.size() : 0);
    if (read_.offset + kHeader > limit) {
      if (active) return false;
      auto it = std::find_if(segs_.begin(), segs_.end(), [&](const Segment& x) { return x.id > s->id; });
      read_ = {it->id, 0};
      continue;
    }
    const uint64_t off = read_.offset;
    uint32_t len = 0;
    const bool ok = fill(s->id, off, kHeader) && (len = get_u32(rbuf_.data() + (off - rbuf_off_))) > 0 &&
                    len <= kMaxRecord && off + kHeader + len <= limit && fill(s->id, off, kHeader + len) &&
                    crc32c(rbuf_.data() + (off - rbuf_off_) + kHeader, len) ==
                        get_u32(rbuf_.data() + (off - rbuf_off_) + 4);
    if (!ok) {
      // Damage that appeared after the scan (the disk): skip the rest of the segment.
      ++corrupt_;
      if (active) return false;
      read_.offset = s->size;
      continue;
    }
    msg.assign(rbuf_.data() + (off - rbuf_off_) + kHeader, len);
    read_.offset = off + kHeader + len;
    after = read_;
    return true;
  }
}

void SyslogSpool::ack(SpoolPos after) {
  if (after <= ack_) return;
  if (after.segment != ack_.segment) {
    while (segs_.size() > 1 && segs_.front().id < after.segment) delete_front();
    acked_in_seg_ = 0;
  }
  ack_ = after;
  ++acked_in_seg_;
  normalise_ack();
}

void SyslogSpool::save_ack() {
  if (ack_ == saved_ack_) return;
  const std::string tmp = dir_ + "/acked.tmp", dst = dir_ + "/acked";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    set_error("cannot write acked.tmp");
    return;
  }
  const std::string text = fmt::format("{} {}\n", ack_.segment, ack_.offset);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), dst.c_str()) != 0) {
    set_error("cannot replace acked");
    return;
  }
  fsync_dir(dir_);
  saved_ack_ = ack_;
}

uint64_t SyslogSpool::pending() const {
  uint64_t n = 0;
  for (const Segment& s : segs_)
    if (s.id >= ack_.segment) n += s.records;
  return n - acked_in_seg_;
}

}  // namespace ots
