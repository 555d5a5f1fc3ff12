// Our reader of pcapng files (draft-ietf-opsawg-pcapng): blocks parsed in place.
//
// It reads what libpcap 1.10 reads and refuses what it refuses (a test holds the two to the same packets
// on every shared capture), so that a file gives the same logs whichever reads it:
// - enhanced (6), simple (3) and obsolete (2) packet blocks; other blocks skipped;
// - every interface of the file must have the first one's link type and snapshot length, which no
//   packet's captured length may pass; a packet's interface must have been described;
// - per interface, timestamps in its if_tsresol units (decimal or binary) plus its if_tsoffset seconds;
// - a new section (SHB) must keep the byte order and describes its interfaces again;
// - a block may be at most 16 MiB, and its trailing length must repeat its length.
// Three differences. Two where libpcap is wrong: interfaces compare their link types as the file writes
// them (libpcap compares its DLT_RAW, 12, with a second raw interface's 101 and gives up), and binary
// fractions scale in 128 bits (libpcap overflows past 2^-34). One of ours: a packet, interface or
// section block must fit our 1 MiB buffer (more than 760 KiB of options); larger blocks of other types
// are read past.
// The first interface block is found by open_pcapng() (probe_pcapng): files whose start is anything
// else go to libpcap.
#include <algorithm>
#include <string>
#include <vector>

#include "capture/buffered_file_source.hpp"
#include "capture/pcap_file_fields.hpp"
#include "capture/pcap_file_sources.hpp"

namespace ots {

namespace {

constexpr uint32_t kShb = 0x0a0d0d0a;
constexpr uint32_t kIdb = 1;
constexpr uint32_t kObsoletePacket = 2;
constexpr uint32_t kSimplePacket = 3;
constexpr uint32_t kEnhancedPacket = 6;
constexpr uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr size_t kBlockOverhead = 12;  // type, length, trailing length
// The largest block libpcap 1.10 reads, of any type (measured: 16 MiB reads, 16 MiB + 4 is refused).
constexpr uint32_t kMaxBlock = uint32_t{16} << 20;
// The largest packet block there can be with a snapshot of at most 262144 bytes and 128 KiB of options
// (libpcap's MAX_BLOCKSIZE_FOR_SNAPLEN) fits the buffer with room to spare.
static_assert(8 + 20 + kLibpcapMaxSnaplen + 131072 + 4 <= kFileSourceBuffer);
constexpr uint64_t kNs = 1'000'000'000;
__extension__ using Wide = unsigned __int128;  // a binary fraction times 10^9 needs up to 93 bits

// An interface's clock: what a timestamp unit is, and what to add.
struct IfaceClock {
  uint64_t units = 1'000'000;  // per second
  bool binary = false;         // units a power of two
  int64_t offset_s = 0;
};

// The fields of an interface description block, options checked as libpcap checks them.
struct IfaceBlock {
  uint32_t linktype = 0;
  uint32_t snaplen = 0;
  IfaceClock clock;
};

// Parses an IDB's body; the reason in `why` when libpcap would refuse it.
bool parse_idb(const uint8_t* body, size_t len, bool swapped, IfaceBlock& out, std::string& why) {
  if (len < 8) {
    why = "interface block of " + std::to_string(len) + " bytes";
    return false;
  }
  out.linktype = load16(body, swapped);
  out.snaplen = load32(body + 4, swapped);
  bool saw_resolution = false;
  bool saw_offset = false;
  for (size_t at = 8; at < len;) {
    if (len - at < 4) {
      why = "interface block option cut";
      return false;
    }
    const uint16_t code = load16(body + at, swapped);
    const uint16_t olen = load16(body + at + 2, swapped);
    const size_t padded = (size_t{olen} + 3) & ~size_t{3};
    if (len - at - 4 < padded) {
      why = "interface block option " + std::to_string(code) + " overruns its block";
      return false;
    }
    const uint8_t* value = body + at + 4;
    if (code == 0) {  // opt_endofopt: libpcap reads no further
      if (olen != 0) {
        why = "opt_endofopt of length " + std::to_string(olen);
        return false;
      }
      break;
    }
    if (code == 9) {  // if_tsresol
      if (olen != 1 || saw_resolution) {
        why = "if_tsresol repeated or not one byte";
        return false;
      }
      saw_resolution = true;
      const unsigned exp = value[0] & 0x7fu;
      out.clock.binary = value[0] & 0x80u;
      if (exp > (out.clock.binary ? 63u : 19u)) {
        why = "if_tsresol resolution too high";
        return false;
      }
      uint64_t units = 1;
      for (unsigned i = 0; i < exp; ++i) units *= out.clock.binary ? 2 : 10;
      out.clock.units = units;
    } else if (code == 14) {  // if_tsoffset
      if (olen != 8 || saw_offset) {
        why = "if_tsoffset repeated or not eight bytes";
        return false;
      }
      saw_offset = true;
      out.clock.offset_s = static_cast<int64_t>(load64(value, swapped));
    }
    at += 4 + padded;
  }
  return true;
}

// Nanoseconds since the epoch of a timestamp in an interface's units, as libpcap converts it asked for
// nanoseconds; before the epoch is 0, as for every source.
uint64_t to_ns(uint64_t t, const IfaceClock& c) {
  const int64_t sec = static_cast<int64_t>(t / c.units + static_cast<uint64_t>(c.offset_s));
  uint64_t frac = t % c.units;
  if (c.binary) {
    frac = static_cast<uint64_t>(static_cast<Wide>(frac) * kNs / c.units);
  } else if (c.units < kNs) {
    frac *= kNs / c.units;
  } else {
    frac /= c.units / kNs;
  }
  return sec < 0 ? 0 : static_cast<uint64_t>(sec) * kNs + frac;
}

class PcapngFormat {
 public:
  PcapngFormat(bool swapped, const IfaceBlock& first)
      : swapped_(swapped), linktype_(first.linktype), snaplen_(libpcap_snaplen(first.snaplen)) {
    clocks_.push_back(first.clock);
  }

