// The device registry: exact verdicts for every case of issue 6, from datagrams built with keys derived
// from fixed seeds.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "attest_tap/aqat_builder.hpp"
#include "attest_tap/device_registry.hpp"

using namespace ots;
using namespace ots::attest;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint64_t kT0 = 1'800'000'000ull * kSec;  // 2027-01-15, packet time of the first datagram
constexpr uint64_t kNotBefore = 1'767'225'600;       // 2026-01-01
constexpr uint64_t kNotAfter = 1'830'297'600;        // 2028-01-01

IpAddr ip(const char* text) {
  IpAddr a;
  REQUIRE(IpAddr::parse(text, a));
  return a;
}

const Ed25519KeyPair& fleet_ca() {
  static const Ed25519KeyPair k = keypair_from_seed_byte(1);
  return k;
}

// A device of the simulated fleet: its key, IDENTITY fields and chain state.
struct Device {
  Ed25519KeyPair key;
  DeviceId id;
  IdentityFields identity_fields;
  uint64_t seq = 0;
  Blake2b256 last;  // digest of the previous TELEMETRY datagram
  Blake2b256 fw = blake2b256_of_text("firmware V2.9.4");
  Blake2b256 sbom = blake2b256_of_text("no sbom yet");
  IpAddr addr;

  Device(uint8_t seed_byte, const char* address, std::string name) : key(keypair_from_seed_byte(seed_byte)) {
    id = device_id_of(key.pk);
    identity_fields = {key.pk, RootKind::SecureElement, kNotBefore, kNotAfter, ca_key_id_of(fleet_ca().pk),
                       std::move(name), "V2.9.4"};
    addr = ip(address);
  }
  std::vector<uint8_t> identity(const Ed25519KeyPair& ca = fleet_ca()) const {
    return build_identity(identity_fields, ca, key);
  }
  TelemetryFields fields(uint64_t ts_ns, uint16_t status = 0) const {
    TelemetryFields t;
    t.device_id = id;
    t.seq = seq + 1;
    t.boot_count = 1;
    t.timestamp_ms = ts_ns / 1'000'000;
    t.prev_hash = last;
    t.fw_digest = fw;
    t.config_digest = blake2b256_of_text("config");
    t.sbom_digest = sbom;
    t.status = status;
    return t;
  }
  // The next record of the chain, which the device then counts as sent.
  std::vector<uint8_t> telemetry(uint64_t ts_ns, uint16_t status = 0) { return commit(fields(ts_ns, status)); }
  std::vector<uint8_t> commit(const TelemetryFields& t) {
    auto d = build_telemetry(t, key);
    seq = t.seq;
    last = blake2b256(d);
    return d;
  }
};

AttestationConfig config() {
  AttestationConfig c;
  c.present = true;
  c.trust_anchors.push_back({"fleet-ca-2026", fleet_ca().pk, ca_key_id_of(fleet_ca().pk), {}});
  c.golden_firmware["V2.9.4"] = {blake2b256_of_text("firmware V2.9.4"), blake2b256_of_text("firmware V2.9.4 build 2")};
  return c;
}

// "identity ok", "telemetry#3 chain_gap: 2 records missing (seq 2 to 3)", "- stale: ..." with the also-findings
// as " +device_status".
std::string summary(const VerdictRecord& r, bool detail) {
  std::string s(message_type_name(r.type));
  if (r.seq) s += fmt::format("#{}", r.seq);
  s += " " + std::string(verdict_name(r.verdict));
  for (const Finding& f : r.also) s += " +" + std::string(verdict_name(f.verdict));
  if (detail && !r.detail.empty()) s += ": " + r.detail;
  return s;
}

struct Fleet {
  DeviceRegistry reg;
  std::vector<VerdictRecord> out;
  uint64_t now = kT0;

  explicit Fleet(AttestationConfig c = config(), RegistryLimits l = {}) : reg(std::move(c), l) {}

  void send(const std::vector<uint8_t>& d, const IpAddr& src, bool hw_root_required = false, uint8_t mac_last = 0) {
    DatagramMeta m;
    m.ts_ns = now;
    m.src = src;
    m.dst = ip("192.168.100.5");
    m.src_port = 40000;
    m.dst_port = 62443;
    m.src_mac = {0x02, 0, 0, 0, 0, mac_last ? mac_last : src.bytes[15]};
    m.has_src_mac = true;
    m.src_requires_hardware_root = hw_root_required;
    reg.process(d, m, out);
  }
  // Summaries of the records since the last call.
  std::vector<std::string> take(bool detail = false) {
    std::vector<std::string> s;
    for (const VerdictRecord& r : out) s.push_back(summary(r, detail));
    out.clear();
    return s;
  }
};

