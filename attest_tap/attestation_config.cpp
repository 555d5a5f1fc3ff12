#include "attest_tap/attestation_config.hpp"

#include <fmt/format.h>

#include "zones/site_yaml.hpp"

namespace ots::attest {

namespace {

using site_yaml::Field;
using site_yaml::Reader;

constexpr double kMaxSeconds = 30 * 86400.0;  // as defaults.notice_suppress_s: longer hides a month

uint64_t to_ns(double s) { return static_cast<uint64_t>(s * 1e9); }

// Names and key ids given so far (kept or not), for duplicates: name -> line, key id -> (name, line).
struct AnchorsSeen {
  std::map<std::string, int> names;
  std::map<CaKeyId, std::pair<std::string, int>> keys;
};

void parse_anchor(Reader& r, const YAML::Node& item, size_t index, AnchorsSeen& seen, AttestationConfig& out) {
  std::string subject = fmt::format("attestation.trust_anchors[{}]: ", index);
  if (!item.IsMap()) {
    r.error(item, fmt::format("{}a trust anchor must be a map (name, public_key), got {}", subject,
                              Reader::describe(item)));
    return;
  }
  for (const auto& kv : item) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "name" && kv.second.IsScalar() && !kv.second.Scalar().empty()) {
      subject = fmt::format("trust anchor '{}': ", kv.second.Scalar());
      break;
    }
  }
  std::vector<Field> f;
  r.fields(item, subject, "", {{"name", true}, {"public_key", true}}, f);
  TrustAnchor a;
  a.pos = Reader::pos(item);
  bool keep = f[0] && f[1];
  if (f[0]) {
    if (auto name = r.text(f[0], subject, "name")) {
      if (name->empty()) {
        r.error(f[0].value, fmt::format("{}name is empty, expected the CA's name", subject));
        keep = false;
      }
      if (const auto it = seen.names.find(*name); it != seen.names.end()) {
        r.error(f[0].value, fmt::format("trust anchor '{}' is defined twice (first at line {})", *name, it->second));
        keep = false;
      } else {
        seen.names.emplace(*name, a.pos.line);
      }
      a.name = *name;
    } else {
      keep = false;
    }
  }
  if (f[1]) {
    const auto key = r.text(f[1], subject, "public_key");
    if (!key) {
      keep = false;
    } else if (!from_hex(*key, a.public_key.bytes)) {
      r.error(f[1].value, fmt::format("{}public_key must be 64 hex digits (an Ed25519 public key), got '{}'", subject,
                                      *key));
      keep = false;
    } else if (!plausible_public_key(a.public_key)) {
      r.error(f[1].value, fmt::format("{}public_key is not a usable Ed25519 public key (not a point of the curve, or "
                                      "one of small order)",
                                      subject));
      keep = false;
    } else {
      a.key_id = ca_key_id_of(a.public_key);
      // Certificates name their CA by an 8-byte key id, so two anchors must differ in it.
      if (const auto it = seen.keys.find(a.key_id); it != seen.keys.end()) {
        r.error(f[1].value, fmt::format("{}public_key is also trust anchor '{}''s (line {})", subject,
                                        it->second.first, it->second.second));
        keep = false;
      } else {
        seen.keys.emplace(a.key_id, std::make_pair(a.name, a.pos.line));
      }
    }
  }
  if (keep) out.trust_anchors.push_back(std::move(a));
}

