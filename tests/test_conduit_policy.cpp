// Conduits: validation messages, flow classification in the check order, operation checks,
// and `otsensor check-config`.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "conduits/site_policy.hpp"
#include "sensor/check_config.hpp"
#include "tests/test_support.hpp"

using namespace ots;

namespace {

std::string write_model(const std::string& name, const std::string& text) {
  static const auto dir = ots::test::scratch_dir("conduit_policy");
  const auto p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

IpAddr ip(const std::string& s) {
  IpAddr a;
  REQUIRE(IpAddr::parse(s, a));
  return a;
}

SitePolicy load_ok(const std::string& name, const std::string& text) {
  SitePolicy p;
  std::vector<std::string> errors;
  const bool ok = load_site_policy(write_model(name, text), p, errors);
  for (const auto& e : errors) UNSCOPED_INFO(e);
  REQUIRE(ok);
  return p;
}

std::vector<std::string> policy_errors(const std::string& name, const std::string& text) {
  const std::string path = write_model(name, text);
  SitePolicy p;
  std::vector<std::string> errors;
  CHECK_FALSE(load_site_policy(path, p, errors));
  for (auto& e : errors) {
    REQUIRE(e.rfind(path + ":", 0) == 0);
    e = e.substr(path.size() + 1);
  }
  return errors;
}

const char* const kZones =
    "zones:\n"
    "  - {name: mes, security_level: 2, networks: [10.20.0.0/16]}\n"
    "  - {name: scada, security_level: 3, networks: [10.30.0.0/16, \"fd00:30::/64\"]}\n"
    "  - {name: plc, security_level: 3, networks: [10.40.0.0/24], vlans: [40]}\n"
    "  - {name: sis, security_level: 4, networks: [10.50.0.0/24]}\n"
    "  - {name: lab, security_level: 1, networks: [10.60.0.0/24]}\n";

const char* const kConduits =
    "conduits:\n"
    "  - name: mes-scada\n"
    "    zones: [mes, scada]\n"
    "    allow:\n"
    "      - {protocol: modbus, from: mes, read_only: true}\n"
    "      - {protocol: tcp, from: mes, ports: [4840]}\n"
    "  - name: scada-plc\n"
    "    zones: [scada, plc]\n"
    "    allow:\n"
    "      - {protocol: modbus, from: scada, operations: [READ_HOLDING_REGISTERS, 0x10, Write-Single-Coil, 43/14]}\n"
    "      - {protocol: dnp3, from: scada, read_only: true}\n"
    "      - {protocol: s7comm, from: scada, read_only: true}\n"
    "      - {protocol: enip, from: scada, read_only: true}\n"
    "      - {protocol: udp, ports: [161]}\n"
    "      - {protocol: icmp, from: scada}\n"
    "  - name: plc-sis\n"
    "    zones: [plc, sis]\n"
    "    allow:\n"
    "      - {protocol: cip, from: plc, operations: [0x4E, read_tag]}\n"
    "      - {protocol: s7comm, from: sis, ports: [1102]}\n"
    "  - name: lab-sis\n"
    "    zones: [sis, lab]\n"
    "    allow:\n"
    "      - {protocol: any, from: lab}\n";

const SitePolicy& small_policy() {
  static const SitePolicy p = load_ok("small.yaml", std::string(kZones) + kConduits);
  return p;
}

FlowPolicy flow(const SitePolicy& p, const std::string& orig, const std::string& resp, Transport t, uint16_t port,
                uint16_t vlan = 0, uint16_t inner = 0) {
  return p.classify(ip(orig), ip(resp), t, port, vlan, inner);
}

// A flow scada -> plc (VLAN 40) confirmed as `proto` on its standard port.
FlowPolicy confirmed(const SitePolicy& p, const std::string& orig, const std::string& resp, Transport t,
                     uint16_t port, Protocol proto, uint16_t vlan = 40) {
  FlowPolicy fp = flow(p, orig, resp, t, port, vlan);
  p.set_protocol(fp, proto);
  REQUIRE(fp.verdict == FlowVerdict::Allowed);
  return fp;
}

OperationEvent op(Protocol proto, uint32_t code, int32_t sub = -1, int32_t cip_class = -1, bool request = true,
                  bool wrapper = false) {
  OperationEvent ev;
  ev.wrapper = wrapper;
  ev.protocol = proto;
  ev.code = code;
  ev.subfunction = sub;
  ev.cip_class = cip_class;
  ev.is_request = request;
  return ev;
}

std::string zname(const SitePolicy& p, int16_t z) { return z < 0 ? "-" : std::string(p.zone_name(z)); }

// Runs check_config with its output captured.
struct Captured {
  int rc;
  std::string out, err;
};
Captured run_check_config(const std::string& path) {
  char *obuf = nullptr, *ebuf = nullptr;
  size_t olen = 0, elen = 0;
  std::FILE* out = open_memstream(&obuf, &olen);
  std::FILE* err = open_memstream(&ebuf, &elen);
  Captured c;
  c.rc = check_config(path, out, err);
  std::fclose(out);
  std::fclose(err);
  c.out.assign(obuf, olen);
  c.err.assign(ebuf, elen);
  std::free(obuf);
  std::free(ebuf);
  return c;
}

}  // namespace

TEST_CASE("conduit validation reports every problem with line and column", "[conduits]") {
  const auto errors = policy_errors("bad_conduits.yaml",
                                    std::string(kZones) +                                 // 1-6
                                        "conduits:\n"                                     // 7
                                        "  - name: a\n"                                   // 8
                                        "    zones: [mes, nowhere]\n"                     // 9
                                        "    allow: []\n"                                 // 10
                                        "  - name: b\n"                                   // 11
                                        "    zones: [mes, mes]\n"                         // 12
                                        "    allow: []\n"                                 // 13
                                        "  - name: c\n"                                   // 14
                                        "    zones: [mes, scada, plc]\n"                  // 15
                                        "    allow: []\n"                                 // 16
                                        "  - name: d\n"                                   // 17
                                        "    zones: [mes, scada]\n"                       // 18
                                        "    allow:\n"                                    // 19
                                        "      - protocol: modbsu\n"                      // 20
                                        "      - protocol: modbus\n"                      // 21
                                        "        from: plc\n"                             // 22
                                        "        ports: [502, 0, 70000]\n"                // 23
                                        "        operations: [read_holding_registerz, 300, write_var, 3/1]\n"  // 24
                                        "      - protocol: icmp\n"                        // 25
                                        "        ports: [1]\n"                            // 26
                                        "      - protocol: tcp\n"                         // 27
                                        "        read_only: true\n"                       // 28
                                        "        operations: [read]\n"                    // 29
                                        "      - protocol: s7comm-plus\n"                 // 30
                                        "        read_only: true\n"                       // 31
                                        "      - protocol: aqat\n"                        // 32
                                        "        operations: [x]\n"                       // 33
                                        "      - protocol: dnp3\n"                        // 34
                                        "        read_only: true\n"                       // 35
                                        "        operations: [read]\n"                    // 36
                                        "      - protocol: cip\n"                         // 37
                                        "        operations: [multiple_service_packet, unconnected_send, 0x0A, 0x80]\n"  // 38
                                        "      - protocol: s7comm\n"                      // 39
                                        "        operations: [download_block, 0x1c, 5/1, 256/0x0401, plc_stopp]\n"  // 40
                                        "      - protocol: dnp3\n"                        // 41
                                        "        operations: [response, 129, cold_restart, IMMED_FREEZE, 2/1]\n"  // 42
                                        "      - protocl: udp\n"                          // 43
                                        "      - just text\n"                             // 44
                                        "  - name: d\n"                                   // 45
                                        "    zones: [scada, mes]\n"                       // 46
                                        "    allow: []\n"                                 // 47
                                        "  - name: e\n"                                   // 48
                                        "    zones: [scada, mes]\n"                       // 49
                                        "    allow: {protocol: tcp}\n"                    // 50
                                        "  - zones: [sis, lab]\n");                       // 51
  const std::vector<std::string> expected = {
      "9:18: conduit 'a': zone 'nowhere' is not defined",
      "12:18: conduit 'b': zones names 'mes' twice, expected two distinct zones (traffic inside a zone follows "
      "defaults.intra_zone)",
      "15:12: conduit 'c': zones must name two zones, got 3",
      "20:19: conduit 'd': allow[0]: unknown protocol 'modbsu', expected modbus, dnp3, enip, cip, s7comm, s7comm-plus, "
      "aqat, tcp, udp, icmp or any",
      "22:15: conduit 'd': allow[1]: from 'plc' is not one of the conduit's zones (mes, scada)",
      "23:22: conduit 'd': allow[1]: port is 0, expected 1 to 65535",
      "23:25: conduit 'd': allow[1]: port is 70000, expected 1 to 65535",
      "24:22: conduit 'd': allow[1]: unknown modbus operation 'read_holding_registerz', did you mean "
      "'read_holding_registers'?",
      "24:46: conduit 'd': allow[1]: modbus code 300 is out of range, expected 1 to 127 (128 and up are exception "
      "responses)",
      "24:51: conduit 'd': allow[1]: 'write_var' is an operation of s7comm, not of modbus",
      "24:62: conduit 'd': allow[1]: modbus operation '3/1': only diagnostics (8) and encapsulated_interface_transport "
      "(43) can have a '/sub-function'",
      "26:9: conduit 'd': allow[2]: ports do not apply to protocol 'icmp' (only to tcp, udp and the ICS protocols)",
      "28:9: conduit 'd': allow[3]: read_only applies to ICS protocols (modbus, dnp3, enip, cip, s7comm, s7comm-plus), "
      "not 'tcp'",
      "29:9: conduit 'd': allow[3]: operations applies to ICS protocols (modbus, dnp3, enip, cip, s7comm, "
      "s7comm-plus), not 'tcp'",
      "31:9: conduit 'd': allow[4]: read_only: s7comm-plus has no read-only set, list its operations instead",
      "33:9: conduit 'd': allow[5]: operations: aqat has no operations to restrict",
      "35:9: conduit 'd': allow[6]: read_only and operations exclude each other: use read_only alone for the "
      "protocol's read set, or list every allowed operation under operations",
      "38:22: conduit 'd': allow[7]: cip operation 'multiple_service_packet' is a CIP wrapper, not an operation: list "
      "the services it carries",
      "38:47: conduit 'd': allow[7]: cip operation 'unconnected_send' is a CIP wrapper, not an operation: list the "
      "services it carries",
      "38:65: conduit 'd': allow[7]: cip operation '0x0A' (multiple_service_packet) is a CIP wrapper, not an "
      "operation: list the services it carries",
      "38:71: conduit 'd': allow[7]: cip code 0x80 is out of range, expected 0 to 127 (the high bit marks replies)",
      "40:22: conduit 'd': allow[8]: s7comm operation 'download_block' belongs to request_download and is never checked "
      "on its own: list request_download",
      "40:38: conduit 'd': allow[8]: s7comm operation '0x1c' (download_ended) belongs to request_download and is never "
      "checked on its own: list request_download",
      "40:44: conduit 'd': allow[8]: s7comm operation '5/1': only userdata (256) can have a '/sub-function'",
      "40:61: conduit 'd': allow[8]: unknown s7comm operation 'plc_stopp', did you mean 'plc_stop'?",
      "42:22: conduit 'd': allow[9]: dnp3 operation 'response' is a response, and responses are never operations",
      "42:32: conduit 'd': allow[9]: dnp3 code 129 is out of range, expected 0 to 127 (responses are never operations)",
      "42:65: conduit 'd': allow[9]: dnp3 operation '2/1' takes no '/sub-function'",
      "43:9: conduit 'd': allow[10]: unknown key 'protocl', expected protocol, from, ports, operations, read_only",
      "43:9: conduit 'd': allow[10]: missing required key 'protocol'",
      "44:9: conduit 'd': allow[11]: a rule must be a map (protocol, from, ports, operations, read_only), got 'just "
      "text'",
      "45:11: conduit 'd' is defined twice (first at line 17)",
      "49:12: conduit 'e': zones scada and mes are already joined by conduit 'd' (line 17): put the rules in one "
      "conduit",
      "50:12: conduit 'e': allow must be a list, got a map",
      "51:5: conduits[6]: missing required key 'name'",
      "51:5: conduits[6]: missing required key 'allow'",
  };
  CHECK(errors == expected);
}

TEST_CASE("a conduit has at most 64 rules", "[conduits]") {
  std::string text = std::string(kZones) + "conduits:\n  - name: big\n    zones: [mes, scada]\n    allow:\n";
  for (int i = 0; i < 65; ++i) text += "      - {protocol: tcp, ports: [" + std::to_string(1000 + i) + "]}\n";
  CHECK(policy_errors("big.yaml", text) ==
        std::vector<std::string>{"11:7: conduit 'big': allow has 65 rules, expected at most 64 (merge rules, e.g. list "
                                 "several operations or ports in one rule)"});
}

TEST_CASE("zone names reported as invalid are not reported again by conduits", "[conduits]") {
  CHECK(policy_errors("badname.yaml",
                      "zones:\n"
                      "  - {name: Control, security_level: 1, networks: [10.0.0.0/8]}\n"
                      "  - {name: it, security_level: 1, networks: [11.0.0.0/8]}\n"
                      "conduits:\n"
                      "  - {name: x, zones: [it, Control], allow: []}\n") ==
        std::vector<std::string>{
            "2:12: zones[0]: name 'Control' must match [a-z0-9_-]+ (lower-case letters, digits, '_', '-')"});
}

TEST_CASE("rules keep protocols, ports, initiators and operations", "[conduits]") {
  const SitePolicy& p = small_policy();
  REQUIRE(p.conduits().size() == 4);
  const Conduit& sp = p.conduits()[1];
  CHECK(sp.name == "scada-plc");
  REQUIRE(sp.allow.size() == 6);
  const ConduitRule& mb = sp.allow[0];
  CHECK(mb.protocol == RuleProtocol::Modbus);
  CHECK(zname(p, mb.from) == "scada");
  CHECK(mb.ports.empty());
  CHECK_FALSE(mb.all_operations);
  CHECK(mb.operation_names ==
        std::vector<std::string>{"read_holding_registers", "write_multiple_registers", "write_single_coil",
                                 "read_device_identification"});
  CHECK(sp.allow[4].protocol == RuleProtocol::Udp);
  CHECK(sp.allow[4].from == -1);
  CHECK(sp.allow[4].ports == std::vector<uint16_t>{161});
  CHECK(p.conduits()[2].allow[0].operation_names == std::vector<std::string>{"read_modify_write_tag|forward_close",
                                                                              "read_tag"});
  CHECK(p.conduit_name(-1).empty());
  CHECK(p.zone_name(-1).empty());
  CHECK(p.zone_name(99).empty());
  CHECK(sizeof(FlowPolicy) <= 24);
}

TEST_CASE("an address in no zone is Unknown_Host and nothing else", "[conduits]") {
  const SitePolicy& p = small_policy();
  FlowPolicy fp = flow(p, "192.0.2.1", "10.30.0.5", Transport::Tcp, 502);
  CHECK(fp.verdict == FlowVerdict::UnknownHost);
  CHECK(fp.unknown == FlowPolicy::kOrig);
  CHECK(zname(p, fp.zone_resp) == "scada");
  CHECK(fp.conduit == -1);
  fp = flow(p, "10.30.0.5", "198.51.100.7", Transport::Udp, 53);
  CHECK(fp.verdict == FlowVerdict::UnknownHost);
  CHECK(fp.unknown == FlowPolicy::kResp);
  fp = flow(p, "192.0.2.1", "fd00:99::1", Transport::Tcp, 80);
  CHECK(fp.unknown == (FlowPolicy::kOrig | FlowPolicy::kResp));
  CHECK(notice_note(fp.verdict) == "OT::Unknown_Host");

  // Unknown hosts come before the intra-zone default.
  const SitePolicy deny = load_ok("deny.yaml", std::string("defaults: {intra_zone: deny}\n") + kZones);
  CHECK(flow(deny, "10.20.0.1", "10.20.0.2", Transport::Tcp, 80).verdict == FlowVerdict::IntraZoneDenied);
  CHECK(flow(deny, "10.20.0.1", "10.21.0.2", Transport::Tcp, 80).verdict == FlowVerdict::UnknownHost);

  const SitePolicy ignore = load_ok("ignore.yaml", std::string("defaults: {unknown_hosts: ignore}\n") + kZones);
  fp = flow(ignore, "192.0.2.1", "10.30.0.5", Transport::Tcp, 502);
  CHECK(fp.verdict == FlowVerdict::NotChecked);
  CHECK(fp.unknown == FlowPolicy::kOrig);
}

TEST_CASE("broadcast and multicast are checked only for an unknown source", "[conduits]") {
  const SitePolicy& p = small_policy();
  FlowPolicy fp = flow(p, "10.20.0.5", "255.255.255.255", Transport::Udp, 67);
  CHECK(fp.verdict == FlowVerdict::NotChecked);
  CHECK(fp.to_broadcast);
  CHECK(fp.unknown == 0);
  CHECK(flow(p, "10.20.0.5", "224.0.0.251", Transport::Udp, 5353).verdict == FlowVerdict::NotChecked);
  CHECK(flow(p, "fd00:30::1", "ff02::1", Transport::Icmp6, 0).verdict == FlowVerdict::NotChecked);
  // The directed broadcast of scada's 10.30.0.0/16, sent from another zone with no conduit rule for it.
  fp = flow(p, "10.60.0.5", "10.30.255.255", Transport::Udp, 47808);
  CHECK(fp.verdict == FlowVerdict::NotChecked);
  CHECK(fp.to_broadcast);
  CHECK(zname(p, fp.zone_resp) == "scada");
  // Unknown source: Unknown_Host for the source only.
  fp = flow(p, "192.0.2.1", "255.255.255.255", Transport::Udp, 67);
  CHECK(fp.verdict == FlowVerdict::UnknownHost);
  CHECK(fp.unknown == FlowPolicy::kOrig);
  // The unspecified source (DHCP discover, IPv6 duplicate address detection) is nobody's address.
  CHECK(flow(p, "0.0.0.0", "255.255.255.255", Transport::Udp, 67).verdict == FlowVerdict::NotChecked);
  CHECK(flow(p, "::", "ff02::1:ff00:1", Transport::Icmp6, 0).verdict == FlowVerdict::NotChecked);
  // A unicast flow from the unspecified address to a known host is not judged either.
  CHECK(flow(p, "0.0.0.0", "10.30.0.5", Transport::Udp, 67).verdict == FlowVerdict::NotChecked);
}

TEST_CASE("flows inside a zone follow defaults.intra_zone and have no operation policy", "[conduits]") {
  const SitePolicy& p = small_policy();
  FlowPolicy fp = flow(p, "10.30.0.5", "fd00:30::1", Transport::Tcp, 502);  // one zone, two families
  CHECK(fp.verdict == FlowVerdict::IntraZone);
  CHECK(zname(p, fp.zone_orig) == "scada");
  CHECK(zname(p, fp.zone_resp) == "scada");
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 16)));
  const SitePolicy deny = load_ok("deny2.yaml", std::string("defaults: {intra_zone: deny}\n") + kZones);
  fp = flow(deny, "10.30.0.5", "10.30.0.6", Transport::Tcp, 502);
  CHECK(fp.verdict == FlowVerdict::IntraZoneDenied);
  CHECK(notice_note(fp.verdict) == "OT::Intra_Zone_Denied");
  CHECK(deny.check_operation(fp, op(Protocol::Modbus, 16)));
}