  RecordParse parse(const uint8_t* b, size_t avail, PacketView& v) {
    if (pending_trailer_) return trailer_of_skipped(b, avail);
    if (avail < 8) return {RecordParse::Need, 8};
    const uint32_t type = load32(b, swapped_);
    const uint32_t len = load32(b + 4, swapped_);
    if (len < kBlockOverhead || len % 4 || len > kMaxBlock) {
      problem_ = "block of type " + std::to_string(type) + " with length " + std::to_string(len);
      return {RecordParse::Damaged, 0};
    }
    if (avail < len) {
      if (len <= kFileSourceBuffer) return {RecordParse::Need, len};
      if (type == kEnhancedPacket || type == kSimplePacket || type == kObsoletePacket || type == kIdb ||
          type == kShb) {
        problem_ = "block of type " + std::to_string(type) + " with length " + std::to_string(len) + ", over our " +
                   std::to_string(kFileSourceBuffer) + "-byte buffer";
        return {RecordParse::Damaged, 0};
      }
      // Statistics, names, secrets or custom data too large to hold: read past, but for its trailer.
      pending_trailer_ = len;
      return {RecordParse::Skip, len - 4};
    }
    const uint32_t trailer = load32(b + len - 4, swapped_);
    if (trailer != len) return mismatched(type, len, trailer);
    const uint8_t* body = b + 8;
    const size_t body_len = len - kBlockOverhead;
    uint32_t iface = 0;
    uint64_t t = 0;
    uint32_t caplen = 0;
    uint32_t wirelen = 0;
    size_t fixed = 0;  // bytes before the packet data
    switch (type) {
      case kEnhancedPacket:
      case kObsoletePacket:
        fixed = 20;
        if (body_len < fixed) return too_short(type);
        iface = type == kEnhancedPacket ? load32(body, swapped_) : load16(body, swapped_);
        t = uint64_t{load32(body + 4, swapped_)} << 32 | load32(body + 8, swapped_);
        caplen = load32(body + 12, swapped_);
        wirelen = load32(body + 16, swapped_);
        break;
      case kSimplePacket:  // no interface (the first), no timestamp, no captured length of its own:
        fixed = 4;         // the packet's first snapshot-length bytes
        if (body_len < fixed) return too_short(type);
        wirelen = load32(body, swapped_);
        caplen = std::min(wirelen, snaplen_);
        break;
      case kIdb:
        return add_interface(body, body_len) ? RecordParse{RecordParse::Skip, len} : RecordParse{RecordParse::Damaged, 0};
      case kShb:
        return new_section(body, body_len) ? RecordParse{RecordParse::Skip, len} : RecordParse{RecordParse::Damaged, 0};
      default:  // statistics, name resolution, decryption secrets, custom blocks: nothing we read
        return {RecordParse::Skip, len};
    }
    if (iface >= clocks_.size()) {
      problem_ = "a packet on interface " + std::to_string(iface) + ", which no interface block describes";
      return {RecordParse::Damaged, 0};
    }
    if (caplen > snaplen_) {  // libpcap cuts such records of classic pcap, but not of pcapng
      problem_ = "captured length " + std::to_string(caplen) + " over the snapshot length " + std::to_string(snaplen_);
      return {RecordParse::Damaged, 0};
    }
    if (caplen > body_len - fixed) return too_short(type);
    v.ts_ns = to_ns(t, clocks_[iface]);
    v.data = body + fixed;
    v.caplen = caplen;
    v.wirelen = wirelen;
    return {RecordParse::Packet, len};
  }

  std::string problem() const { return problem_; }
  // A block too large for the buffer was read past, and its trailing length is still to come.
  bool mid_record() const { return pending_trailer_ != 0; }