using Lines = std::vector<std::string>;

// A healthy start: IDENTITY then `n` TELEMETRY 5 s apart, all ok.
void boot(Fleet& f, Device& d, int n) {
  f.send(d.identity(), d.addr);
  for (int i = 0; i < n; ++i) {
    f.now += 5 * kSec;
    f.send(d.telemetry(f.now), d.addr);
  }
  Lines expected = {"identity ok"};
  for (uint64_t s = d.seq - uint64_t(n) + 1; s <= d.seq; ++s) expected.push_back(fmt::format("telemetry#{} ok", s));
  REQUIRE(f.take() == expected);
}

std::string cyclonedx(const std::string& component_version) {
  return R"({"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"openssl","version":")" +
         component_version + R"(","purl":"pkg:generic/openssl@)" + component_version +
         R"("},{"name":"lwip","version":"2.1.3"}], "padding": ")" + std::string(2500, ' ') + R"("})";
}

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

TEST_CASE("attest registry: a healthy device stream gives only ok, and binds its address", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  const std::string doc = cyclonedx("3.0.13");
  plc.sbom = blake2b256(bytes(doc));
  f.send(plc.identity(), plc.addr, true);
  for (const auto& c : build_sbom(plc.id, bytes(doc), plc.sbom, plc.key)) f.send(c, plc.addr, true);
  for (int i = 1; i <= 30; ++i) {
    f.now += 5 * kSec;
    f.send(plc.telemetry(f.now), plc.addr, true);
    if (i % 12 == 0) f.send(plc.identity(), plc.addr, true);  // byte-identical every 60 s
  }
  // The SBOM again at a reboot-like resend.
  for (const auto& c : build_sbom(plc.id, bytes(doc), plc.sbom, plc.key)) f.send(c, plc.addr, true);
  f.reg.finish(f.now + 10 * kSec, f.out);
  REQUIRE(f.out.size() == 1 + 3 + 30 + 2 + 3);
  for (const VerdictRecord& r : f.out) {
    INFO(summary(r, true));
    CHECK(r.verdict == Verdict::Ok);
    CHECK(r.also.empty());
    CHECK(r.device_id == plc.id);
    CHECK(r.name == "plc-7");
    CHECK(r.src == plc.addr);
    CHECK(r.dst_port == 62443);
    CHECK(r.decided_ns == r.ts_ns);
  }
  CHECK(f.out[3].detail == "SBOM verified: 2683 bytes in 3 chunks, 2 components");
  CHECK(f.out[4].seq == 1);
  const auto b = f.reg.binding(plc.addr);
  REQUIRE(b);
  CHECK(b->device_id == plc.id);
  CHECK(b->name == "plc-7");
  CHECK(b->since_ns == kT0 + 5 * kSec);
  CHECK_FALSE(f.reg.identity_bound(ip("192.168.10.8")));
  const DeviceInfo* info = f.reg.device(plc.id);
  REQUIRE(info);
  CHECK(info->attested);
  CHECK(info->ca_name == "fleet-ca-2026");
  CHECK(info->fw_version == "V2.9.4");
  CHECK(info->last_seq == 30);
  CHECK(info->last_attested_ns == kT0 + 150 * kSec);
  const auto* components = f.reg.sbom_components(plc.id);
  REQUIRE(components);
  REQUIRE(components->size() == 2);
  CHECK((*components)[0] == SbomComponent{"openssl", "3.0.13", "pkg:generic/openssl@3.0.13", ""});
  CHECK(f.reg.stats().devices == 1);
  CHECK(f.reg.stats().sboms_verified == 1);
  CHECK(f.reg.stats().verdicts[size_t(Verdict::Ok)] == f.out.size());
}

TEST_CASE("attest registry: a forged signature is bad_signature and never enters the chain", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 2);
  // A forged record 3 (its signature does not verify), then the genuine record 3.
  auto forged = plc.fields(f.now += 5 * kSec);
  auto bad = build_telemetry(forged, plc.key);
  bad[bad.size() - 10] ^= 0x40;
  f.send(bad, plc.addr);
  f.send(plc.telemetry(f.now), plc.addr);
  // Signed by another key.
  Device mallory(9, "192.168.10.66", "plc-7");
  TelemetryFields t = plc.fields(f.now += 5 * kSec);
  f.send(build_telemetry(t, mallory.key), mallory.addr);
  // An IDENTITY whose datagram signature fails: not registered.
  auto id = mallory.identity();
  id[20] ^= 1;
  f.send(id, mallory.addr);
  CHECK(f.take(true) ==
        Lines{"telemetry#3 bad_signature: the datagram signature does not verify with the device's IDENTITY key",
              "telemetry#3 ok",
              "telemetry#4 bad_signature: the datagram signature does not verify with the device's IDENTITY key",
              "identity bad_signature: the datagram signature does not verify with its device_pk"});
  CHECK(f.reg.stats().devices == 1);
  CHECK(f.reg.device(plc.id)->last_seq == 3);
}

