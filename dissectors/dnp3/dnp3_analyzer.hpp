// The DNP3 module: per-connection state over the pure parser (dnp3_parser.hpp). Finds link frames in the
// TCP stream or UDP datagrams, checks every CRC, reassembles transport segments per direction and link
// address pair, emits an operation event per application fragment and writes dnp3.log, dnp3_control.log
// and dnp3_objects.log.
#pragma once

#include <cstddef>
#include <memory>

#include "dissectors/analyzer.hpp"

namespace ots {

// Service "dnp3" on TCP and UDP 20000 (IEEE 1815-2012 Annex on IP networking; Zeek's DNP3::ports).
extern const DissectorModule kDnp3Module;

}  // namespace ots

namespace ots::dnp3 {

struct Options {
  // Largest application fragment reassembled from transport segments. Devices typically use the 2048
  // octets IEEE 1815 recommends but may be configured for more; a longer one is a weird and discarded.
  size_t max_fragment = 4096;
  // Link address pairs per direction with a fragment in reassembly at once (a gateway may multiplex
  // several outstations over one connection). The least recently used one is dropped beyond this.
  size_t reassembly_slots = 4;
};

std::unique_ptr<Analyzer> make_analyzer(const AnalyzerContext& ctx, Transport transport, const Options& opts);

}  // namespace ots::dnp3
