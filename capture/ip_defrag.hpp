// IPv4 (RFC 791 3.2) and IPv6 (RFC 8200 4.5) fragment reassembly for one worker's decoder.
//
// Memory is bounded: DecodeConfig.frag_max_bytes over all datagrams and frag_max_datagrams at once; when
// full the oldest datagram is evicted (weird "fragment_table_full"). Incomplete datagrams expire
// frag_timeout_ns after their first fragment (weird "fragment_reassembly_timeout"). Overlaps keep the
// bytes that arrived first, as Zeek's reassembler does (src/Frag.cc, src/Reassem.cc), and are reported
// with Zeek's names: "fragment_overlap" when the bytes agree, "fragment_inconsistency" when they differ.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "capture/decode.hpp"
#include "capture/decode_stages.hpp"

namespace ots::decode_detail {

// One fragment, as decode_ip found it. The caller makes sure the capture holds all of it.
struct FragmentIn {
  uint8_t version = 4;
  IpAddr src, dst;
  uint32_t id = 0;
  uint8_t proto = 0;             // IPv4: header protocol; IPv6: the fragment header's next header
  uint8_t ttl = 0;
  uint32_t offset = 0;           // bytes into the fragmentable part
  bool more = false;             // MF / M flag
  bool dont_frag = false;        // IPv4 DF
  uint32_t unfrag_len = 0;       // IPv4 header length; IPv6 40 + extension headers before the fragment header
  uint32_t packet_len = 0;       // this fragment's IP total length
  std::span<const uint8_t> data;  // the fragmentable bytes it carries
};

// A rebuilt datagram. `payload` is the fragmentable part (IPv4: the transport header on; IPv6: what
// follows the fragment header, possibly more extension headers), in the defragmenter's buffer, valid
// until the next add().
struct Reassembled {
  uint8_t proto = 0;
  uint8_t ttl = 0;
  uint32_t unfrag_len = 0;
  std::span<const uint8_t> payload;
};

class IpDefrag {
 public:
  enum class Result : uint8_t { Held, Complete, Dropped };

  explicit IpDefrag(const DecodeConfig& cfg);
  ~IpDefrag();
  IpDefrag(const IpDefrag&) = delete;
  IpDefrag& operator=(const IpDefrag&) = delete;

  Result add(const FragmentIn& f, uint64_t ts_ns, const Weirds& w, Reassembled& out);

  // Drops datagrams whose first fragment is older than the timeout, with a weird each.
  void expire(uint64_t now_ns, WeirdSink& sink);

  size_t datagrams() const { return table_.size(); }
  size_t bytes_held() const { return bytes_; }
  // Fragments that never became part of a reassembled datagram (expired, evicted, invalid).
  uint64_t fragments_dropped() const { return dropped_; }

 private:
  struct Key {
    IpAddr src, dst;
    uint32_t id = 0;
    uint8_t version = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Block {
    uint32_t start = 0, end = 0;
    std::vector<uint8_t> bytes;
  };
  struct Datagram;
  using AgeList = std::list<Datagram*>;

  struct Datagram {
    Key key;
    uint64_t first_ts_ns = 0;
    uint8_t proto = 0;            // from the offset-0 fragment once seen (RFC 8200 4.5), else the first one
    uint8_t first_proto = 0;      // of the first fragment seen, for Zeek's consistency check
    uint8_t ttl = 0;
    uint32_t unfrag_len = 0;
    uint32_t first_unfrag_len = 0;
    uint32_t frag_size = 0;       // length of the fragmentable part once a last fragment was seen; 0 unknown
    uint32_t fragments = 0;
    size_t bytes = 0;             // accounted memory
    std::vector<Block> blocks;    // sorted, non-overlapping
    AgeList::iterator age;
  };

  void drop(Datagram* d);
  bool make_room(size_t need, const Datagram* keep, uint64_t ts_ns, WeirdSink* sink);
  bool complete(Datagram& d, const Weirds& w, Reassembled& out);

  DecodeConfig cfg_;
  std::unordered_map<Key, std::unique_ptr<Datagram>, KeyHash> table_;
  AgeList age_;                    // oldest first
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
  std::vector<uint8_t> out_buf_;   // the last reassembled datagram
};

}  // namespace ots::decode_detail