TEST_CASE("attest registry: deleted records are a chain_gap with how many are missing", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 3);
  plc.telemetry(f.now += 5 * kSec);  // 4 and 5 are deleted on the way
  plc.telemetry(f.now += 5 * kSec);
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  CHECK(f.take(true) == Lines{"telemetry#6 chain_gap: 2 records missing (seq 4 to 5)", "telemetry#7 ok"});
  CHECK(notice_name(Verdict::ChainGap) == "Attest::Chain_Gap");
}

TEST_CASE("attest registry: a modified record is chain_broken before it is seen, a fork after", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 2);
  // Record 3 as the device wrote it, and a modified one (re-signed with the device key, other status).
  TelemetryFields original = plc.fields(f.now += 5 * kSec);
  TelemetryFields modified = original;
  modified.config_digest = blake2b256_of_text("other config");
  const auto modified_bytes = build_telemetry(modified, plc.key);
  plc.commit(original);
  // Only the modified record is seen: record 4 does not link to it.
  f.send(modified_bytes, plc.addr);
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  CHECK(f.take(true) == Lines{"telemetry#3 ok", "telemetry#4 chain_broken: prev_hash is not the digest of seq 3",
                              "telemetry#5 ok"});
  // The genuine record 3 comes after: it differs from the record seen at seq 3.
  f.send(build_telemetry(original, plc.key), plc.addr);
  CHECK(f.take(true) == Lines{"telemetry#3 fork: seq 3 differs from the record seen before at that seq"});
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  CHECK(f.take() == Lines{"telemetry#6 ok"});
}

TEST_CASE("attest registry: a replayed record is replay, and moves nothing", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  f.send(plc.identity(), plc.addr);
  std::vector<std::vector<uint8_t>> sent;
  for (int i = 0; i < 5; ++i) {
    sent.push_back(plc.telemetry(f.now += 5 * kSec));
    f.send(sent.back(), plc.addr);
  }
  f.take();
  f.now += 1 * kSec;
  f.send(sent[1], ip("192.168.10.99"));  // replayed from elsewhere: a replay, not a clone
  f.send(sent[4], plc.addr);
  f.send(plc.telemetry(f.now += 4 * kSec), plc.addr);
  CHECK(f.take(true) == Lines{"telemetry#2 replay: seq 2 was seen before", "telemetry#5 replay: seq 5 was seen before",
                              "telemetry#6 ok"});
  CHECK_FALSE(f.reg.identity_bound(ip("192.168.10.99")));
}

TEST_CASE("attest registry: a record filling a reported gap is late", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 2);
  const auto r3 = plc.telemetry(f.now += 5 * kSec);
  const auto r4 = plc.telemetry(f.now += 5 * kSec);
  f.send(r4, plc.addr);
  f.send(r3, plc.addr);  // reordered on the way
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  f.send(r3, plc.addr);
  CHECK(f.take(true) == Lines{"telemetry#4 chain_gap: 1 record missing (seq 3 to 3)",
                              "telemetry#3 late: fills a reported gap", "telemetry#5 ok",
                              "telemetry#3 replay: seq 3 was seen before"});
  CHECK(notice_name(Verdict::Late).empty());
  CHECK(notice_name(Verdict::Ok).empty());
}

TEST_CASE("attest registry: valid records from a second address within clone_window_s are identity_clone",
          "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 2);
  const IpAddr other = ip("192.168.10.77");
  f.now += 20 * kSec;
  f.send(plc.identity(), other);
  f.send(plc.telemetry(f.now), other);
  f.now += 2 * kSec;
  f.send(plc.telemetry(f.now), plc.addr);
  CHECK(f.take(true) ==
        Lines{"identity identity_clone: valid records from 192.168.10.77 (02:00:00:00:00:4d) and from 192.168.10.7 "
              "(02:00:00:00:00:07) 20.000 s apart",
              "telemetry#3 identity_clone: valid records from 192.168.10.77 (02:00:00:00:00:4d) and from 192.168.10.7 "
              "(02:00:00:00:00:07) 20.000 s apart",
              "telemetry#4 identity_clone: valid records from 192.168.10.7 (02:00:00:00:00:07) and from 192.168.10.77 "
              "(02:00:00:00:00:4d) 2.000 s apart"});
  // The clone's address is not bound; the original's stays bound.
  CHECK_FALSE(f.reg.identity_bound(other));
  CHECK(f.reg.identity_bound(plc.addr));
  // Same address, another MAC: a clone too.
  f.now += 1 * kSec;
  f.send(plc.telemetry(f.now), plc.addr, false, 0x99);
  CHECK(f.take() == Lines{"telemetry#5 identity_clone"});
}

