// Several capture files read as one stream, ordered by packet time (as Zeek merges several -r files).
#pragma once

#include <memory>
#include <vector>

#include "capture/packet_source.hpp"

namespace ots {

class SourceMerge {
 public:
  explicit SourceMerge(std::vector<std::unique_ptr<PacketSource>> sources);

  // The next burst in timestamp order (ties: the source given first). False at the end of every source.
  // The views stay valid until the next call.
  bool next(PacketBurst& out);

  std::vector<std::unique_ptr<PacketSource>>& sources() { return sources_; }
  // Errors of sources that failed mid-way, and warnings; cleared as they are taken.
  std::vector<std::string> take_problems();

 private:
  struct Cursor {
    PacketBurst burst;
    size_t next = 0;
    bool done = false;
  };
  bool refill(size_t i);

  std::vector<std::unique_ptr<PacketSource>> sources_;
  std::vector<Cursor> cursors_;
  std::vector<std::string> problems_;
};

}  // namespace ots
