// The passive asset inventory: the MAC vendor table, the merge rules and the bound on unit level, then
// assets.log from the project's captures and the shared ones through the otsensor binary.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dissectors/analyzer.hpp"
#include "inventory/asset_inventory.hpp"
#include "inventory/oui.hpp"
#include "output/log_manager.hpp"
#include "sensor/sensor_section.hpp"
#include "sensor/inventory_writer.hpp"
#include "tests/live_support.hpp"
#include "test_support.hpp"

using namespace ots;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kT0 = 1'700'000'000'000'000'000ull;

IpAddr ip(const std::string& text) {
  IpAddr a;
  REQUIRE(IpAddr::parse(text, a));
  return a;
}

unsigned module_of(Protocol p) {
  const auto mods = dissector_modules();
  for (unsigned i = 0; i < mods.size(); ++i) {
    if (mods[i]->protocol == p) return i;
  }
  FAIL("no module for the protocol");
  return 0;
}

uint16_t roles(std::initializer_list<AssetRole> rs) {
  uint16_t out = 0;
  for (AssetRole r : rs) out = static_cast<uint16_t>(out | 1u << static_cast<unsigned>(r));
  return out;
}

DeviceIdentity identity(const std::string& addr, uint64_t ts, Protocol p) {
  DeviceIdentity d;
  d.device = ip(addr);
  d.ts_ns = ts;
  d.protocol = p;
  return d;
}

struct Weirds final : WeirdSink {
  void weird(const WeirdEvent& ev) override { names.emplace_back(ev.name); }
  std::vector<std::string> names;
};

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

// assets.log of one otsensor run, data lines only.
std::vector<std::string> assets_of(const fs::path& pcap, const fs::path& out, const std::string& extra = "") {
  const auto r = test::run(test::otsensor() + " -q " + extra + " -r " + q(pcap) + " -l " + q(out));
  REQUIRE(r.exit_code == 0);
  return test::log_lines(out / "assets.log");
}

std::vector<std::string> tab_fields(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, '\t');) f.push_back(x);
  return f;
}