TEST_CASE("a zone's own intra_zone overrides the site default", "[conduits]") {
  // defaults written after the zones still give the zones their default. (The example model's safety
  // zone denies inside a site that allows: tests/test_zones_demo.cpp.)
  const SitePolicy p = load_ok("intra_per_zone.yaml",
                               "zones:\n"
                               "  - {name: control, security_level: 3, networks: [10.1.0.0/24]}\n"
                               "  - {name: office, security_level: 1, networks: [10.3.0.0/24], intra_zone: allow}\n"
                               "defaults: {intra_zone: deny}\n");
  CHECK(flow(p, "10.1.0.5", "10.1.0.6", Transport::Tcp, 502).verdict == FlowVerdict::IntraZoneDenied);
  CHECK(flow(p, "10.3.0.5", "10.3.0.6", Transport::Tcp, 445).verdict == FlowVerdict::IntraZone);
  SitePolicy bad;
  std::vector<std::string> errors;
  const auto path = write_model("intra_bad.yaml",
                                "zones:\n  - {name: safety, security_level: 4, networks: [10.2.0.0/24], intra_zone: never}\n");
  CHECK_FALSE(load_site_policy(path, bad, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == path + ":2:76: zone 'safety': intra_zone is 'never', expected allow or deny");
}

TEST_CASE("zones without a conduit are No_Conduit", "[conduits]") {
  const SitePolicy& p = small_policy();
  const FlowPolicy fp = flow(p, "10.20.0.5", "10.40.0.5", Transport::Tcp, 502, 40);
  CHECK(fp.verdict == FlowVerdict::NoConduit);
  CHECK(fp.conduit == -1);
  CHECK(zname(p, fp.zone_orig) == "mes");
  CHECK(zname(p, fp.zone_resp) == "plc");
  CHECK(notice_note(fp.verdict) == "OT::No_Conduit");
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 16)));
}

