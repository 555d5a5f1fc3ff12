// Live packet source on a network interface through libpcap: the only file that sees a live pcap_t.
//
// The handle is non-blocking: next_burst() takes what the kernel ring holds and, only when it holds
// nothing, waits in poll(2) on the capture descriptor for at most the idle wait (the run loop sets it to
// 0 while another interface is busy), then returns Idle. So a quiet interface never blocks the loop,
// and the loop's clock keeps moving when nothing arrives.
//
// libpcap hands out each packet only inside its callback (the ring frame goes back to the kernel when
// the callback returns), and a burst's views must stay valid until the next burst, so packets are copied
// into an arena allocated at start-up for a full burst of snaplen-sized packets: no allocation per burst.
#include "capture/live_pcap_source.hpp"

#include <pcap/pcap.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace ots {

namespace {

// The link layers Linux interfaces give: Ethernet (also loopback), cooked captures ("any"), raw IP (tun,
// WireGuard). Files have more; pcap_file_source.cpp maps those.
bool live_link_type(int dlt, LinkType& out) {
  switch (dlt) {
    case DLT_EN10MB: out = LinkType::Ethernet; return true;
    case DLT_RAW: out = LinkType::Raw; return true;
    case DLT_LINUX_SLL: out = LinkType::LinuxSll; return true;
    case DLT_LINUX_SLL2: out = LinkType::LinuxSll2; return true;
    case DLT_IPV4: out = LinkType::Ipv4; return true;
    case DLT_IPV6: out = LinkType::Ipv6; return true;
    case DLT_NULL: out = LinkType::Null; return true;
    default: return false;
  }
}

class LivePcapSource final : public PacketSource {
 public:
  LivePcapSource(pcap_t* p, const LivePcapOptions& o, uint16_t ingress, LinkType link, bool nano)
      : pcap_(p),
        name_(o.iface),
        ingress_(ingress),
        link_(link),
        nano_(nano),
        fd_(pcap_get_selectable_fd(p)),
        wait_ms_(o.idle_wait_ms),
        arena_(PacketBurst::kMaxPackets * static_cast<size_t>(std::max(o.snaplen, 64))) {}
  ~LivePcapSource() override { pcap_close(pcap_); }
  LivePcapSource(const LivePcapSource&) = delete;
  LivePcapSource& operator=(const LivePcapSource&) = delete;

  SourceStatus next_burst(PacketBurst& out) override;
  const std::string& name() const override { return name_; }
  SourceStats stats() const override;
  std::string error() const override { return error_; }
  void set_idle_wait(int milliseconds) override { wait_ms_ = std::max(milliseconds, 0); }
  std::vector<std::string> take_warnings() override {
    std::vector<std::string> w;
    w.swap(warnings_);
    return w;
  }
  void warn(std::string w) { warnings_.push_back(std::move(w)); }

 private:
  // Reads what the ring holds into out, up to a burst. False on a capture error (error_ says why).
  bool read_ready(PacketBurst& out);
  static void on_packet(u_char* user, const pcap_pkthdr* hdr, const u_char* data);