// assets.log of pcaps/NAME.pcap, each line without its ts column (it repeats first_seen).
std::vector<std::string> project_rows(const std::string& name) {
  std::vector<std::string> out;
  const fs::path pcap = test::source_dir() / "pcaps" / (name + ".pcap");
  for (const auto& line : assets_of(pcap, test::scratch_dir("inventory/" + name)))
    out.push_back(line.substr(line.find('\t') + 1));
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// The MAC vendor table

TEST_CASE("oui: Siemens, Rockwell and Telemecanique (Schneider) OUIs name their vendors", "[inventory]") {
  const uint8_t siemens[6] = {0x00, 0x1b, 0x1b, 0x7c, 0x05, 0xe1};
  const uint8_t rockwell[6] = {0x00, 0x00, 0xbc, 0x5e, 0x27, 0xc3};
  const uint8_t telemecanique[6] = {0x00, 0x80, 0xf4, 0x12, 0x7a, 0x31};
  CHECK(oui_vendor(siemens) == "Siemens AG");  // the registry writes "Siemens AG,"
  CHECK(oui_vendor(rockwell) == "Rockwell Automation");
  CHECK(oui_vendor(telemecanique) == "TELEMECANIQUE ELECTRIQUE");
  CHECK(oui_vendor(0x001B1Bu) == "Siemens AG");
}

TEST_CASE("oui: group, locally administered and unassigned addresses name no vendor", "[inventory]") {
  const uint8_t multicast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
  const uint8_t local[6] = {0x02, 0x00, 0xbc, 0x00, 0x00, 0x01};
  CHECK(oui_vendor(multicast).empty());
  CHECK(oui_vendor(local).empty());
  CHECK(oui_vendor(static_cast<const uint8_t*>(nullptr)).empty());
  CHECK(oui_vendor(0x1000000u).empty());
}

TEST_CASE("oui: the table holds every MA-L assignment of ieee-data's oui.csv", "[inventory]") {
  // The first three fields of a CSV line (RFC 4180 quoting: "" inside quotes is one quote).
  const auto fields = [](const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (size_t i = 0; i < line.size() && out.size() <= 3; ++i) {
      const char ch = line[i];
      if (quoted && ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = !quoted;
      } else if (ch == ',' && !quoted) {
        out.emplace_back();
      } else {
        out.back() += ch;
      }
    }
    return out;
  };
  // The table's form of a name: white space runs collapsed (the registry has a few no-break and en spaces),
  // trailing commas dropped.
  const auto clean = [](std::string name) {
    for (const std::string_view odd : {"\xc2\xa0", "\xe2\x80\x82"}) {
      for (size_t at; (at = name.find(odd)) != std::string::npos;) name.replace(at, odd.size(), " ");
    }
    std::string out;
    std::istringstream words(name);
    for (std::string w; words >> w;) out += (out.empty() ? "" : " ") + w;
    while (!out.empty() && out.back() == ',') out.pop_back();
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  };
  std::ifstream f("/usr/share/ieee-data/oui.csv");
  REQUIRE(f);
  std::set<uint32_t> keys;
  size_t named = 0;
  for (std::string line; std::getline(f, line);) {
    const auto v = fields(line);
    if (v.size() < 3 || v[0] != "MA-L") continue;
    const uint32_t key = static_cast<uint32_t>(std::stoul(v[1], nullptr, 16));
    if (!keys.insert(key).second) continue;  // listed twice: the first listing is the table's
    INFO(line);
    const std::string name = clean(v[2]);
    if (name == "IEEE Registration Authority") {
      CHECK(oui_vendor(key).empty());  // split into MA-M / MA-S blocks: 24 bits name no vendor
      continue;
    }
    CHECK(oui_vendor(key) == name);
    ++named;
  }
  CHECK(named > 30000);
  CHECK(oui_table_size() == named);
  size_t absent = 0;
  for (uint32_t k = 0x000000; k < 0x010000; ++k) {
    if (keys.count(k)) continue;
    CHECK(oui_vendor(k).empty());
    ++absent;
  }
  CHECK(absent > 0);
}

// ---------------------------------------------------------------------------------------------------
// Records and merge rules

TEST_CASE("inventory: broadcast, multicast and unspecified addresses are not assets, group MACs are not kept",
          "[inventory]") {
  AssetInventory inv;
  const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  inv.seen(ip("255.255.255.255"), kT0);
  inv.seen(ip("224.0.0.251"), kT0);
  inv.seen(ip("ff02::1"), kT0);
  inv.seen(ip("0.0.0.0"), kT0);
  inv.seen(ip("::"), kT0);
  CHECK(inv.size() == 0);
  inv.seen(ip("10.0.0.1"), kT0, bcast_mac);
  REQUIRE(inv.size() == 1);
  CHECK_FALSE(inv.snapshot()[0].has_mac);
}

TEST_CASE("inventory: a confirmed service gives roles only to ends that sent packets", "[inventory]") {
  AssetInventory inv;
  Conn c;
  c.set_id(ConnId{ip("10.0.0.9"), ip("10.0.0.3"), 0, 0, Transport::Unknown});
  c.orig.pkts = 1;  // a UDP request not (yet) answered
  const unsigned dnp3 = module_of(Protocol::Dnp3);
  inv.service_confirmed(c, dnp3, kT0);
  auto s = inv.snapshot();
  REQUIRE(s.size() == 1);
  CHECK(s[0].ip == ip("10.0.0.9"));
  CHECK(s[0].roles == roles({AssetRole::Dnp3Master}));
  CHECK(s[0].protocols == 1u << dnp3);

  // The answer comes; the flow ends: the outstation gets its role and both are seen until the last packet.
  c.resp.pkts = 1;
  c.services = static_cast<uint16_t>(1u << dnp3);
  c.last_ts_ns = kT0 + 5'000'000'000ull;
  inv.flow_seen(c);
  s = inv.snapshot();
  REQUIRE(s.size() == 2);
  CHECK(s[0].ip == ip("10.0.0.3"));
  CHECK(s[0].roles == roles({AssetRole::Dnp3Outstation}));
  CHECK(s[1].last_seen_ns == kT0 + 5'000'000'000ull);
  CHECK(s[1].first_seen_ns == kT0);

  // CIP I/O flows give no role: either end of a UDP 2222 flow may be the one that sent first.
  CHECK(asset_roles_of(module_of(Protocol::Cip), true) == 0);
  CHECK(asset_roles_of(module_of(Protocol::S7comm), false) == roles({AssetRole::S7Plc}));
  CHECK(asset_roles_of(module_of(Protocol::Enip), true) == roles({AssetRole::CipScanner}));
}

TEST_CASE("inventory merge: earliest first_seen, latest last_seen, union of roles and protocols, latest MAC",
          "[inventory]") {
  const uint8_t mac_a[6] = {0x00, 0x1b, 0x1b, 0, 0, 1};
  const uint8_t mac_b[6] = {0x00, 0x1b, 0x1b, 0, 0, 2};
  AssetInventory w1, w2;
  w1.seen(ip("10.0.0.1"), kT0 + 100, mac_a);
  w1.seen(ip("10.0.0.1"), kT0 + 900);
  w1.add_roles(ip("10.0.0.1"), kT0 + 200, roles({AssetRole::ModbusServer}), 1u << 0);
  w2.seen(ip("10.0.0.1"), kT0 + 50);
  w2.seen(ip("10.0.0.1"), kT0 + 500, mac_b);
  w2.add_roles(ip("10.0.0.1"), kT0 + 300, roles({AssetRole::S7Plc}), 1u << 4);
  w2.seen(ip("10.0.0.2"), kT0 + 10);
  const std::vector<std::vector<Asset>> parts = {w1.snapshot(), w2.snapshot()};
  const auto m = AssetInventory::merge(parts);
  REQUIRE(m.size() == 2);
  const Asset& a = m[0];
  CHECK(a.ip == ip("10.0.0.1"));
  CHECK(a.first_seen_ns == kT0 + 50);
  CHECK(a.last_seen_ns == kT0 + 900);
  CHECK(a.roles == roles({AssetRole::ModbusServer, AssetRole::S7Plc}));
  CHECK(a.protocols == ((1u << 0) | (1u << 4)));
  CHECK(a.has_mac);
  CHECK(a.mac[5] == 2);  // seen at +500, after mac_a at +100
  CHECK(m[1].ip == ip("10.0.0.2"));
}

TEST_CASE("inventory merge: each identity field from the latest identification, ties by value, in any order",
          "[inventory]") {
  // What three workers heard about one device: a Modbus basic read, a regular one, a newer revision, and two
  // ENIP identities at the same instant that disagree on the serial number.
  struct Heard {
    size_t worker;
    uint64_t at;
    Protocol protocol;
    IdentityField field;
    std::string_view value;
  };
  const Heard heard[] = {
      {0, 10, Protocol::Modbus, IdentityField::Vendor, "Schneider Electric"},
      {0, 10, Protocol::Modbus, IdentityField::ProductCode, "BMXP342020"},
      {0, 10, Protocol::Modbus, IdentityField::Firmware, "v2.60"},
      {1, 20, Protocol::Modbus, IdentityField::Model, "BMX P34 2020"},
      {2, 30, Protocol::Modbus, IdentityField::Firmware, "v2.70"},
      {2, 40, Protocol::Enip, IdentityField::Serial, "0x00000002"},
      {0, 40, Protocol::Enip, IdentityField::Serial, "0x00000001"},
  };
  const auto event = [](const Heard& h) {
    DeviceIdentity d = identity("10.0.0.5", kT0 + h.at, h.protocol);
    std::string_view* fields[] = {&d.vendor, &d.model, &d.product_code, &d.firmware, &d.serial, &d.device_type};
    *fields[static_cast<size_t>(h.field)] = h.value;
    return d;
  };
  const auto check = [](const Asset& a) {
    CHECK(a.field(IdentityField::Vendor) == "Schneider Electric");
    CHECK(a.field(IdentityField::ProductCode) == "BMXP342020");
    CHECK(a.field(IdentityField::Model) == "BMX P34 2020");
    CHECK(a.field(IdentityField::Firmware) == "v2.70");
    CHECK(a.field(IdentityField::Serial) == "0x00000002");
    CHECK(a.field(IdentityField::DeviceType).empty());
    CHECK(a.identity[static_cast<size_t>(IdentityField::Serial)].source == Protocol::Enip);
    CHECK(a.first_seen_ns == kT0 + 10);
    CHECK(a.last_seen_ns == kT0 + 40);
  };

  std::array<AssetInventory, 3> w;
  AssetInventory one;  // one worker that heard everything, in time order
  for (const Heard& h : heard) {
    w[h.worker].identity(event(h));
    one.identity(event(h));
  }
  check(one.snapshot().at(0));
  const std::vector<std::vector<Asset>> parts = {w[0].snapshot(), w[1].snapshot(), w[2].snapshot()};
  std::vector<size_t> order = {0, 1, 2};
  do {
    std::vector<std::vector<Asset>> permuted;
    for (size_t i : order) permuted.push_back(parts[i]);
    const auto m = AssetInventory::merge(permuted);
    REQUIRE(m.size() == 1);
    check(m[0]);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_CASE("inventory: beyond max_assets new addresses are refused, with one weird", "[inventory]") {
  Weirds weirds;
  AssetInventory inv(AssetInventoryConfig{4}, &weirds);
  for (uint32_t i = 1; i <= 10; ++i) inv.seen(IpAddr::v4(0x0A000000 + i), kT0 + i);
  inv.seen(IpAddr::v4(0x0A000001), kT0 + 100);  // known: still updated
  CHECK(inv.size() == 4);
  CHECK(inv.refused() == 6);
  CHECK(weirds.names == std::vector<std::string>{"asset_inventory_full"});
  CHECK(inv.snapshot()[0].last_seen_ns == kT0 + 100);
}

TEST_CASE("inventory: sensor.max_assets in the site model sets the bound", "[inventory]") {
  const fs::path dir = test::scratch_dir("inventory/section");
  std::ofstream(dir / "site.yaml") << "sensor:\n  max_assets: 1000\n";
  SensorSection s;
  std::vector<std::string> errors;
  REQUIRE(load_sensor_section((dir / "site.yaml").string(), s, errors));
  CHECK(s.pipeline.inventory.max_assets == 1000);
  std::ofstream(dir / "bad.yaml") << "sensor:\n  max_assets: 3\n";
  CHECK_FALSE(load_sensor_section((dir / "bad.yaml").string(), s, errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("sensor.max_assets is 3, expected 16 to") != std::string::npos);
}

TEST_CASE("assets.log: one record per asset with Zeek's types, sets sorted, unknowns unset", "[inventory]") {
  const fs::path dir = test::scratch_dir("inventory/log");
  {
    LogManager mgr(LogManager::Options{dir.string()});
    const LogId id = mgr.add(assets_schema());
    auto sink = mgr.make_sink();
    AssetInventory inv;
    const uint8_t mac[6] = {0x00, 0x1b, 0x1b, 0x7c, 0x05, 0xe1};
    inv.seen(ip("10.20.1.30"), kT0, mac);
    inv.add_roles(ip("10.20.1.30"), kT0 + 2'000'000'000ull, roles({AssetRole::S7Plc, AssetRole::ModbusServer}),
                  (1u << module_of(Protocol::S7comm)) | (1u << module_of(Protocol::Modbus)));
    DeviceIdentity d = identity("10.20.1.30", kT0 + 1'000'000'000ull, Protocol::S7comm);
    d.product_code = "6ES7 315-2EH14-0AB0";
    d.firmware = "V3.2.6";
    inv.identity(d);
    inv.seen(ip("10.20.1.100"), kT0 + 500'000'000ull);
    const auto snap = inv.snapshot();
    write_assets(*sink, id, snap, [](const IpAddr& a) {
      return a == IpAddr::v4(0x0A14011E) ? std::string_view("control") : std::string_view();
    });
    sink->handoff();
    mgr.close();
  }
  const std::string text = test::read_file(dir / "assets.log");
  CHECK(text.find("#fields\tts\tip\tmac\tmac_vendor\tvendor\tmodel\tproduct_code\tfirmware\tserial\tdevice_type\t"
                  "roles\tprotocols\tfirst_seen\tlast_seen\tzone\tidentity_source\n") != std::string::npos);
  CHECK(text.find("#types\ttime\taddr\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tstring\tset[string]\t"
                  "set[string]\ttime\ttime\tstring\tset[string]\n") != std::string::npos);
  CHECK(test::log_lines(dir / "assets.log") ==
        std::vector<std::string>{
            "1700000000.000000\t10.20.1.30\t00:1b:1b:7c:05:e1\tSiemens AG\t-\t-\t6ES7 315-2EH14-0AB0\tV3.2.6\t-\t-\t"
            "modbus_server,s7_plc\tmodbus,s7comm\t1700000000.000000\t1700000002.000000\tcontrol\ts7comm",
            "1700000000.500000\t10.20.1.100\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t1700000000.500000\t1700000000.500000\t"
            "-\t-"});
}

// ---------------------------------------------------------------------------------------------------
// The project's captures through the binary

TEST_CASE("assets.log of pcaps/modbus.pcap: MEI 14 identity, Modbus roles, nothing from a flow that is not Modbus",
          "[inventory]") {
  CHECK(project_rows("modbus") == std::vector<std::string>{
                   // The HMI, client of both PLCs.
                   "10.50.1.10\tb8:ca:3a:50:01:0a\tDell Inc.\t-\t-\t-\t-\t-\t-\tmodbus_client\tmodbus\t"
                   "1710144550.711178\t1710144552.185969\t-\t-",
                   // The M340: vendor, product code and revision from the basic read, the model name from the
                   // regular one.
                   "10.50.1.21\t00:80:f4:50:01:15\tTELEMECANIQUE ELECTRIQUE\tSchneider Electric\tBMX P34 2020\t"
                   "BMXP342020\tv2.70\t-\t-\tmodbus_server\tmodbus\t1710144550.711522\t1710144551.375313\t-\tmodbus",
                   // The WAGO refused the identification; the laptop's HTTP to its port 502 was rejected by the
                   // Modbus analyzer, so it gives neither end a role (the WAGO is still seen until then).
                   "10.50.1.22\t00:30:de:50:01:16\tWAGO Kontakttechnik GmbH\t-\t-\t-\t-\t-\t-\tmodbus_server\tmodbus\t"
                   "1710144551.811522\t1710144553.162624\t-\t-",
                   "10.50.1.99\t3c:ec:ef:50:01:63\tSuper Micro Computer, Inc.\t-\t-\t-\t-\t-\t-\t-\t-\t"
                   "1710144553.111178\t1710144553.162624\t-\t-"});
}

TEST_CASE("assets.log of pcaps/enip.pcap: ListIdentity replies over UDP broadcast, CIP scanner and adapters",
          "[inventory]") {
  CHECK(project_rows("enip") == std::vector<std::string>{
                   // The workstation: ListIdentity to the broadcast address, explicit messaging sessions to both
                   // devices (cip_scanner) and UDP 2222 I/O with the adapter (cip: no role).
                   "10.30.1.10\tb8:ca:3a:6e:50:0a\tDell Inc.\t-\t-\t-\t-\t-\t-\tcip_scanner\tcip,enip\t"
                   "1710144550.611178\t1710144553.848726\t-\t-",
                   // Both devices identified by their ListIdentity replies to the broadcast request.
                   "10.30.1.20\t00:00:bc:3e:eb:e4\tRockwell Automation\tRockwell Automation/Allen-Bradley\t"
                   "1756-L71/B LOGIX5571\t55\t20.11\t0x00c0ffee\tProgrammable Logic Controller\tcip_adapter\tenip\t"
                   "1710144550.613178\t1710144551.584371\t-\tenip",
                   "10.30.1.30\t00:00:bc:12:34:56\tRockwell Automation\tRockwell Automation/Allen-Bradley\t"
                   "1734-AENT/B\t94\t6.1\t0x12345678\tCommunications Adapter\tcip_adapter\tcip,enip\t"
                   "1710144550.614178\t1710144553.848726\t-\tenip"});
}

TEST_CASE("assets.log of pcaps/s7comm.pcap: SZL module identification of the S7-300, S7 PLCs and clients",
          "[inventory]") {
  CHECK(project_rows("s7comm") == std::vector<std::string>{
                   // The engineering station, client of the S7-300, the S7-1500 (TLS) and the IED (MMS: no role).
                   "10.20.1.100\tb8:ca:3a:6e:40:64\tDell Inc.\t-\t-\t-\t-\t-\t-\ts7_hmi\ts7comm\t"
                   "1710144550.611178\t1710144564.727106\t-\t-",
                   // SZL 0x0011 (order number, firmware) and 0x001C (type name, serial, copyright's vendor).
                   "10.20.1.30\t00:1b:1b:7c:05:e1\tSiemens AG\tSiemens\tCPU 315-2 PN/DP\t6ES7 315-2EH14-0AB0\t"
                   "V3.2.6\tS C-X4U421302012\t-\ts7_plc\ts7comm\t1710144550.611572\t1710144555.212530\t-\ts7comm",
                   "10.20.1.50\t00:1b:1b:99:20:32\tSiemens AG\t-\t-\t-\t-\t-\t-\ts7_hmi\ts7comm\t"
                   "1710144559.611178\t1710144560.567091\t-\t-",
                   "10.20.1.31\t28:63:36:a1:0b:7e\tSiemens AG\t-\t-\t-\t-\t-\t-\ts7_plc\ts7comm\t"
                   "1710144559.611331\t1710144562.799237\t-\t-",
                   "10.20.1.40\t00:09:8e:11:22:33\tipcas GmbH\t-\t-\t-\t-\t-\t-\t-\t-\t"
                   "1710144564.611356\t1710144564.727106\t-\t-"});
}

// Every address that sent packets on a connection is an asset (broadcast, multicast and unspecified ones
// aside); its roles and protocols are those of the services conn.log shows on its connections, client
// roles for the originator, server roles for the responder.
TEST_CASE("assets.log roles and protocols agree with conn.log's services on every project capture", "[inventory]") {
  const std::map<std::string, std::pair<std::string, std::string>> kRoles = {
      {"modbus", {"modbus_client", "modbus_server"}}, {"dnp3", {"dnp3_master", "dnp3_outstation"}},
      {"enip", {"cip_scanner", "cip_adapter"}},       {"s7comm", {"s7_hmi", "s7_plc"}},
      {"cip", {"", ""}}};
  const auto is_asset = [](const std::string& a) {
    if (a == "0.0.0.0" || a == "::" || a == "255.255.255.255" || a.rfind("ff", 0) == 0) return false;
    const int first = std::atoi(a.c_str());
    return a.find(':') != std::string::npos || first < 224;
  };
  const auto join = [](const std::set<std::string>& xs) {
    std::string out;
    for (const auto& x : xs) out += (out.empty() ? "" : ",") + x;
    return out.empty() ? std::string("-") : out;
  };
  const fs::path out = test::scratch_dir("inventory/conn");
  for (const auto& p : test::captures_under(test::source_dir() / "pcaps")) {
    INFO(p.string());
    fs::remove_all(out);
    const auto rows = assets_of(p, out);
    std::map<std::string, std::pair<std::set<std::string>, std::set<std::string>>> want;  // roles, protocols
    for (const auto& line : test::log_lines(out / "conn.log")) {
      const auto c = tab_fields(line);
      REQUIRE(c.size() > 18);
      std::vector<std::string> services;
      std::stringstream ss(c[7]);
      for (std::string x; std::getline(ss, x, ',');) {
        if (x != "-") services.push_back(x);
      }
      for (const bool orig : {true, false}) {
        const std::string& host = c[orig ? 2 : 4];
        if (c[orig ? 16 : 18] == "0" || !is_asset(host)) continue;
        auto& w = want[host];
        for (const auto& svc : services) {
          REQUIRE(kRoles.count(svc));
          const std::string& role = orig ? kRoles.at(svc).first : kRoles.at(svc).second;
          if (!role.empty()) w.first.insert(role);
          w.second.insert(svc);
        }
      }
    }
    std::map<std::string, std::string> expected, got;
    for (const auto& [host, w] : want) expected[host] = join(w.first) + " " + join(w.second);
    for (const auto& r : rows) {
      const auto f = tab_fields(r);
      REQUIRE(f.size() == 16);
      got[f[1]] = f[10] + " " + f[11];
    }
    CHECK(got == expected);
  }
}

TEST_CASE("assets.log: the zone column from the site model", "[inventory]") {
  const fs::path dir = test::scratch_dir("inventory/zones");
  std::ofstream(dir / "site.yaml") << "zones:\n"
                                      "  - name: operations\n    security_level: 2\n    networks: [\"10.50.1.0/28\"]\n"
                                      "  - name: control\n    security_level: 3\n    networks: [\"10.50.1.16/28\"]\n";
  const auto rows = assets_of(test::source_dir() / "pcaps" / "modbus.pcap", dir / "logs", "-c " + q(dir / "site.yaml"));
  std::vector<std::string> zones;
  for (const auto& r : rows) {
    const auto f = tab_fields(r);
    zones.push_back(f[1] + " " + f[14]);
  }
  CHECK(zones == std::vector<std::string>{"10.50.1.10 operations", "10.50.1.21 control", "10.50.1.22 control",
                                          "10.50.1.99 -"});
}

TEST_CASE("assets.log is the same with 1 and 2 workers on the project's captures", "[inventory]") {
  const fs::path out = test::scratch_dir("inventory/workers");
  int compared = 0;
  for (const auto& p : test::captures_under(test::source_dir() / "pcaps")) {
    INFO(p.string());
    fs::remove_all(out / "w1");
    fs::remove_all(out / "w2");
    const auto a = assets_of(p, out / "w1", "-w 1");
    const auto b = assets_of(p, out / "w2", "-w 2");
    CHECK_FALSE(a.empty());
    CHECK(a == b);
    ++compared;
  }
  CHECK(compared >= 6);
}

// ---------------------------------------------------------------------------------------------------
// The shared captures

TEST_CASE("assets.log is the same with 1 and 2 workers on the shared captures, and Siemens S7 PLCs are identified",
          "[inventory][shared]") {
  const fs::path shared = test::require_shared();
  const fs::path out = test::scratch_dir("inventory/shared");
  int compared = 0, identified_plcs = 0;
  for (const auto& p : test::captures_under(shared / "pcaps")) {
    INFO(p.string());
    fs::remove_all(out / "w1");
    fs::remove_all(out / "w2");
    const auto a = assets_of(p, out / "w1", "-w 1");
    const auto b = assets_of(p, out / "w2", "-w 2");
    CHECK(a == b);
    ++compared;
    if (p.string().find("/s7comm/") == std::string::npos) continue;
    for (const auto& r : a) {
      const auto f = tab_fields(r);
      REQUIRE(f.size() == 16);
      // An S7 PLC that answered an SZL module identification: its order number (MLFB), from s7comm.
      if (f[10].find("s7_plc") != std::string::npos && f[6] != "-") {
        CHECK(f[6].rfind("6ES7", 0) == 0);
        CHECK(f[15] == "s7comm");
        ++identified_plcs;
      }
    }
  }
  CHECK(compared > 100);
  // s7ident, snap7, tia_s300_goOnline, s7comm_reading_plc_status, s7comm_program_blocklist_onlineview.
  CHECK(identified_plcs >= 5);
}

// ---------------------------------------------------------------------------------------------------
// assets.log during a run (sensor/inventory_writer.hpp)

TEST_CASE("assets.log during a run: a record per new or changed address each interval, last_seen counts at the end",
          "[inventory]") {
  const fs::path dir = test::scratch_dir("inventory/writer");
  {
    LogManager mgr(LogManager::Options{dir.string()});
    const LogId id = mgr.add(assets_schema());
    auto sink = mgr.make_sink();
    InventoryWriter w(*sink, id);
    AssetInventory inv;
    const auto write = [&](uint64_t now, bool final) {
      const std::vector<std::vector<Asset>> parts = {inv.snapshot()};
      return w.write(parts, nullptr, now, final);
    };
    inv.seen(ip("10.0.0.1"), kT0);
    inv.seen(ip("10.0.0.2"), kT0 + 1'000'000'000ull);
    CHECK(write(kT0 + 60'000'000'000ull, false) == 2);  // both new: ts = first_seen
    inv.seen(ip("10.0.0.1"), kT0 + 70'000'000'000ull);   // seen again: not news
    CHECK(write(kT0 + 120'000'000'000ull, false) == 0);
    inv.add_roles(ip("10.0.0.2"), kT0 + 130'000'000'000ull, roles({AssetRole::ModbusServer}),
                  1u << module_of(Protocol::Modbus));
    CHECK(write(kT0 + 180'000'000'000ull, false) == 1);  // a new role: ts = this write
    CHECK(write(kT0 + 190'000'000'000ull, true) == 1);   // the end: 10.0.0.1's last_seen
    CHECK(write(kT0 + 200'000'000'000ull, true) == 0);
    sink->handoff();
    mgr.close();
  }
  std::vector<std::string> got;
  for (const auto& line : test::log_lines(dir / "assets.log")) {
    const auto f = tab_fields(line);
    got.push_back(f[0] + " " + f[1] + " " + f[10] + " " + f[13]);  // ts ip roles last_seen
  }
  CHECK(got == std::vector<std::string>{
                   "1700000000.000000 10.0.0.1 - 1700000000.000000",
                   "1700000001.000000 10.0.0.2 - 1700000001.000000",
                   "1700000180.000000 10.0.0.2 modbus_server 1700000130.000000",
                   "1700000190.000000 10.0.0.1 - 1700000070.000000",
               });
}

TEST_CASE("assets.log is written every inventory interval while the sensor runs, before it stops", "[inventory]") {
  // The demo capture through a FIFO whose writer pauses after the first half (about 10 s of packet time),
  // with sensor.inventory_interval_s 5: the inventory of the first half is in assets.log while the sensor
  // waits, with the default threaded worker; at the end the last record of each address is what a whole
  // replay writes.
  using test::read_file;  // for REQUIRE_WITHIN
  using test::wait_for;
  const fs::path dir = test::scratch_dir("inventory/periodic");
  std::ofstream(dir / "site.yaml") << test::example_site_model();
  std::ofstream(dir / "periodic.yaml") << test::example_site_model() << "\nsensor:\n  inventory_interval_s: 5\n";
  // A whole replay writes assets.log once, at the end (no interval for -r unless the model gives one).
  const auto whole = assets_of(test::source_dir() / "pcaps" / "demo.pcap", dir / "whole", "-c " + q(dir / "site.yaml"));
  REQUIRE(whole.size() > 10);

  const std::string pcap = test::read_file(test::source_dir() / "pcaps" / "demo.pcap");
  const fs::path fifo = dir / "demo.fifo", logs = dir / "logs";
  test::FifoWriter writer(fifo);
  REQUIRE(writer.made());
  test::Child sensor({test::otsensor(), "-q", "-r", fifo.string(), "-c", (dir / "periodic.yaml").string(), "-l",
                      logs.string()},
                     dir / "sensor.out");
  REQUIRE(sensor.started());
  REQUIRE_WITHIN(std::chrono::seconds(20), dir, writer.try_open());
  const auto write_to = [&](size_t from, size_t to) {
    REQUIRE(writer.write(std::string_view(pcap).substr(from, to - from)));
  };
  size_t half = 24;  // a record boundary near the middle: 16-byte headers, caplen at offset 8 (little-endian)
  while (half < pcap.size() / 2) {
    uint32_t caplen = 0;
    for (int i = 3; i >= 0; --i) caplen = caplen << 8 | static_cast<uint8_t>(pcap[half + 8 + size_t(i)]);
    half += 16 + caplen;
  }
  write_to(0, half);
  REQUIRE_WITHIN(std::chrono::seconds(10), dir, !test::log_lines(logs / "assets.log").empty());
  CHECK_FALSE(sensor.wait(std::chrono::milliseconds(0)));
  const size_t during = test::log_lines(logs / "assets.log").size();
  CHECK(during < whole.size());  // the first half's devices, not yet every one

  write_to(half, pcap.size());
  writer.close();
  const auto rc = sensor.wait(std::chrono::seconds(60));
  INFO(test::read_file(dir / "sensor.out"));
  REQUIRE(rc);
  CHECK(*rc == 0);
  // The last record of every address, but its ts (a later record's is when it was written), is the whole
  // replay's record.
  const auto but_ts = [](const std::string& line) { return line.substr(line.find('\t')); };
  std::map<std::string, std::string> last, want;
  for (const auto& line : test::log_lines(logs / "assets.log")) last[tab_fields(line)[1]] = but_ts(line);
  for (const auto& line : whole) want[tab_fields(line)[1]] = but_ts(line);
  CHECK(last == want);
  CHECK(test::log_lines(logs / "assets.log").size() > whole.size());  // updates after the first records
}
