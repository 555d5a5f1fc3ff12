// DPDK packet source: the only file that sees the EAL, ethdev and mbufs.
//
// One PacketSource per (port, RX queue). next_burst() is DPDK's loop: rte_eth_rx_burst of 32, views
// straight into the mbufs' data, the burst's mbufs freed in bulk at the next call (the PacketSource
// contract: views live until then).
//
// Decisions, with their reasons:
// - Multi-segment mbufs (frames longer than one mbuf's 2 KB data room: jumbo frames, and captures of
//   TSO/GRO-merged segments, which net_pcap chains) are copied into an arena of the source, so the
//   pipeline sees the whole frame as with -r; single-segment frames, the rule at 1500 MTU, are not copied.
// - Timestamps: net_pcap stamps every mbuf in the rx timestamp dynfield with the capture's own time in
//   microseconds (DPDK 22.11 drivers/net/pcap/pcap_ethdev.c eth_pcap_rx: tv_sec * US_PER_S + tv_usec,
//   flag set unconditionally; it does not advertise RTE_ETH_RX_OFFLOAD_TIMESTAMP and configure refuses
//   the offload). We use the dynfield only on net_pcap ports: NIC drivers that fill it put their own
//   clock's ticks there, not Unix time. Everything else gets the TSC-based wall clock, read once per burst.
// - End of a file: net_pcap's rx_pcap queue returns 0 forever once the file is read, and gives no end
//   signal (no rx_queue_count, the link stays up, ipackets just stops growing). In eth_pcap_rx a burst
//   comes back empty for exactly three reasons: pcap_next_ex() returned no packet (end of file, or a read
//   error: both final for a savefile), no free mbuf (rx_nombuf grows) or a failed jumbo chain (ierrors
//   grows). So an empty burst on a file-backed net_pcap queue during which neither counter grew is the
//   end; one during which either grew is Idle (retry). Stopping "when the statistics stop growing" would
//   need a timeout and would cut a slow reader short. Live ports (iface=, rx_iface=, infinite_rx, NICs)
//   never end: an empty burst is Idle.
// - Port counters (ipackets, imissed, ierrors, rx_nombuf) are the port's, not a queue's: queue 0's source reports
//   them, the other queues' sources report zero, so that summing the sources counts them once.
// - Queues (open_dpdk_sources): one per worker only where both directions of every flow are known to reach
//   one queue (symmetric RSS the driver confirms, or a device trusted with --dpdk-queue-hash symmetric);
//   then each worker polls its own queue (sensor/capture_loop_queues.cpp), and a queue's source is used by
//   that worker's thread while the run loop's thread reads its counters.
#include "capture/dpdk_source.hpp"

#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "capture/dpdk_port.hpp"

namespace ots {

bool split_shell_words(const std::string& text, std::vector<std::string>& out, std::string& err) {
  out.clear();
  std::string word;
  bool in_word = false;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
    } else if (c == '\'') {
      const size_t close = text.find('\'', i + 1);
      if (close == std::string::npos) {
        err = "unterminated ' quote at offset " + std::to_string(i);
        return false;
      }
      word.append(text, i + 1, close - i - 1);
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      size_t j = i + 1;
      for (;;) {
        if (j >= n) {
          err = "unterminated \" quote at offset " + std::to_string(i);
          return false;
        }
        if (text[j] == '"') break;
        // Inside double quotes a backslash escapes only these (POSIX 2.2.3); elsewhere it is literal.
        if (text[j] == '\\' && j + 1 < n && std::strchr("\"\\$`", text[j + 1])) ++j;
        word.push_back(text[j]);
        ++j;
      }
      in_word = true;
      i = j + 1;
    } else if (c == '\\') {
      if (i + 1 >= n) {
        err = "trailing backslash";
        return false;
      }
      word.push_back(text[i + 1]);
      in_word = true;
      i += 2;
    } else {
      word.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) out.push_back(std::move(word));
  return true;
}