void parse_golden(Reader& r, const Field& section, AttestationConfig& out) {
  if (!section.value.IsMap()) {
    r.error(Reader::at(section), fmt::format("attestation.golden_firmware must be a map of fw_version to a list of "
                                             "fw_digest values, got {}",
                                             Reader::describe(section.value)));
    return;
  }
  std::map<std::string, int> first_line;
  for (const auto& kv : section.value) {
    if (!kv.first.IsScalar()) {
      r.error(kv.first, fmt::format("attestation.golden_firmware: a fw_version must be text, got {}",
                                    Reader::describe(kv.first)));
      continue;
    }
    const std::string& version = kv.first.Scalar();
    const std::string subject = fmt::format("attestation.golden_firmware '{}': ", version);
    if (const auto it = first_line.find(version); it != first_line.end()) {
      r.error(kv.first, fmt::format("{}fw_version appears twice (first at line {})", subject, it->second));
      continue;
    }
    first_line.emplace(version, Reader::pos(kv.first).line);
    const Field f{kv.first, kv.second, true};
    if (!r.list(f, subject, "the allowed digests")) continue;
    std::vector<Blake2b256>& digests = out.golden_firmware[version];
    for (const auto& d : kv.second) {
      Blake2b256 digest;
      if (!d.IsScalar() || !from_hex(d.Scalar(), digest.bytes)) {
        r.error(d, fmt::format("{}a digest must be 64 hex digits (BLAKE2b-256 fw_digest), got {}", subject,
                               Reader::describe(d)));
        continue;
      }
      digests.push_back(digest);
    }
  }
}

void parse_section(Reader& r, const Field& section, AttestationConfig& out) {
  out.present = true;
  if (!section.value.IsMap()) {
    r.error(Reader::at(section), fmt::format("attestation must be a map (port, trust_anchors, golden_firmware, "
                                             "stale_after_s, max_clock_skew_s, clone_window_s, unattested_grace_s), "
                                             "got {}",
                                             Reader::describe(section.value)));
    return;
  }
  std::vector<Field> f;
  r.fields(section.value, "", "attestation.",
           {{"port"}, {"trust_anchors", true}, {"golden_firmware"}, {"stale_after_s"}, {"max_clock_skew_s"},
            {"clone_window_s"}, {"unattested_grace_s"}},
           f);
  if (f[0]) {
    // Port 0 is reserved and never a destination.
    if (auto v = r.integer(f[0], "", "attestation.port", 1, 65535)) out.port = static_cast<uint16_t>(*v);
  }
  if (f[1] && r.list(f[1], "", "attestation.trust_anchors")) {
    if (f[1].value.size() == 0)
      r.error(f[1].value, "attestation.trust_anchors is empty, expected at least one CA (without one every IDENTITY "
                          "is untrusted_ca)");
    AnchorsSeen seen;
    size_t i = 0;
    for (const auto& item : f[1].value) parse_anchor(r, item, i++, seen, out);
  }
  if (f[2]) parse_golden(r, f[2], out);
  // Silence of 0 s would make every device stale between two records.
  if (f[3]) {
    if (auto v = r.number(f[3], "", "attestation.stale_after_s", 1, kMaxSeconds)) out.stale_after_ns = to_ns(*v);
  }
  if (f[4]) {
    if (auto v = r.number(f[4], "", "attestation.max_clock_skew_s", 0, kMaxSeconds)) out.max_clock_skew_ns = to_ns(*v);
  }
  if (f[5]) {
    if (auto v = r.number(f[5], "", "attestation.clone_window_s", 0, kMaxSeconds)) out.clone_window_ns = to_ns(*v);
  }
  if (f[6]) {
    if (auto v = r.number(f[6], "", "attestation.unattested_grace_s", 0, kMaxSeconds))
      out.unattested_grace_ns = to_ns(*v);
  }
}

}  // namespace

const TrustAnchor* AttestationConfig::anchor(const CaKeyId& id) const {
  for (const TrustAnchor& a : trust_anchors)
    if (a.key_id == id) return &a;
  return nullptr;
}

const std::vector<Blake2b256>* AttestationConfig::golden(std::string_view fw_version) const {
  const auto it = golden_firmware.find(fw_version);
  return it == golden_firmware.end() ? nullptr : &it->second;
}

bool load_attestation_config(const std::string& path, AttestationConfig& out, std::vector<std::string>& errors) {
  const size_t before = errors.size();
  out = AttestationConfig{};
  YAML::Node root;
  if (!site_yaml::load_document(path, root, errors)) return false;
  // The top level (a map, known sections, each once) is checked by the zones loader.
  if (!root.IsMap()) return true;
  Reader r(path, errors);
  for (const auto& kv : root) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "attestation") {
      parse_section(r, Field{kv.first, kv.second, true}, out);
      break;
    }
  }
  order_by_position(path, errors, before);
  return errors.size() == before;
}

}  // namespace ots::attest
