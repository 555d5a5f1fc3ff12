#include "capture/ip_defrag.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace ots::decode_detail {

namespace {

// Zeek's Frag.cc bounds: a non-last fragment shorter than this is suspicious (evasion by tiny
// fragments), a datagram ending beyond the other is as well.
constexpr uint32_t kMinAcceptableFragSize = 64;
constexpr uint32_t kMaxAcceptableFragSize = 64000;
// No IPv4 datagram, nor IPv6 one without a jumbo payload option, exceeds 65535 bytes (IPv6: after the
// fixed header); a fragment reaching past that cannot be part of a valid one ("ping of death").
constexpr uint32_t kMaxDatagram = 65535;
// Bookkeeping counted against frag_max_bytes besides the bytes themselves.
constexpr size_t kBlockOverhead = 32;
constexpr size_t kDatagramOverhead = 160;

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

size_t IpDefrag::KeyHash::operator()(const Key& k) const {
  uint64_t h = mix(load64(k.src.bytes.data()) ^ 0x9e3779b97f4a7c15ull);
  h = mix(h ^ load64(k.src.bytes.data() + 8));
  h = mix(h ^ load64(k.dst.bytes.data()));
  h = mix(h ^ load64(k.dst.bytes.data() + 8));
  h = mix(h ^ (uint64_t{k.id} << 8 | k.version));
  return static_cast<size_t>(h);
}

IpDefrag::IpDefrag(const DecodeConfig& cfg) : cfg_(cfg) {}
IpDefrag::~IpDefrag() = default;

void IpDefrag::drop(Datagram* d) {
  dropped_ += d->fragments;
  bytes_ -= d->bytes;
  age_.erase(d->age);
  table_.erase(d->key);  // frees d
}

// Evicts the oldest datagrams (never `keep`) until `need` more bytes fit. False when they cannot.
bool IpDefrag::make_room(size_t need, const Datagram* keep, uint64_t ts_ns, WeirdSink* sink) {
  while (bytes_ + need > cfg_.frag_max_bytes) {
    auto it = age_.begin();
    if (it != age_.end() && *it == keep) ++it;
    if (it == age_.end()) return false;
    Datagram* victim = *it;
    if (sink) {
      report_weird(*sink, ts_ns, "fragment_table_full",
                   "evicted an incomplete datagram holding " + std::to_string(victim->bytes) + " bytes",
                   victim->key.src, victim->key.dst);
    }
    drop(victim);
  }
  return true;
}

IpDefrag::Result IpDefrag::add(const FragmentIn& f, uint64_t ts_ns, const Weirds& w, Reassembled& out) {
  const uint32_t len = static_cast<uint32_t>(f.data.size());
  const uint32_t upper = f.offset + len;

  if (f.dont_frag) w.report("fragment_with_DF");  // Linux path MTU discovery for UDP does this
  if (upper > kMaxAcceptableFragSize) w.report("excessively_large_fragment");
  // IPv4 counts its header in the 65535, IPv6 only what follows the fixed header.
  if (uint64_t{upper} + f.unfrag_len - (f.version == 4 ? 0u : 40u) > kMaxDatagram) {
    ++dropped_;
    return Result::Dropped;
  }
  if (f.more && f.packet_len < kMinAcceptableFragSize) w.report("excessively_small_fragment");

  const Key key{f.src, f.dst, f.id, f.version};
  auto found = table_.find(key);
  Datagram* d = nullptr;
  if (found == table_.end()) {
    if (cfg_.frag_max_datagrams == 0) {
      ++dropped_;
      return Result::Dropped;
    }
    if (table_.size() >= cfg_.frag_max_datagrams) {
      Datagram* victim = age_.front();
      if (w.sink) {
        report_weird(*w.sink, ts_ns, "fragment_table_full",
                     "evicted the oldest of " + std::to_string(table_.size()) + " incomplete datagrams",
                     victim->key.src, victim->key.dst);
      }
      drop(victim);
    }
    if (!make_room(kDatagramOverhead, nullptr, ts_ns, w.sink)) {
      w.report("fragment_table_full", "fragment memory bound below one datagram");
      ++dropped_;
      return Result::Dropped;
    }
    auto fresh = std::make_unique<Datagram>();
    d = fresh.get();
    d->key = key;
    d->first_ts_ns = ts_ns;
    d->proto = d->first_proto = f.proto;
    d->ttl = f.ttl;
    d->unfrag_len = d->first_unfrag_len = f.unfrag_len;
    d->bytes = kDatagramOverhead;
    bytes_ += d->bytes;
    d->age = age_.insert(age_.end(), d);
    table_.emplace(key, std::move(fresh));
  } else {
    d = found->second.get();
    // Zeek compares each fragment with the first one's header: protocol and header length (IPv4), next
    // header and unfragmentable length (IPv6). TOS is not compared: some stacks vary it.
    if (f.proto != d->first_proto || f.unfrag_len != d->first_unfrag_len) {
      w.report("fragment_protocol_inconsistency");
    }
  }
  ++d->fragments;
  if (f.offset == 0) {
    // RFC 8200 4.5: only the offset-zero fragment's next header and unfragmentable part are used.
    d->proto = f.proto;
    d->ttl = f.ttl;
    d->unfrag_len = f.unfrag_len;
  }

  // The end of the fragmentable part, as Zeek's FragReassembler::AddFragment settles it.
  if (!f.more) {
    if (d->frag_size == 0) {
      d->frag_size = upper;
    } else if (upper != d->frag_size) {
      w.report("fragment_size_inconsistency");
      d->frag_size = std::max(d->frag_size, upper);
    }
  }
  if (d->frag_size != 0 && upper > d->frag_size) {
    // A non-last fragment reaching past the end a last fragment gave.
    w.report("fragment_size_inconsistency");
    d->frag_size = upper;
  }

  // Insert the parts not yet covered; bytes already held win (first-wins, like Zeek).
  struct Piece {
    uint32_t start, end;
  };
  Piece pieces[64];
  size_t npieces = 0;
  bool overlap = false, differ = false, too_many = false;
  uint32_t pos = f.offset;
  for (const Block& b : d->blocks) {
    if (b.end <= f.offset) continue;
    if (b.start >= upper) break;
    if (b.start > pos) {
      if (npieces == std::size(pieces)) too_many = true;
      else pieces[npieces++] = {pos, b.start};
    }
    const uint32_t o_start = std::max(b.start, f.offset), o_end = std::min(b.end, upper);
    overlap = true;
    if (std::memcmp(b.bytes.data() + (o_start - b.start), f.data.data() + (o_start - f.offset), o_end - o_start) != 0) {
      differ = true;
    }
    pos = std::max(pos, b.end);
  }
  if (pos < upper) {
    if (npieces == std::size(pieces)) too_many = true;
    else pieces[npieces++] = {pos, upper};
  }
  if (overlap) w.report(differ ? "fragment_inconsistency" : "fragment_overlap");
  if (too_many) {
    // More than 64 holes filled by one fragment: only a crafted stream does that. Keep the datagram
    // consistent by dropping the fragment.
    ++dropped_;
    --d->fragments;
    return Result::Held;
  }

  size_t need = 0;
  for (size_t i = 0; i < npieces; ++i) need += pieces[i].end - pieces[i].start + kBlockOverhead;
  if (!make_room(need, d, ts_ns, w.sink)) {
    w.report("fragment_table_full", "datagram larger than the fragment memory bound");
    drop(d);
    return Result::Dropped;
  }
  for (size_t i = 0; i < npieces; ++i) {
    Block b;
    b.start = pieces[i].start;
    b.end = pieces[i].end;
    const uint8_t* src = f.data.data() + (b.start - f.offset);
    b.bytes.assign(src, src + (b.end - b.start));
    auto at = std::lower_bound(d->blocks.begin(), d->blocks.end(), b.start,
                               [](const Block& x, uint32_t s) { return x.start < s; });
    d->blocks.insert(at, std::move(b));
  }
  d->bytes += need;
  bytes_ += need;

  if (!complete(*d, w, out)) return Result::Held;
  bytes_ -= d->bytes;
  age_.erase(d->age);
  table_.erase(d->key);
  return Result::Complete;
}

bool IpDefrag::complete(Datagram& d, const Weirds& w, Reassembled& out) {
  if (d.frag_size == 0 || d.blocks.empty() || d.blocks.front().start != 0) return false;
  size_t i = 0;
  uint32_t reach = d.blocks[0].end;
  while (i + 1 < d.blocks.size() && d.blocks[i + 1].start == reach) reach = d.blocks[++i].end;
  if (reach < d.frag_size) return false;
  if (reach != d.frag_size || i + 1 < d.blocks.size()) {
    // Contiguous up to the announced end and more beyond: Zeek analyzes the contiguous part.
    w.report("fragment_size_inconsistency");
  }
  const uint32_t size = reach;
  out_buf_.resize(size);
  for (size_t j = 0; j <= i; ++j) {
    const Block& b = d.blocks[j];
    std::memcpy(out_buf_.data() + b.start, b.bytes.data(), b.bytes.size());
  }
  out.proto = d.proto;
  out.ttl = d.ttl;
  out.unfrag_len = d.unfrag_len;
  out.payload = std::span<const uint8_t>(out_buf_.data(), size);
  return true;
}

void IpDefrag::expire(uint64_t now_ns, WeirdSink& sink) {
  if (cfg_.frag_timeout_ns == 0) return;  // like Zeek's unset frag_timeout: never
  while (!age_.empty()) {
    Datagram* d = age_.front();
    if (d->first_ts_ns + cfg_.frag_timeout_ns > now_ns) break;
    report_weird(sink, now_ns, "fragment_reassembly_timeout",
                 std::to_string(d->fragments) + " fragments, " + std::to_string(d->bytes) + " bytes held",
                 d->key.src, d->key.dst);
    drop(d);
  }
}

}  // namespace ots::decode_detail