TEST_CASE("no rule for the protocol and responder port is Protocol_Not_Allowed", "[conduits]") {
  const SitePolicy& p = small_policy();
  FlowPolicy fp = flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 80);
  CHECK(fp.verdict == FlowVerdict::ProtocolNotAllowed);
  CHECK(p.conduit_name(fp.conduit) == "mes-scada");
  CHECK(notice_note(fp.verdict) == "OT::Protocol_Not_Allowed");
  // Modbus/TCP on a port its rule does not list (the default 502).
  fp = flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 5020);
  CHECK(fp.verdict == FlowVerdict::ProtocolNotAllowed);
  CHECK_FALSE(p.set_protocol(fp, Protocol::Modbus));
  CHECK(fp.verdict == FlowVerdict::ProtocolNotAllowed);
  // A flow on 502 that turns out to be DNP3.
  fp = flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 502);
  CHECK(fp.verdict == FlowVerdict::Pending);
  CHECK(p.set_protocol(fp, Protocol::Dnp3));
  CHECK(fp.verdict == FlowVerdict::ProtocolNotAllowed);
  // S7comm initiated by sis only on its listed port 1102, not on 102.
  CHECK(flow(p, "10.50.0.5", "10.40.0.5", Transport::Tcp, 102, 40).verdict == FlowVerdict::ProtocolNotAllowed);
}