TEST_CASE("attest registry: a device that moves after clone_window_s is not a clone", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 2);
  const IpAddr moved = ip("192.168.10.70");
  f.now += 61 * kSec;  // silent for longer than the 60 s window (and stale meanwhile)
  f.send(plc.identity(), moved);
  f.send(plc.telemetry(f.now + 1 * kSec), moved);
  CHECK(f.take() == Lines{"-#2 stale", "identity ok", "telemetry#3 ok"});
  CHECK(f.reg.identity_bound(moved));
}

TEST_CASE("attest registry: certificate checks (expired, untrusted CA, bad certificate)", "[attest][registry]") {
  Fleet f;
  Device expired(3, "192.168.10.8", "rtu-8");
  expired.identity_fields.not_after = 1'790'000'000;  // before kT0
  Device future(4, "192.168.10.9", "rtu-9");
  future.identity_fields.not_before = 1'900'000'000;
  Device rogue(5, "192.168.10.10", "rtu-10");
  const Ed25519KeyPair other_ca = keypair_from_seed_byte(42);
  rogue.identity_fields.ca_key_id = ca_key_id_of(other_ca.pk);
  Device forged(6, "192.168.10.11", "rtu-11");  // names the fleet CA but is signed by another key
  f.send(expired.identity(), expired.addr);
  f.send(future.identity(), future.addr);
  f.send(rogue.identity(other_ca), rogue.addr);
  f.send(forged.identity(other_ca), forged.addr);
  CHECK(f.take(true) ==
        Lines{"identity certificate_expired: expired (valid from 1767225600 to 1790000000, packet time 1800000000, "
              "unix seconds)",
              "identity certificate_expired: not yet valid (valid from 1900000000 to 1830297600, packet time "
              "1800000000, unix seconds)",
              "identity untrusted_ca: ca_key_id " + to_hex(ca_key_id_of(other_ca.pk).bytes) +
                  " matches no trust anchor",
              "identity bad_certificate: ca_sig does not verify with trust anchor 'fleet-ca-2026'"});
  // Rejected devices are never attested, but their TELEMETRY is still checked with the IDENTITY's key.
  f.now += 5 * kSec;
  f.send(expired.telemetry(f.now), expired.addr);
  auto t = expired.fields(f.now);
  f.send(build_telemetry(t, rogue.key), expired.addr);
  expired.telemetry(f.now);  // record 2 lost
  f.send(expired.telemetry(f.now), expired.addr);
  CHECK(f.take() == Lines{"telemetry#1 ok", "telemetry#2 bad_signature", "telemetry#3 chain_gap"});
  const DeviceInfo* info = f.reg.device(expired.id);
  REQUIRE(info);
  CHECK_FALSE(info->attested);
  CHECK(info->identity_verdict == Verdict::CertificateExpired);
  CHECK(f.reg.device(rogue.id)->identity_verdict == Verdict::UntrustedCa);
  CHECK(f.reg.device(forged.id)->identity_verdict == Verdict::BadCertificate);
  CHECK_FALSE(f.reg.identity_bound(expired.addr));
  // An unattested device's SBOM is verified but not in query results.
  const std::string doc = cyclonedx("1.0");
  for (const auto& c : build_sbom(expired.id, bytes(doc), blake2b256(bytes(doc)), expired.key)) f.send(c, expired.addr);
  CHECK(f.take().back() == "sbom ok");
  CHECK(f.reg.device(expired.id)->has_sbom);
  CHECK(f.reg.sbom_components(expired.id) == nullptr);
}

TEST_CASE("attest registry: a certificate expires while the device runs", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  plc.identity_fields.not_after = kT0 / kSec + 30;
  boot(f, plc, 1);
  CHECK(f.reg.identity_bound(plc.addr));
  f.now += 60 * kSec;
  f.send(plc.identity(), plc.addr);  // byte-identical, but now past not_after
  f.send(plc.telemetry(f.now), plc.addr);
  CHECK(f.take() == Lines{"-#1 stale", "identity certificate_expired", "telemetry#2 ok"});
  CHECK_FALSE(f.reg.identity_bound(plc.addr));
  CHECK_FALSE(f.reg.device(plc.id)->attested);
}

