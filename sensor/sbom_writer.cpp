#include "sensor/sbom_writer.hpp"

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace ots {

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

uint64_t wall_clock_ns() {
  const auto wall = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count());
}

}  // namespace

SbomWriter::SbomWriter(std::string path, uint64_t interval_ns, Snapshot snapshot)
    : path_(std::move(path)), interval_ns_(interval_ns), snapshot_(std::move(snapshot)) {}

SbomWriter::~SbomWriter() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SbomWriter::tick(uint64_t now_ns) {
  if (interval_ns_ == 0) return;
  if (next_ns_ == 0) {
    // The first write one interval after the first tick, as stats.log's first record.
    next_ns_ = now_ns + interval_ns_;
    return;
  }
  const bool stale = stale_.load(std::memory_order_relaxed);
  if (now_ns < next_ns_ && !stale && !more_) return;
  if (busy_.load(std::memory_order_acquire)) return;  // the last write is still going: try at the next tick
  stale_.store(false, std::memory_order_relaxed);
  next_ns_ = now_ns + interval_ns_;
  Job job = take_snapshot(kComponentsPerSnapshot);
  {
    std::lock_guard l(mu_);
    job_ = std::move(job);
    busy_.store(true, std::memory_order_release);
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  cv_.notify_all();
}

bool SbomWriter::finish(std::string& err) {
  {
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return !busy_.load(std::memory_order_acquire); });
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The thread is gone: written_ is this thread's now. A second attempt only when the file changed under
  // the first, with every component.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Outcome o = write(take_snapshot(SIZE_MAX), err);
    std::lock_guard l(mu_);
    count(o);
    if (o != Outcome::Stale) return o == Outcome::Written;
  }
  err = path_ + ": replaced while being written";
  return false;
}

// Under mu_, with busy_ cleared in the same section: who sees the count sees the writer idle.
void SbomWriter::count(Outcome o) {
  if (o == Outcome::Written) ++stats_.writes;
  if (o == Outcome::Failed) ++stats_.failures;
}

SbomWriter::Stats SbomWriter::stats() const {
  std::lock_guard l(mu_);
  return stats_;
}

SbomWriter::Job SbomWriter::take_snapshot(size_t budget) {
  const auto t0 = std::chrono::steady_clock::now();
  Job job;
  size_t copied = 0;
  more_ = false;
  job.records = snapshot_([&](std::string_view device_id, std::string_view digest, size_t components) {
    const auto it = written_.find(device_id);
    if (it != written_.end() && it->second == digest) return true;
    if (copied > 0 && copied + components > budget) {
      more_ = true;  // the next snapshot, at the next tick the writer is free
      return true;
    }
    copied += components;
    return false;
  });
  job.updated_ns = wall_clock_ns();
  const double ms = ms_since(t0);
  std::lock_guard l(mu_);
  stats_.last_snapshot_ms = ms;
  stats_.max_snapshot_ms = std::max(stats_.max_snapshot_ms, ms);
  return job;
}

SbomWriter::Outcome SbomWriter::write(const Job& job, std::string& err) {
  // What we left out of the snapshot is in the file we wrote last; a file removed or replaced since (by an
  // administrator, to start afresh) lacks it: drop this snapshot and take one with every component.
  const auto file_id = [this] {
    struct stat st {};
    return ::stat(path_.c_str(), &st) == 0 ? FileId{st.st_dev, st.st_ino} : FileId{};
  };
  if (!written_.empty() && file_id() != written_file_) {
    written_.clear();
    stale_.store(true, std::memory_order_relaxed);
    return Outcome::Stale;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto db = sbom::SbomDatabase::open(path_, sbom::SbomDatabase::Mode::ReadWrite, err);
  const bool ok = db && db->update(job.records, job.updated_ns, err);
  db.reset();
  if (!ok) return Outcome::Failed;
  const double ms = ms_since(t0);
  size_t with_components = 0;
  for (const sbom::SbomDeviceRecord& r : job.records) {
    if (!r.has_sbom) continue;
    ++with_components;
    written_.insert_or_assign(r.device_id, r.sbom_digest);
  }
  written_file_ = file_id();
  std::lock_guard l(mu_);
  stats_.last_write_ms = ms;
  stats_.max_write_ms = std::max(stats_.max_write_ms, ms);
  stats_.last_devices = job.records.size();
  stats_.last_with_components = with_components;
  return Outcome::Written;
}

void SbomWriter::run() {
  std::unique_lock l(mu_);
  for (;;) {
    cv_.wait(l, [this] { return stop_ || job_; });
    if (!job_) return;
    const Job job = std::move(*job_);
    job_.reset();
    l.unlock();
    std::string err;
    const Outcome o = write(job, err);
    if (o == Outcome::Failed && err != last_warning_) {
      std::fprintf(stderr, "otsensor: warning: SBOM inventory not updated: %s\n", err.c_str());
    }
    if (o != Outcome::Stale) last_warning_ = o == Outcome::Failed ? err : std::string();
    l.lock();
    count(o);
    busy_.store(false, std::memory_order_release);
    cv_.notify_all();
  }
}

}  // namespace ots