TEST_CASE("an allowed protocol from the other zone is Wrong_Initiator", "[conduits]") {
  const SitePolicy& p = small_policy();
  FlowPolicy fp = flow(p, "10.30.0.5", "10.20.0.5", Transport::Tcp, 4840);  // tcp/4840 only from mes
  CHECK(fp.verdict == FlowVerdict::WrongInitiator);
  CHECK(notice_note(fp.verdict) == "OT::Wrong_Initiator");
  // Modbus is allowed only from mes: a PLC-side client in scada polling mes waits for the dissector.
  fp = flow(p, "10.30.0.5", "10.20.0.5", Transport::Tcp, 502);
  CHECK(fp.verdict == FlowVerdict::Pending);
  CHECK(p.set_protocol(fp, Protocol::Modbus));
  CHECK(fp.verdict == FlowVerdict::WrongInitiator);
  // icmp only from scada.
  CHECK(flow(p, "10.40.0.5", "10.30.0.5", Transport::Icmp, 0, 40).verdict == FlowVerdict::WrongInitiator);
  CHECK(flow(p, "10.30.0.5", "10.40.0.5", Transport::Icmp, 0, 40).verdict == FlowVerdict::Allowed);
}

TEST_CASE("ICS rules wait for the dissector, the end of the flow settles what never confirmed", "[conduits]") {
  const SitePolicy& p = small_policy();
  FlowPolicy fp = flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 502);
  CHECK(fp.verdict == FlowVerdict::Pending);
  CHECK_FALSE(is_violation(fp.verdict));
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 16)));  // not checked before the flow is decided
  CHECK(p.set_protocol(fp, Protocol::Modbus));
  CHECK(fp.verdict == FlowVerdict::Allowed);
  CHECK(fp.rules == 1);
  CHECK_FALSE(p.set_protocol(fp, Protocol::Modbus));  // cheap when repeated
  CHECK_FALSE(p.settle(fp, true));

  // Payload that no dissector recognised: not Modbus.
  fp = flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 502);
  CHECK(p.settle(fp, true));
  CHECK(fp.verdict == FlowVerdict::ProtocolNotAllowed);
  // A handshake only (a scan, a PLC that is down): the port's ICS rules decide.
  fp = flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 502);
  CHECK(p.settle(fp, false));
  CHECK(fp.verdict == FlowVerdict::Allowed);
  fp = flow(p, "10.30.0.5", "10.20.0.5", Transport::Tcp, 502);
  CHECK(p.settle(fp, false));
  CHECK(fp.verdict == FlowVerdict::WrongInitiator);
}