TEST_CASE("attest registry: a software key in a zone that requires a hardware root", "[attest][registry]") {
  Fleet f;
  Device soft(7, "192.168.10.12", "hmi-12");
  soft.identity_fields.root_kind = RootKind::Software;
  f.send(soft.identity(), soft.addr, /*hw_root_required=*/true);
  CHECK(f.take(true) == Lines{"identity not_hardware_rooted: software key (root_kind 3) from an address in a zone "
                              "that requires a hardware root"});
  Device soft_ok(8, "10.20.0.12", "mes-12");
  soft_ok.identity_fields.root_kind = RootKind::Software;
  f.send(soft_ok.identity(), soft_ok.addr, false);
  Device puf(10, "192.168.10.13", "plc-13");
  puf.identity_fields.root_kind = RootKind::Puf;
  f.send(puf.identity(), puf.addr, true);
  CHECK(f.take() == Lines{"identity ok", "identity ok"});
  // Several certificate problems: all are reported, the first in precedence is the verdict.
  Device worst(11, "192.168.10.14", "plc-14");
  worst.identity_fields.root_kind = RootKind::Software;
  worst.identity_fields.not_after = 1;
  f.send(worst.identity(keypair_from_seed_byte(42)), worst.addr, true);
  CHECK(f.take() == Lines{"identity bad_certificate +certificate_expired +not_hardware_rooted"});
}

TEST_CASE("attest registry: firmware outside the golden list is integrity_violation", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 1);
  plc.fw = blake2b256_of_text("firmware V2.9.4 build 2");  // the other golden digest
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  plc.fw = blake2b256_of_text("patched firmware");
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  CHECK(f.take(true) == Lines{"telemetry#2 ok", "telemetry#3 integrity_violation: fw_digest " +
                                                    to_hex(blake2b256_of_text("patched firmware").bytes) +
                                                    " is not a golden digest of V2.9.4"});
  // Versions not listed are not checked.
  Device other(3, "192.168.10.8", "rtu-8");
  other.identity_fields.fw_version = "V1.0";
  other.fw = blake2b256_of_text("anything");
  boot(f, other, 1);
}

TEST_CASE("attest registry: tamper, debug port and secure boot bits are device_status", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 1);
  f.send(plc.telemetry(f.now += 5 * kSec, kStatusTamper), plc.addr);
  f.send(plc.telemetry(f.now += 5 * kSec, kStatusDebugPortOpen | kStatusSecureBootFailed), plc.addr);
  f.send(plc.telemetry(f.now += 5 * kSec, kStatusClockUnsynchronised), plc.addr);  // not a status verdict
  CHECK(f.take(true) == Lines{"telemetry#2 device_status: tamper", "telemetry#3 device_status: debug port open, secure boot failed",
                              "telemetry#4 ok"});
  // With a gap at the same time: both findings, the chain's first.
  plc.telemetry(f.now += 5 * kSec);
  f.send(plc.telemetry(f.now += 5 * kSec, kStatusTamper), plc.addr);
  CHECK(f.take() == Lines{"telemetry#6 chain_gap +device_status"});
}

TEST_CASE("attest registry: silence is stale once, as time advances and at the end of input", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  Device rtu(3, "192.168.10.8", "rtu-8");
  boot(f, plc, 2);  // last TELEMETRY at kT0 + 10 s
  f.now = kT0 + 20 * kSec;
  f.send(rtu.identity(), rtu.addr);  // and never TELEMETRY
  f.take();
  f.reg.advance(kT0 + 40 * kSec, f.out);  // exactly 30 s of silence: not yet
  CHECK(f.take().empty());
  f.reg.advance(kT0 + 40 * kSec + 1, f.out);
  CHECK(f.take(true) == Lines{"-#2 stale: no TELEMETRY for 30 s (last seq 2)"});
  f.reg.advance(kT0 + 100 * kSec, f.out);
  CHECK(f.take(true) == Lines{"- stale: no TELEMETRY within 30 s of its IDENTITY"});
  f.reg.advance(kT0 + 105 * kSec, f.out);  // once per silence
  CHECK(f.take().empty());
  f.now = kT0 + 110 * kSec;
  f.send(plc.telemetry(f.now), plc.addr);
  f.reg.finish(kT0 + 141 * kSec, f.out);
  REQUIRE(f.out.size() == 2);
  CHECK(summary(f.out[0], false) == "telemetry#3 ok");
  CHECK(summary(f.out[1], true) == "-#3 stale: no TELEMETRY for 30 s (last seq 3)");
  CHECK(f.out[1].ts_ns == kT0 + 140 * kSec);
  CHECK(f.out[1].decided_ns == kT0 + 140 * kSec);
  CHECK(f.out[1].device_id == plc.id);
  CHECK(f.out[1].name == "plc-7");
  CHECK(f.out[1].src == plc.addr);
  CHECK(f.out[1].type == MessageType::None);
  CHECK(notice_name(f.out[1].verdict) == "Attest::Stale");
}

