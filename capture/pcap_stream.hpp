// A capture that arrives through a FIFO, a pipe or a character device (`-r /tmp/fifo`, `-r /dev/stdin`),
// read without blocking the run loop.
//
// libpcap reads files with fread(), which blocks while a writer pauses (tcpdump -U into a FIFO, a slow
// replay): the run loop would then sit in pcap_next_ex() and the records its worker threads already made
// would wait there too, alerts included (issue 2). So for such inputs libpcap reads from a FILE of ours
// (fopencookie) that hands out bytes this class has already read from the descriptor, made non-blocking and
// watched with poll(). The source calls pcap_next_ex() only when record_ready() says the next record is
// complete here (it knows the pcap and pcapng framing, nothing more), and otherwise returns Idle after its
// idle wait. Should that framing ever let a call through early, the FILE blocks for the missing bytes
// (what reading a FIFO did before): a late record, never a torn one. Regular files do not use this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ots {

class PcapStream {
 public:
  // Takes `fd` (opened for reading; made non-blocking here; closed with the FILE).
  explicit PcapStream(int fd);
  ~PcapStream();
  PcapStream(const PcapStream&) = delete;
  PcapStream& operator=(const PcapStream&) = delete;

  // The FILE for pcap_fopen_offline(); the caller's pcap_close() (or fclose()) closes it, and the
  // descriptor, but not this object, which must outlive it. Null when fopencookie failed (errno set).
  FILE* file() const { return file_; }

  // Reads from the descriptor, after waiting up to `wait_ms` (-1: without limit) for it to become
  // readable, until the next record is complete or nothing more is there. False at the end of the stream
  // (the writer closed it) or on a read error.
  bool fill(int wait_ms);
  // The bytes the next pcap_next_ex() reads are all here (or the stream ended: libpcap then sees the end,
  // or a truncated record, as it would in a file).
  bool record_ready();
  bool ended() const { return eof_; }

 private:
  static ssize_t cookie_read(void* cookie, char* buf, size_t size);
  static int cookie_close(void* cookie);
  size_t available() const { return end_ - head_; }
  // A little-endian (or, with `swapped`, big-endian) 32-bit value at offset `at` of the unread bytes.
  uint32_t u32(size_t at, bool swapped) const;
  bool pcap_record_ready();
  bool pcapng_block_ready();

  int fd_;
  FILE* file_ = nullptr;
  std::vector<uint8_t> buf_;
  size_t head_ = 0;  // the next byte libpcap reads
  size_t end_ = 0;   // the end of what was read from fd_
  bool eof_ = false;
  // The format, from the start of the stream (known once its first 12 bytes are in: a pcapng section
  // header's byte-order magic is at offset 8).
  enum class Format : uint8_t { Unknown, Pcap, Pcapng, Other };
  void detect_format(const uint8_t* data, size_t n);
  uint8_t magic_[12] = {};
  size_t magic_len_ = 0;
  Format format_ = Format::Unknown;
  bool pcap_swapped_ = false;  // pcap: the file is big-endian
  size_t pcap_header_ = 16;    // pcap: a record header's size (24 in the old "modified" format)
  bool ng_swapped_ = false;    // pcapng: the current section is big-endian
};

}  // namespace ots