TEST_CASE("tcp, udp, icmp and any rules admit flows by transport", "[conduits]") {
  const SitePolicy& p = small_policy();
  // udp/161 without `from`: either side may start it.
  CHECK(flow(p, "10.40.0.5", "10.30.0.5", Transport::Udp, 161, 40).verdict == FlowVerdict::Allowed);
  CHECK(flow(p, "10.30.0.5", "10.40.0.5", Transport::Udp, 161, 40).verdict == FlowVerdict::Allowed);
  CHECK(flow(p, "10.30.0.5", "10.40.0.5", Transport::Udp, 162, 40).verdict == FlowVerdict::ProtocolNotAllowed);
  CHECK(flow(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 161, 40).verdict == FlowVerdict::ProtocolNotAllowed);
  // any from lab: every transport, even one without ports.
  CHECK(flow(p, "10.60.0.5", "10.50.0.5", Transport::Tcp, 12345).verdict == FlowVerdict::Allowed);
  CHECK(flow(p, "10.60.0.5", "10.50.0.5", Transport::Unknown, 0).verdict == FlowVerdict::Allowed);
  CHECK(flow(p, "10.50.0.5", "10.60.0.5", Transport::Udp, 53).verdict == FlowVerdict::WrongInitiator);
  // A tcp rule admits the flow whatever it carries, and every operation in it.
  FlowPolicy fp = flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 4840);
  CHECK(fp.verdict == FlowVerdict::Allowed);
  CHECK_FALSE(p.set_protocol(fp, Protocol::Modbus));
  CHECK(fp.verdict == FlowVerdict::Allowed);
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 16)));
  // An ICS rule with its own ports: S7comm from sis on 1102.
  fp = flow(p, "10.50.0.5", "10.40.0.5", Transport::Tcp, 1102, 40);
  CHECK(fp.verdict == FlowVerdict::Pending);
  CHECK(p.set_protocol(fp, Protocol::S7comm));
  CHECK(fp.verdict == FlowVerdict::Allowed);
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0x29)));  // all operations
}

