// A packet source over a capture file read with read(2) into a buffer of its own, whose bursts are views
// into that buffer: no per-record system call, stdio call or copy. The file's format (classic pcap,
// pcapng) is a parser of records in place; this holds what both share: the buffer and its refills, the
// end of a burst where a record is cut by the buffer's end, truncated and damaged files, counters.
//
// Internal to capture/: the sources are made by open_pcap_file() (capture/pcap_file_sources.hpp).
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capture/packet_source.hpp"

namespace ots {

// What a format's parse() found at the front of the unread bytes.
struct RecordParse {
  enum Kind : uint8_t {
    Packet,   // `size` bytes make a packet, whose view parse() filled in (all but ingress and link)
    Skip,     // `size` bytes make a block with no packet (pcapng's statistics, names, ...), or one that
              // changes the format's state (a new interface): consumed. `size` may pass the bytes there
              // are, even the buffer's size: the source reads past them (the format cannot look at them)
    Need,     // the record is not all there yet; `size` is how many bytes it needs, when known
    Damaged,  // the file cannot be read on from here; the format's problem() says why
  };
  Kind kind;
  size_t size;
};

// The buffer's size: it must hold the largest record or block a format accepts, plus a burst's worth;
// 16 reads of the file a MiB.
inline constexpr size_t kFileSourceBuffer = size_t{1} << 20;

// Format: a class with
//   RecordParse parse(const uint8_t* bytes, size_t avail, PacketView& out);
//   std::string problem() const;  // why the last Damaged
//   bool mid_record() const;       // whether the bytes read so far end inside a record (the file may
//                                  // not end here)
template <class Format>
class BufferedFileSource final : public PacketSource {
 public:
  static constexpr size_t kBuffer = kFileSourceBuffer;
  // A burst starts with a refill when fewer bytes than this are left, so that bursts stay full (a
  // record cut by the buffer's end ends its burst early); moving that many bytes is cheap beside a read.
  static constexpr size_t kRefillBelow = size_t{64} << 10;

  // Takes `fd`, positioned at the first record `format` parses.
  BufferedFileSource(int fd, Format format, std::string path, uint16_t ingress, LinkType link)
      : fd_(fd),
        format_(std::move(format)),
        name_(std::move(path)),
        ingress_(ingress),
        link_(link),
        buf_(std::make_unique_for_overwrite<uint8_t[]>(kBuffer)) {}
  ~BufferedFileSource() override { ::close(fd_); }
  BufferedFileSource(const BufferedFileSource&) = delete;
  BufferedFileSource& operator=(const BufferedFileSource&) = delete;

  SourceStatus next_burst(PacketBurst& out) override {
    out.count = 0;
    if (done_) return SourceStatus::End;
    // The previous burst's views die here, so its bytes may move.
    if (end_ - pos_ < kRefillBelow && !eof_ && !refill()) return SourceStatus::End;
    size_t n = 0;
    while (n < PacketBurst::kMaxPackets) {
      const size_t avail = end_ - pos_;
      PacketView& v = out.pkts[n];
      const RecordParse r = format_.parse(buf_.get() + pos_, avail, v);
      if (r.kind == RecordParse::Packet) {
        v.ingress = ingress_;
        v.link = link_;
        ++stats_.packets;
        stats_.bytes += v.caplen;
        pos_ += r.size;
        ++n;
      } else if (r.kind == RecordParse::Skip) {
        if (r.size <= avail) {
          pos_ += r.size;
        } else {  // a block larger than the buffer: the refills read past the rest of it
          skip_ = r.size - avail;
          pos_ = end_;
          if (eof_) {
            give_up("truncated capture, last record incomplete",
                    " (" + std::to_string(skip_) + " bytes of a skipped block missing)");
            break;
          }
          if (n || !refill()) break;  // these views must stay put: the next burst refills
        }
      } else if (r.kind == RecordParse::Damaged) {
        give_up("damaged record", ", rest of the file skipped (" + format_.problem() + ")");
        break;
      } else if (n) {
        break;  // these views must stay put: the next burst refills
      } else if (!eof_ && avail < kBuffer) {
        if (!refill()) break;
      } else if (!eof_) {  // formats cap their records well below the buffer: never, but never a spin
        give_up("damaged record", ", rest of the file skipped (a record over " + std::to_string(kBuffer) + " bytes)");
        break;
      } else {
        if (avail == 0 && !format_.mid_record()) {
          done_ = true;
        } else {
          const std::string of = r.size > avail ? " of " + std::to_string(r.size) : std::string();
          give_up("truncated capture, last record incomplete",
                  " (" + std::to_string(avail) + of + " bytes of its record in the file)");
        }
        break;
      }
    }
    out.count = n;
    return n ? SourceStatus::Ok : SourceStatus::End;
  }

  const std::string& name() const override { return name_; }
  SourceStats stats() const override { return stats_; }
  std::string error() const override { return {}; }  // every failure after the header is a warning
  std::vector<std::string> take_warnings() override {
    std::vector<std::string> w;
    w.swap(warnings_);
    return w;
  }

 private:
  // Moves the unread bytes to the front and reads after them until the buffer is full or the file ends,
  // first reading past what is left of a skipped block. False after a read error, or when the file
  // ends inside a skipped block (both reported).
  bool refill() {
    for (;;) {
      const size_t left = end_ - pos_;
      if (left && pos_) std::memmove(buf_.get(), buf_.get() + pos_, left);
      pos_ = 0;
      end_ = left;
      while (end_ < kBuffer && !eof_) {
        const ssize_t got = ::read(fd_, buf_.get() + end_, kBuffer - end_);
        if (got < 0) {
          if (errno == EINTR) continue;
          give_up("read error", std::string(", rest of the file skipped (") + std::strerror(errno) + ")");
          return false;
        }
        if (got == 0) eof_ = true;
        end_ += static_cast<size_t>(got);
      }
      if (skip_ == 0) return true;
      const size_t past = std::min(skip_, end_);
      pos_ = past;
      skip_ -= past;
      if (skip_ == 0) return true;
      if (eof_) {
        give_up("truncated capture, last record incomplete",
                " (" + std::to_string(skip_) + " bytes of a skipped block missing)");
        return false;
      }
    }
  }

  // Ends the file early: a truncated last record, a damaged record or a read error. Not fatal for the
  // run (a capture cut by a full disk or a killed tcpdump is common): the packets before it are all we get.
  void give_up(const std::string& what, const std::string& why) {
    warnings_.push_back(name_ + ": " + what + " after " + std::to_string(stats_.packets) + " packets" + why);
    ++stats_.damaged;
    done_ = true;
  }

  int fd_;
  Format format_;
  std::string name_;
  uint16_t ingress_;
  LinkType link_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t pos_ = 0;  // next record
  size_t end_ = 0;  // bytes read
  size_t skip_ = 0;  // bytes of a skipped block still to read past
  bool eof_ = false;
  bool done_ = false;
  SourceStats stats_;
  std::vector<std::string> warnings_;
};

}  // namespace ots
