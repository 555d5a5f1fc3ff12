// The readers behind open_pcap_file() (capture/packet_source.hpp), for it and for the tests that hold
// ours to libpcap's: our own readers of classic pcap and pcapng files, and libpcap for everything else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "capture/packet_source.hpp"

namespace ots {

// The fields of a classic pcap file header that decide whether our reader takes the file
// (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html, section 4).
struct ClassicPcapHeader {
  bool swapped = false;  // written in the other byte order than this host's
  bool nano = false;     // magic 0xa1b23c4d: nanosecond fractions
  uint32_t snaplen = 0;  // as libpcap uses it: 0 and absurd values become its maximum, 262144
  LinkType link = LinkType::Ethernet;
};

// Whether the 24 bytes at the start of a file are a pcap 2.4 header our reader takes: either byte
// order, micro- or nanosecond magic, a link type we decode, no FCS bits. Anything else (pcapng, the
// "modified" pcap of old Red Hat tcpdumps, versions before 2.4, link types we refuse) goes to libpcap,
// which reads it, or refuses it with its own words.
bool parse_classic_pcap_header(const uint8_t (&bytes)[24], ClassicPcapHeader& out);

// Our reader: takes `fd` (a regular file, positioned just after its header), reads its records with
// read(2) into a buffer of its own; views point into that buffer, no copy. libpcap reads each record
// with two stdio freads into its buffer, which the source then had to copy again to keep a burst's views
// valid: about 540 instructions a packet on the reading thread.
std::unique_ptr<PacketSource> open_classic_pcap(int fd, const ClassicPcapHeader& header, std::string path,
                                                uint16_t ingress);

// Where a pcapng file's packets start, and its first interface, found by probe_pcapng().
struct PcapngStart {
  bool swapped = false;     // the first section's byte order is not this host's
  uint32_t linktype = 0;    // as the file writes it
  uint32_t snaplen = 0;     // as the file writes it
  uint64_t units = 0;       // timestamp units a second (if_tsresol)
  bool binary = false;      // units are a power of two
  int64_t offset_s = 0;     // if_tsoffset
  LinkType link = LinkType::Ethernet;
  size_t first_record = 0;  // file offset just after the first interface block
};

// Whether the first `size` bytes of a file are a pcapng 1.0 section header and, after blocks with no
// packets, an interface block our reader takes (valid options, a link type we decode). Anything else goes
// to libpcap: it reads what it can, or refuses the file with its own words.
bool probe_pcapng(const uint8_t* bytes, size_t size, PcapngStart& out);

// Our pcapng reader (capture/pcapng_source.cpp): takes `fd`, positioned at start.first_record.
std::unique_ptr<PacketSource> open_pcapng(int fd, const PcapngStart& start, std::string path, uint16_t ingress);

// libpcap's reader, for every format it knows (pcapng, FIFOs and pipes, old pcap variants). Same
// contract as open_pcap_file().
std::unique_ptr<PacketSource> open_libpcap_file(const std::string& path, uint16_t ingress, std::string& err);

}  // namespace ots