TEST_CASE("a zone's VLAN requirement", "[conduits]") {
  const SitePolicy& p = small_policy();
  FlowPolicy fp = flow(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 502);  // untagged: plc requires VLAN 40
  CHECK(fp.verdict == FlowVerdict::UnknownHost);
  CHECK(fp.unknown == FlowPolicy::kResp);
  CHECK(fp.vlan_mismatch == FlowPolicy::kResp);
  CHECK(fp.zone_resp == -1);
  CHECK(flow(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 502, 41).verdict == FlowVerdict::UnknownHost);
  fp = flow(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 502, 40);
  CHECK(fp.verdict == FlowVerdict::Pending);
  CHECK(fp.vlan_mismatch == 0);
  // QinQ: the plant VLAN inside a provider tag.
  CHECK(flow(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 502, 100, 40).verdict == FlowVerdict::Pending);
  // scada lists no VLAN: any tag.
  CHECK(flow(p, "10.30.0.5", "10.20.0.5", Transport::Tcp, 4840, 999).verdict == FlowVerdict::WrongInitiator);
}

TEST_CASE("the check order: the first failing check is the flow's verdict", "[conduits]") {
  const SitePolicy& p = small_policy();
  const std::vector<std::pair<FlowPolicy, FlowVerdict>> cases = {
      {flow(p, "192.0.2.1", "10.20.0.5", Transport::Tcp, 502), FlowVerdict::UnknownHost},
      {flow(p, "10.20.0.5", "10.20.0.6", Transport::Tcp, 80), FlowVerdict::IntraZone},
      {flow(p, "10.20.0.5", "10.60.0.5", Transport::Tcp, 502), FlowVerdict::NoConduit},
      {flow(p, "10.20.0.5", "10.30.0.5", Transport::Udp, 4840), FlowVerdict::ProtocolNotAllowed},
      {flow(p, "10.30.0.5", "10.20.0.5", Transport::Tcp, 4840), FlowVerdict::WrongInitiator},
      {flow(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 4840), FlowVerdict::Allowed},
  };
  for (const auto& [fp, want] : cases) CHECK(verdict_name(fp.verdict) == verdict_name(want));
  CHECK(is_violation(FlowVerdict::UnknownHost));
  CHECK(is_violation(FlowVerdict::WrongInitiator));
  CHECK_FALSE(is_violation(FlowVerdict::Allowed));
  CHECK_FALSE(is_violation(FlowVerdict::Pending));
  CHECK(notice_note(FlowVerdict::Allowed).empty());
}

TEST_CASE("operations by name, code and any case", "[conduits]") {
  const SitePolicy& p = small_policy();
  const FlowPolicy fp = confirmed(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 502, Protocol::Modbus);
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 3)));        // READ_HOLDING_REGISTERS
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 16)));       // 0x10
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 5)));        // Write-Single-Coil
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 43, 14)));   // 43/14
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Modbus, 43, 13)));
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Modbus, 43)));
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Modbus, 6)));
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Modbus, 1)));
  // Responses are never operations.
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 6, -1, -1, false)));
}

TEST_CASE("Modbus read-only set", "[conduits]") {
  const SitePolicy& p = small_policy();
  const FlowPolicy fp = confirmed(p, "10.20.0.5", "10.30.0.5", Transport::Tcp, 502, Protocol::Modbus, 0);
  for (const uint32_t fc : {1u, 2u, 3u, 4u, 7u, 11u, 12u, 17u, 20u, 24u}) {
    INFO(fc);
    CHECK(p.check_operation(fp, op(Protocol::Modbus, fc)));
  }
  for (const uint32_t fc : {5u, 6u, 8u, 15u, 16u, 21u, 22u, 23u, 90u}) {
    INFO(fc);
    CHECK_FALSE(p.check_operation(fp, op(Protocol::Modbus, fc)));
  }
  CHECK(p.check_operation(fp, op(Protocol::Modbus, 43, 14)));
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Modbus, 43, 13)));
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Modbus, 8, 1)));  // restart communications
}

TEST_CASE("DNP3 read-only set, confirm always allowed", "[conduits]") {
  const SitePolicy& p = small_policy();
  const FlowPolicy fp = confirmed(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 20000, Protocol::Dnp3);
  CHECK(p.check_operation(fp, op(Protocol::Dnp3, 1)));    // read
  CHECK(p.check_operation(fp, op(Protocol::Dnp3, 23)));   // delay_measure
  CHECK(p.check_operation(fp, op(Protocol::Dnp3, 0)));    // confirm
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Dnp3, 2)));   // write
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Dnp3, 5)));   // direct_operate
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Dnp3, 13)));  // cold_restart
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Dnp3, 24)));  // record_current_time
  CHECK(p.check_operation(fp, op(Protocol::Dnp3, 130, -1, -1, false)));  // unsolicited response
}

