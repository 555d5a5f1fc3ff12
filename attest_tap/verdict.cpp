#include "attest_tap/verdict.hpp"

namespace ots::attest {

namespace {

struct Names {
  std::string_view verdict, notice;
};

constexpr Names kNames[kVerdictCount] = {
    {"malformed", "Attest::Malformed"},
    {"bad_signature", "Attest::Bad_Signature"},
    {"unknown_device", "Attest::Unknown_Device"},
    {"untrusted_ca", "Attest::Untrusted_CA"},
    {"bad_certificate", "Attest::Bad_Certificate"},
    {"certificate_expired", "Attest::Certificate_Expired"},
    {"not_hardware_rooted", "Attest::Not_Hardware_Rooted"},
    {"device_limit", "Attest::Device_Limit"},
    {"replay", "Attest::Replay"},
    {"fork", "Attest::Fork"},
    {"chain_broken", "Attest::Chain_Broken"},
    {"chain_gap", "Attest::Chain_Gap"},
    {"identity_clone", "Attest::Identity_Clone"},
    {"integrity_violation", "Attest::Integrity_Violation"},
    {"device_status", "Attest::Device_Status"},
    {"sbom_mismatch", "Attest::SBOM_Mismatch"},
    {"clock_skew", "Attest::Clock_Skew"},
    {"stale", "Attest::Stale"},
    {"unattested_device", "Attest::Unattested_Device"},
    {"late", ""},
    {"ok", ""},
};

}  // namespace

std::string_view verdict_name(Verdict v) {
  const auto i = static_cast<size_t>(v);
  return i < kVerdictCount ? kNames[i].verdict : "-";
}

std::string_view notice_name(Verdict v) {
  const auto i = static_cast<size_t>(v);
  return i < kVerdictCount ? kNames[i].notice : "";
}

}  // namespace ots::attest
