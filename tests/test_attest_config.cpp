// The `attestation:` section of the site model: loading, exact validation messages with positions, and
// check-config's use of it.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "attest_tap/aqat_builder.hpp"
#include "attest_tap/attestation_config.hpp"
#include "sensor/check_config.hpp"
#include "tests/test_support.hpp"

using namespace ots;
using namespace ots::attest;

namespace {

std::string write_model(const std::string& name, const std::string& text) {
  static const auto dir = ots::test::scratch_dir("attest_config");
  const auto p = dir / name;
  std::ofstream(p) << text;
  return p.string();
}

std::string key_hex(uint8_t seed_byte) { return to_hex(keypair_from_seed_byte(seed_byte).pk.bytes); }

const std::string kDigestA(64, 'a');
const std::string kDigestB = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";

// Errors of a model, each with the file path removed ("LINE:COL: message").
std::vector<std::string> errors_of(const std::string& name, const std::string& text) {
  const std::string path = write_model(name, text);
  AttestationConfig c;
  std::vector<std::string> errors;
  CHECK_FALSE(load_attestation_config(path, c, errors));
  for (auto& e : errors) {
    REQUIRE(e.rfind(path + ":", 0) == 0);
    e = e.substr(path.size() + 1);
  }
  return errors;
}

}  // namespace

