// Capture files written byte by byte for the packet source tests: classic pcap and pcapng, in either byte
// order, with the blocks and options our readers and libpcap's must agree on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include <catch2/catch.hpp>

#include "capture/packet_source.hpp"
#include "tests/packet_builder.hpp"

namespace ots::test {

// Fields in a chosen byte order.
struct FileBytes {
  bool big_endian = false;
  Bytes bytes;

  void u16(uint16_t v) {
    if (big_endian) {
      put16(bytes, v);
    } else {
      bytes.push_back(static_cast<uint8_t>(v));
      bytes.push_back(static_cast<uint8_t>(v >> 8));
    }
  }
  void u32(uint32_t v) {
    if (big_endian) {
      put32(bytes, v);
    } else {
      for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  void u64(uint64_t v) {
    if (big_endian) {
      u32(static_cast<uint32_t>(v >> 32));
      u32(static_cast<uint32_t>(v));
    } else {
      u32(static_cast<uint32_t>(v));
      u32(static_cast<uint32_t>(v >> 32));
    }
  }
};

// Classic pcap files (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html) in either byte
// order, with microsecond or nanosecond timestamps.
struct PcapFile : FileBytes {
  bool nano = false;
  uint32_t linktype = 1;

  PcapFile(bool be, bool ns, uint32_t lt, uint32_t snaplen = 262144) : nano(ns), linktype(lt) {
    big_endian = be;
    u32(ns ? 0xa1b23c4d : 0xa1b2c3d4);
    u16(2);
    u16(4);
    u32(0);
    u32(0);
    u32(snaplen);
    u32(linktype);
  }
  // `stored` overrides the captured length field (a damaged record); the data is written as given.
  void record(uint32_t sec, uint32_t frac, const Bytes& data, uint32_t wirelen = 0, uint32_t stored = 0) {
    u32(sec);
    u32(frac);
    u32(stored ? stored : static_cast<uint32_t>(data.size()));
    u32(wirelen ? wirelen : static_cast<uint32_t>(data.size()));
    append(bytes, data);
  }
};

// pcapng blocks (draft-ietf-opsawg-pcapng), either byte order.
struct PcapngFile : FileBytes {
  explicit PcapngFile(bool be = false) {
    big_endian = be;
    section();
  }
  // A section header block; the file starts with one.
  void section() {
    bytes.push_back(0x0a);  // the block type reads the same in both orders
    bytes.push_back(0x0d);
    bytes.push_back(0x0d);
    bytes.push_back(0x0a);
    u32(28);
    u32(0x1a2b3c4d);
    u16(1);
    u16(0);
    u32(0xffffffff);
    u32(0xffffffff);  // section length unknown
    u32(28);
  }
  // An interface description block; `tsresol` is the if_tsresol byte (none when negative), `tsoffset`
  // the if_tsoffset seconds (none when 0).
  void interface(uint16_t linktype, uint32_t snaplen = 262144, int tsresol = -1, int64_t tsoffset = 0) {
    const uint32_t len = 20 + (tsresol >= 0 ? 8 : 0) + (tsoffset ? 12 : 0) + 4;
    u32(1);
    u32(len);
    u16(linktype);
    u16(0);
    u32(snaplen);
    if (tsresol >= 0) {
      u16(9);
      u16(1);
      bytes.push_back(static_cast<uint8_t>(tsresol));
      bytes.insert(bytes.end(), 3, 0);
    }
    if (tsoffset) {
      u16(14);
      u16(8);
      u64(static_cast<uint64_t>(tsoffset));
    }
    u32(0);  // opt_endofopt
    u32(len);
  }
  // An enhanced packet block; `stored` overrides its captured length field.
  void packet(uint32_t iface, uint64_t ts, const Bytes& data, uint32_t wirelen = 0, uint32_t stored = 0) {
    const uint32_t padded = static_cast<uint32_t>((data.size() + 3) / 4 * 4);
    u32(6);
    u32(32 + padded);
    u32(iface);
    u32(static_cast<uint32_t>(ts >> 32));
    u32(static_cast<uint32_t>(ts));
    u32(stored ? stored : static_cast<uint32_t>(data.size()));
    u32(wirelen ? wirelen : static_cast<uint32_t>(data.size()));
    append(bytes, data);
    bytes.resize(bytes.size() + (padded - data.size()), 0);
    u32(32 + padded);
  }
  // A simple packet block: no interface, no timestamp; it holds the packet's first snapshot-length bytes
  // (`data`) of its `wirelen`.
  void simple(const Bytes& data, uint32_t wirelen = 0) {
    const uint32_t padded = static_cast<uint32_t>((data.size() + 3) / 4 * 4);
    u32(3);
    u32(16 + padded);
    u32(wirelen ? wirelen : static_cast<uint32_t>(data.size()));
    append(bytes, data);
    bytes.resize(bytes.size() + (padded - data.size()), 0);
    u32(16 + padded);
  }
  // The obsolete packet block of pcapng's first drafts (type 2): 16-bit interface, drop count.
  void old_packet(uint16_t iface, uint64_t ts, const Bytes& data) {
    const uint32_t padded = static_cast<uint32_t>((data.size() + 3) / 4 * 4);
    u32(2);
    u32(32 + padded);
    u16(iface);
    u16(0);
    u32(static_cast<uint32_t>(ts >> 32));
    u32(static_cast<uint32_t>(ts));
    u32(static_cast<uint32_t>(data.size()));
    u32(static_cast<uint32_t>(data.size()));
    append(bytes, data);
    bytes.resize(bytes.size() + (padded - data.size()), 0);
    u32(32 + padded);
  }
  // A block of a type with no packet, of `words` words; `trailer` other than 0 is a wrong trailing length.
  void other(uint32_t type, uint32_t words, uint32_t trailer = 0) {
    u32(type);
    u32(12 + 4 * words);
    for (uint32_t i = 0; i < words; ++i) u32(i);
    u32(trailer ? trailer : 12 + 4 * words);
  }
};

inline void write_file(const std::filesystem::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// A distinct little frame per index, so that views can be checked against what was written.
inline Bytes frame(uint32_t i) {
  V4Spec ip;
  ip.proto = 17;
  ip.id = static_cast<uint16_t>(i);
  return eth(0x0800, ipv4(ip, udp(static_cast<uint16_t>(1000 + i), 502, Bytes(i % 50, static_cast<uint8_t>(i)),
                                  pseudo(ip.src, ip.dst))));
}

// Every packet of a source, to its end (which must be End, not Error); copies of their bytes in `copies`.
inline std::vector<PacketView> read_all(PacketSource& src, std::vector<Bytes>* copies = nullptr) {
  std::vector<PacketView> all;
  PacketBurst burst;
  for (;;) {
    const SourceStatus st = src.next_burst(burst);
    if (st != SourceStatus::Ok) {
      REQUIRE(st == SourceStatus::End);
      REQUIRE(burst.count == 0);
      break;
    }
    REQUIRE(burst.count > 0);
    for (size_t i = 0; i < burst.count; ++i) {
      all.push_back(burst.pkts[i]);
      if (copies) copies->emplace_back(burst.pkts[i].data, burst.pkts[i].data + burst.pkts[i].caplen);
    }
  }
  return all;
}

}  // namespace ots::test