TEST_CASE("attest registry: a device that never sends TELEMETRY is stale after its IDENTITY", "[attest][registry]") {
  Fleet f;
  Device rtu(3, "192.168.10.8", "rtu-8");
  f.send(rtu.identity(), rtu.addr);
  f.reg.finish(kT0 + 31 * kSec, f.out);
  CHECK(f.take(true) == Lines{"identity ok", "- stale: no TELEMETRY within 30 s of its IDENTITY"});
}

TEST_CASE("attest registry: stale and held records come out in time order whatever the advance cadence",
          "[attest][registry]") {
  auto run = [](uint64_t step) {
    Fleet f;
    Device a(2, "192.168.10.7", "plc-7"), b(3, "192.168.10.8", "rtu-8"), ghost(4, "192.168.10.9", "ghost");
    f.send(a.identity(), a.addr);
    f.send(a.telemetry(f.now), a.addr);
    f.now += 7 * kSec;
    f.send(ghost.telemetry(f.now), ghost.addr);
    f.now += 3 * kSec;
    f.send(b.identity(), b.addr);
    f.send(b.telemetry(f.now), b.addr);
    for (uint64_t t = f.now; t < f.now + 300 * kSec; t += step) f.reg.advance(t, f.out);
    f.now += 300 * kSec;
    f.send(a.telemetry(f.now), a.addr);
    f.reg.finish(f.now, f.out);
    return f.take(true);
  };
  const Lines expected = {"identity ok", "telemetry#1 ok", "identity ok", "telemetry#1 ok",
                          "-#1 stale: no TELEMETRY for 30 s (last seq 1)",
                          "-#1 stale: no TELEMETRY for 30 s (last seq 1)",
                          "telemetry#1 unknown_device: no IDENTITY for this device_id within 120 s", "telemetry#2 ok"};
  CHECK(run(1 * kSec) == expected);
  CHECK(run(7 * kSec) == expected);
  CHECK(run(1000 * kSec) == expected);
}

TEST_CASE("attest registry: the device clock against packet time is clock_skew", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  boot(f, plc, 1);
  f.now += 5 * kSec;
  f.send(plc.commit(plc.fields(f.now + 30 * kSec)), plc.addr);  // exactly the limit
  f.now += 5 * kSec;
  f.send(plc.commit(plc.fields(f.now + 45 * kSec)), plc.addr);
  f.now += 5 * kSec;
  f.send(plc.commit(plc.fields(f.now - 31 * kSec, kStatusClockUnsynchronised)), plc.addr);
  CHECK(f.take(true) == Lines{"telemetry#2 ok", "telemetry#3 clock_skew: device clock 45.000 s ahead of packet time",
                              "telemetry#4 clock_skew: device clock 31.000 s behind packet time (the device reports "
                              "its clock unsynchronised)"});
}

TEST_CASE("attest registry: SBOM digests (bad document, telemetry after a verified SBOM)", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  const std::string doc = cyclonedx("3.0.13");
  plc.sbom = blake2b256_of_text("some other digest");
  boot(f, plc, 1);  // no verified SBOM yet: its sbom_digest is not checked
  // A document whose digest is not the declared one.
  const auto declared = blake2b256(bytes(doc));
  std::string tampered = doc;
  tampered[20] = 'X';
  for (const auto& c : build_sbom(plc.id, bytes(tampered), declared, plc.key)) f.send(c, plc.addr);
  CHECK(f.take(true) == Lines{"sbom ok", "sbom ok",
                              "sbom sbom_mismatch: the reassembled document's digest " +
                                  to_hex(blake2b256(bytes(tampered)).bytes) + " differs from the declared sbom_digest " +
                                  to_hex(declared.bytes)});
  CHECK(f.reg.sbom_components(plc.id) == nullptr);
  // The genuine document verifies; then TELEMETRY must name it.
  for (const auto& c : build_sbom(plc.id, bytes(doc), declared, plc.key)) f.send(c, plc.addr);
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  plc.sbom = declared;
  f.send(plc.telemetry(f.now += 5 * kSec), plc.addr);
  CHECK(f.take(true) == Lines{"sbom ok", "sbom ok", "sbom ok: SBOM verified: 2683 bytes in 3 chunks, 2 components",
                              "telemetry#2 sbom_mismatch: sbom_digest " + to_hex(blake2b256_of_text("some other digest").bytes) +
                                  " differs from the verified SBOM " + to_hex(declared.bytes),
                              "telemetry#3 ok"});
  REQUIRE(f.reg.sbom_components(plc.id));
  CHECK(f.reg.sbom_components(plc.id)->size() == 2);
  // A chunk that contradicts an earlier one of the same digest; a verified document that is not CycloneDX.
  const std::string v2 = cyclonedx("3.0.14");
  const auto chunks = build_sbom(plc.id, bytes(v2), blake2b256(bytes(v2)), plc.key);
  f.send(chunks[0], plc.addr);
  auto other = build_sbom_chunk({plc.id, 0, 3, blake2b256(bytes(v2)), bytes(std::string(1024, 'z'))}, plc.key);
  f.send(other, plc.addr);
  const std::string not_bom = R"({"hello": "world"})";
  for (const auto& c : build_sbom(plc.id, bytes(not_bom), blake2b256(bytes(not_bom)), plc.key)) f.send(c, plc.addr);
  CHECK(f.take(true) == Lines{"sbom ok", "sbom sbom_mismatch: chunk 0 differs from the chunk 0 received before",
                              "sbom malformed: the SBOM document is not a CycloneDX BOM (no bomFormat \"CycloneDX\")"});
  CHECK(f.reg.device(plc.id)->verified_sbom == declared);
}

