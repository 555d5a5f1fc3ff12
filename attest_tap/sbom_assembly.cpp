#include "attest_tap/sbom_assembly.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace ots::attest {

void SbomAssembler::evict(std::map<Key, Assembly>::iterator it) {
  bytes_ -= it->second.bytes;
  by_age_.erase(it->second.age);
  assemblies_.erase(it);
}

SbomAssembler::Outcome SbomAssembler::add(uint32_t device, const SbomView& chunk) {
  const Key key{device, Blake2b256::from(chunk.sbom_digest)};
  auto it = assemblies_.find(key);
  if (it == assemblies_.end()) {
    // A new document: make room among this device's.
    for (;;) {
      auto first = assemblies_.lower_bound(Key{device, Blake2b256{}});
      size_t n = 0;
      auto oldest = assemblies_.end();
      for (auto i = first; i != assemblies_.end() && i->first.first == device; ++i, ++n)
        if (oldest == assemblies_.end() || i->second.age < oldest->second.age) oldest = i;
      if (n < per_device_ || oldest == assemblies_.end()) break;
      evict(oldest);
      ++evicted_;
    }
    Assembly a;
    a.count = chunk.chunk_count;
    a.age = next_age_++;
    a.have.assign(a.count, false);
    a.chunks.resize(a.count);
    it = assemblies_.emplace(key, std::move(a)).first;
    by_age_.emplace(it->second.age, key);
  }
  Assembly& a = it->second;
  if (chunk.chunk_count != a.count)
    return {Kind::Conflict, fmt::format("chunk_count {} differs from {} of the earlier chunks of this SBOM",
                                        chunk.chunk_count, a.count), {}};
  if (a.have[chunk.chunk_index]) {
    const auto& before = a.chunks[chunk.chunk_index];
    if (std::equal(before.begin(), before.end(), chunk.data.begin(), chunk.data.end())) return {Kind::Repeat, {}, {}};
    return {Kind::Conflict, fmt::format("chunk {} differs from the chunk {} received before", chunk.chunk_index,
                                        chunk.chunk_index), {}};
  }
  a.have[chunk.chunk_index] = true;
  a.chunks[chunk.chunk_index].assign(chunk.data.begin(), chunk.data.end());
  a.bytes += chunk.data.size();
  bytes_ += chunk.data.size();
  if (++a.received == a.count) {
    Outcome done{Kind::Complete, {}, {}};
    done.document.reserve(a.bytes);
    for (const auto& c : a.chunks) done.document.insert(done.document.end(), c.begin(), c.end());
    evict(it);
    return done;
  }
  // Over budget: the oldest documents go first (never the one just added to).
  while (bytes_ > budget_ && by_age_.size() > 1) {
    const Key victim = by_age_.begin()->second == key ? std::next(by_age_.begin())->second : by_age_.begin()->second;
    evict(assemblies_.find(victim));
    ++evicted_;
  }
  return {Kind::Stored, {}, {}};
}

size_t SbomAssembler::clear() {
  const size_t n = assemblies_.size();
  assemblies_.clear();
  by_age_.clear();
  bytes_ = 0;
  return n;
}

}  // namespace ots::attest
