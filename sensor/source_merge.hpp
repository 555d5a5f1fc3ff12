// Several capture files read as one stream, ordered by packet time (as Zeek merges several -r files).
#pragma once

#include <memory>
#include <vector>

#include "capture/packet_source.hpp"

namespace ots {

class SourceMerge {
 public:
  explicit SourceMerge(std::vector<std::unique_ptr<PacketSource>> sources);

  // The next burst in timestamp order (ties: the source given first): Ok; End at the end of every source;
  // Idle while a source that can pause (a FIFO or pipe whose writer waits) has no packet yet, since the
  // merge cannot know the order without its next packet: call again. The views stay valid until the next
  // call.
  SourceStatus next(PacketBurst& out);
  // How long a source that can pause waits for its writer in next() before it returns Idle.
  void set_idle_wait(int milliseconds);

  std::vector<std::unique_ptr<PacketSource>>& sources() { return sources_; }
  // Errors of sources that failed mid-way, and warnings; cleared as they are taken.
  std::vector<std::string> take_problems();

 private:
  struct Cursor {
    PacketBurst burst;
    size_t next = 0;
    bool done = false;
  };
  SourceStatus refill(size_t i);

  std::vector<std::unique_ptr<PacketSource>> sources_;
  std::vector<Cursor> cursors_;
  std::vector<std::string> problems_;
};

}  // namespace ots
