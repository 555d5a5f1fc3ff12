// Notices: what the sensor tells a SOC analyst (zone/conduit violations, attestation verdicts, rule hits).
// Written to notice.log with Zeek's columns plus ours, suppressed as Zeek's notice framework does, and
// forwarded to the SIEM outputs.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "capture/net_types.hpp"
#include "output/log_manager.hpp"

namespace ots {

struct Conn;  // capture/flow.hpp

enum class Severity : uint8_t { Low = 1, Medium = 2, High = 3, Critical = 4 };

struct Notice {
  uint64_t ts_ns = 0;
  std::string_view note;          // "OT::No_Conduit", "Attest::Replay", "Rule::Match"
  std::string msg;                // a sentence a SOC analyst understands
  std::string sub;                // detail
  Severity severity = Severity::Medium;
  // The connection, when there is one.
  Uid uid;
  bool has_conn = false;
  ConnId id;
  // The hosts the notice is about (Zeek's src/dst/p).
  bool has_src = false, has_dst = false, has_p = false;
  IpAddr src, dst;
  uint16_t p = 0;
  // Our extension columns; empty = unset.
  std::string_view zone_orig, zone_resp, conduit, protocol, operation;
  std::string device_id;          // attestation notices
  std::string_view verdict;
  uint64_t rule_id = 0;           // Rule::Match
  std::string mitre;              // comma-separated ATT&CK for ICS ids
  // The originator's link-layer (MAC) address, when its frames carried one (Ethernet): the connection's
  // originator (set_notice_conn), an attestation datagram's sender, or without a connection src's (a stale
  // device's last). OT addresses are static and reused from cell to cell: the MAC tells the SOC which
  // device, on which switch port. notice.log orig_l2_addr (Zeek's name in conn.log, mac-logging.zeek);
  // CEF smac and LEEF srcMAC, beside the src they pair with (notice_endpoints).
  bool has_orig_mac = false;
  std::array<uint8_t, 6> orig_mac{};
};

// A notice about one connection: its uid and id, and Zeek's src/dst/p from them (originator, responder,
// service port), as every connection notice fills them.
inline void set_notice_conn(Notice& n, const Uid& uid, const ConnId& id) {
  n.uid = uid;
  n.has_conn = true;
  n.id = id;
  n.has_src = n.has_dst = n.has_p = true;
  n.src = id.orig_h;
  n.dst = id.resp_h;
  n.p = id.resp_p;
}
// The same from a tracked connection, with its originator's MAC address when the frames had one.
void set_notice_conn(Notice& n, const Conn& c);

const LogSchema& notice_schema();

// Where notices go besides notice.log (the SIEM forwarders). Called on the notice stage's thread
// (sensor/notice_stage.hpp), in notice.log's order of decision, after suppression.
class NoticeForwarder {
 public:
  virtual ~NoticeForwarder() = default;
  virtual void forward(const Notice& n, uint64_t suppressed_count) = 0;
  // The suppression interval in force (a SIGHUP can change it), for what the forwarder reports of it.
  virtual void set_suppress_ns(uint64_t ns) { (void)ns; }
  // Notices about the forwarder itself (a SIEM output whose spool overflowed): the writer raises them like
  // any other before it handles its next notice, tick or flush. Default: none.
  virtual bool take_notice(Notice& out) {
    (void)out;
    return false;
  }
  // Before the writer's last notices: take in everything forwarded so far (a bounded wait), so that
  // take_notice() reports what the run's last notices did to the forwarder too. Default: nothing to wait for.
  virtual void drain() {}
};

// One notice.log record as NoticeWriter writes it. `n` as written (a summary's ts and msg are the
// summary's), `count` its n column (0: unset). The values point into `n` and into the record.
struct NoticeRecord {
  std::array<Value, 32> values;
  std::string uid;
  std::string orig_mac;
  std::vector<std::string_view> mitre;
};
void make_notice_record(const Notice& n, uint64_t count, uint64_t suppress_ns, NoticeRecord& out);

// What makes two notices identical for suppression: note, hosts, conduit, operation, device, rule.
uint64_t notice_key(const Notice& n);

// One for the whole run (the notice stage feeds it the workers' notices in one order). Suppression: a
// notice identical to one written within `suppress_ns` (same notice_key) is counted, not written; when
// the window closes, one record with the count in `n` reports what was suppressed, as Zeek's
// suppression summarises.
class NoticeWriter {
 public:
  NoticeWriter(LogSink& sink, LogId log, uint64_t suppress_ns, NoticeForwarder* forwarder = nullptr);
  void raise(const Notice& n) { raise(n, notice_key(n)); }
  void raise(const Notice& n, uint64_t key);  // key: notice_key(n), computed by the caller
  // Packet time moved: close suppression windows that ended.
  void advance(uint64_t now_ns);
  // End of input: report what is still being suppressed.
  void flush();
  // For notices from now on (and the forwarder's messages); open windows keep their end.
  void set_suppress_ns(uint64_t ns) {
    suppress_ns_ = ns;
    if (forwarder_) forwarder_->set_suppress_ns(ns);
  }
  uint64_t raised() const { return raised_; }
  uint64_t written() const { return written_; }

 private:
  struct Window {
    uint64_t until_ns = 0;
    uint64_t suppressed = 0;
    Notice first;  // what the summary repeats
  };
  void write(const Notice& n, uint64_t count, bool summary);
  void raise_forwarder_notices();

  LogSink& sink_;
  LogId log_;
  uint64_t suppress_ns_;
  NoticeForwarder* forwarder_;
  std::unordered_map<uint64_t, Window> windows_;
  uint64_t next_sweep_ns_ = 0;
  uint64_t raised_ = 0, written_ = 0;
  bool in_forwarder_notices_ = false;
};

}  // namespace ots
