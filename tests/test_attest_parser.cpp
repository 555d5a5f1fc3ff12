// AQAT v1 wire grammar and crypto wrapper: the reference vectors of PROTOCOL.md (written by an independent
// implementation, attest_tap/test_vectors.py with PyNaCl), field offsets, and every malformed case.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "attest_tap/aqat_builder.hpp"
#include "attest_tap/aqat_parser.hpp"
#include "attest_tap/crypto.hpp"
#include "attest_tap/device_id.hpp"

using namespace ots::attest;

namespace {

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> v(s.size() / 2);
  REQUIRE(from_hex(s, v));
  return v;
}

// PROTOCOL.md, "Reference vectors".
const std::string kCaPk = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const std::string kDevicePk = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
const std::string kDeviceId = "c11ae4092c56101421f745612bdc6b51";
const std::string kCaKeyId = "c5e21ab1c9f6022d";
const std::string kIdentity =
    "41514154010100868139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b39402000000006955b900000000006d18"
    "2000c5e21ab1c9f6022d05706c632d370656322e392e34deda70dd7a5a5adf7c834185db8c8258578466bde3462a63922961c8ab5ac597"
    "d28f316f21b8fe565c6b99df5e43d9f3abc16a73741a67763431e8d6188155069db4cb084c70d5dea18dd5b4d82291fea20d07e5d8c8c8"
    "ad272ca4b7dd36a17ce835a79037e92e83fb5843b2fdc6877392d37c29930e8448a0df7c08fd865109";
const std::string kTelemetry1 =
    "41514154010200a6c11ae4092c56101421f745612bdc6b51000000000000000100000003000001a3185c5000000000000000000000000000"
    "0000000000000000000000000000000000000000506cb45f1120d679f77b9efad34ca5be6adb99b2d2668b1afc6bce24ee73be4b707147"
    "4438b622de882472abc92f9d7e1fd3456e19b46f0117fe607b9d81967922511c6fcef49c6d3d75d4431d09d37d760e2b5c8f4548e456ab"
    "e6704fccc24d00004f9e266778910a1479e98bb738881ed793c10535b1f89e5b16ca313840b81fd23ad65f6a84dd425751288438459b15"
    "99c099d450a07bda1fcb38497ed305bf05";
const std::string kTelemetry1Digest = "609f9d195745973ff353a9687da5e0a434db609b66f0dc9b3c45913d082c5f9a";
const std::string kTelemetry2 =
    "41514154010200a6c11ae4092c56101421f745612bdc6b51000000000000000200000003000001a3185c6388609f9d195745973ff353a9"
    "687da5e0a434db609b66f0dc9b3c45913d082c5f9a506cb45f1120d679f77b9efad34ca5be6adb99b2d2668b1afc6bce24ee73be4b7071"
    "474438b622de882472abc92f9d7e1fd3456e19b46f0117fe607b9d81967922511c6fcef49c6d3d75d4431d09d37d760e2b5c8f4548e456"
    "abe6704fccc24d000186bc45be900c71cea05ca2225ca15bdf6553da0ccf0d55669b191d3e62b6e8e4dba26b7e68a3e142f55b562292c8"
    "b29cd7ddfbca13e566f6d7fa92eab0052d07";
const std::string kSbom =
    "41514154010300bdc11ae4092c56101421f745612bdc6b510100000001448119db78562016612d566348672642e83d94e6fcb53d2996fd"
    "f2abee32ce3a00867b22626f6d466f726d6174223a224379636c6f6e654458222c227370656356657273696f6e223a22312e35222c2263"
    "6f6d706f6e656e7473223a5b7b226e616d65223a226f70656e73736c222c2276657273696f6e223a22332e302e3133222c227075726c22"
    "3a22706b673a67656e657269632f6f70656e73736c40332e302e3133227d5d7d5433559ea906be252e2522fd12c45fa8c816c714a1ce37"
    "773df95179d324e95a3895b3a27080714a8d86a17a995974a353dcdbaaf5ea7c6fac693749423fa20f";