namespace {

constexpr uint16_t kBurst = PacketBurst::kMaxPackets;
constexpr unsigned kDefaultMbufs = 8191;  // 2^n - 1: the mempool's ring is then fully used
constexpr unsigned kPoolCache = 256;

// The EAL is process-wide state that rte_eal_init() creates once and that cannot be created again (a
// second call fails with EALREADY, even after a failed first one). This is the one global of the
// sensor: it remembers what the first call was given and how it went, under a mutex, and keeps the
// argument strings alive for the process (the EAL may keep pointers into argv).
struct EalState {
  std::mutex mutex;
  bool attempted = false;
  bool ok = false;
  std::string args;
  std::string error;
  std::vector<std::string> words;
  std::vector<char*> argv;
  unsigned pools = 0;  // mempool names must be unique in the process
};

EalState& eal_state() {
  static EalState state;
  return state;
}

void eal_cleanup_at_exit() { rte_eal_cleanup(); }

bool init_eal(const std::string& args, std::string& err, unsigned& pool_serial) {
  EalState& e = eal_state();
  std::lock_guard<std::mutex> lock(e.mutex);
  pool_serial = e.pools++;
  if (e.attempted) {
    if (!e.ok) {
      err = e.error;
      return false;
    }
    if (e.args != args) {
      err = "the DPDK EAL is already initialised in this process with '" + e.args +
            "'; it cannot be initialised again with '" + args + "'";
      return false;
    }
    return true;
  }
  e.attempted = true;
  e.args = args;
  std::vector<std::string> words;
  std::string why;
  if (!split_shell_words(args, words, why)) {
    e.error = "--dpdk: cannot split the EAL arguments: " + why;
    err = e.error;
    return false;
  }
  e.words.clear();
  e.words.push_back("otsensor");
  for (auto& w : words) e.words.push_back(std::move(w));
  e.argv.clear();
  for (auto& w : e.words) e.argv.push_back(w.data());
  e.argv.push_back(nullptr);
  const int argc = static_cast<int>(e.words.size());
  const int rc = rte_eal_init(argc, e.argv.data());
  if (rc < 0) {
    e.error = std::string("DPDK EAL initialisation failed: ") + rte_strerror(rte_errno) + " (EAL arguments: '" +
              args + "')";
    err = e.error;
    return false;
  }
  if (rc + 1 < argc) {
    // rte_eal_init() returns how many arguments it parsed; the rest are not EAL options.
    e.error = "--dpdk: '" + e.words[static_cast<size_t>(rc) + 1] + "' is not an EAL option";
    err = e.error;
    rte_eal_cleanup();
    return false;
  }
  e.ok = true;
  std::atexit(eal_cleanup_at_exit);
  return true;
}

struct Mempool {
  rte_mempool* mp = nullptr;
  explicit Mempool(rte_mempool* p) : mp(p) {}
  ~Mempool() { rte_mempool_free(mp); }
  Mempool(const Mempool&) = delete;
  Mempool& operator=(const Mempool&) = delete;
};

// A configured port: stopped and closed when its last queue's source goes (after their mbufs are freed),
// then the pool is released.
struct Port {
  uint16_t id = 0;
  std::shared_ptr<Mempool> pool;
  dpdk::PortState state;
  Port(uint16_t i, std::shared_ptr<Mempool> p) : id(i), pool(std::move(p)) {}
  ~Port() {
    if (state.started) rte_eth_dev_stop(id);
    if (state.configured) rte_eth_dev_close(id);
  }
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;
};

// Wall clock from the TSC: one clock_gettime at start, then cycles. Used where the port gives no
// capture time.
class TscClock {
 public:
  TscClock()
      : hz_(rte_get_tsc_hz()),
        base_tsc_(rte_get_tsc_cycles()),
        base_ns_(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count())) {}
  uint64_t now_ns() const {
    const uint64_t d = rte_get_tsc_cycles() - base_tsc_;
    if (hz_ == 0) return base_ns_;
    // Split so that nothing overflows 64 bits: the remainder is below hz (a few 1e9), times 1e9 fits.
    return base_ns_ + d / hz_ * 1'000'000'000ull + d % hz_ * 1'000'000'000ull / hz_;
  }