TEST_CASE("S7comm read-only set, the PLC's download jobs belong to request_download", "[conduits]") {
  const SitePolicy& p = small_policy();
  const FlowPolicy fp = confirmed(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 102, Protocol::S7comm);
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0xF0)));  // setup_communication
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0x04)));  // read_var
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0x100, 0x0401)));  // userdata: read SZL
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0x100, 0x0701)));  // userdata: read clock
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0x100, 0x0703)));  // userdata: read clock (following)
  CHECK_FALSE(p.check_operation(fp, op(Protocol::S7comm, 0x100, 0x0702)));  // set clock
  CHECK_FALSE(p.check_operation(fp, op(Protocol::S7comm, 0x100)));
  CHECK_FALSE(p.check_operation(fp, op(Protocol::S7comm, 0x05)));  // write_var
  CHECK_FALSE(p.check_operation(fp, op(Protocol::S7comm, 0x28)));  // plc_control
  CHECK_FALSE(p.check_operation(fp, op(Protocol::S7comm, 0x29)));  // plc_stop
  CHECK_FALSE(p.check_operation(fp, op(Protocol::S7comm, 0x1A)));  // request_download
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0x1B)));        // download_block: not checked on its own
  CHECK(p.check_operation(fp, op(Protocol::S7comm, 0x1C)));        // download_ended
}

TEST_CASE("CIP read-only set, enip and cip are one family, wrappers are not operations", "[conduits]") {
  const SitePolicy& p = small_policy();
  // The rule says `enip`; the flow is confirmed as EtherNet/IP and its services come as CIP events.
  const FlowPolicy fp = confirmed(p, "10.30.0.5", "10.40.0.5", Transport::Tcp, 44818, Protocol::Enip);
  for (const uint32_t s : {0x01u, 0x03u, 0x0Eu, 0x11u, 0x4Cu, 0x54u, 0x5Bu}) {
    INFO(s);
    CHECK(p.check_operation(fp, op(Protocol::Cip, s)));
  }
  CHECK(p.check_operation(fp, op(Protocol::Cip, 0x52, -1, 0x6B)));   // read_tag_fragmented (Symbol object)
  CHECK(p.check_operation(fp, op(Protocol::Cip, 0x4E, -1, 0x06)));   // forward_close (Connection Manager)
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Cip, 0x4E, -1, 0x6B)));  // read_modify_write_tag
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Cip, 0x4D)));       // write_tag
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Cip, 0x53)));       // write_tag_fragmented
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Cip, 0x10)));       // set_attribute_single
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Cip, 0x05)));       // reset
  // The dissector marks the wrappers (cip_wrapper); the services they carry come as their own events.
  CHECK(p.check_operation(fp, op(Protocol::Cip, 0x0A, -1, 0x02, true, true)));  // multiple_service_packet
  CHECK(p.check_operation(fp, op(Protocol::Cip, 0x52, -1, 0x06, true, true)));  // unconnected_send
  CHECK_FALSE(p.check_operation(fp, op(Protocol::Cip, 0x52, -1, 0x06)));        // the same, unmarked
  CHECK(p.check_operation(fp, op(Protocol::Enip, 0x6F)));            // SendRRData: encapsulation, not an operation

  // A CIP number names the service on every class; read_tag by name.
  const FlowPolicy cip = confirmed(p, "10.40.0.5", "10.50.0.5", Transport::Tcp, 44818, Protocol::Cip);
  CHECK(p.check_operation(cip, op(Protocol::Cip, 0x4E, -1, 0x06)));
  CHECK(p.check_operation(cip, op(Protocol::Cip, 0x4E, -1, 0x6B)));
  CHECK(p.check_operation(cip, op(Protocol::Cip, 0x4C)));
  CHECK_FALSE(p.check_operation(cip, op(Protocol::Cip, 0x4D)));
}

TEST_CASE("read_only vocabulary and names", "[conduits]") {
  ParsedOperation parsed;
  std::string why;
  REQUIRE(parse_operation(OpFamily::Modbus, "Read_Coils", parsed, why));
  CHECK(parsed.canonical == "read_coils");
  REQUIRE(parse_operation(OpFamily::Modbus, "REPORT_SLAVE_ID", parsed, why));  // Zeek's name
  CHECK(parsed.canonical == "report_server_id");
  REQUIRE(parse_operation(OpFamily::Modbus, "65", parsed, why));  // user-defined codes by number
  CHECK(parsed.canonical == "65");
  REQUIRE(parse_operation(OpFamily::Dnp3, "IMMED_FREEZE", parsed, why));
  CHECK(parsed.canonical == "immediate_freeze");
  REQUIRE(parse_operation(OpFamily::S7comm, "256/0x0702", parsed, why));
  CHECK(parsed.canonical == "set_clock");
  REQUIRE(parse_operation(OpFamily::S7comm, "256/0x0705", parsed, why));
  CHECK(parsed.canonical == "0x100/0x0705");
  REQUIRE(parse_operation(OpFamily::S7commPlus, "GetMultiVariables", parsed, why));  // the plugin's spelling
  CHECK(parsed.keys[0] == 0x054C);
  CHECK(parsed.canonical == "get_multi_variables");
  REQUIRE(parse_operation(OpFamily::S7comm, "Read Variable", parsed, why));  // ICSNPP's spelling
  CHECK(parsed.canonical == "read_var");
  REQUIRE(parse_operation(OpFamily::Cip, "forward_open", parsed, why));
  CHECK(parsed.count == 1);
  REQUIRE(parse_operation(OpFamily::Cip, "Forward Close", parsed, why));  // our name, spaced and capitalised
  CHECK(parsed.canonical == "forward_close");
  // ICSNPP's texts are not accepted for CIP: its lookup folds the two meanings of 0x4E into one code.
  CHECK_FALSE(parse_operation(OpFamily::Cip, "Read Write Modify Data", parsed, why));
  CHECK(why == "unknown cip operation 'Read Write Modify Data', expected a cip name or code (config/README.md "
               "lists them)");
  auto names = [](OpFamily f) {
    std::vector<std::string> out;
    for (const OpKey k : read_only_operations(f)) out.push_back(operation_key_name(f, k));
    return out;
  };
  CHECK(names(OpFamily::Modbus) ==
        std::vector<std::string>{"read_coils", "read_discrete_inputs", "read_holding_registers", "read_input_registers",
                                 "read_exception_status", "get_comm_event_counter", "get_comm_event_log",
                                 "report_server_id", "read_file_record", "read_fifo_queue",
                                 "read_device_identification"});
  CHECK(names(OpFamily::Dnp3) == std::vector<std::string>{"read", "delay_measure"});
  CHECK(names(OpFamily::S7comm) ==
        std::vector<std::string>{"read_var", "setup_communication", "read_szl", "read_clock", "read_clock_following"});
  CHECK(names(OpFamily::Cip) ==
        std::vector<std::string>{"get_attributes_all", "get_attribute_list", "get_attribute_single",
                                 "find_next_object_instance", "read_tag", "forward_close", "read_tag_fragmented",
                                 "forward_open", "large_forward_open"});
  CHECK(read_only_operations(OpFamily::S7commPlus).empty());
}

