// The site model's zones: loading, validation messages (exact, with positions), longest-prefix lookup.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <set>

#include "conduits/site_policy.hpp"
#include "tests/test_support.hpp"
#include "zones/site_model.hpp"

using namespace ots;

namespace {

std::string write_model(const std::string& name, const std::string& text) {
  static const auto dir = ots::test::scratch_dir("site_model");
  const auto p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

IpAddr ip(const std::string& s) {
  IpAddr a;
  REQUIRE(IpAddr::parse(s, a));
  return a;
}

// Errors of a model, each with the file path removed ("LINE:COL: message").
std::vector<std::string> model_errors(const std::string& name, const std::string& text) {
  const std::string path = write_model(name, text);
  SiteModel m;
  std::vector<std::string> errors;
  CHECK_FALSE(load_site_model(path, m, errors));
  for (auto& e : errors) {
    REQUIRE(e.rfind(path + ":", 0) == 0);
    e = e.substr(path.size() + 1);
  }
  return errors;
}

SiteModel load_ok(const std::string& name, const std::string& text) {
  SiteModel m;
  std::vector<std::string> errors;
  const bool ok = load_site_model(write_model(name, text), m, errors);
  INFO((errors.empty() ? std::string() : errors[0]));
  REQUIRE(ok);
  return m;
}

std::string zone_at(const SiteModel& m, const std::string& addr) {
  const ZoneMatch z = m.zone_of(ip(addr));
  return z.zone < 0 ? "-" : m.zones[size_t(z.zone)].name;
}

}  // namespace

TEST_CASE("the example site model loads without a problem", "[zones]") {
  SitePolicy policy;
  std::vector<std::string> errors;
  const auto path = (ots::test::source_dir() / "config" / "site.example.yaml").string();
  const bool ok = load_site_policy(path, policy, errors);
  for (const auto& e : errors) UNSCOPED_INFO(e);
  REQUIRE(ok);
  CHECK(policy.model().site == "Example pharma plant (OSD and fill/finish, building 4)");
  REQUIRE(policy.zones().size() == 10);
  CHECK(policy.zones()[0].name == "enterprise");
  CHECK(policy.conduits().size() == 13);
  // Engineering workstations are a longer prefix inside the supervisory subnet.
  CHECK(policy.zone_name(policy.model().zone_of(ip("192.168.100.70")).zone) == "engineering");
  CHECK(policy.zone_name(policy.model().zone_of(ip("192.168.100.10")).zone) == "supervisory");
  CHECK(policy.zone_name(policy.model().zone_of(ip("fd00:100::5")).zone) == "supervisory");
}

TEST_CASE("zones: fields, defaults of attestation and hardware root", "[zones]") {
  const SiteModel m = load_ok("fields.yaml",
                              "site: plant\n"
                              "defaults:\n"
                              "  intra_zone: deny\n"
                              "  unknown_hosts: ignore\n"
                              "  notice_suppress_s: 60\n"
                              "zones:\n"
                              "  - name: it\n"
                              "    security_level: 1\n"
                              "    networks: [\"10.1.0.0/16\"]\n"
                              "  - name: mes\n"
                              "    security_level: 2\n"
                              "    networks: [\"10.2.0.0/16\"]\n"
                              "  - name: control\n"
                              "    security_level: 3\n"
                              "    networks: [\"192.168.10.0/24\", \"fd00:10::/64\"]\n"
                              "    vlans: [10, 11, 10]\n"
                              "  - name: field_2\n"
                              "    security_level: 4\n"
                              "    networks: [10.3.0.0/16, 10.4.0.7]\n"
                              "    require_attestation: false\n"
                              "  - name: sis\n"
                              "    security_level: 2\n"
                              "    networks: [10.5.0.0/16]\n"
                              "    require_hardware_root: true\n");
  CHECK(m.site == "plant");
  CHECK(m.defaults.intra_zone == IntraZonePolicy::Deny);
  CHECK(m.defaults.unknown_hosts == UnknownHostPolicy::Ignore);
  CHECK(m.defaults.notice_suppress_ns == 60'000'000'000ull);
  REQUIRE(m.zones.size() == 5);
  CHECK_FALSE(m.zones[0].require_attestation);
  CHECK_FALSE(m.zones[0].require_hardware_root);
  CHECK(m.zones[1].require_attestation);
  CHECK_FALSE(m.zones[1].require_hardware_root);
  CHECK(m.zones[2].require_attestation);
  CHECK(m.zones[2].require_hardware_root);
  CHECK(m.zones[2].vlans == std::vector<uint16_t>{10, 11});
  REQUIRE(m.zones[2].networks.size() == 2);
  CHECK(m.zones[2].networks[1].to_string() == "fd00:10::/64");
  // SL 4 without attestation: no hardware root either (it is checked through attestation).
  CHECK_FALSE(m.zones[3].require_attestation);
  CHECK_FALSE(m.zones[3].require_hardware_root);
  CHECK(m.zones[3].networks[1].to_string() == "10.4.0.7/32");  // a bare address is one host
  CHECK(m.zones[4].require_hardware_root);
  CHECK(m.zone_index("control") == 2);
  CHECK(m.zone_index("nope") == -1);
}

TEST_CASE("defaults apply when the defaults section is absent", "[zones]") {
  const SiteModel m = load_ok("nodefaults.yaml", "zones:\n  - {name: a, security_level: 1, networks: [10.0.0.0/8]}\n");
  CHECK(m.defaults.intra_zone == IntraZonePolicy::Allow);
  CHECK(m.defaults.unknown_hosts == UnknownHostPolicy::Alert);
  CHECK(m.defaults.notice_suppress_ns == 3600'000'000'000ull);
  CHECK(m.has_zones);
}

TEST_CASE("a file without zones has no zone policy", "[zones]") {
  const SiteModel m = load_ok("nozones.yaml", "site: test\nsensor:\n  workers: 2\nrules: {anything: [1, 2]}\n");
  CHECK_FALSE(m.has_zones);
  CHECK(m.zones.empty());
}

TEST_CASE("zone validation reports every problem with line and column", "[zones]") {
  const auto errors = model_errors("bad_zones.yaml",
                                   "site: [not, text]\n"                       // 1
                                   "zonez: []\n"                               // 2
                                   "zones:\n"                                  // 3
                                   "  - name: Control Net\n"                   // 4
                                   "    security_level: 5\n"                   // 5
                                   "    networks: [\"10.1.0.1/16\"]\n"         // 6
                                   "  - name: dmz\n"                           // 7
                                   "    security_level: high\n"                // 8
                                   "    netwroks: [10.2.0.0/16]\n"             // 9
                                   "  - name: mes\n"                           // 10
                                   "    security_level: 2\n"                   // 11
                                   "    networks: [10.3.0.0/16, 10.3.0.0/16, 10.1.0/16, 10.4.0.0/33, "
                                   "\"fd00::/129\"]\n"                         // 12
                                   "    vlans: [0, 4095, ten]\n"               // 13
                                   "    require_attestation: maybe\n"          // 14
                                   "  - name: mes\n"                           // 15
                                   "    security_level: 1\n"                   // 16
                                   "    networks: [10.9.0.0/16]\n"             // 17
                                   "  - name: sis\n"                           // 18
                                   "    security_level: 0\n"                   // 19
                                   "    networks: [10.3.0.0/16]\n"             // 20
                                   "    require_attestation: false\n"          // 21
                                   "    require_hardware_root: true\n"         // 22
                                   "  - security_level: 1\n"                   // 23
                                   "  - just text\n"                           // 24
                                   "  - name: empty\n"                         // 25
                                   "    security_level: 1\n"                   // 26
                                   "    networks: []\n"                        // 27
                                   "  - name: notalist\n"                      // 28
                                   "    security_level: 1\n"                   // 29
                                   "    networks: 10.7.0.0/16\n");             // 30
  const std::vector<std::string> expected = {
      "1:7: site must be text, got a list",
      "2:1: unknown section 'zonez', expected one of site, defaults, zones, conduits, attestation, outputs, rules, "
      "sensor",
      "4:11: zones[0]: name 'Control Net' must match [a-z0-9_-]+ (lower-case letters, digits, '_', '-')",
      "5:21: zones[0]: security_level is 5, expected 1 to 4",
      "6:16: zones[0]: host bits set in 10.1.0.1/16, did you mean 10.1.0.0/16?",
      "7:5: zone 'dmz': missing required key 'networks'",
      "8:21: zone 'dmz': security_level must be a whole number 1 to 4, got 'high'",
      "9:5: zone 'dmz': unknown key 'netwroks', expected name, security_level, networks, vlans, require_attestation, "
      "require_hardware_root, intra_zone",
      "12:29: zone 'mes': network 10.3.0.0/16 is listed twice",
      "12:42: zone 'mes': network '10.1.0/16' is not a CIDR, expected ADDRESS/LENGTH such as 10.1.0.0/16 or "
      "fd00:10::/64",
      "12:53: zone 'mes': network '10.4.0.0/33' has prefix length '33', expected 0 to 32 for IPv4",
      "12:66: zone 'mes': network 'fd00::/129' has prefix length '129', expected 0 to 128 for IPv6",
      "13:13: zone 'mes': vlan id is 0, expected 1 to 4094",
      "13:16: zone 'mes': vlan id is 4095, expected 1 to 4094",
      "13:22: zone 'mes': vlan id must be a whole number 1 to 4094, got 'ten'",
      "14:26: zone 'mes': require_attestation must be true or false, got 'maybe'",
      "15:11: zone 'mes' is defined twice (first at line 10)",
      "19:21: zone 'sis': security_level is 0, expected 1 to 4",
      "20:16: zone 'sis': network 10.3.0.0/16 is also in zone 'mes' (line 12), so no longest prefix decides between "
      "them: give it to one zone",
      "22:28: zone 'sis': require_hardware_root: true needs require_attestation: true (the hardware root of trust is "
      "checked through attestation)",
      "23:5: zones[5]: missing required key 'name'",
      "23:5: zones[5]: missing required key 'networks'",
      "24:5: zones[6] must be a map (name, security_level, networks, ...), got 'just text'",
      "27:15: zone 'empty': networks is empty, expected at least one CIDR",
      "30:15: zone 'notalist': networks must be a list, got '10.7.0.0/16'",
  };
  CHECK(errors == expected);
}

TEST_CASE("defaults validation messages", "[zones]") {
  const auto errors = model_errors("bad_defaults.yaml",
                                   "defaults:\n"
                                   "  intra_zone: maybe\n"
                                   "  unknown_hosts: shout\n"
                                   "  notice_suppress_s: -5\n"
                                   "  intra_zone: allow\n"
                                   "  supress: 1\n"
                                   "zones:\n"
                                   "  - {name: a, security_level: 1, networks: [10.0.0.0/8]}\n"
                                   "zones: []\n");
  const std::vector<std::string> expected = {
      "2:15: defaults.intra_zone is 'maybe', expected allow or deny",
      "3:18: defaults.unknown_hosts is 'shout', expected alert or ignore",
      "4:22: defaults.notice_suppress_s is -5, expected 0 to 2592000",
      "5:3: key 'defaults.intra_zone' appears twice (first at line 2)",
      "6:3: unknown key 'defaults.supress', expected intra_zone, unknown_hosts, notice_suppress_s",
      "9:1: section 'zones' appears twice (first at line 7)",
  };
  CHECK(errors == expected);
  CHECK(model_errors("bad_defaults2.yaml", "defaults: [1]\nzones: {a: 1}\n") ==
        std::vector<std::string>{
            "1:11: defaults must be a map (intra_zone, unknown_hosts, notice_suppress_s), got a list",
            "2:8: zones must be a list, got a map"});
  CHECK(model_errors("bad_defaults3.yaml", "defaults:\n  notice_suppress_s: soon\nzones: []\n") ==
        std::vector<std::string>{
            "2:22: defaults.notice_suppress_s must be a number, got 'soon'",
            "3:8: zones is empty, expected at least one zone (leave the section out for no zone policy)"});
}

TEST_CASE("unreadable, non-YAML and non-map files", "[zones]") {
  SiteModel m;
  std::vector<std::string> errors;
  CHECK_FALSE(load_site_model("/nonexistent/site.yaml", m, errors));
  CHECK(errors == std::vector<std::string>{"/nonexistent/site.yaml: cannot read the file"});
  CHECK(model_errors("syntax.yaml", "zones:\n  - name: [a\n") ==
        std::vector<std::string>{"3:1: end of sequence flow not found"});
  CHECK(model_errors("list.yaml", "- a\n- b\n") ==
        std::vector<std::string>{"1:1: the site model must be a map of sections (site, defaults, zones, conduits, "
                                 "attestation, outputs, rules, sensor)"});
}

TEST_CASE("longest prefix match over IPv4 with nested prefixes and gaps", "[zones]") {
  const SiteModel m = load_ok("lpm4.yaml",
                              "zones:\n"
                              "  - {name: corp, security_level: 1, networks: [10.0.0.0/8]}\n"
                              "  - {name: plant, security_level: 2, networks: [10.1.0.0/16]}\n"
                              "  - {name: cell, security_level: 3, networks: [10.1.2.0/24]}\n"
                              "  - {name: hmi, security_level: 3, networks: [10.1.2.128/25, 10.1.2.5]}\n"
                              "  - {name: ptp, security_level: 3, networks: [172.16.0.0/31]}\n");
  CHECK(zone_at(m, "9.255.255.255") == "-");
  CHECK(zone_at(m, "10.0.0.0") == "corp");
  CHECK(zone_at(m, "10.0.255.255") == "corp");
  CHECK(zone_at(m, "10.1.0.0") == "plant");
  CHECK(zone_at(m, "10.1.1.255") == "plant");
  CHECK(zone_at(m, "10.1.2.0") == "cell");
  CHECK(zone_at(m, "10.1.2.4") == "cell");
  CHECK(zone_at(m, "10.1.2.5") == "hmi");
  CHECK(zone_at(m, "10.1.2.6") == "cell");
  CHECK(zone_at(m, "10.1.2.127") == "cell");
  CHECK(zone_at(m, "10.1.2.128") == "hmi");
  CHECK(zone_at(m, "10.1.2.255") == "hmi");
  CHECK(zone_at(m, "10.1.3.0") == "plant");
  CHECK(zone_at(m, "10.255.255.255") == "corp");
  CHECK(zone_at(m, "11.0.0.0") == "-");
  CHECK(zone_at(m, "172.16.0.1") == "ptp");
  CHECK(zone_at(m, "172.16.0.2") == "-");
  CHECK(zone_at(m, "255.255.255.255") == "-");
  CHECK(zone_at(m, "0.0.0.0") == "-");
  // IPv6 prefixes never cover IPv4 addresses and there are none here.
  CHECK(zone_at(m, "::ffff:10.1.2.5") == "hmi");
  CHECK(zone_at(m, "fd00::1") == "-");

  // Directed broadcast: the all-ones address of the longest matching IPv4 network.
  CHECK(m.zone_of(ip("10.1.2.255")).directed_broadcast);   // of hmi's /25
  CHECK(m.zone_of(ip("10.1.2.127")).directed_broadcast == false);  // cell's /24 ends at .255, inside hmi
  CHECK(m.zone_of(ip("10.1.255.255")).directed_broadcast);  // plant's /16
  CHECK(m.zone_of(ip("10.255.255.255")).directed_broadcast);
  CHECK_FALSE(m.zone_of(ip("10.1.2.254")).directed_broadcast);
  CHECK_FALSE(m.zone_of(ip("10.1.2.5")).directed_broadcast);  // a /32 host
  CHECK_FALSE(m.zone_of(ip("172.16.0.1")).directed_broadcast);  // a /31 has no broadcast (RFC 3021)
}

TEST_CASE("longest prefix match over IPv6, and catch-all prefixes", "[zones]") {
  const SiteModel m = load_ok("lpm6.yaml",
                              "zones:\n"
                              "  - {name: internet6, security_level: 1, networks: [\"::/0\"]}\n"
                              "  - {name: site, security_level: 2, networks: [\"fd00::/16\"]}\n"
                              "  - {name: control, security_level: 3, networks: [\"fd00:10::/64\"]}\n"
                              "  - {name: plc, security_level: 3, networks: [\"fd00:10::7/128\", "
                              "\"::ffff:192.168.1.0/120\"]}\n"
                              "  - {name: internet4, security_level: 1, networks: [0.0.0.0/0]}\n");
  CHECK(zone_at(m, "2001:db8::1") == "internet6");
  CHECK(zone_at(m, "fd00:1::1") == "site");
  CHECK(zone_at(m, "fd00:10::1") == "control");
  CHECK(zone_at(m, "fd00:10::ffff:ffff:ffff:ffff") == "control");
  CHECK(zone_at(m, "fd00:11::") == "site");
  CHECK(zone_at(m, "fd00:10::7") == "plc");
  CHECK(zone_at(m, "fd00:10::6") == "control");
  CHECK(zone_at(m, "fd00:10::8") == "control");
  CHECK(zone_at(m, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == "internet6");
  CHECK(zone_at(m, "::") == "internet6");
  // The IPv4-mapped prefix is the IPv4 network 192.168.1.0/24; ::/0 does not cover IPv4.
  CHECK(m.zones[3].networks[1].to_string() == "192.168.1.0/24");
  CHECK(zone_at(m, "192.168.1.9") == "plc");
  CHECK(zone_at(m, "192.168.2.9") == "internet4");
  CHECK(zone_at(m, "255.255.255.255") == "internet4");
  CHECK(m.zone_of(ip("255.255.255.255")).directed_broadcast);
  CHECK_FALSE(m.zone_of(ip("fd00:10::ffff:ffff:ffff:ffff")).directed_broadcast);  // IPv6 has no broadcast
}

TEST_CASE("zone lookup agrees with a brute-force longest-prefix scan", "[zones]") {
  // Random nested and disjoint prefixes in a small space, so that boundaries collide often.
  std::mt19937 rng(62443);
  for (int round = 0; round < 20; ++round) {
    std::vector<ZoneLookup::Network> nets;
    std::set<std::pair<uint32_t, int>> used;
    for (int i = 0; i < 40; ++i) {
      const int len = 8 + int(rng() % 25);  // /8 .. /32
      const uint32_t base = 0x0A000000u | (uint32_t(rng()) & 0x00FFFFFFu & (rng() % 2 ? 0x00FF00FFu : 0x00FFFFFFu));
      const uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
      if (!used.insert({base & mask, len}).second) continue;
      Cidr c;
      c.addr = IpAddr::v4(base & mask);
      c.len = static_cast<uint8_t>(len);
      nets.push_back({c, static_cast<int16_t>(i)});
    }
    ZoneLookup lookup;
    lookup.build(nets);
    for (int probe = 0; probe < 2000; ++probe) {
      uint32_t a = 0x0A000000u | (uint32_t(rng()) & 0x00FFFFFFu & (rng() % 2 ? 0x00FF00FFu : 0x00FFFFFFu));
      if (probe % 7 == 0) a = (nets[size_t(rng()) % nets.size()].cidr.addr.bytes[12] << 24) | 0x00FFFFFFu;
      const IpAddr addr = IpAddr::v4(a);
      int best_len = -1;
      int16_t best = -1;
      bool bcast = false;
      for (const auto& n : nets) {
        if (n.cidr.contains(addr) && n.cidr.len > best_len) {
          best_len = n.cidr.len;
          best = n.zone;
          const uint32_t host = n.cidr.len >= 32 ? 0u : (~0u >> n.cidr.len);
          bcast = n.cidr.len <= 30 && (a & host) == host;
        }
      }
      const ZoneMatch got = lookup.find(addr);
      INFO(addr.to_string());
      REQUIRE(got.zone == best);
      REQUIRE(got.directed_broadcast == bcast);
    }
  }
}

TEST_CASE("CIDR parsing", "[zones]") {
  Cidr c;
  std::string why;
  CHECK(parse_cidr("10.1.0.0/16", c, why));
  CHECK(c.to_string() == "10.1.0.0/16");
  CHECK(c.contains(IpAddr::v4(0x0A01FFFFu)));
  CHECK_FALSE(c.contains(IpAddr::v4(0x0A020000u)));
  CHECK(parse_cidr("0.0.0.0/0", c, why));
  CHECK(c.contains(IpAddr::v4(0xFFFFFFFFu)));
  CHECK(parse_cidr("fd00:10::/64", c, why));
  CHECK_FALSE(c.is_v4());
  CHECK_FALSE(parse_cidr("fd00:10::1/64", c, why));
  CHECK(why == "host bits set in fd00:10::1/64, did you mean fd00:10::/64?");
  CHECK_FALSE(parse_cidr("::ffff:10.1.0.1/112", c, why));
  CHECK(why == "host bits set in ::ffff:10.1.0.1/112, did you mean 10.1.0.0/16?");
  CHECK_FALSE(parse_cidr("10.1.0.0/", c, why));
  CHECK(why == "network '10.1.0.0/' has prefix length '', expected 0 to 32 for IPv4");
  CHECK_FALSE(parse_cidr("10.1.0.0/1x", c, why));
  CHECK_FALSE(parse_cidr("/8", c, why));
  CHECK_FALSE(parse_cidr("010.1.0.0/16", c, why));
}