 private:
  uint64_t hz_;
  uint64_t base_tsc_;
  uint64_t base_ns_;
};

struct QueueSetup {
  uint16_t port = 0;
  uint16_t queue = 0;
  uint16_t ingress = 0;
  std::string name;
  bool from_file = false;       // net_pcap rx_pcap: ends
  bool port_counters = false;   // queue 0 reports the port's drop counters
  int ts_offset = -1;           // rx timestamp dynfield, in µs (net_pcap), or -1
  uint64_t ts_flag = 0;
};

class DpdkQueueSource final : public PacketSource {
 public:
  DpdkQueueSource(std::shared_ptr<Port> port, QueueSetup s) : port_(std::move(port)), s_(std::move(s)) {
    arena_.resize(64 * 1024);
  }
  ~DpdkQueueSource() override {
    if (held_) rte_pktmbuf_free_bulk(mbufs_, held_);
  }
  DpdkQueueSource(const DpdkQueueSource&) = delete;
  DpdkQueueSource& operator=(const DpdkQueueSource&) = delete;

  SourceStatus next_burst(PacketBurst& out) override;
  void enter_thread() override;
  void leave_thread() override;
  bool from_file() const { return s_.from_file; }
  const std::string& name() const override { return s_.name; }
  SourceStats stats() const override;
  std::string error() const override { return {}; }
  std::vector<std::string> take_warnings() override {
    std::vector<std::string> w;
    w.swap(warnings_);
    return w;
  }

 private:
  SourceStatus empty_burst();

  std::shared_ptr<Port> port_;
  QueueSetup s_;
  TscClock clock_;
  rte_mbuf* mbufs_[kBurst] = {};
  uint16_t held_ = 0;
  std::vector<uint8_t> arena_;  // multi-segment frames, copied
  size_t offsets_[kBurst] = {};
  bool ended_ = false;
  uint64_t losses_seen_ = 0;  // ierrors + rx_nombuf at the last empty burst
  // Written by the polling thread, read by stats() on the run loop's (per-queue capture): one writer, so
  // relaxed loads and stores suffice and cost what plain ones do.
  std::atomic<uint64_t> packets_{0}, bytes_{0};
  bool registered_ = false;  // enter_thread() made the polling thread an lcore
  std::vector<std::string> warnings_;
};

// Worker threads are not EAL lcores. Registered, a thread gets an lcore id and with it a cache of its own
// in the mempool; without one, every mbuf the driver allocates and every bulk free goes to the pool's
// shared ring, contended between the workers. A thread that polls queues of several ports registers once.
void DpdkQueueSource::enter_thread() {
  if (rte_lcore_id() == LCORE_ID_ANY && rte_thread_register() == 0) registered_ = true;
}

void DpdkQueueSource::leave_thread() {
  if (!registered_) return;
  rte_thread_unregister();
  registered_ = false;
}

