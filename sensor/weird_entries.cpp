#include "sensor/weird_entries.hpp"

#include <cstring>

namespace ots {

namespace {

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

constexpr size_t kFirstSlots = 16;

}  // namespace

uint32_t WeirdEntries::hash_of(const WeirdKey& k) {
  uint64_t h = (load64(k.a.bytes.data()) * 0x9e3779b97f4a7c15ull) ^ (load64(k.a.bytes.data() + 8) * 0xc2b2ae3d27d4eb4full) ^
               (load64(k.b.bytes.data()) * 0x165667b19e3779f9ull) ^ (load64(k.b.bytes.data() + 8) * 0xd6e8feb86659fd93ull) ^
               (((uint64_t{k.pa} << 48) | (uint64_t{k.pb} << 32) | (uint64_t{k.proto} << 24) | (uint64_t{k.kind} << 20) |
                 k.name) *
                0x94d049bb133111ebull);
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  return static_cast<uint32_t>(h ^ (h >> 29));
}

size_t WeirdEntries::find(const WeirdKey& k) const {
  if (size_ == 0) return npos;
  const uint32_t h = hash_of(k);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (!s.used) return npos;
    if (s.hash == h && s.key == k) return i;
  }
}

std::pair<size_t, bool> WeirdEntries::insert(const WeirdKey& k, uint64_t until) {
  if (!slots_ || (size_ + 1) * 2 > mask_ + 1) grow();
  const uint32_t h = hash_of(k);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.used) {
      if (s.hash == h && s.key == k) return {i, false};
      continue;
    }
    s.key = k;
    s.hash = h;
    s.until = until;
    s.used = true;
    ++size_;
    return {i, true};
  }
}

void WeirdEntries::erase(size_t i) {
  // Backward shift: an entry after the hole moves into it unless its home slot lies after the hole (up
  // to where the entry is), where a lookup would stop at the hole before reaching it.
  for (size_t j = i;;) {
    j = (j + 1) & mask_;
    const Slot& s = slots_[j];
    if (!s.used) break;
    const size_t home = s.hash & mask_;
    const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    slots_[i] = s;
    i = j;
  }
  slots_[i].used = false;
  --size_;
}

void WeirdEntries::grow() {
  const size_t old_count = slots_ ? mask_ + 1 : 0;
  const size_t count = old_count ? old_count * 2 : kFirstSlots;
  std::unique_ptr<Slot[]> old = std::move(slots_);
  slots_ = std::make_unique_for_overwrite<Slot[]>(count);
  for (size_t k = 0; k < count; ++k) slots_[k].used = false;
  mask_ = count - 1;
  for (size_t k = 0; k < old_count; ++k) {
    if (!old[k].used) continue;
    size_t i = old[k].hash & mask_;
    while (slots_[i].used) i = (i + 1) & mask_;
    slots_[i] = old[k];
  }
}

}  // namespace ots
