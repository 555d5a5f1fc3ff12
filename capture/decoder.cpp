// Decoder: chains the link, IP and transport stages and owns the per-worker IP reassembly state.
#include <algorithm>

#include "capture/decode.hpp"
#include "capture/decode_stages.hpp"
#include "capture/ip_defrag.hpp"

namespace ots {

using decode_detail::Step;

struct Decoder::Impl {
  explicit Impl(const DecodeConfig& c) : cfg(c), defrag(c) {}

  // frag_dropped counts fragment packets that never became part of a reassembled datagram.
  void sync_frag_stats() { stats.frag_dropped = defrag.fragments_dropped() + uncaptured_fragments; }

  DecodeConfig cfg;
  Stats stats;
  decode_detail::IpDefrag defrag;
  uint64_t uncaptured_fragments = 0;  // non-first fragments the snaplen cut: nothing to reassemble
};

Decoder::Decoder(const DecodeConfig& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Decoder::~Decoder() = default;

const Decoder::Stats& Decoder::stats() const { return impl_->stats; }

void Decoder::expire(uint64_t now_ns, WeirdSink& weirds) {
  impl_->defrag.expire(now_ns, weirds);
  impl_->sync_frag_stats();
}

DecodeResult Decoder::decode(const PacketView& pkt, DecodedPacket& out, WeirdSink& weirds) {
  Impl& im = *impl_;
  Stats& st = im.stats;
  ++st.packets;
  // A copy of an empty packet, not `out = DecodedPacket{}`: GCC zeroes a struct this size with rep stos,
  // whose start-up cost was a third of this function's time (perf), where a copy is a few vector moves.
  static constexpr DecodedPacket kEmpty{};
  out = kEmpty;
  out.ts_ns = pkt.ts_ns;
  out.wirelen = pkt.wirelen;
  out.ingress = pkt.ingress;
  const decode_detail::Weirds w{&weirds, pkt.ts_ns, &out};
  const auto malformed = [&st] {
    ++st.malformed;
    return DecodeResult::Malformed;
  };

  size_t l3_off = 0;
  switch (decode_detail::decode_link(pkt, out, l3_off, w)) {
    case Step::Ok: break;
    case Step::NotIp: ++st.non_ip; return DecodeResult::NotIp;
    case Step::Malformed: return malformed();
  }

  // A source that reports wirelen < caplen is wrong; trust the bytes we have.
  const uint32_t wire = std::max(pkt.wirelen, pkt.caplen);
  decode_detail::IpInfo ip;
  if (decode_detail::decode_ip(pkt.bytes().subspan(l3_off), wire - static_cast<uint32_t>(l3_off),
                               im.cfg.verify_checksums, out, ip, w) != Step::Ok) {
    return malformed();
  }

  uint8_t proto = ip.proto;
  std::span<const uint8_t> seg = ip.l3.subspan(ip.hdr_len);
  uint32_t seg_len = ip.total_len - ip.hdr_len;

  if (ip.fragment) {
    ++st.fragments;
    if (!ip.complete) {
      // Zeek does not try to reassemble what the snaplen cut; the first fragment alone still shows the
      // transport header (useful in header-only traces), the others carry nothing we can use.
      w.report("incompletely_captured_fragment");
      if (ip.frag_off != 0) {
        ++im.uncaptured_fragments;
        im.sync_frag_stats();
        return malformed();
      }
    } else {
      decode_detail::FragmentIn f;
      f.version = out.ip_version;
      f.src = out.src;
      f.dst = out.dst;
      f.id = ip.frag_id;
      f.proto = ip.proto;
      f.ttl = out.ttl;
      f.offset = ip.frag_off;
      f.more = ip.more_frags;
      f.dont_frag = ip.dont_frag;
      f.unfrag_len = ip.unfrag_len;
      f.packet_len = ip.total_len;
      f.data = seg;
      decode_detail::Reassembled r;
      const auto res = im.defrag.add(f, pkt.ts_ns, w, r);
      im.sync_frag_stats();
      if (res == decode_detail::IpDefrag::Result::Held) return DecodeResult::Held;
      if (res == decode_detail::IpDefrag::Result::Dropped) return malformed();
      ++st.reassembled;
      out.from_fragments = true;
      out.ttl = r.ttl;
      out.ip_len = r.unfrag_len + static_cast<uint32_t>(r.payload.size());
      proto = r.proto;
      seg = r.payload;
      seg_len = static_cast<uint32_t>(r.payload.size());
      if (out.ip_version == 6) {
        // Extension headers may follow the fragment header (destination options, RFC 8200 4.1).
        size_t off = 0, frag_at = decode_detail::kNoFragHeader;
        if (decode_detail::walk_ipv6_ext(seg, seg_len, proto, off, frag_at, out, w) != Step::Ok) return malformed();
        seg = seg.subspan(off);
        seg_len -= static_cast<uint32_t>(off);
      }
    }
  }

  if (decode_detail::decode_transport(proto, seg, seg_len, im.cfg.verify_checksums, out, w) != Step::Ok) {
    return malformed();
  }
  return DecodeResult::Ok;
}

}  // namespace ots
