// The `attestation:` section of the site model (issue 6, exactly that schema), parsed once into this
// plain struct. Errors are "FILE:LINE:COL: what is wrong, what was expected", as the zones loader's.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "attest_tap/crypto.hpp"
#include "attest_tap/device_id.hpp"
#include "zones/site_model.hpp"

namespace ots::attest {

inline constexpr uint16_t kDefaultPort = 62443;

struct TrustAnchor {
  std::string name;
  Ed25519PublicKey public_key;
  CaKeyId key_id;  // ca_key_id_of(public_key): what IDENTITY's ca_key_id names
  SourcePos pos;
};

struct AttestationConfig {
  bool present = false;  // the file has an `attestation` section
  uint16_t port = kDefaultPort;  // UDP destination port of AQAT datagrams
  std::vector<TrustAnchor> trust_anchors;
  // fw_version → allowed fw_digest values; versions not listed are not checked.
  std::map<std::string, std::vector<Blake2b256>, std::less<>> golden_firmware;
  uint64_t stale_after_ns = 30'000'000'000ull;
  uint64_t max_clock_skew_ns = 30'000'000'000ull;
  uint64_t clone_window_ns = 60'000'000'000ull;
  uint64_t unattested_grace_ns = 30'000'000'000ull;

  const TrustAnchor* anchor(const CaKeyId& id) const;
  // The allowed digests of a version, or nullptr when the version is not listed.
  const std::vector<Blake2b256>* golden(std::string_view fw_version) const;
};

// Loads the `attestation` section of FILE (the other sections are their owners'; a file without the
// section gives the defaults with present = false). On problems returns false and appends every one to
// `errors`, in file order.
bool load_attestation_config(const std::string& path, AttestationConfig& out, std::vector<std::string>& errors);

}  // namespace ots::attest
