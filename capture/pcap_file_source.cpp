// Packet source reading pcap and pcapng files through libpcap (the only file that sees pcap_t), and
// open_pcap_file(), which hands classic pcap and pcapng files to our own readers
// (capture/pcap_classic_source.cpp, capture/pcapng_source.cpp).
//
// libpcap reuses its record buffer on every pcap_next_ex(), but a burst's views must all stay valid
// until the next burst, so each record is copied into an arena the source owns and reuses: after the
// first bursts it has the capacity it needs and no burst allocates.
//
// A FIFO, a pipe or a character device is read through a PcapStream (capture/pcap_stream.hpp): a pause
// of its writer makes next_burst() return Idle after the idle wait instead of blocking the run loop.
#include <fcntl.h>
#include <stdio_ext.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "capture/packet_source.hpp"
#include "capture/pcap_file_fields.hpp"
#include "capture/pcap_file_sources.hpp"
#include "capture/pcap_stream.hpp"

namespace ots {

namespace {

// How long next_burst() waits for a stream's next record by default (the run loop sets its own).
constexpr int kDefaultIdleWaitMs = 20;

// pcap_datalink() gives DLT_ values (libpcap maps the file's LINKTYPE_ to them). On Linux those we decode
// are the LINKTYPE_ values themselves but raw IP's (DLT_RAW 12 for LINKTYPE_RAW 101), which our readers'
// table takes too: one table for both.
bool map_link_type(int dlt, LinkType& out) { return dlt >= 0 && link_from_linktype(static_cast<uint32_t>(dlt), out); }

class PcapFileSource final : public PacketSource {
 public:
  PcapFileSource(pcap_t* p, std::unique_ptr<PcapStream> stream, std::unique_ptr<char[]> io_buffer, std::string path,
                 uint16_t ingress, LinkType link)
      : pcap_(p),
        stream_(std::move(stream)),
        io_buffer_(std::move(io_buffer)),
        name_(std::move(path)),
        ingress_(ingress),
        link_(link) {}
  // Closes the FILE (the stream's, or the one over io_buffer_); stream_ and io_buffer_ go after.
  ~PcapFileSource() override { pcap_close(pcap_); }
  PcapFileSource(const PcapFileSource&) = delete;
  PcapFileSource& operator=(const PcapFileSource&) = delete;

  SourceStatus next_burst(PacketBurst& out) override;
  const std::string& name() const override { return name_; }
  SourceStats stats() const override { return stats_; }
  std::string error() const override { return error_; }
  void set_idle_wait(int milliseconds) override { idle_wait_ms_ = milliseconds; }
  std::vector<std::string> take_warnings() override {
    std::vector<std::string> w;
    w.swap(warnings_);
    return w;
  }

 private:
  void read_failed();
  // Streams: whether the next record can be read without waiting, after waiting up to the idle wait for
  // it when `may_wait`.
  bool stream_ready(bool may_wait);