SourceStatus DpdkQueueSource::next_burst(PacketBurst& out) {
  out.count = 0;
  if (held_) {
    rte_pktmbuf_free_bulk(mbufs_, held_);
    held_ = 0;
  }
  if (ended_) return SourceStatus::End;
  const uint16_t n = rte_eth_rx_burst(s_.port, s_.queue, mbufs_, kBurst);
  if (n == 0) return empty_burst();
  held_ = n;

  uint64_t clock_ns = 0;  // read once per burst, when a packet lacks a capture time
  uint64_t bytes = 0;
  size_t used = 0;
  bool copied = false;
  for (uint16_t i = 0; i < n; ++i) {
    const rte_mbuf* m = mbufs_[i];
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(mbufs_[i + 1], const void*));
    PacketView& v = out.pkts[i];
    v.caplen = m->pkt_len;
    v.wirelen = m->pkt_len;  // a port hands over whole frames; net_pcap drops the file's wire length
    v.ingress = s_.ingress;
    v.link = LinkType::Ethernet;
    if (m->nb_segs == 1) {
      v.data = rte_pktmbuf_mtod(m, const uint8_t*);
    } else {
      // Grows only for the largest frames seen so far; views into it are set after the burst.
      if (used + m->pkt_len > arena_.size()) arena_.resize(std::max(used + m->pkt_len, arena_.size() * 2));
      size_t off = 0;
      for (const rte_mbuf* seg = m; seg; seg = seg->next) {
        const size_t len = std::min<size_t>(seg->data_len, m->pkt_len - off);
        std::memcpy(arena_.data() + used + off, rte_pktmbuf_mtod(seg, const uint8_t*), len);
        off += len;
      }
      offsets_[i] = used;
      used += m->pkt_len;
      v.data = nullptr;
      copied = true;
    }
    if (s_.ts_offset >= 0 && (m->ol_flags & s_.ts_flag)) {
      v.ts_ns = *RTE_MBUF_DYNFIELD(m, s_.ts_offset, const rte_mbuf_timestamp_t*) * 1000ull;
    } else {
      if (clock_ns == 0) clock_ns = clock_.now_ns();
      v.ts_ns = clock_ns;
    }
    bytes += m->pkt_len;
  }
  if (copied) {
    for (uint16_t i = 0; i < n; ++i) {
      if (!out.pkts[i].data) out.pkts[i].data = arena_.data() + offsets_[i];
    }
  }
  packets_.store(packets_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  bytes_.store(bytes_.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
  out.count = n;
  return SourceStatus::Ok;
}

SourceStatus DpdkQueueSource::empty_burst() {
  if (!s_.from_file) return SourceStatus::Idle;
  rte_eth_stats st{};
  if (rte_eth_stats_get(s_.port, &st) != 0) return SourceStatus::Idle;
  const uint64_t losses = st.ierrors + st.rx_nombuf;
  if (losses != losses_seen_) {
    losses_seen_ = losses;
    return SourceStatus::Idle;  // the driver dropped a packet of the file: more may follow
  }
  ended_ = true;
  if (losses && s_.port_counters) {
    warnings_.push_back(s_.name + ": the driver lost " + std::to_string(losses) + " packets of the file (" +
                        std::to_string(st.rx_nombuf) + " without a free mbuf, " + std::to_string(st.ierrors) +
                        " errors)");
  }
  return SourceStatus::End;
}

SourceStats DpdkQueueSource::stats() const {
  SourceStats s;
  s.packets = packets_.load(std::memory_order_relaxed);
  s.bytes = bytes_.load(std::memory_order_relaxed);
  if (s_.port_counters) {
    rte_eth_stats st{};
    if (rte_eth_stats_get(s_.port, &st) == 0) {
      s.received = st.ipackets;
      s.dropped_kernel = st.imissed;
      s.dropped_iface = st.ierrors + st.rx_nombuf;
    }
  }
  return s;
}

// What a net_pcap port reads, from its devargs ("rx_pcap=a.pcap,rx_pcap=b.pcap" or "iface=eth1").
struct PcapVdevArgs {
  std::vector<std::string> rx_files;
  bool live = false;      // iface=, rx_iface=, rx_iface_in=
  bool infinite = false;  // infinite_rx=1 replays the file forever
};

PcapVdevArgs parse_pcap_vdev_args(const char* args) {
  PcapVdevArgs a;
  if (!args) return a;
  const std::string s = args;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    const std::string kv = s.substr(start, comma - start);
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (key == "rx_pcap") a.rx_files.push_back(value);
    if (key == "iface" || key == "rx_iface" || key == "rx_iface_in") a.live = true;
    if (key == "infinite_rx" && std::atoi(value.c_str()) > 0) a.infinite = true;
    start = comma + 1;
  }
  return a;
}