const std::string kDocument =
    R"({"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"name":"openssl","version":"3.0.13",)"
    R"("purl":"pkg:generic/openssl@3.0.13"}]})";

std::string_view reason(const ParseResult& r) {
  const auto* m = std::get_if<Malformed>(&r);
  return m ? m->reason : std::string_view("(well-formed)");
}

}  // namespace

TEST_CASE("aqat crypto: BLAKE2b-256 and Ed25519 as libsodium implements them", "[attest][parser]") {
  CHECK(to_hex(blake2b256({}).bytes) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  const Ed25519KeyPair k = keypair_from_seed_byte(1);
  CHECK(to_hex(k.pk.bytes) == kCaPk);
  const std::vector<uint8_t> msg = {1, 2, 3};
  const Ed25519Signature sig = sign(k, msg);
  CHECK(verify(k.pk, msg, sig));
  Ed25519Signature bad = sig;
  bad.bytes[5] ^= 1;
  CHECK_FALSE(verify(k.pk, msg, bad));
  CHECK_FALSE(verify(keypair_from_seed_byte(2).pk, msg, sig));
  CHECK(plausible_public_key(k.pk));
  CHECK_FALSE(plausible_public_key(Ed25519PublicKey{}));
  std::array<uint8_t, 2> two{};
  CHECK(from_hex("aB0f", two));
  CHECK(two == std::array<uint8_t, 2>{0xab, 0x0f});
  CHECK_FALSE(from_hex("ag00", two));
  CHECK_FALSE(from_hex("abc", two));
}

TEST_CASE("aqat reference vectors: our builder writes the bytes of the independent implementation",
          "[attest][parser]") {
  const Ed25519KeyPair ca = keypair_from_seed_byte(1), dev = keypair_from_seed_byte(2);
  CHECK(to_hex(dev.pk.bytes) == kDevicePk);
  const DeviceId id = device_id_of(dev.pk);
  CHECK(id.hex() == kDeviceId);
  CHECK(to_hex(ca_key_id_of(ca.pk).bytes) == kCaKeyId);

  IdentityFields f{dev.pk, RootKind::SecureElement, 1767225600, 1830297600, ca_key_id_of(ca.pk), "plc-7", "V2.9.4"};
  CHECK(to_hex(build_identity(f, ca, dev)) == kIdentity);

  TelemetryFields t;
  t.device_id = id;
  t.seq = 1;
  t.boot_count = 3;
  t.timestamp_ms = 1800000000000;
  t.fw_digest = blake2b256_of_text("firmware V2.9.4");
  t.config_digest = blake2b256_of_text("config");
  t.sbom_digest = blake2b256_of_text("sbom");
  const auto t1 = build_telemetry(t, dev);
  CHECK(to_hex(t1) == kTelemetry1);
  CHECK(to_hex(blake2b256(t1).bytes) == kTelemetry1Digest);
  t.seq = 2;
  t.timestamp_ms += 5000;
  t.prev_hash = blake2b256(t1);
  t.status = kStatusTamper;
  CHECK(to_hex(build_telemetry(t, dev)) == kTelemetry2);

  const std::span doc(reinterpret_cast<const uint8_t*>(kDocument.data()), kDocument.size());
  const auto chunks = build_sbom(id, doc, blake2b256(doc), dev);
  REQUIRE(chunks.size() == 1);
  CHECK(to_hex(chunks[0]) == kSbom);
}

TEST_CASE("aqat parser: IDENTITY fields at their offsets", "[attest][parser]") {
  const auto bytes = unhex(kIdentity);
  const ParseResult r = parse_aqat(bytes);
  REQUIRE(reason(r) == "(well-formed)");
  const Message& m = std::get<Message>(r);
  CHECK(m.type == MessageType::Identity);
  REQUIRE(m.identity());
  const IdentityView& v = *m.identity();
  CHECK(to_hex(v.device_pk) == kDevicePk);
  CHECK(v.root_kind == RootKind::SecureElement);
  CHECK(v.not_before == 1767225600);
  CHECK(v.not_after == 1830297600);
  CHECK(to_hex(v.ca_key_id) == kCaKeyId);
  CHECK(v.name == "plc-7");
  CHECK(v.fw_version == "V2.9.4");
  CHECK(v.certificate.size() == 32 + 1 + 8 + 8 + 8 + 1 + 5 + 1 + 6);
  CHECK(v.certificate.data() == bytes.data() + 8);
  CHECK(v.ca_sig.data() == bytes.data() + 8 + v.certificate.size());
  CHECK(m.signed_bytes.size() == bytes.size() - 64);
  CHECK(m.sig.data() == bytes.data() + bytes.size() - 64);
  CHECK(m.datagram.size() == bytes.size());
  Ed25519PublicKey pk;
  std::copy(v.device_pk.begin(), v.device_pk.end(), pk.bytes.begin());
  Ed25519Signature sig;
  std::copy(m.sig.begin(), m.sig.end(), sig.bytes.begin());
  CHECK(verify(pk, m.signed_bytes, sig));
}

TEST_CASE("aqat parser: TELEMETRY and SBOM fields at their offsets", "[attest][parser]") {
  const auto t2 = unhex(kTelemetry2);
  REQUIRE(t2.size() == 8 + 166 + 64);
  const ParseResult r = parse_aqat(t2);
  REQUIRE(reason(r) == "(well-formed)");
  const TelemetryView& t = *std::get<Message>(r).telemetry();
  CHECK(to_hex(t.device_id) == kDeviceId);
  CHECK(t.seq == 2);
  CHECK(t.boot_count == 3);
  CHECK(t.timestamp_ms == 1800000005000);
  CHECK(to_hex(t.prev_hash) == kTelemetry1Digest);
  CHECK(to_hex(t.fw_digest) == to_hex(blake2b256_of_text("firmware V2.9.4").bytes));
  CHECK(to_hex(t.config_digest) == to_hex(blake2b256_of_text("config").bytes));
  CHECK(to_hex(t.sbom_digest) == to_hex(blake2b256_of_text("sbom").bytes));
  CHECK(t.status == kStatusTamper);
  CHECK(t.sbom_digest.data() == t2.data() + 8 + 132);

  const auto s = unhex(kSbom);
  const ParseResult rs = parse_aqat(s);
  REQUIRE(reason(rs) == "(well-formed)");
  const SbomView& v = *std::get<Message>(rs).sbom();
  CHECK(to_hex(v.device_id) == kDeviceId);
  CHECK(v.format == 1);
  CHECK(v.chunk_index == 0);
  CHECK(v.chunk_count == 1);
  CHECK(to_hex(v.sbom_digest) == "448119db78562016612d566348672642e83d94e6fcb53d2996fdf2abee32ce3a");
  CHECK(std::string(v.data.begin(), v.data.end()) == kDocument);
  CHECK(v.data.data() == s.data() + 8 + 55);
}

TEST_CASE("aqat parser: every malformed datagram says why", "[attest][parser]") {
  const auto t = unhex(kTelemetry1);
  auto with = [&](std::vector<uint8_t> b, size_t at, uint8_t value) {
    b[at] = value;
    return b;
  };
  CHECK(reason(parse_aqat(std::span(t).first(7))) == "shorter than the 8-byte header");
  CHECK(reason(parse_aqat(with(t, 0, 'B'))) == "magic is not AQAT");
  CHECK(reason(parse_aqat(with(t, 4, 2))) == "version is not 1");
  CHECK(reason(parse_aqat(with(t, 5, 0))) == "type is not 1, 2 or 3");
  CHECK(reason(parse_aqat(with(t, 5, 4))) == "type is not 1, 2 or 3");
  CHECK(reason(parse_aqat(std::span(t).first(t.size() - 1))) == "length is not 8 + body_len + 64");
  auto longer = t;
  longer.push_back(0);
  CHECK(reason(parse_aqat(longer)) == "length is not 8 + body_len + 64");
  // A TELEMETRY type on an IDENTITY body, and the other way round.
  const auto id = unhex(kIdentity);
  CHECK(reason(parse_aqat(with(id, 5, 2))) == "TELEMETRY body_len is not 166");
  CHECK(reason(parse_aqat(with(t, 5, 1))) == "IDENTITY root_kind is not 1, 2 or 3");
  CHECK(reason(parse_aqat(with(t, 5, 3))) == "SBOM format is not 1 (CycloneDX JSON)");
  // seq (offset 8 + 16 .. 8 + 23) = 0.
  CHECK(reason(parse_aqat(with(t, 8 + 23, 0))) == "TELEMETRY seq is 0 (the first record is 1)");

  // IDENTITY: root_kind (8 + 32), name_len (8 + 57), name bytes (8 + 58), fw_len (8 + 63).
  CHECK(reason(parse_aqat(with(id, 8 + 32, 4))) == "IDENTITY root_kind is not 1, 2 or 3");
  CHECK(reason(parse_aqat(with(id, 8 + 57, 200))) == "IDENTITY name runs past the body");
  CHECK(reason(parse_aqat(with(id, 8 + 58, 0xff))) == "IDENTITY name is not valid UTF-8");
  CHECK(reason(parse_aqat(with(id, 8 + 63, 80))) == "IDENTITY fw_version runs past the body");
  CHECK(reason(parse_aqat(with(id, 8 + 63, 2))) == "IDENTITY body has bytes after ca_sig");
  CHECK(reason(parse_aqat(with(id, 8 + 64, 0xc0))) == "IDENTITY fw_version is not valid UTF-8");  // overlong start
  // The body cut 10 bytes short inside ca_sig (body_len and length agreeing).
  std::vector<uint8_t> cut(id.begin(), id.end() - 64 - 10);
  cut.insert(cut.end(), id.end() - 64, id.end());
  cut[7] = static_cast<uint8_t>(cut[7] - 10);
  CHECK(reason(parse_aqat(cut)) == "IDENTITY body ends before ca_sig");

  // SBOM: format (8 + 16), chunk_index (8 + 17..18), chunk_count (8 + 19..20), data_len (8 + 53..54).
  const auto s = unhex(kSbom);
  CHECK(reason(parse_aqat(with(s, 8 + 16, 2))) == "SBOM format is not 1 (CycloneDX JSON)");
  CHECK(reason(parse_aqat(with(s, 8 + 18, 1))) == "SBOM chunk_index is not below chunk_count");
  CHECK(reason(parse_aqat(with(s, 8 + 20, 0))) == "SBOM chunk_count is not 1 to 1024");
  CHECK(reason(parse_aqat(with(with(s, 8 + 19, 4), 8 + 20, 1))) == "SBOM chunk_count is not 1 to 1024");  // 1025
  CHECK(reason(parse_aqat(with(s, 8 + 54, 0x85))) == "SBOM data_len disagrees with body_len");
  CHECK(reason(parse_aqat(with(s, 8 + 53, 0x04))) == "SBOM data_len is over 1024");
}

TEST_CASE("aqat parser: UTF-8 names with multi-byte characters are well-formed", "[attest][parser]") {
  const Ed25519KeyPair ca = keypair_from_seed_byte(1), dev = keypair_from_seed_byte(2);
  IdentityFields f{dev.pk, RootKind::Puf, 1, 2, ca_key_id_of(ca.pk), "Dosierpumpe-Süd-\xE2\x82\xAC-\xF0\x9F\x94\x92", ""};
  const auto bytes = build_identity(f, ca, dev);
  const ParseResult r = parse_aqat(bytes);
  REQUIRE(reason(r) == "(well-formed)");
  CHECK(std::get<Message>(r).identity()->name == f.name);
  CHECK(std::get<Message>(r).identity()->fw_version.empty());
  CHECK(has_aqat_magic(bytes));
  CHECK_FALSE(has_aqat_magic(std::span(bytes).first(3)));
}
