// Hand-built packets for the capture tests: Ethernet/VLAN, IPv4/IPv6, TCP/UDP/ICMP with correct lengths
// and checksums (computed here independently of the decoder), plus a weird collector.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "capture/decode.hpp"
#include "capture/packet.hpp"
#include "capture/weird.hpp"

namespace ots::test {

using Bytes = std::vector<uint8_t>;

inline void put8(Bytes& b, uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline uint16_t inet_checksum(const Bytes& data, uint32_t sum = 0) {
  for (size_t i = 0; i < data.size(); i += 2) {
    uint32_t w = uint32_t{data[i]} << 8;
    if (i + 1 < data.size()) w |= data[i + 1];
    sum += w;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

using V4Addr = std::array<uint8_t, 4>;
using V6Addr = std::array<uint8_t, 16>;

inline V6Addr v6addr(uint16_t first, uint16_t last) {
  V6Addr a{};
  a[0] = static_cast<uint8_t>(first >> 8);
  a[1] = static_cast<uint8_t>(first);
  a[14] = static_cast<uint8_t>(last >> 8);
  a[15] = static_cast<uint8_t>(last);
  return a;
}

// Addresses for the pseudo header of a transport checksum.
struct Pseudo {
  Bytes src, dst;
  bool v6 = false;
};
inline Pseudo pseudo(const V4Addr& s, const V4Addr& d) {
  return {Bytes(s.begin(), s.end()), Bytes(d.begin(), d.end()), false};
}
inline Pseudo pseudo(const V6Addr& s, const V6Addr& d) {
  return {Bytes(s.begin(), s.end()), Bytes(d.begin(), d.end()), true};
}

inline void set_checksum(Bytes& seg, size_t at, const Pseudo* ph, uint8_t proto) {
  seg[at] = seg[at + 1] = 0;
  Bytes all;
  if (ph) {
    append(all, ph->src);
    append(all, ph->dst);
    if (ph->v6) {
      put32(all, static_cast<uint32_t>(seg.size()));
      put32(all, proto);
    } else {
      put8(all, 0);
      put8(all, proto);
      put16(all, static_cast<uint16_t>(seg.size()));
    }
  }
  append(all, seg);
  const uint16_t c = inet_checksum(all);
  seg[at] = static_cast<uint8_t>(c >> 8);
  seg[at + 1] = static_cast<uint8_t>(c);
}

struct TcpSpec {
  uint16_t sport = 40000, dport = 502;
  uint32_t seq = 1000, ack = 2000;
  uint8_t flags = tcp_flag::PSH | tcp_flag::ACK;
  uint16_t window = 8192;
  Bytes options;  // padded to 4 bytes by the caller
};
inline Bytes tcp(const TcpSpec& t, const Bytes& payload, const Pseudo& ph) {
  Bytes s;
  put16(s, t.sport);
  put16(s, t.dport);
  put32(s, t.seq);
  put32(s, t.ack);
  put8(s, static_cast<uint8_t>(((20 + t.options.size()) / 4) << 4));
  put8(s, t.flags);
  put16(s, t.window);
  put16(s, 0);
  put16(s, 0);
  append(s, t.options);
  append(s, payload);
  set_checksum(s, 16, &ph, 6);
  return s;
}

inline Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload, const Pseudo& ph) {
  Bytes s;
  put16(s, sport);
  put16(s, dport);
  put16(s, static_cast<uint16_t>(8 + payload.size()));
  put16(s, 0);
  append(s, payload);
  set_checksum(s, 6, &ph, 17);
  return s;
}

// ICMP (no pseudo header) or ICMPv6 (with one).
inline Bytes icmp(uint8_t type, uint8_t code, const Bytes& rest, const Pseudo* ph6 = nullptr) {
  Bytes s{type, code, 0, 0, 0x12, 0x34, 0x00, 0x01};
  append(s, rest);
  set_checksum(s, 2, ph6, ph6 ? 58 : 1);
  return s;
}

struct V4Spec {
  V4Addr src{192, 168, 1, 10}, dst{192, 168, 1, 20};
  uint8_t proto = 6, ttl = 64, tos = 0;
  uint16_t id = 0x1234;
  bool df = false, mf = false;
  uint16_t frag_off = 0;  // bytes, multiple of 8
  Bytes options;          // multiple of 4
  int total_override = -1;
  int ihl_override = -1;
};
inline Bytes ipv4(const V4Spec& h, const Bytes& payload) {
  Bytes b;
  const size_t hl = 20 + h.options.size();
  put8(b, static_cast<uint8_t>(0x40 | (h.ihl_override >= 0 ? h.ihl_override : static_cast<int>(hl / 4))));
  put8(b, h.tos);
  put16(b, static_cast<uint16_t>(h.total_override >= 0 ? h.total_override : static_cast<int>(hl + payload.size())));
  put16(b, h.id);
  put16(b, static_cast<uint16_t>((h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) | (h.frag_off / 8)));
  put8(b, h.ttl);
  put8(b, h.proto);
  put16(b, 0);
  b.insert(b.end(), h.src.begin(), h.src.end());
  b.insert(b.end(), h.dst.begin(), h.dst.end());
  append(b, h.options);
  const uint16_t c = inet_checksum(b);
  b[10] = static_cast<uint8_t>(c >> 8);
  b[11] = static_cast<uint8_t>(c);
  append(b, payload);
  return b;
}

// `payload` starts with whatever `nh` names (extension headers included).
inline Bytes ipv6(const V6Addr& src, const V6Addr& dst, uint8_t nh, const Bytes& payload, uint8_t hlim = 64) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<uint16_t>(payload.size()));
  put8(b, nh);
  put8(b, hlim);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  append(b, payload);
  return b;
}

// An IPv6 extension header of the 8-octet-unit kind (hop-by-hop, destination options, routing): `body`
// follows the next-header and length bytes and is padded to a multiple of 8 with zeros (Pad1/PadN-ish).
inline Bytes ext_header(uint8_t next, Bytes body) {
  while ((body.size() + 2) % 8 != 0) body.push_back(0);
  Bytes h{next, static_cast<uint8_t>((body.size() + 2) / 8 - 1)};
  append(h, body);
  return h;
}
inline Bytes frag_header(uint8_t next, uint16_t offset_bytes, bool more, uint32_t id) {
  Bytes h{next, 0};
  put16(h, static_cast<uint16_t>((offset_bytes / 8) << 3 | (more ? 1 : 0)));
  put32(h, id);
  return h;
}

inline const std::array<uint8_t, 6> kMacA{0x00, 0x1b, 0x1b, 0x00, 0x00, 0x01};
inline const std::array<uint8_t, 6> kMacB{0x00, 0x0e, 0x8c, 0x00, 0x00, 0x02};

// Ethernet II; `tags` are (TPID, VLAN id) pairs outermost first.
inline Bytes eth(uint16_t type, const Bytes& payload, std::vector<std::pair<uint16_t, uint16_t>> tags = {}) {
  Bytes b(kMacB.begin(), kMacB.end());  // destination
  b.insert(b.end(), kMacA.begin(), kMacA.end());
  for (auto [tpid, id] : tags) {
    put16(b, tpid);
    put16(b, static_cast<uint16_t>(0x2000 | id));  // PCP 1 set: the id must be masked out
  }
  put16(b, type);
  append(b, payload);
  return b;
}

inline PacketView view(const Bytes& b, LinkType link = LinkType::Ethernet,
                       uint64_t ts_ns = 1'700'000'000'123'456'789ull, uint32_t wirelen = 0) {
  PacketView v;
  v.ts_ns = ts_ns;
  v.data = b.data();
  v.caplen = static_cast<uint32_t>(b.size());
  v.wirelen = wirelen ? wirelen : static_cast<uint32_t>(b.size());
  v.ingress = 3;
  v.link = link;
  return v;
}

struct CollectWeirds final : WeirdSink {
  struct Item {
    std::string name, addl;
    WeirdEvent ev;
  };
  std::vector<Item> items;
  void weird(const WeirdEvent& ev) override { items.push_back({std::string(ev.name), ev.addl, ev}); }
  bool has(const std::string& name) const {
    for (const auto& i : items) {
      if (i.name == name) return true;
    }
    return false;
  }
  std::string names() const {
    std::string s;
    for (const auto& i : items) s += (s.empty() ? "" : ",") + i.name;
    return s;
  }
  void clear() { items.clear(); }
};

inline std::string as_text(std::span<const uint8_t> s) { return std::string(s.begin(), s.end()); }

// An Ethernet frame with one IPv4 TCP segment from src:sport to dst:dport carrying `len` bytes of 'x'.
inline Bytes tcp_frame(V4Addr src, uint16_t sport, V4Addr dst, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                       size_t len) {
  TcpSpec t;
  t.sport = sport;
  t.dport = dport;
  t.seq = seq;
  t.ack = ack;
  t.flags = flags;
  V4Spec ip;
  ip.src = src;
  ip.dst = dst;
  return eth(0x0800, ipv4(ip, tcp(t, Bytes(len, 'x'), pseudo(src, dst))));
}

// One IPv4 TCP connection's frames in order, its sequence numbers kept: the handshake, the client's
// segments (each acknowledged by the server), the FINs. Each frame goes to `out` with its time in
// seconds (from `t`, a millisecond apart). A segment sent with `captured` false is left out of the
// capture while the server's ACK still covers it: a content gap.
struct TcpConversation {
  V4Addr client{10, 0, 0, 1}, server{10, 0, 0, 2};
  uint16_t sport = 40000, dport = 502;
  double t = 1;
  std::function<void(double, Bytes)> out;
  uint32_t cseq = 1000, sseq = 5000;