// DPDK ports carry Ethernet frames: a capture of another link type given to net_pcap would be decoded
// as garbage, so it is refused with the reason.
bool check_ethernet_file(const std::string& port_name, const std::string& path, std::string& err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (!p) {
    err = port_name + ": cannot read rx_pcap " + path + ": " + errbuf;
    return false;
  }
  const int dlt = pcap_datalink(p);
  pcap_close(p);
  if (dlt == DLT_EN10MB) return true;
  const char* dname = pcap_datalink_val_to_name(dlt);
  err = port_name + ": rx_pcap " + path + " has link type " + std::to_string(dlt) + " (" + (dname ? dname : "unknown") +
        "), and DPDK ports carry Ethernet only: read it with -r";
  return false;
}

std::string port_name(uint16_t port) {
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  if (rte_eth_dev_get_name_by_port(port, name) != 0) return "port " + std::to_string(port);
  return name;
}

// RTE_ETH_FOREACH_DEV, without its implicit narrowing (-Wconversion in our code).
std::vector<uint16_t> all_ports() {
  std::vector<uint16_t> v;
  for (unsigned p = 0; p < RTE_MAX_ETHPORTS; ++p) {
    if (rte_eth_dev_is_valid_port(static_cast<uint16_t>(p))) v.push_back(static_cast<uint16_t>(p));
  }
  return v;
}

// How a port's RX queues divide its traffic.
enum class Spread : uint8_t {
  One,      // one queue
  Rss,      // RSS with the symmetric key over one queue per worker (confirmed after the start, or One)
  Trusted,  // one queue per worker, spread by the device's own symmetric hash (DpdkQueueHash::Symmetric)
  Device,   // several queues, each given a share by the device's own hash: all read by the run loop
};

struct PortPlan {
  uint16_t id = 0;
  std::string name;
  rte_eth_dev_info info{};
  dpdk::RxSetup rx;
  Spread spread = Spread::One;
  bool net_pcap = false;
  bool from_file = false;
};

// Chooses the port's queues for `want` workers; false with `err` when --dpdk-queue-hash symmetric cannot
// hold for this port.
bool plan_queues(PortPlan& pl, unsigned want, DpdkQueueHash hash, std::string& err) {
  const bool af_packet = pl.info.driver_name && std::strcmp(pl.info.driver_name, "net_af_packet") == 0;
  const unsigned have = pl.info.max_rx_queues;
  const std::string opt = "--dpdk-queue-hash symmetric: " + pl.name;
  if (hash == DpdkQueueHash::Symmetric) {
    if (pl.net_pcap) {
      err = opt + " (net_pcap) reads one file or interface per queue and spreads nothing: leave the option out";
      return false;
    }
    if (af_packet && have != want) {
      err = opt + " has " + std::to_string(have) + " queue pair(s) (qpairs), each given a share of the traffic by the "
            "kernel, for " + std::to_string(want) + " worker(s) (-w): give qpairs=" + std::to_string(want);
      return false;
    }
    if (have < want) {
      err = opt + " has " + std::to_string(have) + " RX queue(s), fewer than the " + std::to_string(want) +
            " workers (-w)";
      return false;
    }
    pl.rx.queues = static_cast<uint16_t>(want);
    pl.spread = want > 1 ? Spread::Trusted : Spread::One;
    return true;
  }
  if (af_packet && have > 1) {
    // net_af_packet's queues are the sockets of one PACKET_FANOUT group: the kernel gives each its share
    // whether it is read or not, so every one is read.
    pl.rx.queues = static_cast<uint16_t>(have);
    pl.spread = Spread::Device;
    return true;
  }
  if (want > 1 && (pl.info.flow_type_rss_offloads & RTE_ETH_RSS_IP) && have >= want) {
    pl.rx.queues = static_cast<uint16_t>(want);
    pl.rx.rss = true;
    pl.spread = Spread::Rss;
  }
  return true;
}

