// EtherNet/IP and CIP: the modules the pipeline registers, the analyzers' options, and what they tell the
// rest of the sensor besides logs and operation events (device identity for the asset inventory, and the
// CIP connections that tie UDP I/O to the session that opened it).
//
// Operation events:
// - protocol Cip, one per CIP request and per reply, embedded ones included (the services inside a
//   Multiple Service Packet and the request inside an Unconnected Send each get their own event). code =
//   the service without the reply bit; name, op_class and read_only from cip_names.hpp, resolved by the
//   request path's class (a reply takes its request's meaning and target when it can be paired: by
//   sender context for SendRRData, by the connected sequence count for SendUnitData). Multiple Service
//   Packet and Unconnected Send carry `wrapper = true`: policy skips them and checks what they carry.
//   cip_class/cip_instance/cip_attribute are the request path's (the paired request's for replies);
//   exception = the general status of a failed reply.
// - protocol Enip for the encapsulation commands that carry no CIP (NOP, ListServices, ListIdentity,
//   ListInterfaces, RegisterSession, UnRegisterSession): session management and discovery a read-only
//   conduit must admit, so read_only = true; op_class Read for the List* discovery commands, Other for
//   the rest. SendRRData/SendUnitData get no event of their own: the CIP they carry is the operation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "dissectors/analyzer.hpp"
#include "dissectors/enip/cip_parser.hpp"
#include "dissectors/enip/enip_parser.hpp"

namespace ots {

// Service "enip" on TCP 44818 and UDP 44818 (Vol 2 §2-2): encapsulation messages; logs enip, cip,
// cip_io, cip_identity.
extern const DissectorModule kEnipModule;
// Service "cip" on UDP 2222 (Vol 2 §3-2.2): class 0/1 implicit I/O. A module of its own because ICSNPP
// names such flows "cip" in conn.log (its enip_header event sets "enip", its cip_io event "cip").
extern const DissectorModule kCipIoModule;

// A ListIdentity reply's CIP Identity item (Vol 2 §2-4.2.3; Identity object attributes, Vol 1 §5A-2.2),
// from TCP or UDP, whichever side opened the flow. Views into the packet: copy what you keep.
struct EnipIdentity {
  uint64_t ts_ns = 0;
  const Conn* conn = nullptr;
  bool is_orig = false;             // the reply's direction on `conn`
  IpAddr sender;                    // the device that answered (the reply's source address)
  uint16_t encapsulation_version = 0;
  uint32_t socket_addr = 0;         // the item's sockaddr (host order): the device's own idea of its address
  uint16_t socket_port = 0;
  uint16_t vendor_id = 0;
  std::string_view vendor_name;     // ODVA list; empty when unknown
  uint16_t device_type = 0;
  std::string_view device_type_name;
  uint16_t product_code = 0;
  uint8_t revision_major = 0;
  uint8_t revision_minor = 0;
  uint16_t status = 0;
  uint32_t serial_number = 0;
  std::string_view product_name;
  uint8_t state = 0;
  bool has_state = false;
};

// A CIP connection opened by a successful (Large) Forward Open (Vol 1 §3-5.5), as the per-worker table
// keeps it so the UDP I/O of the same two hosts can be tied to it.
struct CipConnection {
  uint32_t ot_connection_id = 0;
  uint32_t to_connection_id = 0;
  cip::ConnectionTriad triad;
  uint32_t ot_rpi_us = 0;
  uint32_t to_rpi_us = 0;
  uint32_t ot_api_us = 0;
  uint32_t to_api_us = 0;
  uint8_t transport_trigger = 0;
  bool large = false;
  IpAddr originator;                // the scanner
  IpAddr target;                    // the adapter
  Uid opened_on;                    // the TCP/UDP 44818 connection that carried the Forward Open
  uint64_t opened_ns = 0;
  uint64_t last_seen_ns = 0;
};

// I/O on UDP 2222 seen for a connection the table knows: reported once per I/O flow and connection id.
struct CipIoBinding {
  uint64_t ts_ns = 0;
  const Conn* io_conn = nullptr;
  uint32_t connection_id = 0;
  const CipConnection* connection = nullptr;  // valid during the callback only
};

struct EnipOptions {
  // Called on the worker's thread for every ListIdentity reply identity item, with every attribute
  // (tests, tools). The asset inventory gets a DeviceIdentity through AnalyzerContext::identities, which
  // is per worker; these options are shared by all workers.
  std::function<void(const EnipIdentity&)> on_identity;
  // Called when UDP I/O is tied to the Forward Open that created its connection.
  std::function<void(const CipIoBinding&)> on_io_binding;
  // Unanswered requests kept per connection for pairing replies; beyond it the oldest is dropped.
  uint32_t max_pending = 32;
};

// The options kEnipModule's and kCipIoModule's factories hand every new analyzer. Set them at start-up,
// before workers run; they are read, never written, on the packet path.
EnipOptions& enip_module_options();

// Analyzers with explicit options (tests, tools). `transport` Tcp or Udp for encapsulation traffic.
std::unique_ptr<Analyzer> make_enip_analyzer(const AnalyzerContext& ctx, Transport transport,
                                             const EnipOptions& opts);
std::unique_ptr<Analyzer> make_cip_io_analyzer(const AnalyzerContext& ctx, const EnipOptions& opts);

namespace enip {

// The CIP connections of one worker, keyed by connection id and host pair. Workers are per host pair
// (sensor/run.cpp dispatches by it) and each runs on its own thread, so the TCP session that opened a
// connection and the UDP I/O between the same two hosts reach the same table: it is thread_local, with no
// locks. Bounded: beyond `kMaxConnections` the least recently seen connection is forgotten.
class ConnectionTable {
 public:
  static constexpr size_t kMaxConnections = 1024;

  void open(const CipConnection& c);
  // Removes the connections of a triad between two hosts (Forward Close); returns how many.
  size_t close(const cip::ConnectionTriad& triad, const IpAddr& a, const IpAddr& b);
  // The connection with this id (either direction's) between these two hosts, or nullptr.
  CipConnection* find(uint32_t connection_id, const IpAddr& a, const IpAddr& b, uint64_t now_ns);
  size_t size() const { return used_; }
  void clear();

 private:
  struct Slot {
    bool used = false;
    CipConnection c;
  };
  std::unique_ptr<Slot[]> slots_;
  size_t used_ = 0;
};

// This thread's (this worker's) table.
ConnectionTable& worker_connections();

}  // namespace enip
}  // namespace ots
