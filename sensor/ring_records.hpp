// What the dispatcher's decoding hands a worker through its PacketRing. With a worker on a thread of
// its own, the reading thread decodes (link, IP with fragment reassembly, transport) and the worker
// starts at the flow table, as Suricata's capture threads decode for its flow workers: the worker's
// share of a packet is the larger one, so moving the decoding next to the reading balances the two
// cores. One Decoder per worker on the dispatcher's side keeps fragment state and decoder counters
// exactly where the worker's own decoder had them.
#pragma once

#include <cstdint>

#include "capture/decode.hpp"
#include "capture/weird.hpp"
#include "sensor/packet_ring.hpp"

namespace ots {

// A decoded packet: the DecodedPacket, then its MAC addresses and captured payload (the only packet bytes
// the layers above read), copied so that the record stands alone (a rebuilt datagram's payload lives
// in the decoder's buffer only until its next packet).
void push_decoded(PacketRing& ring, const DecodedPacket& p, uint32_t caplen);
// The packet, in place in the record (valid until the ring's release()); its pointers point into it.
const DecodedPacket& read_decoded(const PacketRing::Record& r);

// A packet with nothing to track: the worker only counts it.
void push_counted(PacketRing& ring, uint64_t ts_ns, uint32_t caplen);

// A weird, with its addl text. Its name and source are passed by pointer: the decoder's are string
// literals, which outlive the record.
void push_weird(PacketRing& ring, const WeirdEvent& ev);
WeirdEvent read_weird(const PacketRing::Record& r);

void push_decode_stats(PacketRing& ring, const Decoder::Stats& s);
Decoder::Stats read_decode_stats(const PacketRing::Record& r);

// The decoder's weirds, into the ring of the worker whose packets it decodes.
class RingWeirds final : public WeirdSink {
 public:
  explicit RingWeirds(PacketRing& ring) : ring_(ring) {}
  void weird(const WeirdEvent& ev) override { push_weird(ring_, ev); }

 private:
  PacketRing& ring_;
};

}  // namespace ots