// One line on how the port's queues are used (with several workers, where it matters).
std::string queue_note(const PortPlan& pl, const std::string& why_not_rss) {
  const std::string q = std::to_string(pl.rx.queues) + " RX queues";
  switch (pl.spread) {
    case Spread::Rss:
      return pl.name + ": " + q + " with symmetric RSS (the key confirmed by the driver): each worker polls its own";
    case Spread::Trusted:
      return pl.name + ": " + q + " spread by the device's own symmetric hash (--dpdk-queue-hash symmetric): each "
                                  "worker polls its own";
    case Spread::Device:
      return pl.name + ": " + q + " spread by the device's own hash: the run loop reads them all and dispatches "
                                  "(--dpdk-queue-hash symmetric lets each worker poll its own, docs/DPDK.md)";
    case Spread::One:
      break;
  }
  if (!why_not_rss.empty()) {
    return pl.name + ": one RX queue, dispatched in software: RSS with the symmetric key not confirmed (" +
           why_not_rss + ")";
  }
  return pl.name + ": one RX queue (no RSS over IP addresses with that many queues): dispatched in software";
}

}  // namespace

bool is_dpdk_file_replay(const PacketSource& src) {
  const auto* d = dynamic_cast<const DpdkQueueSource*>(&src);
  return d && d->from_file();
}

