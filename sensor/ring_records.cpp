#include "sensor/ring_records.hpp"

#include <cstring>
#include <new>
#include <type_traits>

namespace ots {

namespace {

using Kind = PacketRing::Kind;

static_assert(std::is_trivially_copyable_v<DecodedPacket>, "a DecodedPacket is copied into the ring as bytes");
static_assert(alignof(DecodedPacket) <= 8, "ring bodies are 8-byte aligned");
static_assert(std::is_trivially_copyable_v<ConnId> && std::is_trivially_copyable_v<Uid>);
static_assert(std::is_trivially_copyable_v<Decoder::Stats>);

constexpr size_t kMacs = 12;
constexpr size_t kImage = (sizeof(DecodedPacket) + 7) & ~size_t{7};

struct WeirdImage {
  uint64_t ts_ns;
  const char* name;
  const char* source;
  uint32_t name_len;
  uint32_t source_len;
  uint32_t addl_len;
  bool has_addrs;
  bool is_orig;
  Uid uid;
  ConnId id;
};

}  // namespace

void push_decoded(PacketRing& ring, const DecodedPacket& p, uint32_t caplen) {
  const size_t body = kImage + kMacs + p.payload.size();
  ring.push_record(Kind::Decoded, p.ts_ns, caplen, body, [&](uint8_t* out) {
    // The copy's pointers are set to the copies of the bytes beside it, in the ring, so that the worker
    // reads the record in place (memcpy creates the DecodedPacket there: an implicit-lifetime type).
    std::memcpy(out, &p, sizeof p);
    DecodedPacket& q = *std::launder(reinterpret_cast<DecodedPacket*>(out));
    if (p.src_mac) {
      std::memcpy(out + kImage, p.src_mac, 6);
      q.src_mac = out + kImage;
    }
    if (p.dst_mac) {
      std::memcpy(out + kImage + 6, p.dst_mac, 6);
      q.dst_mac = out + kImage + 6;
    }
    if (!p.payload.empty()) std::memcpy(out + kImage + kMacs, p.payload.data(), p.payload.size());
    q.payload = {out + kImage + kMacs, p.payload.size()};
  });
}

const DecodedPacket& read_decoded(const PacketRing::Record& r) {
  return *std::launder(reinterpret_cast<const DecodedPacket*>(r.body.data()));
}

void push_counted(PacketRing& ring, uint64_t ts_ns, uint32_t caplen) {
  ring.push_record(Kind::Counted, ts_ns, caplen, 0, [](uint8_t*) {});
}

void push_weird(PacketRing& ring, const WeirdEvent& ev) {
  WeirdImage w{};
  w.ts_ns = ev.ts_ns;
  w.name = ev.name.data();
  w.name_len = static_cast<uint32_t>(ev.name.size());
  w.source = ev.source.data();
  w.source_len = static_cast<uint32_t>(ev.source.size());
  w.addl_len = static_cast<uint32_t>(ev.addl.size());
  w.has_addrs = ev.has_addrs;
  w.is_orig = ev.is_orig;
  w.uid = ev.uid;
  w.id = ev.id;
  ring.push_record(Kind::Weird, ev.ts_ns, 0, sizeof w + ev.addl.size(), [&](uint8_t* out) {
    std::memcpy(out, &w, sizeof w);
    if (!ev.addl.empty()) std::memcpy(out + sizeof w, ev.addl.data(), ev.addl.size());
  });
}

WeirdEvent read_weird(const PacketRing::Record& r) {
  WeirdImage w;
  std::memcpy(&w, r.body.data(), sizeof w);
  WeirdEvent ev;
  ev.ts_ns = w.ts_ns;
  ev.name = {w.name, w.name_len};
  ev.source = {w.source, w.source_len};
  ev.addl.assign(reinterpret_cast<const char*>(r.body.data()) + sizeof w, w.addl_len);
  ev.has_addrs = w.has_addrs;
  ev.is_orig = w.is_orig;
  ev.uid = w.uid;
  ev.id = w.id;
  return ev;
}

void push_decode_stats(PacketRing& ring, const Decoder::Stats& s) {
  ring.push_record(Kind::DecodeStats, 0, 0, sizeof s, [&](uint8_t* out) { std::memcpy(out, &s, sizeof s); });
}

Decoder::Stats read_decode_stats(const PacketRing::Record& r) {
  Decoder::Stats s;
  std::memcpy(&s, r.body.data(), sizeof s);
  return s;
}

}  // namespace ots
