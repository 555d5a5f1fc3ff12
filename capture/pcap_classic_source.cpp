// Our reader of classic pcap files (pcap 2.4, draft-ietf-opsawg-pcap): records parsed in place.
//
// It does with such a file what libpcap's reader does, record for record (a test holds it to libpcap on
// every shared capture): a record whose captured length exceeds the file's snapshot length but not
// libpcap's 262144-byte maximum is cut to the snapshot length (libpcap "salvages" it: Solaris 2.3 wrote
// such files), one over the maximum ends the file as damaged, and a record cut short by the end of the
// file ends it as truncated. One difference: timestamps' seconds are unsigned, as the format defines them
// (libpcap reads them signed, and times after January 2038 became 0).
#include <string>

#include "capture/buffered_file_source.hpp"
#include "capture/pcap_file_sources.hpp"
#include "capture/pcap_file_fields.hpp"

namespace ots {

namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr size_t kRecordHeader = 16;
static_assert(kRecordHeader + kLibpcapMaxSnaplen <= kFileSourceBuffer);

class ClassicFormat {
 public:
  explicit ClassicFormat(const ClassicPcapHeader& h)
      : swapped_(h.swapped), frac_scale_(h.nano ? 1 : 1000), snaplen_(h.snaplen) {}

  RecordParse parse(const uint8_t* rec, size_t avail, PacketView& v) {
    if (avail < kRecordHeader) return {RecordParse::Need, kRecordHeader};
    stored_ = load32(rec + 8, swapped_);
    // libpcap's limit: a damaged header, and nothing after it can be trusted.
    if (stored_ > kLibpcapMaxSnaplen) return {RecordParse::Damaged, 0};
    const size_t size = kRecordHeader + stored_;
    if (avail < size) return {RecordParse::Need, size};
    const uint64_t sec = load32(rec, swapped_);
    v.ts_ns = sec * 1'000'000'000ull + uint64_t{load32(rec + 4, swapped_)} * frac_scale_;
    v.data = rec + kRecordHeader;
    v.caplen = stored_ > snaplen_ ? snaplen_ : stored_;  // libpcap keeps the snapshot length's worth
    v.wirelen = load32(rec + 12, swapped_);
    return {RecordParse::Packet, size};
  }

  bool mid_record() const { return false; }  // a record is parsed whole or not at all

  std::string problem() const {
    return "captured length " + std::to_string(stored_) + " over the maximum of " +
           std::to_string(kLibpcapMaxSnaplen);
  }

 private:
  bool swapped_;
  uint32_t frac_scale_;  // to nanoseconds
  uint32_t snaplen_;
  uint32_t stored_ = 0;  // the last record's captured length as the file says
};

}  // namespace

bool parse_classic_pcap_header(const uint8_t (&bytes)[24], ClassicPcapHeader& out) {
  uint32_t magic = load32(bytes, false);
  bool swapped = false;
  if (magic == __builtin_bswap32(kMagicMicro) || magic == __builtin_bswap32(kMagicNano)) {
    swapped = true;
    magic = __builtin_bswap32(magic);
  } else if (magic != kMagicMicro && magic != kMagicNano) {
    return false;
  }
  if (load16(bytes + 4, swapped) != 2 || load16(bytes + 6, swapped) != 4) return false;
  const uint32_t linktype = load32(bytes + 20, swapped);
  LinkType link;
  // The top six bits carry an FCS length and reserved flags (draft section 4): libpcap's business.
  if ((linktype & 0xfc000000u) || !link_from_linktype(linktype, link)) return false;
  out.swapped = swapped;
  out.nano = magic == kMagicNano;
  out.snaplen = libpcap_snaplen(load32(bytes + 16, swapped));
  out.link = link;
  return true;
}

std::unique_ptr<PacketSource> open_classic_pcap(int fd, const ClassicPcapHeader& header, std::string path,
                                                uint16_t ingress) {
  return std::make_unique<BufferedFileSource<ClassicFormat>>(fd, ClassicFormat(header), std::move(path), ingress,
                                                             header.link);
}

}  // namespace ots