  pcap_t* pcap_;
  std::string name_;
  uint16_t ingress_;
  LinkType link_;
  bool nano_;  // timestamps in ns (pcap_set_tstamp_precision took); otherwise µs
  int fd_;     // -1 when libpcap offers no selectable descriptor: then the loop polls without waiting
  int wait_ms_;
  std::vector<uint8_t> arena_;
  size_t used_ = 0;
  PacketBurst* filling_ = nullptr;
  SourceStats counted_;  // packets and bytes delivered; the rest comes from pcap_stats
  std::string error_;
  std::vector<std::string> warnings_;
  bool done_ = false;
};

void LivePcapSource::on_packet(u_char* user, const pcap_pkthdr* hdr, const u_char* data) {
  auto* self = reinterpret_cast<LivePcapSource*>(user);
  PacketBurst& out = *self->filling_;
  // The arena holds a full burst of snaplen-sized packets, and libpcap never hands more than snaplen.
  const size_t caplen = std::min<size_t>(hdr->caplen, self->arena_.size() - self->used_);
  uint8_t* dst = self->arena_.data() + self->used_;
  if (caplen) std::memcpy(dst, data, caplen);
  self->used_ += caplen;
  PacketView& v = out.pkts[out.count++];
  const int64_t sec = hdr->ts.tv_sec;
  const uint64_t frac = static_cast<uint64_t>(hdr->ts.tv_usec) * (self->nano_ ? 1u : 1000u);
  v.ts_ns = sec < 0 ? 0 : static_cast<uint64_t>(sec) * 1'000'000'000ull + frac;
  v.data = dst;
  v.caplen = static_cast<uint32_t>(caplen);
  v.wirelen = hdr->len;
  v.ingress = self->ingress_;
  v.link = self->link_;
  ++self->counted_.packets;
  self->counted_.bytes += caplen;
}

bool LivePcapSource::read_ready(PacketBurst& out) {
  filling_ = &out;
  while (out.count < PacketBurst::kMaxPackets) {
    const int want = static_cast<int>(PacketBurst::kMaxPackets - out.count);
    const int rc = pcap_dispatch(pcap_, want, &LivePcapSource::on_packet, reinterpret_cast<u_char*>(this));
    if (rc == 0 || rc == PCAP_ERROR_BREAK) break;
    if (rc < 0) {
      error_ = std::string("capture failed: ") + pcap_geterr(pcap_);
      return false;
    }
  }
  return true;
}

SourceStatus LivePcapSource::next_burst(PacketBurst& out) {
  out.count = 0;
  used_ = 0;
  if (done_) return SourceStatus::End;
  if (!read_ready(out)) {
    done_ = true;
    return SourceStatus::Error;
  }
  if (out.count == 0 && wait_ms_ > 0 && fd_ >= 0) {
    pollfd pfd{fd_, POLLIN, 0};
    // EINTR (a signal for the run loop) and a timeout both end the wait: the loop looks at its flags.
    if (::poll(&pfd, 1, wait_ms_) > 0 && !read_ready(out)) {
      done_ = true;
      return SourceStatus::Error;
    }
  }
  return out.count ? SourceStatus::Ok : SourceStatus::Idle;
}

SourceStats LivePcapSource::stats() const {
  SourceStats s = counted_;
  pcap_stat ps{};
  // Linux: ps_recv and ps_drop come from the socket's PACKET_STATISTICS, accumulated by libpcap since
  // the capture began; ps_ifdrop is the interface's rx_dropped counter since then.
  if (pcap_stats(pcap_, &ps) == 0) {
    s.received = ps.ps_recv;
    s.dropped_kernel = ps.ps_drop;
    s.dropped_iface = ps.ps_ifdrop;
  }
  return s;
}

std::string activate_error(pcap_t* p, int rc, const std::string& iface) {
  const std::string detail = pcap_geterr(p);
  switch (rc) {
    case PCAP_ERROR_NO_SUCH_DEVICE: return iface + ": no such network interface";
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return iface + ": permission denied (capturing needs root or the CAP_NET_RAW and CAP_NET_ADMIN capabilities)";
    case PCAP_ERROR_IFACE_NOT_UP: return iface + ": the interface is down";
    default: return iface + ": cannot capture: " + (detail.empty() ? pcap_statustostr(rc) : detail);
  }
}

}  // namespace

std::unique_ptr<PacketSource> open_live_pcap(const LivePcapOptions& o, uint16_t ingress, std::string& err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(o.iface.c_str(), errbuf);
  if (!p) {
    err = o.iface + ": cannot capture: " + errbuf;
    return nullptr;
  }
  // Everything below fails only on an activated handle or a bad value, which the command line rules out;
  // activation reports the rest.
  pcap_set_snaplen(p, o.snaplen);
  pcap_set_promisc(p, o.promiscuous ? 1 : 0);
  pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
  pcap_set_timeout(p, o.block_timeout_ms);
  pcap_set_buffer_size(p, o.buffer_bytes);
  const bool want_nano = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0;
  const int rc = pcap_activate(p);
  if (rc < 0) {
    err = activate_error(p, rc, o.iface);
    pcap_close(p);
    return nullptr;
  }
  std::string warning;
  if (rc == PCAP_WARNING_PROMISC_NOTSUP) {
    warning = o.iface + ": promiscuous mode is not supported; only traffic to this host is seen";
  } else if (rc > 0) {
    warning = o.iface + ": " + pcap_geterr(p);
  }

  const int dlt = pcap_datalink(p);
  LinkType link = LinkType::Ethernet;
  if (!live_link_type(dlt, link)) {
    const char* known = pcap_datalink_val_to_name(dlt);
    err = o.iface + ": unsupported link type " + std::to_string(dlt) + " (" + (known ? known : "unknown") + ")";
    pcap_close(p);
    return nullptr;
  }
  if (!o.filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(p, &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      err = "bad capture filter '" + o.filter + "': " + pcap_geterr(p);
      pcap_close(p);
      return nullptr;
    }
    const int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      err = o.iface + ": cannot set the capture filter: " + pcap_geterr(p);
      pcap_close(p);
      return nullptr;
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    err = o.iface + ": cannot make the capture non-blocking: " + errbuf;
    pcap_close(p);
    return nullptr;
  }
  const bool nano = want_nano && pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  auto src = std::make_unique<LivePcapSource>(p, o, ingress, link, nano);
  if (!warning.empty()) src->warn(std::move(warning));
  return src;
}

}  // namespace ots
