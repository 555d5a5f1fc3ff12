// The attested SBOM inventory (LOGDIR/sbom.sqlite, issue 6) written during a run, every interval of packet
// time, and at its end; without stalling the packet path.
//
// The devices belong to the attestation stage, on its own thread. There tick() takes a snapshot of
// them (through `snapshot`) once an interval has passed, and hands it to a thread of its own that writes it
// in one transaction; the stage goes on at once. A snapshot carries only the components of SBOMs that changed
// since the last write (the others: has_sbom false, the database keeps them), and at most
// kComponentsPerSnapshot of them: the first snapshot of a large plant is taken in slices, one per tick
// while the writer keeps up, so that no tick copies for long (docs/SBOM.md has the figures). While a write
// is in progress the next snapshot waits: a slow disk delays the inventory, never the packets. finish()
// writes the final state, whole, from the calling (owning) thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "inventory/sbom_db.hpp"

namespace ots {

class SbomWriter {
 public:
  // The devices now, components left out where `omit` says so.
  using Snapshot = std::function<std::vector<sbom::SbomDeviceRecord>(const sbom::SbomOmitComponents& omit)>;
  // Components copied by one periodic snapshot at most (a device's are never split). On the test machine at
  // load 5-6 (tests/test_sbom_writer.cpp) 5,000 cost 26-31 ms of the caller's time, 2,500 cost 3-9 ms; the
  // first write of 1,000 devices x 200 components then takes 84 slices and 6-7 s.
  static constexpr size_t kComponentsPerSnapshot = 2'500;

  // `interval_ns` 0: only finish() writes. `snapshot` is called on the thread that calls tick() and on the one
  // that calls finish(), which may differ once the first has stopped (the attestation stage's thread is
  // joined before finish()).
  SbomWriter(std::string path, uint64_t interval_ns, Snapshot snapshot);
  ~SbomWriter();  // waits for a write in progress
  SbomWriter(const SbomWriter&) = delete;
  SbomWriter& operator=(const SbomWriter&) = delete;

  // At every tick the attestation stage consumed: the first arms the interval; once it has passed and no
  // write is in progress, a snapshot goes to the writer thread. A comparison and an atomic load otherwise.
  void tick(uint64_t now_ns);
  // The end of the run: waits for the write in progress, then writes the final state on this thread. False,
  // with `err` (one line naming the file), when it could not. Failures of periodic writes go to stderr as
  // they happen (once per distinct reason) as `otsensor: warning: SBOM inventory not updated: ...`.
  bool finish(std::string& err);

  struct Stats {
    uint64_t writes = 0, failures = 0;
    double last_snapshot_ms = 0, max_snapshot_ms = 0;  // on the caller's thread
    double last_write_ms = 0, max_write_ms = 0;        // on the writer's thread (open, update, commit)
    size_t last_devices = 0, last_with_components = 0;  // the last write's records, those with components
  };
  Stats stats() const;

 private:
  struct Job {
    std::vector<sbom::SbomDeviceRecord> records;
    uint64_t updated_ns = 0;
  };
  enum class Outcome : uint8_t { Written, Failed, Stale };
  struct FileId {
    uint64_t dev = 0, ino = 0;
    bool operator==(const FileId&) const = default;
  };

  Job take_snapshot(size_t budget);
  Outcome write(const Job& job, std::string& err);
  void count(Outcome o);
  void run();

  const std::string path_;
  const uint64_t interval_ns_;
  const Snapshot snapshot_;
  uint64_t next_ns_ = 0;  // the caller's thread only
  bool more_ = false;     // the caller's thread only: the last snapshot left changed components for the next

  // What the database holds, by device_id: the SBOM digest whose components were written, and the file
  // they were written to. Touched by the writer thread while busy_, by the caller's thread otherwise.
  std::map<std::string, std::string, std::less<>> written_;
  FileId written_file_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> job_;          // handed over, not yet taken
  std::atomic<bool> busy_{false};   // a job handed over and not yet written
  std::atomic<bool> stale_{false};  // the file changed under us: the next snapshot carries every component
  bool stop_ = false;
  std::string last_warning_;  // the writer thread's
  Stats stats_;
  std::thread thread_;
};

}  // namespace ots