TEST_CASE("attest registry: records of an unknown device are held until its IDENTITY", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  const std::string doc = cyclonedx("3.0.13");
  plc.sbom = blake2b256(bytes(doc));
  f.send(plc.telemetry(f.now), plc.addr);
  for (const auto& c : build_sbom(plc.id, bytes(doc), plc.sbom, plc.key)) f.send(c, plc.addr);
  f.now += 5 * kSec;
  f.send(plc.telemetry(f.now), plc.addr);
  plc.telemetry(f.now);  // lost
  f.now += 5 * kSec;
  f.send(plc.telemetry(f.now), plc.addr);
  CHECK(f.take().empty());
  CHECK(f.reg.stats().held == 6);
  f.now += 100 * kSec;  // within 120 s of the first held record
  f.send(plc.identity(), plc.addr);
  CHECK(f.take() == Lines{"identity ok", "telemetry#1 ok", "sbom ok", "sbom ok", "sbom ok", "telemetry#2 ok",
                          "telemetry#4 chain_gap"});
  CHECK(f.reg.stats().held == 0);
  CHECK(f.reg.sbom_components(plc.id));
}

TEST_CASE("attest registry: held records are verified in order once the IDENTITY comes", "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  const auto t1 = plc.telemetry(f.now);
  auto forged = plc.telemetry(f.now + kSec);
  forged.back() ^= 1;
  f.send(t1, plc.addr);
  f.now += kSec;
  f.send(forged, plc.addr);
  f.now += kSec;
  f.send(plc.identity(), plc.addr);
  REQUIRE(f.out.size() == 3);
  CHECK(summary(f.out[1], false) == "telemetry#1 ok");
  CHECK(f.out[1].ts_ns == kT0);
  CHECK(f.out[1].decided_ns == kT0 + 2 * kSec);
  CHECK(summary(f.out[2], false) == "telemetry#2 bad_signature");
}

TEST_CASE("attest registry: an IDENTITY that never comes within 120 s is unknown_device", "[attest][registry]") {
  Fleet f;
  Device ghost(4, "192.168.10.9", "ghost");
  f.send(ghost.telemetry(f.now), ghost.addr);
  f.now += 60 * kSec;
  f.send(ghost.telemetry(f.now), ghost.addr);
  f.reg.advance(kT0 + 120 * kSec, f.out);  // exactly 120 s: still waiting
  CHECK(f.take().empty());
  f.reg.advance(kT0 + 120 * kSec + 1, f.out);
  REQUIRE(f.out.size() == 1);
  CHECK(summary(f.out[0], true) == "telemetry#1 unknown_device: no IDENTITY for this device_id within 120 s");
  CHECK(f.out[0].ts_ns == kT0);
  CHECK(f.out[0].decided_ns == kT0 + 120 * kSec);
  CHECK(f.out[0].device_id == ghost.id);
  CHECK(f.out[0].src == ghost.addr);
  CHECK(notice_name(f.out[0].verdict) == "Attest::Unknown_Device");
  f.take();
  // The IDENTITY comes too late for record 1, in time for record 2.
  f.now = kT0 + 150 * kSec;
  f.send(ghost.identity(), ghost.addr);
  CHECK(f.take() == Lines{"identity ok", "telemetry#2 ok"});
  // And at the end of input, whatever is held is unknown_device.
  Device other(5, "192.168.10.10", "other");
  f.send(other.telemetry(f.now), other.addr);
  f.reg.finish(f.now + 5 * kSec, f.out);
  CHECK(f.take(true) == Lines{"-#2 stale: no TELEMETRY for 30 s (last seq 2)",
                              "telemetry#1 unknown_device: no IDENTITY for this device_id before the end of input"});
}

