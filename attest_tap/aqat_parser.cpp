#include "attest_tap/aqat_parser.hpp"

#include <cstring>

#include "capture/byte_reader.hpp"

namespace ots::attest {

namespace {

template <size_t N>
bool fixed(ByteReader& r, std::span<const uint8_t, N>& out) {
  std::span<const uint8_t> s;
  if (!r.bytes(N, s)) return false;
  out = std::span<const uint8_t, N>(s.data(), N);
  return true;
}

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::span<const uint8_t> s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = s[i];
    size_t n = 0;
    uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1Fu, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0Fu, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07u, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// A u8 length and that many bytes of UTF-8. Empty reason: fine.
std::string_view text(ByteReader& r, std::string_view& out, std::string_view past_end, std::string_view not_utf8) {
  uint8_t len = 0;
  std::span<const uint8_t> s;
  if (!r.u8(len) || !r.bytes(len, s)) return past_end;
  if (!valid_utf8(s)) return not_utf8;
  out = std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
  return {};
}

ParseResult parse_identity(std::span<const uint8_t> body, Message& m) {
  ByteReader r(body);
  IdentityView v;
  uint8_t kind = 0;
  if (!fixed(r, v.device_pk) || !r.u8(kind) || !r.u64be(v.not_before) || !r.u64be(v.not_after) ||
      !fixed(r, v.ca_key_id))
    return Malformed{"IDENTITY body shorter than its fixed fields"};
  if (kind < 1 || kind > 3) return Malformed{"IDENTITY root_kind is not 1, 2 or 3"};
  v.root_kind = static_cast<RootKind>(kind);
  if (auto why = text(r, v.name, "IDENTITY name runs past the body", "IDENTITY name is not valid UTF-8"); !why.empty())
    return Malformed{why};
  if (auto why = text(r, v.fw_version, "IDENTITY fw_version runs past the body",
                      "IDENTITY fw_version is not valid UTF-8");
      !why.empty())
    return Malformed{why};
  v.certificate = body.first(r.pos());
  if (!fixed(r, v.ca_sig)) return Malformed{"IDENTITY body ends before ca_sig"};
  if (!r.empty()) return Malformed{"IDENTITY body has bytes after ca_sig"};
  m.type = MessageType::Identity;
  m.body = v;
  return m;
}

ParseResult parse_telemetry(std::span<const uint8_t> body, Message& m) {
  if (body.size() != kTelemetryBodySize) return Malformed{"TELEMETRY body_len is not 166"};
  ByteReader r(body);
  TelemetryView v;
  // The size check above makes every read below succeed.
  fixed(r, v.device_id);
  r.u64be(v.seq);
  r.u32be(v.boot_count);
  r.u64be(v.timestamp_ms);
  fixed(r, v.prev_hash);
  fixed(r, v.fw_digest);
  fixed(r, v.config_digest);
  fixed(r, v.sbom_digest);
  r.u16be(v.status);
  if (v.seq == 0) return Malformed{"TELEMETRY seq is 0 (the first record is 1)"};
  m.type = MessageType::Telemetry;
  m.body = v;
  return m;
}

ParseResult parse_sbom(std::span<const uint8_t> body, Message& m) {
  ByteReader r(body);
  SbomView v;
  uint16_t data_len = 0;
  if (!fixed(r, v.device_id) || !r.u8(v.format) || !r.u16be(v.chunk_index) || !r.u16be(v.chunk_count) ||
      !fixed(r, v.sbom_digest) || !r.u16be(data_len))
    return Malformed{"SBOM body shorter than its fixed fields"};
  if (v.format != 1) return Malformed{"SBOM format is not 1 (CycloneDX JSON)"};
  if (v.chunk_count == 0 || v.chunk_count > kSbomMaxChunks) return Malformed{"SBOM chunk_count is not 1 to 1024"};
  if (v.chunk_index >= v.chunk_count) return Malformed{"SBOM chunk_index is not below chunk_count"};
  if (data_len > kSbomMaxData) return Malformed{"SBOM data_len is over 1024"};
  if (r.remaining() != data_len) return Malformed{"SBOM data_len disagrees with body_len"};
  r.bytes(data_len, v.data);
  m.type = MessageType::Sbom;
  m.body = v;
  return m;
}

}  // namespace

std::string_view message_type_name(MessageType t) {
  switch (t) {
    case MessageType::Identity: return "identity";
    case MessageType::Telemetry: return "telemetry";
    case MessageType::Sbom: return "sbom";
    case MessageType::None: break;
  }
  return "-";
}

std::string_view root_kind_name(RootKind k) {
  switch (k) {
    case RootKind::Puf: return "puf";
    case RootKind::SecureElement: return "tpm_or_secure_element";
    case RootKind::Software: return "software";
  }
  return "-";
}

bool has_aqat_magic(std::span<const uint8_t> payload) {
  return payload.size() >= sizeof kMagic && std::memcmp(payload.data(), kMagic, sizeof kMagic) == 0;
}

ParseResult parse_aqat(std::span<const uint8_t> payload) {
  ByteReader r(payload);
  std::span<const uint8_t> magic;
  uint8_t version = 0, type = 0;
  uint16_t body_len = 0;
  if (!r.bytes(4, magic) || !r.u8(version) || !r.u8(type) || !r.u16be(body_len))
    return Malformed{"shorter than the 8-byte header"};
  if (!has_aqat_magic(payload)) return Malformed{"magic is not AQAT"};
  if (version != kVersion) return Malformed{"version is not 1"};
  if (type < 1 || type > 3) return Malformed{"type is not 1, 2 or 3"};
  if (payload.size() != kHeaderSize + body_len + kSignatureSize) return Malformed{"length is not 8 + body_len + 64"};
  Message m;
  m.datagram = payload;
  m.signed_bytes = payload.first(kHeaderSize + body_len);
  m.sig = Bytes64(payload.data() + kHeaderSize + body_len, kSignatureSize);
  const auto body = payload.subspan(kHeaderSize, body_len);
  switch (static_cast<MessageType>(type)) {
    case MessageType::Identity: return parse_identity(body, m);
    case MessageType::Telemetry: return parse_telemetry(body, m);
    case MessageType::Sbom: return parse_sbom(body, m);
    case MessageType::None: break;
  }
  return Malformed{"type is not 1, 2 or 3"};
}

}  // namespace ots::attest
