#include "capture/pcap_stream.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ots {

namespace {

// Bytes asked of the descriptor per read(). fill() reads until the next record is complete, so the sensor
// holds at most this much beyond it, as stdio's buffer (a few KiB) did: what the writer wrote after a
// signal (a SIGHUP's reload) is still mostly in the FIFO, and meets the new configuration
// (tests/test_sighup_reload.cpp relies on that).
constexpr size_t kReadChunk = 8192;
// libpcap refuses larger records and blocks (MAXIMUM_SNAPLEN; pcapng's largest block, 16 MiB) without
// reading their bodies: such a record is "ready", libpcap reports the damage at once.
constexpr uint32_t kMaxPcapRecord = 262144;
constexpr uint32_t kMaxPcapngBlock = 16u << 20;

constexpr uint32_t kPcapngShb = 0x0A0D0D0A;  // a palindrome: the same in either byte order
constexpr uint32_t kPcapngByteOrder = 0x1A2B3C4D;

uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint32_t be32(const uint8_t* p) {
  return uint32_t{p[3]} | uint32_t{p[2]} << 8 | uint32_t{p[1]} << 16 | uint32_t{p[0]} << 24;
}

}  // namespace

PcapStream::PcapStream(int fd) : fd_(fd) {
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
  cookie_io_functions_t io{};
  io.read = &PcapStream::cookie_read;
  io.close = &PcapStream::cookie_close;
  file_ = ::fopencookie(this, "rb", io);
  if (!file_) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  // Unbuffered: every fread() of libpcap's reaches cookie_read() with the size it wants, so head_ is
  // exactly where libpcap is, which record_ready() relies on. No system call per read: they copy from buf_.
  std::setvbuf(file_, nullptr, _IONBF, 0);
}

PcapStream::~PcapStream() = default;  // the FILE's owner closed it (and fd_) already

int PcapStream::cookie_close(void* cookie) {
  auto& s = *static_cast<PcapStream*>(cookie);
  const int rc = s.fd_ >= 0 ? ::close(s.fd_) : 0;
  s.fd_ = -1;
  s.file_ = nullptr;
  return rc;
}

ssize_t PcapStream::cookie_read(void* cookie, char* buf, size_t size) {
  auto& s = *static_cast<PcapStream*>(cookie);
  // Opening (libpcap reads the file header and, in pcapng, up to the first interface) and any read the
  // framing let through early wait here for the bytes, as a blocking read would.
  while (s.available() == 0 && !s.eof_) {
    if (!s.fill(-1) && s.available() == 0) break;
  }
  const size_t n = std::min(size, s.available());
  if (n) std::memcpy(buf, s.buf_.data() + s.head_, n);
  s.head_ += n;
  return static_cast<ssize_t>(n);  // 0: the end of the stream
}

void PcapStream::detect_format(const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n && magic_len_ < sizeof magic_; ++i) magic_[magic_len_++] = data[i];
  if (magic_len_ < sizeof magic_) return;
  const uint32_t m = le32(magic_);
  const uint32_t swapped = be32(magic_);
  format_ = Format::Other;
  // pcap: microsecond and nanosecond magics, and the old "modified" format with its longer record header.
  for (const uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du, 0xa1b2cd34u}) {
    if (m == magic || swapped == magic) {
      format_ = Format::Pcap;
      pcap_swapped_ = m != magic;
      pcap_header_ = magic == 0xa1b2cd34u ? 24 : 16;
    }
  }
  if (m == kPcapngShb) {
    format_ = Format::Pcapng;
    ng_swapped_ = le32(magic_ + 8) != kPcapngByteOrder;  // libpcap refuses the file if neither order fits
  }
}

bool PcapStream::fill(int wait_ms) {
  if (eof_ || fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  const int rc = ::poll(&p, 1, wait_ms);
  if (rc < 0 && errno != EINTR) {
    eof_ = true;
    return false;
  }
  if (rc <= 0) return true;  // nothing yet (or a signal: the run loop looks at it)
  // Drop what libpcap has read before reading more.
  if (head_ > 0) {
    std::memmove(buf_.data(), buf_.data() + head_, end_ - head_);
    end_ -= head_;
    head_ = 0;
  }
  for (;;) {
    if (buf_.size() < end_ + kReadChunk) buf_.resize(end_ + kReadChunk);
    const ssize_t n = ::read(fd_, buf_.data() + end_, kReadChunk);
    if (n > 0) {
      if (format_ == Format::Unknown) detect_format(buf_.data() + end_, static_cast<size_t>(n));
      end_ += static_cast<size_t>(n);
      if (record_ready()) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    eof_ = true;  // 0: the writer closed its end; an error ends the stream as the end of a file would
    return false;
  }
  return true;
}

uint32_t PcapStream::u32(size_t at, bool swapped) const {
  const uint8_t* p = buf_.data() + head_ + at;
  return swapped ? be32(p) : le32(p);
}

bool PcapStream::record_ready() {
  if (eof_) return true;
  switch (format_) {
    case Format::Pcap: return pcap_record_ready();
    case Format::Pcapng: return pcapng_block_ready();
    // A format this framing does not know (libpcap refused it at open anyway): read as before.
    default: return available() > 0;
  }
}

// A record header (caplen at offset 8), then caplen bytes.
bool PcapStream::pcap_record_ready() {
  if (available() < pcap_header_) return false;
  const uint32_t caplen = u32(8, pcap_swapped_);
  return caplen > kMaxPcapRecord || available() >= pcap_header_ + caplen;
}

// pcap_next_ex() reads blocks until a packet block: ready when a whole packet block is here, with every
// block before it. Each block: type, total length, ...; a section header carries its byte order.
bool PcapStream::pcapng_block_ready() {
  size_t at = 0;
  bool swapped = ng_swapped_;
  for (;;) {
    if (available() - at < 12) return false;
    const uint32_t type = u32(at, swapped);
    if (type == kPcapngShb) {
      const uint32_t bom = u32(at + 8, false);
      if (bom == kPcapngByteOrder) swapped = false;
      else if (u32(at + 8, true) == kPcapngByteOrder) swapped = true;
      else return true;  // libpcap reports the damage
    }
    const uint32_t len = u32(at + 4, swapped);
    if (len < 12 || len > kMaxPcapngBlock) return true;
    if (available() - at < len) return false;
    // Enhanced, simple and obsolete packet blocks end the read.
    if (type == 6 || type == 3 || type == 2) {
      // The blocks before it are read by the same call: a section header among them sets the order.
      ng_swapped_ = swapped;
      return true;
    }
    at += len;
  }
}

}  // namespace ots
