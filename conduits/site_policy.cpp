#include "conduits/site_policy.hpp"

#include <algorithm>
#include <bit>

#include "conduits/conduit_yaml.hpp"

namespace ots {

namespace {

RuleProtocol rule_protocol_of(Protocol p) {
  switch (p) {
    case Protocol::Modbus: return RuleProtocol::Modbus;
    case Protocol::Dnp3: return RuleProtocol::Dnp3;
    case Protocol::Enip:
    case Protocol::Cip: return RuleProtocol::EnipCip;
    case Protocol::S7comm: return RuleProtocol::S7comm;
    case Protocol::S7commPlus: return RuleProtocol::S7commPlus;
    case Protocol::Aqat:
    case Protocol::Count_: break;
  }
  return RuleProtocol::Aqat;
}

bool listed(const std::vector<uint16_t>& ports, uint16_t port) {
  for (const uint16_t p : ports)
    if (p == port) return true;
  return false;
}

// The responder port an ICS rule admits: its own list (any transport), or the protocol's standard ports.
bool ics_port_matches(const ConduitRule& r, Transport t, uint16_t port) {
  if (t != Transport::Tcp && t != Transport::Udp) return false;
  if (!r.ports.empty()) return listed(r.ports, port);
  for (const PortSpec& s : default_ports(r.protocol))
    if (s.transport == t && s.port == port) return true;
  return false;
}

bool unspecified(const IpAddr& a) {
  if (a.is_v4()) return a.bytes[12] == 0 && a.bytes[13] == 0 && a.bytes[14] == 0 && a.bytes[15] == 0;
  for (const uint8_t b : a.bytes)
    if (b) return false;
  return true;
}

uint32_t pair_key(int16_t a, int16_t b) {
  const auto [lo, hi] = std::minmax(a, b);
  return (static_cast<uint32_t>(lo) << 16) | static_cast<uint16_t>(hi);
}

}  // namespace

std::string_view notice_note(FlowVerdict v) {
  switch (v) {
    case FlowVerdict::UnknownHost: return "OT::Unknown_Host";
    case FlowVerdict::IntraZoneDenied: return "OT::Intra_Zone_Denied";
    case FlowVerdict::NoConduit: return "OT::No_Conduit";
    case FlowVerdict::ProtocolNotAllowed: return "OT::Protocol_Not_Allowed";
    case FlowVerdict::WrongInitiator: return "OT::Wrong_Initiator";
    default: break;
  }
  return {};
}

std::string_view verdict_name(FlowVerdict v) {
  switch (v) {
    case FlowVerdict::NotChecked: return "not_checked";
    case FlowVerdict::IntraZone: return "intra_zone";
    case FlowVerdict::Allowed: return "allowed";
    case FlowVerdict::Pending: return "pending";
    case FlowVerdict::UnknownHost: return "unknown_host";
    case FlowVerdict::IntraZoneDenied: return "intra_zone_denied";
    case FlowVerdict::NoConduit: return "no_conduit";
    case FlowVerdict::ProtocolNotAllowed: return "protocol_not_allowed";
    case FlowVerdict::WrongInitiator: return "wrong_initiator";
  }
  return "not_checked";
}

FlowPolicy SitePolicy::classify(const IpAddr& orig_h, const IpAddr& resp_h, Transport transport, uint16_t resp_port,
                                uint16_t vlan, uint16_t inner_vlan) const {
  FlowPolicy fp;
  fp.transport = transport;
  fp.resp_port = resp_port;
  if (!model_.has_zones) return fp;

  // A zone that lists VLANs claims an address only on those VLANs: the same address elsewhere is a
  // misplaced or spoofing device, so it counts as in no zone rather than falling back to a shorter prefix.
  const ZoneMatch mo = model_.lookup.find(orig_h);
  const ZoneMatch mr = model_.lookup.find(resp_h);
  if (mo.zone >= 0) {
    if (model_.zones[size_t(mo.zone)].vlan_allowed(vlan, inner_vlan)) {
      fp.zone_orig = mo.zone;
    } else {
      fp.vlan_mismatch |= FlowPolicy::kOrig;
    }
  }
  if (mr.zone >= 0) {
    if (model_.zones[size_t(mr.zone)].vlan_allowed(vlan, inner_vlan)) {
      fp.zone_resp = mr.zone;
    } else {
      fp.vlan_mismatch |= FlowPolicy::kResp;
    }
  }
  fp.to_broadcast = resp_h.is_multicast_or_broadcast() || mr.directed_broadcast;

  // 1. Addresses in no zone: Unknown_Host and nothing else for the flow. A broadcast or multicast
  // responder is nobody's address; the unspecified source (DHCP discover, IPv6 DAD) nobody's either.
  if (fp.zone_orig < 0 && !unspecified(orig_h)) fp.unknown |= FlowPolicy::kOrig;
  if (fp.zone_resp < 0 && !fp.to_broadcast) fp.unknown |= FlowPolicy::kResp;
  if (fp.unknown) {
    fp.verdict = model_.defaults.unknown_hosts == UnknownHostPolicy::Alert ? FlowVerdict::UnknownHost
                                                                           : FlowVerdict::NotChecked;
    return fp;
  }
  // Broadcast and multicast are checked only for an unknown source (above).
  if (fp.to_broadcast || fp.zone_orig < 0) return fp;

  // 2. Inside one zone: the zone's intra_zone (the site default unless it has its own), and no
  // operation policy.
  if (fp.zone_orig == fp.zone_resp) {
    fp.verdict = model_.zones[size_t(fp.zone_orig)].intra_zone == IntraZonePolicy::Allow ? FlowVerdict::IntraZone
                                                                                          : FlowVerdict::IntraZoneDenied;
    return fp;
  }
  // 3. A conduit joining the two zones.
  // Branch-free halving, as in ZoneLookup::find: zone pairs of new flows defeat the branch predictor.
  const uint32_t key = pair_key(fp.zone_orig, fp.zone_resp);
  const uint32_t* base = pair_keys_.data();
  size_t n = pair_keys_.size();
  while (n > 1) {
    const size_t half = n / 2;
    base = base[half] <= key ? base + half : base;
    n -= half;
  }
  if (pair_keys_.empty() || *base != key) {
    fp.verdict = FlowVerdict::NoConduit;
    return fp;
  }
  fp.conduit = pair_conduit_[size_t(base - pair_keys_.data())];
  // 4 and 5. A rule for the protocol and responder port; the initiator.
  decide(fp, Stage::Open);
  return fp;
}

// Rules against the flow as known so far. At the start the protocol is unknown: transport-level rules
// decide now, ICS rules only once a dissector confirms their protocol (Pending until then), or when the
// flow ends without payload (see settle).
void SitePolicy::decide(FlowPolicy& fp, Stage stage) const {
  const Conduit& c = conduits_[size_t(fp.conduit)];
  const bool known = fp.protocol != FlowPolicy::kNoProtocol;
  const RuleProtocol proto = known ? rule_protocol_of(static_cast<Protocol>(fp.protocol)) : RuleProtocol::Any;
  const Transport t = fp.transport;
  uint64_t matched = 0, admitted = 0;
  bool candidate = false;
  for (size_t i = 0; i < c.allow.size(); ++i) {
    const ConduitRule& r = c.allow[i];
    bool m = false;
    switch (r.protocol) {
      case RuleProtocol::Any: m = true; break;
      case RuleProtocol::Icmp: m = t == Transport::Icmp || t == Transport::Icmp6; break;
      case RuleProtocol::Tcp: m = t == Transport::Tcp && (r.ports.empty() || listed(r.ports, fp.resp_port)); break;
      case RuleProtocol::Udp: m = t == Transport::Udp && (r.ports.empty() || listed(r.ports, fp.resp_port)); break;
      default:
        if (!ics_port_matches(r, t, fp.resp_port)) break;
        if (known) {
          m = r.protocol == proto;
        } else if (stage == Stage::EndedEmpty) {
          m = true;
        } else {
          candidate = true;
        }
        break;
    }
    if (!m) continue;
    matched |= uint64_t(1) << i;
    if (r.from < 0 || r.from == fp.zone_orig) admitted |= uint64_t(1) << i;
  }
  fp.rules = admitted;
  if (admitted) {
    fp.verdict = FlowVerdict::Allowed;
  } else if (candidate && stage == Stage::Open) {
    fp.verdict = FlowVerdict::Pending;
  } else if (matched) {
    fp.verdict = FlowVerdict::WrongInitiator;
  } else {
    fp.verdict = FlowVerdict::ProtocolNotAllowed;
  }
}

bool SitePolicy::set_protocol(FlowPolicy& fp, Protocol p) const {
  if (fp.protocol != FlowPolicy::kNoProtocol) return false;  // the first confirmation decides
  fp.protocol = static_cast<uint8_t>(p);
  // Only a Pending flow can change: any other verdict was reached without the ICS rules, which need
  // a port match that a confirmation cannot create.
  if (fp.conduit < 0 || (fp.verdict != FlowVerdict::Pending && fp.verdict != FlowVerdict::Allowed)) return false;
  const FlowVerdict before = fp.verdict;
  decide(fp, Stage::Open);
  return fp.verdict != before;
}

bool SitePolicy::settle(FlowPolicy& fp, bool payload_seen) const {
  if (fp.verdict != FlowVerdict::Pending) return false;
  decide(fp, payload_seen ? Stage::EndedWithPayload : Stage::EndedEmpty);
  return true;
}

bool SitePolicy::check_operation(const FlowPolicy& fp, const OperationEvent& ev) const {
  if (fp.verdict != FlowVerdict::Allowed) return true;
  const std::optional<PolicyOperation> op = policy_operation(ev);
  if (!op) return true;
  const RuleProtocol proto = rule_protocol_of(ev.protocol);
  const std::vector<ConduitRule>& rules = conduits_[size_t(fp.conduit)].allow;
  for (uint64_t m = fp.rules; m; m &= m - 1) {
    const ConduitRule& r = rules[size_t(std::countr_zero(m))];
    // A tcp/udp/icmp/any rule admits the flow whatever it carries, so every operation in it too.
    if (is_transport_rule(r.protocol) || r.all_operations) {
      if (is_transport_rule(r.protocol) || r.protocol == proto) return true;
      continue;
    }
    if (r.protocol != proto) continue;
    if (std::binary_search(r.operations.begin(), r.operations.end(), op->primary) ||
        std::binary_search(r.operations.begin(), r.operations.end(), op->parent))
      return true;
  }
  return false;
}

std::string_view SitePolicy::zone_name(int16_t zone) const {
  if (zone < 0 || size_t(zone) >= model_.zones.size()) return {};
  return model_.zones[size_t(zone)].name;
}

std::string_view SitePolicy::conduit_name(int16_t conduit) const {
  if (conduit < 0 || size_t(conduit) >= conduits_.size()) return {};
  return conduits_[size_t(conduit)].name;
}

void SitePolicy::index_conduits() {
  std::vector<std::pair<uint32_t, int16_t>> pairs;
  for (size_t i = 0; i < conduits_.size(); ++i)
    pairs.emplace_back(pair_key(conduits_[i].zones[0], conduits_[i].zones[1]), static_cast<int16_t>(i));
  std::sort(pairs.begin(), pairs.end());
  pair_keys_.clear();
  pair_conduit_.clear();
  for (const auto& [k, c] : pairs) {
    if (!pair_keys_.empty() && pair_keys_.back() == k) continue;  // rejected by the loader; first wins
    pair_keys_.push_back(k);
    pair_conduit_.push_back(c);
  }
}

bool load_site_policy(const std::string& path, SitePolicy& out, std::vector<std::string>& errors) {
  const size_t before = errors.size();
  out = SitePolicy{};
  YAML::Node root;
  if (!site_yaml::load_document(path, root, errors)) return false;
  site_yaml::Reader r(path, errors);
  std::set<std::string> bad_zone_names;
  site_yaml::parse_site_sections(r, root, out.model_, bad_zone_names);
  if (root.IsMap()) {
    for (const auto& kv : root) {
      if (kv.first.IsScalar() && kv.first.Scalar() == "conduits") {
        parse_conduits_section(r, site_yaml::Field{kv.first, kv.second, true}, out.model_, bad_zone_names,
                               out.conduits_);
        break;  // a second `conduits` section was reported by parse_site_sections
      }
    }
  }
  // Conduit ids are int16_t in the per-flow state.
  if (out.conduits_.size() > 32767) r.error(SourcePos{1, 1}, "more than 32767 conduits");
  out.index_conduits();
  order_by_position(path, errors, before);
  return errors.size() == before;
}

}  // namespace ots
