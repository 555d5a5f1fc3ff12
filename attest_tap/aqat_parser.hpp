// The AQAT v1 wire grammar (attest_tap/PROTOCOL.md): one UDP payload → one message. Pure: no state, no
// allocation, no exceptions, no cryptography; every field is a view into the caller's bytes, valid as
// long as they are. Signatures and digests are checked by the device registry, which knows the keys.
// Fuzzable on its own (aqat_fuzz.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

namespace ots::attest {

inline constexpr uint8_t kMagic[4] = {'A', 'Q', 'A', 'T'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kTelemetryBodySize = 166;
inline constexpr size_t kSbomFixedSize = 55;     // device_id .. data_len
inline constexpr size_t kSbomMaxData = 1024;     // per chunk
inline constexpr uint16_t kSbomMaxChunks = 1024; // so a document is at most 1 MiB
inline constexpr size_t kIdentityFixedSize = 32 + 1 + 8 + 8 + 8 + 1 + 1 + 64;  // without name and fw_version
// "AQAT-CERT-v1": what the CA signs before the certificate's body bytes (domain separation from the
// device's datagram signatures).
inline constexpr std::string_view kCertContext = "AQAT-CERT-v1";

enum class MessageType : uint8_t { None = 0, Identity = 1, Telemetry = 2, Sbom = 3 };
std::string_view message_type_name(MessageType t);  // "identity", "telemetry", "sbom", "-"

enum class RootKind : uint8_t { Puf = 1, SecureElement = 2, Software = 3 };
std::string_view root_kind_name(RootKind k);  // "puf", "tpm_or_secure_element", "software"

// TELEMETRY status bits.
inline constexpr uint16_t kStatusTamper = 1u << 0;
inline constexpr uint16_t kStatusDebugPortOpen = 1u << 1;
inline constexpr uint16_t kStatusSecureBootFailed = 1u << 2;
inline constexpr uint16_t kStatusClockUnsynchronised = 1u << 3;

using Bytes8 = std::span<const uint8_t, 8>;
using Bytes16 = std::span<const uint8_t, 16>;
using Bytes32 = std::span<const uint8_t, 32>;
using Bytes64 = std::span<const uint8_t, 64>;
// What fixed-size views point at before a parse fills them (a fixed-extent span has no empty state).
inline constexpr std::array<uint8_t, 64> kNoBytes{};

struct IdentityView {
  Bytes32 device_pk{kNoBytes.data(), 32};
  RootKind root_kind = RootKind::Software;
  uint64_t not_before = 0;  // unix seconds
  uint64_t not_after = 0;
  Bytes8 ca_key_id{kNoBytes.data(), 8};
  std::string_view name;        // valid UTF-8
  std::string_view fw_version;  // valid UTF-8
  std::span<const uint8_t> certificate;  // the body bytes before ca_sig: what the CA signed after kCertContext
  Bytes64 ca_sig{kNoBytes.data(), 64};
};

struct TelemetryView {
  Bytes16 device_id{kNoBytes.data(), 16};
  uint64_t seq = 0;  // >= 1
  uint32_t boot_count = 0;
  uint64_t timestamp_ms = 0;  // device clock, unix ms
  Bytes32 prev_hash{kNoBytes.data(), 32};
  Bytes32 fw_digest{kNoBytes.data(), 32};
  Bytes32 config_digest{kNoBytes.data(), 32};
  Bytes32 sbom_digest{kNoBytes.data(), 32};
  uint16_t status = 0;
};

struct SbomView {
  Bytes16 device_id{kNoBytes.data(), 16};
  uint8_t format = 1;  // 1: CycloneDX JSON (the only one)
  uint16_t chunk_index = 0;
  uint16_t chunk_count = 0;
  Bytes32 sbom_digest{kNoBytes.data(), 32};
  std::span<const uint8_t> data;  // at most kSbomMaxData bytes
};

struct Malformed {
  std::string_view reason;  // static text: what is wrong ("length is not 8 + body_len + 64")
};

// A well-formed datagram: its type's view, the bytes the device signature covers (header | body) and the
// signature.
struct Message {
  MessageType type = MessageType::None;
  std::variant<IdentityView, TelemetryView, SbomView> body;
  std::span<const uint8_t> signed_bytes;
  Bytes64 sig{kNoBytes.data(), 64};
  std::span<const uint8_t> datagram;  // all of it: what prev_hash and replay detection hash

  const IdentityView* identity() const { return std::get_if<IdentityView>(&body); }
  const TelemetryView* telemetry() const { return std::get_if<TelemetryView>(&body); }
  const SbomView* sbom() const { return std::get_if<SbomView>(&body); }
};

using ParseResult = std::variant<Message, Malformed>;

// Parses one UDP payload. Malformed when: shorter than a header, another magic/version/type, a length
// other than 8 + body_len + 64, or a body that breaks its type's grammar (PROTOCOL.md, "Malformed").
ParseResult parse_aqat(std::span<const uint8_t> payload);

// Whether `payload` starts with the AQAT magic (for a pipeline deciding whether a UDP payload is ours).
bool has_aqat_magic(std::span<const uint8_t> payload);

}  // namespace ots::attest
