// SBOM chunk reassembly within its bounds, and the CycloneDX reader.
#include <catch2/catch.hpp>

#include <string>

#include "attest_tap/cyclonedx.hpp"
#include "attest_tap/sbom_assembly.hpp"

using namespace ots::attest;

namespace {

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

SbomView chunk(uint8_t doc, uint16_t index, uint16_t count, const std::string& data) {
  SbomView v;
  static std::array<uint8_t, 32> digests[256];
  digests[doc].fill(doc);
  v.sbom_digest = Bytes32(digests[doc].data(), 32);
  v.chunk_index = index;
  v.chunk_count = count;
  v.data = bytes(data);
  return v;
}

}  // namespace

TEST_CASE("sbom assembly: chunks in any order make the document, repeats and conflicts", "[attest][sbom]") {
  SbomAssembler a(2, 1 << 20);
  const std::string c0 = "hello ", c1 = "attested ", c2 = "world";
  CHECK(a.add(1, chunk(7, 2, 3, c2)).kind == SbomAssembler::Kind::Stored);
  CHECK(a.add(1, chunk(7, 0, 3, c0)).kind == SbomAssembler::Kind::Stored);
  CHECK(a.add(1, chunk(7, 0, 3, c0)).kind == SbomAssembler::Kind::Repeat);
  auto conflict = a.add(1, chunk(7, 0, 3, "HELLO "));
  CHECK(conflict.kind == SbomAssembler::Kind::Conflict);
  CHECK(conflict.detail == "chunk 0 differs from the chunk 0 received before");
  conflict = a.add(1, chunk(7, 1, 4, c1));
  CHECK(conflict.kind == SbomAssembler::Kind::Conflict);
  CHECK(conflict.detail == "chunk_count 4 differs from 3 of the earlier chunks of this SBOM");
  CHECK(a.bytes() == c0.size() + c2.size());
  const auto done = a.add(1, chunk(7, 1, 3, c1));
  CHECK(done.kind == SbomAssembler::Kind::Complete);
  CHECK(std::string(done.document.begin(), done.document.end()) == "hello attested world");
  CHECK(a.in_progress() == 0);
  CHECK(a.bytes() == 0);
  // The same digest from another device is another document.
  CHECK(a.add(2, chunk(7, 0, 1, c0)).kind == SbomAssembler::Kind::Complete);
}

TEST_CASE("sbom assembly: per-device and global bounds evict the oldest documents", "[attest][sbom]") {
  SbomAssembler a(2, 30);
  a.add(1, chunk(1, 0, 2, "aaaaaaaaaa"));
  a.add(1, chunk(2, 0, 2, "bbbbbbbbbb"));
  a.add(1, chunk(3, 0, 2, "cccccccccc"));  // a third for device 1: document 1 goes
  CHECK(a.in_progress() == 2);
  CHECK(a.evicted() == 1);
  CHECK(a.add(1, chunk(1, 1, 2, "a")).kind == SbomAssembler::Kind::Stored);  // starts again, evicting document 2
  CHECK(a.evicted() == 2);
  a.add(2, chunk(4, 0, 2, "dddddddddd"));
  CHECK(a.bytes() == 21);
  a.add(3, chunk(5, 0, 2, "eeeeeeeeee"));  // 31 bytes > 30: the oldest (document 3) goes
  CHECK(a.evicted() == 3);
  CHECK(a.bytes() == 21);
  CHECK(a.in_progress() == 3);
  CHECK(a.clear() == 3);
  CHECK(a.in_progress() == 0);
}

TEST_CASE("cyclonedx: components with name, version, purl and cpe, nested ones too", "[attest][sbom]") {
  const std::string doc = R"({
    "bomFormat": "CycloneDX", "specVersion": "1.5",
    "metadata": {"component": {"name": "plc-firmware", "version": "2.9.4"}},
    "components": [
      {"type": "library", "name": "openssl", "version": "3.0.13", "purl": "pkg:generic/openssl@3.0.13",
       "cpe": "cpe:2.3:a:openssl:openssl:3.0.13:*:*:*:*:*:*:*"},
      {"type": "firmware", "name": "rtos", "version": 7,
       "components": [{"name": "lwip", "version": "2.1.3", "purl": "pkg:generic/lwip@2.1.3"}]},
      "not a component",
      {"name": "busybox"}
    ]})";
  std::vector<SbomComponent> c;
  std::string why;
  REQUIRE(parse_cyclonedx(bytes(doc), c, why));
  const std::vector<SbomComponent> expected = {
      {"openssl", "3.0.13", "pkg:generic/openssl@3.0.13", "cpe:2.3:a:openssl:openssl:3.0.13:*:*:*:*:*:*:*"},
      {"rtos", "", "", ""},
      {"lwip", "2.1.3", "pkg:generic/lwip@2.1.3", ""},
      {"busybox", "", "", ""},
  };
  CHECK(c == expected);
}

TEST_CASE("cyclonedx: not JSON, not CycloneDX, and hostile nesting", "[attest][sbom]") {
  std::vector<SbomComponent> c;
  std::string why;
  CHECK_FALSE(parse_cyclonedx(bytes("{\"bomFormat\": \"CycloneDX\""), c, why));
  CHECK(why == "the SBOM document is not JSON");
  CHECK_FALSE(parse_cyclonedx(bytes(R"({"bomFormat": "SPDX", "components": []})"), c, why));
  CHECK(why == "the SBOM document is not a CycloneDX BOM (no bomFormat \"CycloneDX\")");
  CHECK_FALSE(parse_cyclonedx(bytes(R"({"bomFormat": 5})"), c, why));
  CHECK(parse_cyclonedx(bytes(R"({"bomFormat": "CycloneDX"})"), c, why));
  CHECK(c.empty());
  // A megabyte of nesting neither overflows the stack nor keeps anything deep.
  std::string deep = R"({"bomFormat": "CycloneDX", "x": )" + std::string(500000, '[') + std::string(500000, ']') + "}";
  CHECK(parse_cyclonedx(bytes(deep), c, why));
  // Components nested 20 deep: the first 16 levels are read.
  std::string nested = R"({"bomFormat": "CycloneDX", "components": )";
  for (int i = 0; i < 20; ++i) nested += R"([{"name": "n)" + std::to_string(i) + R"(", "components": )";
  nested += "[]";
  for (int i = 0; i < 20; ++i) nested += "}]";
  nested += "}";
  REQUIRE(parse_cyclonedx(bytes(nested), c, why));
  CHECK(c.size() == 16);
  CHECK(c.back().name == "n15");
}
