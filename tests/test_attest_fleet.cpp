// The device registry against an independent implementation: tools/aqat_fleet.py (PyNaCl) writes a fleet
// with one device per fault of issue 6 and, for each device, the verdicts its datagrams must get. The
// capture goes through the project's pcap reader and decoder, as the pipeline will feed the registry.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

#include "attest_tap/device_registry.hpp"
#include "capture/decode.hpp"
#include "capture/packet_source.hpp"
#include "tests/test_support.hpp"
#include "zones/site_model.hpp"

using namespace ots;
using namespace ots::attest;

namespace {

struct NoWeirds final : WeirdSink {
  void weird(const WeirdEvent&) override {}
};

uint64_t ns_of(const std::string& seconds) {
  const auto dot = seconds.find('.');
  return std::stoull(seconds.substr(0, dot)) * 1'000'000'000ull + std::stoull(seconds.substr(dot + 1)) * 1000ull;
}

}  // namespace

TEST_CASE("attest registry: every fault of the fleet simulator gets exactly its expected verdicts",
          "[attest][registry][fleet]") {
  namespace fs = std::filesystem;
  const fs::path tool = ots::test::source_dir() / "tools" / "aqat_fleet.py";
  if (!fs::exists(tool) || !fs::exists("/usr/bin/python3")) {
    std::fprintf(stderr, "SKIPPED: tools/aqat_fleet.py or /usr/bin/python3 not found\n");
    std::exit(77);
  }
  const fs::path dir = ots::test::scratch_dir("attest_fleet");
  std::string faults;
  for (const char* f : {"forged", "deleted", "modified", "replay", "fork", "late", "malformed", "clone", "expired",
                        "untrusted_ca", "bad_certificate", "software_key", "bad_firmware", "tamper", "silence",
                        "clock_skew", "bad_sbom", "unknown_device", "unattested"})
    faults += fmt::format(" --fault {}", f);
  const auto gen = ots::test::run(fmt::format("/usr/bin/python3 {} {} --seed 11 --devices 24 --duration 300{} "
                                              "--emit-config {} --emit-expect {}",
                                              tool.string(), (dir / "fleet.pcap").string(), faults,
                                              (dir / "attestation.yaml").string(), (dir / "expect.json").string()));
  if (gen.exit_code != 0) {
    std::fprintf(stderr, "SKIPPED: tools/aqat_fleet.py failed (PyNaCl missing?): %s\n", gen.output.c_str());
    std::exit(77);
  }
  AttestationConfig config;
  SiteModel site;
  std::vector<std::string> errors;
  REQUIRE(load_attestation_config((dir / "attestation.yaml").string(), config, errors));
  REQUIRE(load_site_model((ots::test::source_dir() / "config" / "site.example.yaml").string(), site, errors));
  const auto expect = nlohmann::json::parse(std::ifstream(dir / "expect.json"));

  DeviceRegistry registry(config);
  std::vector<VerdictRecord> out;
  std::string err;
  auto source = open_pcap_file((dir / "fleet.pcap").string(), 0, err);
  REQUIRE(source);
  Decoder decoder;
  NoWeirds weirds;
  PacketBurst burst;
  while (source->next_burst(burst) == SourceStatus::Ok) {
    for (size_t i = 0; i < burst.count; ++i) {
      DecodedPacket p;
      if (decoder.decode(burst.pkts[i], p, weirds) != DecodeResult::Ok || p.l4 != Transport::Udp ||
          p.dport != config.port)
        continue;
      DatagramMeta m;
      m.ts_ns = p.ts_ns;
      m.src = p.src;
      m.dst = p.dst;
      m.src_port = p.sport;
      m.dst_port = p.dport;
      if (p.src_mac) {
        std::copy_n(p.src_mac, 6, m.src_mac.begin());
        m.has_src_mac = true;
      }
      const ZoneMatch z = site.zone_of(p.src);
      m.src_requires_hardware_root = z.zone >= 0 && site.zones[size_t(z.zone)].require_hardware_root;
      registry.process(p.payload, m, out);
    }
  }
  registry.finish(ns_of(expect["capture"]["end"].get<std::string>()), out);

  std::map<std::string, std::map<std::string, int>> got;  // device_id (or source of a malformed one) -> counts
  std::map<std::string, std::vector<uint64_t>> stale;
  for (const VerdictRecord& r : out) {
    if (r.verdict == Verdict::Stale) {
      stale[r.device_id.hex()].push_back(r.ts_ns);
      continue;
    }
    ++got[r.has_device ? r.device_id.hex() : r.src.to_string()][std::string(verdict_name(r.verdict))];
    CHECK(r.also.empty());  // the simulator makes exactly one verdict apply to each datagram
  }
  for (const auto& d : expect["devices"]) {
    const std::string name = d["name"].get<std::string>();
    const std::string fault = d["fault"].is_null() ? "none" : d["fault"].get<std::string>();
    INFO(name << " (fault " << fault << ")");
    IpAddr addr;
    REQUIRE(IpAddr::parse(d["address"].get<std::string>(), addr));
    if (d["device_id"].is_null()) {  // a PLC without AQAT
      CHECK(got[d["address"].get<std::string>()].empty());
      CHECK_FALSE(registry.identity_bound(addr));
      continue;
    }
    std::map<std::string, int> counts = got[d["device_id"].get<std::string>()];
    for (const auto& [verdict, n] : got[d["address"].get<std::string>()]) counts[verdict] += n;  // malformed
    std::map<std::string, int> expected;
    for (const auto& [verdict, n] : d["verdicts"].items()) expected[verdict] = n.get<int>();
    CHECK(counts == expected);

    std::vector<uint64_t> stale_expected;
    bool unattested = false;
    for (const auto& e : d["elapsed"]) {
      if (e["notice"] == "Attest::Stale") stale_expected.push_back(ns_of(e["after"].get<std::string>()));
      if (e["notice"] == "Attest::Unattested_Device") unattested = true;
    }
    CHECK(stale[d["device_id"].get<std::string>()] == stale_expected);
    if (d["attested"].get<bool>()) CHECK(registry.identity_bound(addr));
    if (unattested) CHECK_FALSE(registry.identity_bound(addr));

    DeviceId id;
    REQUIRE(from_hex(d["device_id"].get<std::string>(), id.bytes));
    const auto* components = registry.sbom_components(id);
    // A bad SBOM never verifies; an unattested device's is not in query results.
    if (!d["attested"].get<bool>() || d["sbom_components"].empty() || fault == "bad_sbom") {
      CHECK(components == nullptr);
      continue;
    }
    REQUIRE(components);
    std::vector<SbomComponent> expected_components;
    for (const auto& c : d["sbom_components"])
      expected_components.push_back({c.value("name", ""), c.value("version", ""), c.value("purl", ""), c.value("cpe", "")});
    CHECK(*components == expected_components);
  }
}
