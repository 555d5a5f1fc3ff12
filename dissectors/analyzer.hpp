// How a protocol plugs into the pipeline: a module (ports, logs, factory) and a per-connection analyzer.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "capture/flow.hpp"
#include "capture/weird.hpp"
#include "dissectors/identity.hpp"
#include "dissectors/operation.hpp"
#include "output/log_manager.hpp"

namespace ots {

// What an analyzer may use. Everything is the worker's own: no locks, no shared state.
struct AnalyzerContext {
  LogSink* logs = nullptr;
  WeirdSink* weirds = nullptr;
  OperationSink* ops = nullptr;
  const LogId* log_ids = nullptr;  // the module's logs, in the order of DissectorModule::logs
  IdentitySink* identities = nullptr;  // device identification the protocol carries (asset inventory)
};

// One connection's protocol state. Fed in-order bytes per direction (TCP reassembled; UDP datagrams).
class Analyzer {
 public:
  // Probing until the bytes prove the protocol (a valid header with a plausible length, say); Rejected
  // when they prove it is not, and the pipeline then detaches the analyzer. conn.log's service lists the
  // confirmed ones, as Zeek's DPD confirmation does.
  // Retired: confirmed, but nothing consumes its work any more (see Worker::refresh_consumers); detached
  // like a rejected one, while conn.log keeps the confirmed service.
  enum class Verdict : uint8_t { Probing, Confirmed, Rejected, Retired };

  virtual ~Analyzer() = default;
  virtual void data(Conn& c, bool is_orig, std::span<const uint8_t> bytes, uint64_t ts_ns) = 0;
  // `len` bytes of this direction will never arrive; resynchronise where the protocol allows.
  virtual void gap(Conn& c, bool is_orig, uint64_t len, uint64_t ts_ns) = 0;
  // The connection ends: write what is pending (unanswered requests, partial messages as weirds).
  virtual void end(Conn& c, uint64_t ts_ns) = 0;

  Verdict verdict() const { return verdict_; }
  void retire() { verdict_ = Verdict::Retired; }

 protected:
  Verdict verdict_ = Verdict::Probing;
};

// Reports a protocol violation on connection `c` (uid and conn id filled) to ctx.weirds, if any.
// `source` names the dissector in weird.log's source column.
void conn_weird(const AnalyzerContext& ctx, const Conn& c, bool is_orig, uint64_t ts_ns, std::string_view name,
                std::string addl, std::string_view source);

// An analyzer's hints for repeats of its connection's weirds (WeirdSink::RepeatHint): the filter logs a
// weird once per name and conn_id within its 10 minutes, and a connection out of step raises the same
// weird on segment after segment (a DNP3 stream of non-frames, a Modbus stream lost after a gap), each
// event built (uid hash, addl, the filter's lookup) only to be counted and dropped. A repeat found here
// is counted on its hint, unbuilt. The names are compared by where their text lies (the sink compares
// the text), the connection by its conn_id (an analyzer's connection keeps it, unless its roles flip).
struct ConnWeirdMemo {
  struct Entry {
    const char* name = nullptr;
    size_t size = 0;
    ConnId id;
    WeirdSink::RepeatHint hint;
  };
  std::array<Entry, 4> entries;
  uint8_t next = 0;  // the entry the next new name takes
};

// conn_weird, through `memo`: a repeat that its hint covers is only counted.
void conn_weird(const AnalyzerContext& ctx, ConnWeirdMemo& memo, const Conn& c, bool is_orig, uint64_t ts_ns,
                std::string_view name, std::string addl, std::string_view source);

struct DissectorModule {
  Protocol protocol;
  std::string_view service;                  // conn.log service name ("modbus", "dnp3", ...)
  std::span<const uint16_t> tcp_ports;       // responder ports that select the analyzer
  std::span<const uint16_t> udp_ports;
  std::span<const LogSchema* const> logs;    // the logs this module owns
  std::unique_ptr<Analyzer> (*create)(const AnalyzerContext& ctx, Transport transport);
};

// Every module, in a fixed order (the order of conn.log's service list). Defined in registry.cpp.
std::span<const DissectorModule* const> dissector_modules();

}  // namespace ots
