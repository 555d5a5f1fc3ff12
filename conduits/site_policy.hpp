// The zone/conduit policy of a site: classify each flow once (zones, conduit, verdict), then check each
// operation of an admitted flow against the conduit's rules. Immutable after loading, so every worker
// shares one; no call allocates.
//
// Pipeline use:
//   on_new_flow:        fp = policy.classify(conn);                  // store fp with the connection
//   dissector confirms: if (policy.set_protocol(fp, proto)) notice-if-violation(fp)
//   operation event:    policy.set_protocol(fp, ev.protocol) (as above, in case the event comes first);
//                       if (!policy.check_operation(fp, ev)) notice OT::Operation_Not_Allowed
//   on_flow_end:        if (policy.settle(fp, conn)) notice-if-violation(fp)
//   conn.log:           policy.zone_name(fp.zone_orig), zone_name(fp.zone_resp), conduit_name(fp.conduit)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/flow.hpp"
#include "capture/net_types.hpp"
#include "conduits/conduit.hpp"
#include "dissectors/operation.hpp"
#include "zones/site_model.hpp"

namespace ots {

enum class FlowVerdict : uint8_t {
  // Not violations:
  NotChecked,   // no zone model; to broadcast/multicast from a known source; unknown host with
                // unknown_hosts: ignore; from the unspecified address (DHCP, IPv6 DAD)
  IntraZone,    // both ends in one zone and defaults.intra_zone is allow: no operation policy
  Allowed,      // crosses a conduit and a rule admits it: its operations are checked
  Pending,      // only an ICS rule could admit it, and no dissector has confirmed a protocol yet
  // Violations, in check order (the first that fails is the flow's notice):
  UnknownHost,         // OT::Unknown_Host (fp.unknown says which address)
  IntraZoneDenied,     // OT::Intra_Zone_Denied
  NoConduit,           // OT::No_Conduit
  ProtocolNotAllowed,  // OT::Protocol_Not_Allowed
  WrongInitiator,      // OT::Wrong_Initiator
};
constexpr bool is_violation(FlowVerdict v) { return v >= FlowVerdict::UnknownHost; }
// "OT::Unknown_Host", ...; empty for verdicts that are not violations.
std::string_view notice_note(FlowVerdict v);
inline constexpr std::string_view kOperationNotAllowedNote = "OT::Operation_Not_Allowed";
std::string_view verdict_name(FlowVerdict v);  // "not_checked", "allowed", "no_conduit", ...

// One flow's policy state (24 bytes), kept with the connection.
struct FlowPolicy {
  static constexpr uint8_t kOrig = 1, kResp = 2;
  static constexpr uint8_t kNoProtocol = 0xff;

  int16_t zone_orig = -1;  // -1: in no zone (conn.log '-')
  int16_t zone_resp = -1;
  int16_t conduit = -1;    // the conduit joining the two zones, -1: none
  uint16_t resp_port = 0;
  Transport transport = Transport::Unknown;
  FlowVerdict verdict = FlowVerdict::NotChecked;
  uint8_t unknown = 0;        // kOrig | kResp: the addresses in no zone (UnknownHost)
  uint8_t vlan_mismatch = 0;  // kOrig | kResp: in a zone's networks, but on a VLAN the zone does not list
  uint8_t protocol = kNoProtocol;  // the confirmed Protocol, or kNoProtocol
  bool to_broadcast = false;  // responder is broadcast, multicast or a zone network's directed broadcast
  uint64_t rules = 0;         // bit i: rule i of the conduit admits the flow (Allowed)
};

class SitePolicy {
 public:
  // No model: every flow is NotChecked.
  SitePolicy() = default;

  // The flow's zones, conduit and verdict from its first packet. VLAN ids: 0 when untagged; a zone
  // that lists vlans accepts either tag (QinQ carries the plant VLAN inside).
  FlowPolicy classify(const IpAddr& orig_h, const IpAddr& resp_h, Transport transport, uint16_t resp_port,
                      uint16_t vlan = 0, uint16_t inner_vlan = 0) const;
  FlowPolicy classify(const Conn& c) const {
    const ConnId id = c.id();
    return classify(id.orig_h, id.resp_h, id.proto, id.resp_p, c.vlan, c.inner_vlan);
  }
  // A dissector confirmed the flow's protocol (a flow is an ICS protocol when its payload parses as
  // one). The first confirmation decides a Pending flow. Returns true when fp.verdict changed; cheap
  // (one compare) when called again with the same protocol.
  bool set_protocol(FlowPolicy& fp, Protocol p) const;
  // The flow ended. A flow still Pending is decided now: if it carried payload, no dissector recognised
  // it, so it is not the ICS protocol its port suggests (ProtocolNotAllowed, or WrongInitiator when a
  // tcp/udp rule matched only from the other zone). Without payload (a handshake only: a scan, a PLC
  // that is down) nothing contradicts the port, so the ICS rules for the port decide as if it were
  // their protocol. True when the verdict changed.
  bool settle(FlowPolicy& fp, bool payload_seen) const;
  bool settle(FlowPolicy& fp, const Conn& c) const { return settle(fp, c.orig.bytes + c.resp.bytes > 0); }
  // True when the operation passes: always for flows that are not Allowed (only flows that crossed a
  // conduit and passed the flow checks have an operation policy), for responses and for events that
  // are never operations (see policy_operation); otherwise when an admitting rule allows it.
  bool check_operation(const FlowPolicy& fp, const OperationEvent& ev) const;

  // For logs and notices: "" for -1.
  std::string_view zone_name(int16_t zone) const;
  std::string_view conduit_name(int16_t conduit) const;
  bool enabled() const { return model_.has_zones; }
  const SiteModel& model() const { return model_; }
  const std::vector<Zone>& zones() const { return model_.zones; }
  const std::vector<Conduit>& conduits() const { return conduits_; }
  const SiteDefaults& defaults() const { return model_.defaults; }

 private:
  friend bool load_site_policy(const std::string& path, SitePolicy& out, std::vector<std::string>& errors);
  enum class Stage : uint8_t { Open, EndedEmpty, EndedWithPayload };
  void decide(FlowPolicy& fp, Stage stage) const;
  void index_conduits();

  SiteModel model_;
  std::vector<Conduit> conduits_;
  std::vector<uint32_t> pair_keys_;     // (low zone << 16 | high zone), sorted
  std::vector<int16_t> pair_conduit_;   // conduit of pair_keys_[i]
};

// Loads the site model FILE: site, defaults, zones and conduits (the other sections are left to their
// owners). On problems returns false and appends every "FILE:LINE:COL: what is wrong, what was
// expected" line to `errors`.
bool load_site_policy(const std::string& path, SitePolicy& out, std::vector<std::string>& errors);

}  // namespace ots