TEST_CASE("check-config prints the zones and conduits of the example model", "[conduits]") {
  const auto path = (ots::test::source_dir() / "config" / "site.example.yaml").string();
  const Captured c = run_check_config(path);
  INFO(c.err);
  REQUIRE(c.rc == 0);
  CHECK(c.err.empty());
  CHECK(c.out.rfind("site model " + path + ": Example pharma plant (OSD and fill/finish, building 4)\n"
                    "defaults: intra_zone allow, unknown_hosts alert, notice_suppress_s 3600\n"
                    "\n"
                    "zones: 10\n"
                    "  NAME             SL  ATTESTATION  HARDWARE_ROOT  INTRA_ZONE  VLANS  NETWORKS\n"
                    "  enterprise        1  no           no             allow       any    10.1.0.0/16 fd00:1::/48\n",
                    0) == 0);
  const std::vector<std::string> lines = {
      "  mes               2  required     no             allow       any    10.20.0.0/22\n",
      "  engineering       3  required     required       allow       any    192.168.100.64/27\n",
      "  safety            4  required     required       deny        any    192.168.120.0/24\n",
      "  field             2  no           no             allow       any    192.168.130.0/23\n",
      "\nconduits: 13\n",
      "  mes-to-supervisory: mes <-> supervisory\n"
      "    allow tcp from mes, ports 4840\n"
      "    allow modbus from mes, ports 502/tcp 502/udp (standard), read_only: read_coils read_discrete_inputs "
      "read_holding_registers read_input_registers read_exception_status get_comm_event_counter get_comm_event_log "
      "report_server_id read_file_record read_fifo_queue read_device_identification\n",
      "    allow s7comm from supervisory, ports 102/tcp (standard), operations: setup_communication read_var write_var "
      "read_szl read_clock\n",
      "    allow aqat from control, ports 62443/udp (standard)\n"
      "    allow icmp from supervisory\n",
      "  engineering-to-control: engineering <-> control\n"
      "    allow s7comm from engineering, ports 102/tcp (standard), all operations\n",
  };
  for (const auto& l : lines) {
    INFO(l);
    CHECK(c.out.find(l) != std::string::npos);
  }
}

TEST_CASE("check-config reports every problem of the file, in file order, and exits 2", "[conduits]") {
  const auto path = write_model("check_bad.yaml",
                                "sensor:\n"
                                "  workers: 0\n"
                                "zonez: []\n"
                                "zones:\n"
                                "  - {name: a, security_level: 9, networks: [10.0.0.0/8]}\n"
                                "conduits:\n"
                                "  - {name: x, zones: [a, b], allow: []}\n");
  const Captured c = run_check_config(path);
  CHECK(c.rc == 2);
  CHECK(c.out.empty());
  CHECK(c.err == path + ":2:12: sensor.workers is 0, expected 1 to 64\n" +
                     path + ":3:1: unknown section 'zonez', expected one of site, defaults, zones, conduits, "
                            "attestation, outputs, rules, sensor\n" +
                     path + ":5:31: zone 'a': security_level is 9, expected 1 to 4\n" +
                     path + ":7:26: conduit 'x': zone 'b' is not defined\n"
                            "otsensor: error: invalid site model " + path + " (4 problems)\n");
  const Captured missing = run_check_config("/nonexistent/site.yaml");
  CHECK(missing.rc == 2);
  CHECK(missing.err == "/nonexistent/site.yaml: cannot read the file\n"
                       "otsensor: error: invalid site model /nonexistent/site.yaml (1 problem)\n");
}

TEST_CASE("check-config on a file without zones says there is no zone policy", "[conduits]") {
  const Captured c = run_check_config(write_model("nozones.yaml", "site: lab\nsensor: {workers: 2}\n"));
  CHECK(c.rc == 0);
  CHECK(c.out.find("zones: none (the file has no zones section, so the sensor checks no zone policy)\n") !=
        std::string::npos);
  SitePolicy p;
  std::vector<std::string> errors;
  REQUIRE(load_site_policy(write_model("nozones2.yaml", "site: lab\n"), p, errors));
  CHECK_FALSE(p.enabled());
  CHECK(p.classify(ip("10.0.0.1"), ip("10.0.0.2"), Transport::Tcp, 502).verdict == FlowVerdict::NotChecked);
}
