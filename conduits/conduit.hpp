// Conduits of the site model: which zone pairs may talk, with which protocols, ports, initiators and
// operations. Parsed once from YAML into these structs; SitePolicy (site_policy.hpp) evaluates them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conduits/operation_vocabulary.hpp"
#include "zones/site_model.hpp"

namespace ots {

// The protocol of a rule. `enip` and `cip` name one family (EnipCip); the transport-level kinds admit
// every flow of their transport (ICS or not), `any` every flow.
enum class RuleProtocol : uint8_t { Modbus, Dnp3, EnipCip, S7comm, S7commPlus, Aqat, Tcp, Udp, Icmp, Any };

struct PortSpec {
  Transport transport;  // Tcp or Udp
  uint16_t port;
};

// Standard responder ports of an ICS protocol (used when a rule gives no `ports`): Modbus/TCP 502,
// DNP3 20000 (IEEE 1815 allows TCP and UDP), EtherNet/IP 44818 TCP+UDP (explicit messaging, list
// identity) and 2222 UDP (class 0/1 I/O), ISO-TSAP 102 for S7comm and S7comm-Plus, aqat 62443 UDP.
std::span<const PortSpec> default_ports(RuleProtocol p);
std::string_view rule_protocol_name(RuleProtocol p);  // "modbus", ..., "enip/cip" for the family
bool is_transport_rule(RuleProtocol p);               // tcp, udp, icmp, any
OpFamily rule_op_family(RuleProtocol p);

struct ConduitRule {
  RuleProtocol protocol = RuleProtocol::Any;
  std::string protocol_text;        // as written ("enip" or "cip"), for check-config
  int16_t from = -1;                // the zone that must be the originator; -1: either
  std::vector<uint16_t> ports;      // responder ports, any transport; empty: default_ports (ICS) or all (tcp/udp)
  bool read_only = false;
  bool all_operations = true;       // no `operations` and no `read_only`
  std::vector<OpKey> operations;    // sorted, unique; the read-only set when read_only
  std::vector<std::string> operation_names;  // canonical, as check-config prints them
  SourcePos pos;
};

// At most this many rules per conduit: a flow keeps the rules that admit it as a 64-bit mask.
inline constexpr size_t kMaxRulesPerConduit = 64;

struct Conduit {
  std::string name;
  int16_t zones[2] = {-1, -1};
  std::vector<ConduitRule> allow;
  SourcePos pos;
};

}  // namespace ots
