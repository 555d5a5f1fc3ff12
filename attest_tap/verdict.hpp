// What the device registry decides: one VerdictRecord per datagram (attest.log's record), and one per
// time event (`stale`, a held record's `unknown_device`). Plain data; the pipeline turns records into
// attest.log lines and `Attest::*` notices.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attest_tap/aqat_parser.hpp"
#include "attest_tap/device_id.hpp"
#include "capture/net_types.hpp"

namespace ots::attest {

// In order of precedence: when one datagram has several findings, the first in this order is the
// record's verdict and the others go to VerdictRecord::also (PROTOCOL.md, "Verdicts").
enum class Verdict : uint8_t {
  Malformed,
  BadSignature,
  UnknownDevice,
  UntrustedCa,
  BadCertificate,
  CertificateExpired,
  NotHardwareRooted,
  DeviceLimit,  // the registry holds max_devices devices already: this one is not tracked
  Replay,
  Fork,
  ChainBroken,
  ChainGap,
  IdentityClone,
  IntegrityViolation,
  DeviceStatus,
  SbomMismatch,
  ClockSkew,
  Stale,
  UnattestedDevice,  // decided by the pipeline (Registry::binding), never by the registry
  Late,
  Ok,
  Count_,
};
inline constexpr size_t kVerdictCount = static_cast<size_t>(Verdict::Count_);

// attest.log's verdict column: "bad_signature", "chain_gap", "ok", ...
std::string_view verdict_name(Verdict v);
// The notice: "Attest::Bad_Signature", ...; empty for `ok` and `late`, which raise none.
std::string_view notice_name(Verdict v);

struct Finding {
  Verdict verdict = Verdict::Ok;
  std::string detail;
};

struct VerdictRecord {
  uint64_t ts_ns = 0;       // the datagram's packet time; for `stale`, when the silence passed stale_after_s
  uint64_t decided_ns = 0;  // packet time of the decision: later than ts_ns for records held until their
                            // IDENTITY came (or did not) and for `stale`
  // The datagram (for `stale`: the device's last source address; uid unset, ports 0).
  Uid uid;
  IpAddr src, dst;
  uint16_t src_port = 0, dst_port = 0;
  std::array<uint8_t, 6> src_mac{};
  bool has_src_mac = false;
  // The device, when the datagram names one (not for `malformed`).
  bool has_device = false;
  DeviceId device_id;
  std::string name;  // the device's name from its latest IDENTITY; empty when unknown
  MessageType type = MessageType::None;  // None for `stale`
  uint64_t seq = 0;  // TELEMETRY's seq; for `stale` the last one seen; 0 = none
  Verdict verdict = Verdict::Ok;
  std::string detail;
  std::vector<Finding> also;  // further findings on this datagram, in precedence order; each raises its notice
};

}  // namespace ots::attest