TEST_CASE("attest registry: memory is bounded (devices, held records, sources)", "[attest][registry]") {
  RegistryLimits limits;
  limits.max_devices = 2;
  limits.max_held_per_device = 2;
  limits.max_held_total = 3;
  limits.max_sources_per_device = 2;
  Fleet f(config(), limits);
  Device a(2, "192.168.10.7", "a"), b(3, "192.168.10.8", "b"), c(4, "192.168.10.9", "c");
  f.send(a.identity(), a.addr);
  f.send(b.identity(), b.addr);
  f.send(c.identity(), c.addr);
  CHECK(f.take(true) == Lines{"identity ok", "identity ok",
                              "identity device_limit: the registry tracks 2 devices already: this one is not checked"});
  CHECK(notice_name(Verdict::DeviceLimit) == "Attest::Device_Limit");
  CHECK(f.reg.stats().devices_refused == 1);
  CHECK(f.reg.device_count() == 2);
  CHECK(f.reg.device(c.id) == nullptr);
  // c is untracked: its records are held, 2 per device and 3 in all.
  Device d(5, "192.168.10.10", "d");
  f.send(c.telemetry(f.now), c.addr);
  f.send(c.telemetry(f.now), c.addr);
  f.send(c.telemetry(f.now), c.addr);
  f.send(d.telemetry(f.now), d.addr);
  f.send(d.telemetry(f.now), d.addr);
  CHECK(f.take(true) ==
        Lines{"telemetry#3 unknown_device: no IDENTITY for this device_id, and no room to hold the record for one",
              "telemetry#2 unknown_device: no IDENTITY for this device_id, and no room to hold the record for one"});
  CHECK(f.reg.stats().held == 3);
  CHECK(f.reg.stats().held_refused == 2);
  // Sources: a third address pushes out the longest-silent one (with its binding); no clone after the window.
  f.now += 5 * kSec;
  f.send(a.telemetry(f.now), a.addr);
  CHECK(f.reg.identity_bound(a.addr));
  f.now += 100 * kSec;
  f.send(a.identity(), ip("192.168.10.20"));
  f.now += 100 * kSec;
  f.send(a.identity(), ip("192.168.10.21"));
  CHECK_FALSE(f.reg.identity_bound(a.addr));
  f.reg.finish(f.now, f.out);
}

TEST_CASE("attest registry: identity_bound needs an accepted IDENTITY and a valid TELEMETRY from the address",
          "[attest][registry]") {
  Fleet f;
  Device plc(2, "192.168.10.7", "plc-7");
  f.send(plc.identity(), plc.addr);
  CHECK_FALSE(f.reg.identity_bound(plc.addr));  // IDENTITY alone
  f.now += 5 * kSec;
  auto forged = plc.fields(f.now);
  auto bad = build_telemetry(forged, plc.key);
  bad[100] ^= 1;
  f.send(bad, plc.addr);
  CHECK_FALSE(f.reg.identity_bound(plc.addr));  // not a valid TELEMETRY
  f.send(plc.telemetry(f.now), plc.addr);
  CHECK(f.reg.identity_bound(plc.addr));
  // TELEMETRY alone from an address (the IDENTITY came from elsewhere, long ago) binds nothing.
  Device rtu(3, "192.168.10.8", "rtu-8");
  f.send(rtu.identity(), ip("192.168.10.80"));
  f.now += 100 * kSec;
  f.send(rtu.telemetry(f.now), rtu.addr);
  CHECK_FALSE(f.reg.identity_bound(rtu.addr));
  CHECK_FALSE(f.reg.identity_bound(ip("192.168.10.80")));
}

TEST_CASE("attest registry: malformed datagrams are malformed", "[attest][registry]") {
  Fleet f;
  f.send({'A', 'Q', 'A', 'T', 1, 2, 0, 0}, ip("192.168.10.7"));
  const std::vector<uint8_t> junk = {'M', 'Q', 'T', 'T'};
  f.send(junk, ip("192.168.10.7"));
  CHECK(f.take(true) == Lines{"- malformed: length is not 8 + body_len + 64", "- malformed: shorter than the 8-byte header"});
  CHECK(notice_name(Verdict::Malformed) == "Attest::Malformed");
  CHECK(verdict_name(Verdict::SbomMismatch) == "sbom_mismatch");
  CHECK(notice_name(Verdict::SbomMismatch) == "Attest::SBOM_Mismatch");
  CHECK(notice_name(Verdict::UntrustedCa) == "Attest::Untrusted_CA");
  CHECK(notice_name(Verdict::UnattestedDevice) == "Attest::Unattested_Device");
}
