// Reassembly of SBOM chunks per (device, sbom_digest), within a memory budget. Chunks reach it only
// after their signature verified. The digest check and the CycloneDX parse of a complete document are
// the registry's.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "attest_tap/aqat_parser.hpp"
#include "attest_tap/crypto.hpp"

namespace ots::attest {

class SbomAssembler {
 public:
  // At most `per_device` documents in progress per device (a new one evicts that device's oldest) and
  // `budget_bytes` of chunk data in all (a chunk over it evicts the oldest documents anywhere).
  SbomAssembler(uint32_t per_device, uint64_t budget_bytes) : per_device_(per_device), budget_(budget_bytes) {}

  enum class Kind : uint8_t {
    Stored,    // kept; the document is not complete yet
    Repeat,    // this chunk was received before, byte for byte
    Conflict,  // disagrees with earlier chunks of the same digest (detail says how); not kept
    Complete,  // the last missing chunk: `document` holds the whole document, which is forgotten here
  };
  struct Outcome {
    Kind kind = Kind::Stored;
    std::string detail;
    std::vector<uint8_t> document;
  };
  Outcome add(uint32_t device, const SbomView& chunk);

  size_t in_progress() const { return assemblies_.size(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t evicted() const { return evicted_; }
  // End of input: forgets every incomplete document; returns how many there were.
  size_t clear();

 private:
  using Key = std::pair<uint32_t, Blake2b256>;
  struct Assembly {
    uint16_t count = 0;
    uint16_t received = 0;
    uint64_t age = 0;  // creation order: eviction takes the oldest
    uint64_t bytes = 0;
    std::vector<bool> have;
    std::vector<std::vector<uint8_t>> chunks;
  };
  void evict(std::map<Key, Assembly>::iterator it);

  uint32_t per_device_;
  uint64_t budget_;
  std::map<Key, Assembly> assemblies_;
  std::map<uint64_t, Key> by_age_;
  uint64_t next_age_ = 0;
  uint64_t bytes_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace ots::attest