  pcap_t* pcap_;
  std::unique_ptr<PcapStream> stream_;  // FIFOs, pipes, devices; null for a regular file
  std::unique_ptr<char[]> io_buffer_;   // a regular file's stdio buffer (see open_pcap_file)
  int idle_wait_ms_ = kDefaultIdleWaitMs;
  std::string name_;
  uint16_t ingress_;
  LinkType link_;
  SourceStats stats_;
  std::string error_;
  std::vector<std::string> warnings_;
  bool done_ = false;
  std::vector<uint8_t> arena_;
  size_t offsets_[PacketBurst::kMaxPackets] = {};
};

// A read error after the file header: libpcap cannot resynchronise, so the packets before it are all
// we get. Not fatal for the run (a capture cut by a full disk or a killed tcpdump is common).
void PcapFileSource::read_failed() {
  const std::string why = pcap_geterr(pcap_);
  const std::string n = std::to_string(stats_.packets);
  if (why.find("truncated") != std::string::npos) {
    warnings_.push_back(name_ + ": truncated capture, last record incomplete after " + n + " packets (libpcap: " +
                        why + ")");
  } else {
    warnings_.push_back(name_ + ": read error after " + n + " packets, rest of the file skipped (libpcap: " + why +
                        ")");
  }
  ++stats_.damaged;
  done_ = true;
}

bool PcapFileSource::stream_ready(bool may_wait) {
  if (stream_->record_ready()) return true;
  stream_->fill(0);  // what arrived since the last look
  if (stream_->record_ready()) return true;
  if (!may_wait) return false;
  stream_->fill(idle_wait_ms_);
  return stream_->record_ready();
}

SourceStatus PcapFileSource::next_burst(PacketBurst& out) {
  out.count = 0;
  if (done_) return SourceStatus::End;
  size_t used = 0;
  size_t n = 0;
  while (n < PacketBurst::kMaxPackets) {
    // A stream hands over the records it has; with none, the loop gets Idle and its turn (stages, signals).
    if (stream_ && !stream_ready(n == 0)) {
      if (n == 0) return SourceStatus::Idle;
      break;
    }
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    const int rc = pcap_next_ex(pcap_, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) {  // end of file
      done_ = true;
      break;
    }
    if (rc != 1) {
      read_failed();
      break;
    }
    const size_t caplen = hdr->caplen;
    // Grows only while warming up; views are pointed into the arena after the burst is complete,
    // since growing moves it.
    if (used + caplen > arena_.size()) arena_.resize(std::max(used + caplen, arena_.size() * 2));
    if (caplen) std::memcpy(arena_.data() + used, data, caplen);
    offsets_[n] = used;
    used += caplen;

    PacketView& v = out.pkts[n];
    // The file was opened with nanosecond precision: libpcap scales µs files, tv_usec holds ns.
    const int64_t sec = hdr->ts.tv_sec;
    v.ts_ns = sec < 0 ? 0 : static_cast<uint64_t>(sec) * 1'000'000'000ull + static_cast<uint64_t>(hdr->ts.tv_usec);
    v.caplen = hdr->caplen;
    v.wirelen = hdr->len;
    v.ingress = ingress_;
    v.link = link_;
    ++stats_.packets;
    stats_.bytes += caplen;
    ++n;
  }
  for (size_t i = 0; i < n; ++i) out.pkts[i].data = arena_.data() + offsets_[i];
  out.count = n;
  return n ? SourceStatus::Ok : SourceStatus::End;
}

// Opens `path` (not a directory) read-only: the descriptor, and whether it is a regular file. A FIFO's
// open waits for its writer, as tcpdump -r does.
int open_capture(const std::string& path, bool& regular, std::string& err) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    err = "cannot open " + path + ": " + std::strerror(EISDIR);
    return -1;
  }
  // Opened here rather than by pcap_open_offline so that "cannot open" and "not a capture" are told apart.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    err = "cannot open " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  }
  regular = S_ISREG(st.st_mode);
  return fd;
}