TEST_CASE("attestation section: the issue's schema loads into plain values", "[attest][config]") {
  const std::string text = "site: lab\n"
                           "attestation:\n"
                           "  port: 62444\n"
                           "  trust_anchors:\n"
                           "    - name: fleet-ca-2026\n"
                           "      public_key: \"" + key_hex(1) + "\"\n"
                           "    - name: fleet-ca-2027\n"
                           "      public_key: \"" + key_hex(2) + "\"\n"
                           "  golden_firmware:\n"
                           "    \"V2.9.4\": [\"" + kDigestA + "\", \"" + kDigestB + "\"]\n"
                           "    \"V3.0\": []\n"
                           "  stale_after_s: 45\n"
                           "  max_clock_skew_s: 2.5\n"
                           "  clone_window_s: 90\n"
                           "  unattested_grace_s: 10\n";
  AttestationConfig c;
  std::vector<std::string> errors;
  REQUIRE(load_attestation_config(write_model("full.yaml", text), c, errors));
  CHECK(errors.empty());
  CHECK(c.present);
  CHECK(c.port == 62444);
  REQUIRE(c.trust_anchors.size() == 2);
  CHECK(c.trust_anchors[0].name == "fleet-ca-2026");
  CHECK(to_hex(c.trust_anchors[0].public_key.bytes) == key_hex(1));
  CHECK(c.trust_anchors[0].key_id == ca_key_id_of(c.trust_anchors[0].public_key));
  CHECK(c.anchor(c.trust_anchors[1].key_id) == &c.trust_anchors[1]);
  CHECK(c.anchor(CaKeyId{}) == nullptr);
  REQUIRE(c.golden("V2.9.4") != nullptr);
  REQUIRE(c.golden("V2.9.4")->size() == 2);
  CHECK(to_hex((*c.golden("V2.9.4"))[1].bytes) == "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  REQUIRE(c.golden("V3.0") != nullptr);
  CHECK(c.golden("V3.0")->empty());
  CHECK(c.golden("V9") == nullptr);
  CHECK(c.stale_after_ns == 45'000'000'000ull);
  CHECK(c.max_clock_skew_ns == 2'500'000'000ull);
  CHECK(c.clone_window_ns == 90'000'000'000ull);
  CHECK(c.unattested_grace_ns == 10'000'000'000ull);
}

TEST_CASE("attestation section: absent gives the issue's defaults", "[attest][config]") {
  AttestationConfig c;
  std::vector<std::string> errors;
  REQUIRE(load_attestation_config(write_model("none.yaml", "site: lab\n"), c, errors));
  CHECK_FALSE(c.present);
  CHECK(c.port == 62443);
  CHECK(c.trust_anchors.empty());
  CHECK(c.stale_after_ns == 30'000'000'000ull);
  CHECK(c.max_clock_skew_ns == 30'000'000'000ull);
  CHECK(c.clone_window_ns == 60'000'000'000ull);
  CHECK(c.unattested_grace_ns == 30'000'000'000ull);
}

TEST_CASE("attestation section: unknown keys, bad hex and wrong types are errors at their position",
          "[attest][config]") {
  const std::string text = "attestation:\n"                                                // 1
                           "  port: 70000\n"                                               // 2
                           "  trust_anchors:\n"                                            // 3
                           "    - name: fleet-ca\n"                                        // 4
                           "      public_key: \"abcd\"\n"                                  // 5
                           "    - name: fleet-ca\n"                                        // 6
                           "      public_key: \"" + key_hex(3) + "\"\n"                    // 7
                           "    - name: other\n"                                           // 8
                           "      public_key: \"" + key_hex(3) + "\"\n"                    // 9
                           "      comment: x\n"                                            // 10
                           "    - just-text\n"                                             // 11
                           "    - name: zero\n"                                            // 12
                           "      public_key: \"" + std::string(64, '0') + "\"\n"          // 13
                           "  golden_firmware:\n"                                          // 14
                           "    \"V1\": [\"xyz\", \"" + kDigestA + "\"]\n"                 // 15
                           "    \"V2\": \"" + kDigestA + "\"\n"                            // 16
                           "  stale_after_s: soon\n"                                       // 17
                           "  max_clock_skew_s: -1\n"                                      // 18
                           "  clone_window: 60\n"                                          // 19
                           "  unattested_grace_s: [1]\n";                                  // 20
  const auto errors = errors_of("bad.yaml", text);
  const std::vector<std::string> expected = {
      "2:9: attestation.port is 70000, expected 1 to 65535",
      "5:19: trust anchor 'fleet-ca': public_key must be 64 hex digits (an Ed25519 public key), got 'abcd'",
      "6:13: trust anchor 'fleet-ca' is defined twice (first at line 4)",
      "9:19: trust anchor 'other': public_key is also trust anchor 'fleet-ca''s (line 6)",
      "10:7: trust anchor 'other': unknown key 'comment', expected name, public_key",
      "11:7: attestation.trust_anchors[3]: a trust anchor must be a map (name, public_key), got 'just-text'",
      "13:19: trust anchor 'zero': public_key is not a usable Ed25519 public key (not a point of the curve, or one "
      "of small order)",
      "15:12: attestation.golden_firmware 'V1': a digest must be 64 hex digits (BLAKE2b-256 fw_digest), got 'xyz'",
      "16:11: attestation.golden_firmware 'V2': the allowed digests must be a list, got '" + kDigestA + "'",
      "17:18: attestation.stale_after_s must be a number, got 'soon'",
      "18:21: attestation.max_clock_skew_s is -1, expected 0 to 2592000",
      "19:3: unknown key 'attestation.clone_window', expected port, trust_anchors, golden_firmware, stale_after_s, "
      "max_clock_skew_s, clone_window_s, unattested_grace_s",
      "20:23: attestation.unattested_grace_s must be a number, got a list",
  };
  CHECK(errors == expected);
}

TEST_CASE("attestation section: a missing or empty trust_anchors and a non-map section are errors",
          "[attest][config]") {
  CHECK(errors_of("missing.yaml", "attestation:\n  port: 62443\n") ==
        std::vector<std::string>{"2:3: missing required key 'attestation.trust_anchors'"});
  CHECK(errors_of("empty.yaml", "attestation:\n  trust_anchors: []\n") ==
        std::vector<std::string>{"2:18: attestation.trust_anchors is empty, expected at least one CA (without one "
                                 "every IDENTITY is untrusted_ca)"});
  CHECK(errors_of("list.yaml", "attestation: [1]\n") ==
        std::vector<std::string>{"1:14: attestation must be a map (port, trust_anchors, golden_firmware, "
                                 "stale_after_s, max_clock_skew_s, clone_window_s, unattested_grace_s), got a list"});
}

TEST_CASE("check-config validates the attestation section and prints it", "[attest][config]") {
  const std::string good = write_model("check_good.yaml",
                                       "site: lab\n"
                                       "attestation:\n"
                                       "  trust_anchors:\n"
                                       "    - name: fleet-ca-2026\n"
                                       "      public_key: \"" + key_hex(1) + "\"\n"
                                       "  golden_firmware:\n"
                                       "    \"V2.9.4\": [\"" + kDigestA + "\"]\n");
  char *obuf = nullptr, *ebuf = nullptr;
  size_t olen = 0, elen = 0;
  std::FILE* out = open_memstream(&obuf, &olen);
  std::FILE* err = open_memstream(&ebuf, &elen);
  const int rc = check_config(good, out, err);
  std::fclose(out);
  std::fclose(err);
  const std::string o(obuf, olen), e(ebuf, elen);
  std::free(obuf);
  std::free(ebuf);
  CHECK(rc == 0);
  CHECK(e.empty());
  const std::string id = to_hex(ca_key_id_of(keypair_from_seed_byte(1).pk).bytes);
  CHECK(o.find("\nattestation: port 62443/udp, stale_after_s 30, max_clock_skew_s 30, clone_window_s 60, "
               "unattested_grace_s 30\n"
               "  trust anchor fleet-ca-2026: key id " + id + "\n"
               "  golden firmware V2.9.4: 1 digest\n") != std::string::npos);

  // The same loader refuses `-c` and check-config alike.
  const std::string bad = write_model("check_bad.yaml", "site: lab\nattestation:\n  trust_anchors: {}\n");
  SitePolicy policy;
  SensorSection sensor;
  std::vector<std::string> errors;
  CHECK_FALSE(load_site_file(bad, policy, sensor, errors));
  CHECK(errors == std::vector<std::string>{bad + ":3:18: attestation.trust_anchors must be a list, got a map"});
}