bool open_dpdk_sources(const DpdkOptions& opts, DpdkSources& out, std::string& err) {
  out = DpdkSources{};
  unsigned pool_serial = 0;
  if (!init_eal(opts.eal_args, err, pool_serial)) return false;

  std::vector<uint16_t> ids = opts.ports;
  if (ids.empty()) ids = all_ports();
  if (ids.empty()) {
    err = "the DPDK EAL found no port: give a --vdev (e.g. --vdev=net_pcap0,rx_pcap=FILE) or bind a NIC with "
          "dpdk-devbind (a --vdev that failed is reported above by the EAL)";
    return false;
  }

  // Plan every port first: the pool is sized from all their queues.
  const unsigned want = std::clamp(opts.queues, 1u, 1024u);
  std::vector<PortPlan> plans;
  uint64_t needed = 0;
  for (const uint16_t id : ids) {
    if (!rte_eth_dev_is_valid_port(id)) {
      std::string found;
      for (const uint16_t p : all_ports()) found += (found.empty() ? "" : ", ") + std::to_string(p) + " " + port_name(p);
      err = "no DPDK port " + std::to_string(id) + " (the EAL found: " + (found.empty() ? "none" : found) + ")";
      return false;
    }
    if (std::count(ids.begin(), ids.end(), id) > 1) {
      err = "--dpdk-ports: port " + std::to_string(id) + " is given twice";
      return false;
    }
    PortPlan pl;
    pl.id = id;
    pl.name = port_name(id);
    if (const int rc = rte_eth_dev_info_get(id, &pl.info); rc != 0) {
      err = "cannot query DPDK port " + std::to_string(id) + " (" + pl.name + "): " + rte_strerror(-rc);
      return false;
    }
    pl.net_pcap = pl.info.driver_name && std::strcmp(pl.info.driver_name, "net_pcap") == 0;
    if (pl.net_pcap) {
      const rte_devargs* da = rte_dev_devargs(pl.info.device);
      const PcapVdevArgs va = parse_pcap_vdev_args(da ? da->args : nullptr);
      pl.from_file = !va.rx_files.empty() && !va.live && !va.infinite;
      for (const std::string& f : va.rx_files) {
        if (!check_ethernet_file(pl.name, f, err)) return false;
      }
    }
    if (!plan_queues(pl, want, opts.queue_hash, err)) return false;
    pl.rx.descriptors = static_cast<uint16_t>(std::clamp(opts.rx_descriptors, 1u, 65535u));
    if (const int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id, &pl.rx.descriptors, nullptr); rc != 0) {
      err = "cannot size the RX rings of DPDK port " + std::to_string(id) + " (" + pl.name + "): " + rte_strerror(-rc);
      return false;
    }
    needed += static_cast<uint64_t>(pl.rx.queues) * (pl.rx.descriptors + 2u * kBurst);
    plans.push_back(pl);
  }

  // Each queue's ring is refilled from the pool and up to a burst per queue is held by the pipeline;
  // the per-lcore caches hold the rest: the EAL's lcores and the workers that poll their own queues
  // (registered as lcores, DpdkQueueSource::enter_thread).
  const uint64_t cache = kPoolCache;
  needed += cache * (rte_lcore_count() + want);
  uint64_t nmbufs = opts.mbufs ? opts.mbufs : std::max<uint64_t>(kDefaultMbufs, needed);
  if (nmbufs < needed) {
    err = "--dpdk-mbufs " + std::to_string(opts.mbufs) + " is too few: the RX queues and bursts need at least " +
          std::to_string(needed);
    return false;
  }
  if (nmbufs > UINT32_MAX) nmbufs = UINT32_MAX;
  const std::string pool_name = "ots_rx" + std::to_string(pool_serial);
  rte_mempool* mp = rte_pktmbuf_pool_create(pool_name.c_str(), static_cast<unsigned>(nmbufs), kPoolCache, 0,
                                            RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (!mp) {
    err = "cannot create a pool of " + std::to_string(nmbufs) + " mbufs (" +
          std::to_string(nmbufs * (RTE_MBUF_DEFAULT_BUF_SIZE + 128 + sizeof(rte_mbuf)) >> 20) +
          " MB): " + rte_strerror(rte_errno) + "; give the EAL more memory (-m MB, hugepages) or fewer mbufs (--dpdk-mbufs)";
    return false;
  }
  auto pool = std::make_shared<Mempool>(mp);

  // net_pcap registers the rx timestamp dynfield when it probes; registering is idempotent.
  int ts_offset = -1;
  uint64_t ts_flag = 0;
  if (rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag) != 0) ts_offset = -1;

  bool per_queue = want > 1;
  for (size_t pi = 0; pi < plans.size(); ++pi) {
    PortPlan& pl = plans[pi];
    auto port = std::make_shared<Port>(pl.id, pool);
    const std::string what = "DPDK port " + std::to_string(pl.id) + " (" + pl.name + ")";
    if (!dpdk::start_rx(pl.id, pl.info, pl.rx, mp, what, port->state, err)) return false;
    std::string why_not_rss;
    if (pl.spread == Spread::Rss && !dpdk::symmetric_rss_in_force(pl.id, pl.info, why_not_rss)) {
      // The two directions of a flow could reach different queues, read in whatever order: one queue and
      // the software dispatch keep every flow whole and in order.
      rte_eth_dev_stop(pl.id);
      port->state.started = false;
      pl.rx.queues = 1;
      pl.rx.rss = false;
      pl.spread = Spread::One;
      if (!dpdk::start_rx(pl.id, pl.info, pl.rx, mp, what, port->state, err)) return false;
    }
    if (want > 1) out.notes.push_back(queue_note(pl, why_not_rss));
    per_queue = per_queue && (pl.spread == Spread::Rss || pl.spread == Spread::Trusted) && pl.rx.queues == want;
    // A SPAN port mirrors other hosts' frames. Virtual devices may not implement the switch (ENOTSUP):
    // net_pcap's live interfaces are opened promiscuous by libpcap anyway.
    if (const int rc = rte_eth_promiscuous_enable(pl.id); rc != 0 && rc != -ENOTSUP) {
      err = "cannot set " + what + " promiscuous: " + rte_strerror(-rc);
      return false;
    }
    for (uint16_t q = 0; q < pl.rx.queues; ++q) {
      QueueSetup s;
      s.port = pl.id;
      s.queue = q;
      s.ingress = static_cast<uint16_t>(pi);
      s.name = "dpdk:" + pl.name + (pl.rx.queues > 1 ? "/q" + std::to_string(q) : std::string());
      s.from_file = pl.from_file;
      s.port_counters = q == 0;
      if (pl.net_pcap) {
        s.ts_offset = ts_offset;
        s.ts_flag = ts_flag;
      }
      out.sources.push_back(std::make_unique<DpdkQueueSource>(port, std::move(s)));
    }
  }
  out.per_queue = per_queue;
  return true;
}

}  // namespace ots