// libpcap's reader over `fd` (at the start of the file), which it takes.
std::unique_ptr<PacketSource> open_libpcap_fd(int fd, bool regular, const std::string& path, uint16_t ingress,
                                              std::string& err) {
  std::error_code ec;
  std::unique_ptr<PcapStream> stream;
  std::unique_ptr<char[]> io_buffer;  // declared before fp: freed after any fclose below
  FILE* fp = nullptr;
  if (regular) {
    // libpcap reads a file through stdio, whose buffer is a page by default: a read() system call every
    // 4 KiB, 400,000 of them per 1.5 GB capture. glibc takes a size only with a buffer of ours.
    constexpr size_t kIoBuffer = size_t{1} << 20;
    io_buffer = std::make_unique<char[]>(kIoBuffer);
    fp = ::fdopen(fd, "rb");
    if (fp) std::setvbuf(fp, io_buffer.get(), _IOFBF, kIoBuffer);
  } else {
    stream = std::make_unique<PcapStream>(fd);  // takes fd
    fp = stream->file();
  }
  if (!fp) {
    err = "cannot open " + path + ": " + std::strerror(errno);
    if (!stream) ::close(fd);
    return nullptr;
  }
  // Once the sensor has started a thread, glibc locks a FILE around every fread (libpcap makes two a
  // packet), each lock and unlock an atomic read-modify-write. Only the capture loop's thread reads this
  // FILE, one call at a time, so the locks guard nothing; a single-threaded reader (the floor) never takes
  // them.
  ::__fsetlocking(fp, FSETLOCKING_BYCALLER);
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    std::fclose(fp);  // libpcap closes it only on success (pcap_close)
    const std::string why = errbuf;
    const auto size = std::filesystem::file_size(path, ec);
    // Neither magic matched ("unknown file format"), or the file is too short to hold one.
    if (why.find("unknown file format") != std::string::npos || (!ec && size < 4)) {
      err = path + " is not a pcap or pcapng capture";
    } else {
      err = "cannot read " + path + ": " + why;
    }
    return nullptr;
  }
  const int dlt = pcap_datalink(p);
  LinkType link = LinkType::Ethernet;
  if (!map_link_type(dlt, link)) {
    const char* known = pcap_datalink_val_to_name(dlt);
    // libpcap has no names for the private-use range DLT_USER0..15 (147..162); tcpdump.org calls them USERn.
    const std::string name = known                      ? std::string(known)
                             : (dlt >= 147 && dlt <= 162) ? "USER" + std::to_string(dlt - 147)
                                                          : std::string("unknown");
    err = "unsupported link type " + std::to_string(dlt) + " (" + name + ")";
    pcap_close(p);
    return nullptr;
  }
  return std::make_unique<PcapFileSource>(p, std::move(stream), std::move(io_buffer), path, ingress, link);
}

}  // namespace

std::unique_ptr<PacketSource> open_libpcap_file(const std::string& path, uint16_t ingress, std::string& err) {
  bool regular = false;
  const int fd = open_capture(path, regular, err);
  return fd < 0 ? nullptr : open_libpcap_fd(fd, regular, path, ingress, err);
}

std::unique_ptr<PacketSource> open_pcap_file(const std::string& path, uint16_t ingress, std::string& err) {
  bool regular = false;
  const int fd = open_capture(path, regular, err);
  if (fd < 0) return nullptr;
  // A regular file that starts as a classic pcap or pcapng file we take is ours to read; pipes and FIFOs
  // (whose bytes cannot be looked at twice) and the rest go to libpcap.
  if (regular) {
    // Enough for a section header, an interface block and whatever blocks some writers put between.
    constexpr size_t kProbe = size_t{64} << 10;
    std::vector<uint8_t> head(kProbe);
    const ssize_t got = ::pread(fd, head.data(), kProbe, 0);
    const size_t have = got > 0 ? static_cast<size_t>(got) : 0;
    uint8_t classic_head[24];
    ClassicPcapHeader classic;
    PcapngStart ng;
    if (have >= sizeof classic_head) std::memcpy(classic_head, head.data(), sizeof classic_head);
    if (have >= sizeof classic_head && parse_classic_pcap_header(classic_head, classic) &&
        ::lseek(fd, sizeof classic_head, SEEK_SET) == sizeof classic_head) {
      return open_classic_pcap(fd, classic, path, ingress);
    }
    if (probe_pcapng(head.data(), have, ng) &&
        ::lseek(fd, static_cast<off_t>(ng.first_record), SEEK_SET) == static_cast<off_t>(ng.first_record)) {
      return open_pcapng(fd, ng, path, ingress);
    }
  }
  return open_libpcap_fd(fd, regular, path, ingress, err);
}

}  // namespace ots
