// Link, network and transport decoding of one packet into a flat, zero-copy description.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "capture/net_types.hpp"
#include "capture/packet.hpp"
#include "capture/weird.hpp"

namespace ots {

namespace tcp_flag {
constexpr uint8_t FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10, URG = 0x20, ECE = 0x40, CWR = 0x80;
}

struct DecodedPacket {
  uint64_t ts_ns = 0;
  uint32_t wirelen = 0;
  uint16_t ingress = 0;

  // Layer 2 (absent for raw-IP and loopback link types).
  const uint8_t* src_mac = nullptr;  // 6 bytes when set
  const uint8_t* dst_mac = nullptr;
  uint16_t vlan = 0;                 // outer 802.1Q/802.1ad id, 0 when untagged
  uint16_t inner_vlan = 0;           // QinQ inner id, 0 when absent

  // Layer 3.
  uint8_t ip_version = 0;            // 4 or 6
  IpAddr src;
  IpAddr dst;
  uint32_t ip_len = 0;               // IP header + payload as the IP header(s) say (Zeek's *_ip_bytes)
  uint8_t ttl = 0;
  bool from_fragments = false;       // a datagram rebuilt from IP fragments

  // Layer 4. For ICMP, sport = type and dport = code, as Zeek maps ICMP into conn_id; for request/reply
  // types dport is the counterpart type instead (echo 8 -> 0, ICMPv6 128 -> 129: Zeek's ICMP4_counterpart).
  Transport l4 = Transport::Unknown;
  uint8_t ip_proto = 0;              // the raw protocol number, also for transports we do not decode
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t tcp_flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 0;
  bool bad_checksum = false;         // only set when checksum validation is enabled

  // The transport payload present in the capture, and its length as the headers say. They differ when
  // the snaplen cut the packet: the difference is content we never saw (missed bytes).
  std::span<const uint8_t> payload;
  uint32_t payload_len = 0;

  // Not the decoder's: the flow table's hash of the packet's connection, when a stage that decodes
  // ahead of the worker computed it on its own core (FlowTable::hash_of); the table computes it otherwise.
  bool has_flow_hash = false;
  uint32_t flow_hash = 0;
};

enum class DecodeResult {
  Ok,           // `out` describes an IP packet (l4 may be Unknown for other IP protocols)
  NotIp,        // ARP, LLDP, STP...: counted, not tracked
  Held,         // an IP fragment kept for reassembly; nothing to process yet
  Malformed,    // a weird was reported; the packet is dropped
};

struct DecodeConfig {
  uint32_t frag_max_bytes = 16u << 20;     // memory for fragments waiting to be reassembled, all datagrams
  uint32_t frag_max_datagrams = 4096;      // datagrams under reassembly at once
  uint64_t frag_timeout_ns = 60'000'000'000ull;  // Zeek's frag_timeout is unset (never); Linux uses 30 s
  bool verify_checksums = false;           // a SPAN copy often has offloaded (wrong) checksums: off by default
};

// Per-worker decoder. Holds the IP reassembly state; not thread-safe, one per worker.
class Decoder {
 public:
  explicit Decoder(const DecodeConfig& cfg = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes `pkt` into `out`. A reassembled datagram's payload points into the decoder's own buffer,
  // valid until the next decode() call. Weirds go to `weirds`.
  DecodeResult decode(const PacketView& pkt, DecodedPacket& out, WeirdSink& weirds);

  // Drops fragment sets older than the timeout (reporting them), as packet time advances.
  void expire(uint64_t now_ns, WeirdSink& weirds);

  struct Stats {
    uint64_t packets = 0, non_ip = 0, malformed = 0, fragments = 0, reassembled = 0, frag_dropped = 0;
  };
  const Stats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A symmetric hash of the flow a packet belongs to: the same for both directions. Used to dispatch
// packets to workers (and by software RSS on DPDK ports without symmetric hashing).
uint64_t symmetric_flow_hash(const DecodedPacket& p);

// Cheap variant for the dispatcher, which must not keep decoder state: parses L2/L3/L4 headers of a
// raw packet just far enough for the 5-tuple. Fragments hash on addresses only so that all fragments of
// a datagram meet on one worker.
uint64_t symmetric_flow_hash(const PacketView& pkt);

// What the dispatcher uses: a symmetric hash of the two IP addresses alone. Every packet between two
// hosts meets on one worker: a datagram's fragments with its unfragmented packets, and all connections
// of a host pair, so per-host-pair state (notice suppression, a PLC's sessions) needs no sharing. The
// cost is balance when one host pair carries most of the traffic; software RSS on DPDK uses the same.
uint64_t symmetric_host_pair_hash(const PacketView& pkt);

}  // namespace ots
