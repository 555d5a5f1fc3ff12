// CaptureLoop's record of one worker, shared by the files that implement the loop (capture_loop.cpp,
// capture_loop_queues.cpp); nothing else includes it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "sensor/capture_loop.hpp"
#include "sensor/packet_ring.hpp"
#include "sensor/ring_records.hpp"
#include "sensor/thread_cpu.hpp"
#include "sensor/worker.hpp"

namespace ots {

// One worker; on a thread of its own when there are several: fed through a ring (run_files, run_live) or
// polling sources of its own (run_queues).
struct CaptureLoop::Slot {
  size_t index = 0;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<PacketRing> ring;  // null: the worker runs on the loop's thread, or polls its own sources
  // With a ring, the loop's thread decodes this worker's packets (sensor/ring_records.hpp): its decoder,
  // the sink that sends the decoder's weirds down the ring, and the decoded packet being pushed.
  std::unique_ptr<Decoder> decoder;
  std::unique_ptr<RingWeirds> ring_weirds;
  // Written by the loop's thread on every packet: a line of its own, apart from what the worker writes
  // (ticks, its answers below).
  alignas(64) DecodedPacket decoded;
  alignas(64) std::thread thread;
  uint64_t ticks = 0;  // ticks this worker has finished (its thread only)
  double thread_cpu_s = -1;  // the worker thread's CPU time, written before the thread ends
  // Answers to the loop's requests: the tick index at which the worker did it.
  std::atomic<uint64_t> swap_done{kNever};
  uint64_t stats_seen = 0;                // measurements answered (its thread)
  std::atomic<uint64_t> stats_done{0};    // the same, published after the snapshot
  std::array<WorkerStats, kMaxMeasurements> snapshots;  // by measurement number % kMaxMeasurements
  std::vector<Asset> assets;                    // the inventory at tick assets_done (its thread, then the loop's)
  std::atomic<uint64_t> assets_done{kNever};
};

}  // namespace ots