 private:
  // After a block too large to hold was read past: its trailing length.
  RecordParse trailer_of_skipped(const uint8_t* b, size_t avail) {
    if (avail < 4) return {RecordParse::Need, 4};
    const uint32_t len = pending_trailer_;
    pending_trailer_ = 0;
    const uint32_t trailer = load32(b, swapped_);
    return trailer == len ? RecordParse{RecordParse::Skip, 4} : mismatched(0, len, trailer);
  }

  RecordParse mismatched(uint32_t type, uint32_t len, uint32_t trailer) {
    problem_ = "block" + (type ? " of type " + std::to_string(type) : std::string()) + " with length " +
               std::to_string(len) + " but trailing length " + std::to_string(trailer);
    return {RecordParse::Damaged, 0};
  }

  RecordParse too_short(uint32_t type) {
    problem_ = "block of type " + std::to_string(type) + " too short for its fields";
    return {RecordParse::Damaged, 0};
  }

  bool add_interface(const uint8_t* body, size_t len) {
    IfaceBlock idb;
    if (!parse_idb(body, len, swapped_, idb, problem_)) return false;
    if (idb.linktype != linktype_) {
      problem_ = "an interface of link type " + std::to_string(idb.linktype) + ", the first's is " +
                 std::to_string(linktype_);
      return false;
    }
    if (libpcap_snaplen(idb.snaplen) != snaplen_) {
      problem_ = "an interface with snapshot length " + std::to_string(idb.snaplen) + ", the first's is " +
                 std::to_string(snaplen_);
      return false;
    }
    clocks_.push_back(idb.clock);
    return true;
  }

  bool new_section(const uint8_t* body, size_t len) {
    if (len < 16) {
      problem_ = "section header of " + std::to_string(len) + " bytes";
      return false;
    }
    const uint32_t magic = load32(body, swapped_);
    if (magic != kByteOrderMagic) {
      problem_ = magic == __builtin_bswap32(kByteOrderMagic) ? "a section in the other byte order"
                                                              : "a section header with a bad byte-order magic";
      return false;
    }
    if (load16(body + 4, swapped_) != 1) {
      problem_ = "a section of pcapng major version " + std::to_string(load16(body + 4, swapped_));
      return false;
    }
    clocks_.clear();  // each section describes its interfaces anew
    return true;
  }

  bool swapped_;
  uint32_t linktype_;
  uint32_t snaplen_;
  std::vector<IfaceClock> clocks_;  // per interface of the section, in order
  uint32_t pending_trailer_ = 0;    // the length a skipped block's trailer must repeat
  std::string problem_;
};

}  // namespace

bool probe_pcapng(const uint8_t* bytes, size_t size, PcapngStart& out) {
  if (size < 28 || load32(bytes, false) != kShb) return false;
  const uint32_t magic = load32(bytes + 8, false);
  bool swapped = false;
  if (magic == __builtin_bswap32(kByteOrderMagic)) {
    swapped = true;
  } else if (magic != kByteOrderMagic) {
    return false;
  }
  // Version 1.0 only: libpcap decides about the rest.
  if (load16(bytes + 12, swapped) != 1 || load16(bytes + 14, swapped) != 0) return false;
  size_t at = 0;
  for (;;) {
    if (size - at < 8) return false;
    const uint32_t type = load32(bytes + at, swapped);
    const uint32_t len = load32(bytes + at + 4, swapped);
    if (len < kBlockOverhead || len % 4 || len > size - at) return false;
    // libpcap refuses a section header under 28 bytes and a block whose trailing length differs.
    if ((at == 0 && len < 28) || load32(bytes + at + len - 4, swapped) != len) return false;
    if (type == kIdb) {
      IfaceBlock idb;
      std::string why;
      LinkType link;
      if (!parse_idb(bytes + at + 8, len - kBlockOverhead, swapped, idb, why) ||
          !link_from_linktype(idb.linktype, link)) {
        return false;
      }
      out.swapped = swapped;
      out.linktype = idb.linktype;
      out.snaplen = idb.snaplen;
      out.units = idb.clock.units;
      out.binary = idb.clock.binary;
      out.offset_s = idb.clock.offset_s;
      out.link = link;
      out.first_record = at + len;
      return true;
    }
    // A packet before any interface, or a second section before one: libpcap's refusals.
    if (at != 0 && (type == kShb || type == kEnhancedPacket || type == kSimplePacket || type == kObsoletePacket)) {
      return false;
    }
    at += len;
  }
}

std::unique_ptr<PacketSource> open_pcapng(int fd, const PcapngStart& start, std::string path, uint16_t ingress) {
  IfaceBlock first;
  first.linktype = start.linktype;
  first.snaplen = start.snaplen;
  first.clock = IfaceClock{start.units, start.binary, start.offset_s};
  return std::make_unique<BufferedFileSource<PcapngFormat>>(fd, PcapngFormat(start.swapped, first), std::move(path),
                                                            ingress, start.link);
}

}  // namespace ots
