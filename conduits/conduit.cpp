#include "conduits/conduit.hpp"

namespace ots {

namespace {
constexpr PortSpec kModbusPorts[] = {{Transport::Tcp, 502}, {Transport::Udp, 502}};
constexpr PortSpec kDnp3Ports[] = {{Transport::Tcp, 20000}, {Transport::Udp, 20000}};
constexpr PortSpec kEnipPorts[] = {{Transport::Tcp, 44818}, {Transport::Udp, 44818}, {Transport::Udp, 2222}};
constexpr PortSpec kS7Ports[] = {{Transport::Tcp, 102}};
constexpr PortSpec kAqatPorts[] = {{Transport::Udp, 62443}};
}  // namespace

std::span<const PortSpec> default_ports(RuleProtocol p) {
  switch (p) {
    case RuleProtocol::Modbus: return kModbusPorts;
    case RuleProtocol::Dnp3: return kDnp3Ports;
    case RuleProtocol::EnipCip: return kEnipPorts;
    case RuleProtocol::S7comm:
    case RuleProtocol::S7commPlus: return kS7Ports;
    case RuleProtocol::Aqat: return kAqatPorts;
    default: break;
  }
  return {};
}

std::string_view rule_protocol_name(RuleProtocol p) {
  switch (p) {
    case RuleProtocol::Modbus: return "modbus";
    case RuleProtocol::Dnp3: return "dnp3";
    case RuleProtocol::EnipCip: return "enip/cip";
    case RuleProtocol::S7comm: return "s7comm";
    case RuleProtocol::S7commPlus: return "s7comm-plus";
    case RuleProtocol::Aqat: return "aqat";
    case RuleProtocol::Tcp: return "tcp";
    case RuleProtocol::Udp: return "udp";
    case RuleProtocol::Icmp: return "icmp";
    case RuleProtocol::Any: return "any";
  }
  return "any";
}

bool is_transport_rule(RuleProtocol p) {
  return p == RuleProtocol::Tcp || p == RuleProtocol::Udp || p == RuleProtocol::Icmp || p == RuleProtocol::Any;
}

OpFamily rule_op_family(RuleProtocol p) {
  switch (p) {
    case RuleProtocol::Modbus: return OpFamily::Modbus;
    case RuleProtocol::Dnp3: return OpFamily::Dnp3;
    case RuleProtocol::EnipCip: return OpFamily::Cip;
    case RuleProtocol::S7comm: return OpFamily::S7comm;
    case RuleProtocol::S7commPlus: return OpFamily::S7commPlus;
    default: break;
  }
  return OpFamily::None;
}

}  // namespace ots