  void open() {
    put(true, tcp_flag::SYN, {});
    put(false, tcp_flag::SYN | tcp_flag::ACK, {});
    put(true, tcp_flag::ACK, {});
  }
  void send(const Bytes& payload, bool captured = true) {
    put(true, tcp_flag::PSH | tcp_flag::ACK, payload, captured);
    put(false, tcp_flag::ACK, {});
  }
  void close() {
    put(true, tcp_flag::FIN | tcp_flag::ACK, {});
    put(false, tcp_flag::FIN | tcp_flag::ACK, {});
    put(true, tcp_flag::ACK, {});
  }
  void put(bool from_client, uint8_t flags, const Bytes& payload, bool captured = true) {
    uint32_t& seq = from_client ? cseq : sseq;
    if (captured) {
      TcpSpec ts;
      ts.sport = from_client ? sport : dport;
      ts.dport = from_client ? dport : sport;
      ts.seq = seq;
      ts.ack = from_client ? sseq : cseq;
      ts.flags = flags;
      V4Spec ip;
      ip.src = from_client ? client : server;
      ip.dst = from_client ? server : client;
      out(t, eth(0x0800, ipv4(ip, tcp(ts, payload, pseudo(ip.src, ip.dst)))));
    }
    t += 0.001;
    seq += static_cast<uint32_t>(payload.size()) + ((flags & (tcp_flag::SYN | tcp_flag::FIN)) ? 1u : 0u);
  }
};

// A Modbus/TCP write multiple registers request (function 16, unit 1, from register 100) whose register
// bytes are `values` (an even number of them).
inline Bytes modbus_write_registers(uint16_t tid, const std::string& values) {
  Bytes adu;
  put16(adu, tid);
  put16(adu, 0);
  put16(adu, static_cast<uint16_t>(values.size() + 7));
  put8(adu, 1);
  put8(adu, 16);
  put16(adu, 100);
  put16(adu, static_cast<uint16_t>(values.size() / 2));
  put8(adu, static_cast<uint8_t>(values.size()));
  append(adu, text(values));
  return adu;
}

// A classic pcap file of Ethernet frames, (time in seconds, frame), with microsecond timestamps.
inline void write_pcap(const std::filesystem::path& path, const std::vector<std::pair<double, Bytes>>& frames) {
  Bytes f;
  const auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) f.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  const auto le16 = [&](uint16_t v) {
    f.push_back(static_cast<uint8_t>(v));
    f.push_back(static_cast<uint8_t>(v >> 8));
  };
  le32(0xa1b2c3d4);
  le16(2);
  le16(4);
  le32(0);
  le32(0);
  le32(65535);
  le32(1);
  for (const auto& [ts, frame] : frames) {
    le32(static_cast<uint32_t>(ts));
    le32(static_cast<uint32_t>((ts - static_cast<uint32_t>(ts)) * 1e6 + 0.5));
    le32(static_cast<uint32_t>(frame.size()));
    le32(static_cast<uint32_t>(frame.size()));
    append(f, frame);
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(f.data()), static_cast<std::streamsize>(f.size()));
}


}  // namespace ots::test
