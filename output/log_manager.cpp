#include "output/log_manager.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "output/byte_buffer.hpp"
#include "output/log_file.hpp"
#include "output/log_format.hpp"
#include "output/record_pack.hpp"
#include "output/sorted_run.hpp"
#include "output/text_out.hpp"

namespace ots {

namespace {

// Where a record sits in its sink's buffer: an offset, because the buffer moves while the sink appends.
struct Entry {
  uint64_t ts_ns;
  uint64_t uid_hi;
  uint64_t seq;   // the sink's record counter: the write order
  uint32_t off;   // a sink's buffer of one log stays under kMaxSinkBytes
  uint32_t uid_lo;
  uint32_t len;
};

// One log's records from one sink, in the order they were written.
struct LogBuffer {
  ByteBuffer bytes;
  std::vector<Entry> entries;
};

// What a sink hands over: its buffers of every log it wrote to since its last hand-over.
struct Batch {
  std::vector<std::pair<LogId, LogBuffer>> logs;
  size_t bytes = 0;
};

constexpr size_t kSinkReserve = 64u << 10;
// A sink hands over on its own past this many packed bytes (or an eighth of spill_bytes): often enough
// that the log thread formats while the workers write, and a worker that is never asked still keeps
// its buffers bounded.
constexpr size_t kMaxSinkBytes = 1u << 20;
// Packed bytes queued for the log thread past which a hand-over waits for it: enough to ride out a
// burst of records (sixteen hand-overs), little beside spill_bytes of formatted ones.
constexpr size_t kQueueBytes = 16u << 20;

void for_each_record(const std::vector<Batch>& batches, auto&& fn) {
  for (const Batch& b : batches) {
    for (const auto& [id, buf] : b.logs) {
      for (const Entry& e : buf.entries) {
        fn(RecordRef{e.ts_ns, e.uid_hi, e.seq, buf.bytes.data() + e.off, e.uid_lo, e.len, id});
      }
    }
  }
}

// A spilled run: its file and where each of its logs starts in it.
struct SpillRun {
  std::string path;
  RunLogStarts starts;
};

// Sorts the records of `batches` and writes them as one run; false (errno in `err`) on failure.
bool write_run(const std::string& path, const std::vector<Batch>& batches, int& err, RunLogStarts& starts) {
  // By log, then each log sorted on its own: run_less order.
  std::vector<std::vector<RecordRef>> by_log;
  std::vector<size_t> counts;
  for (const Batch& b : batches) {
    for (const auto& [id, buf] : b.logs) {
      if (id >= counts.size()) counts.resize(size_t{id} + 1, 0);
      counts[id] += buf.entries.size();
    }
  }
  by_log.resize(counts.size());
  for (size_t id = 0; id < counts.size(); ++id) by_log[id].reserve(counts[id]);
  for_each_record(batches, [&](const RecordRef& r) { by_log[r.log].push_back(r); });
  RunWriter w;
  if (!w.open(path)) {  // nothing to sort for: the records stay in memory (spill())
    err = w.error();
    return false;
  }
  bool ok = true;
  for (std::vector<RecordRef>& refs : by_log) {
    sort_records(refs);
    for (size_t i = 0; ok && i < refs.size(); ++i) ok = w.add(refs[i]);
    std::vector<RecordRef>().swap(refs);  // a spill comes when memory is at its budget: free as we go
  }
  ok = w.finish() && ok;
  err = w.error();
  starts = w.log_starts();
  return ok;
}

// Turns handed-over packed records into their text, on the log thread (or on the thread that hands over
// when there is none). Owns what formatting keeps between records: the TSV connection-column cache, the
// JSON keys and the ts seconds. Thread-confined.
class Formatter {
 public:
  explicit Formatter(bool json) : json_(json) {
    if (!json_) record_cache_ = std::make_unique<TsvRecordCache>();
  }

  // The records of `packed` as text, entry for entry (same sort keys, same order).
  Batch format(const Batch& packed, const std::vector<const LogSchema*>& schemas) {
    refresh(schemas);
    Batch text;
    text.logs.reserve(packed.logs.size());
    for (const auto& [id, in] : packed.logs) {
      if (id >= schemas.size()) continue;  // never: sinks write only registered logs
      LogBuffer out;
      // The text is kept until the flush, so room is made ahead for about what it will take: the text
      // per packed byte of this log's last buffer (records of one log vary little), and a little more.
      const size_t guess = in.bytes.size() * text_ratio_[id] / kRatioOne;
      out.bytes.reserve(guess + guess / 16 + 64);
      out.entries.reserve(in.entries.size());
      {
        // One writer for the buffer's records: its room is made once per several kilobytes of text.
        text::TextOut o(out.bytes);
        for (const Entry& e : in.entries) {
          const size_t off = o.size();
          // A packing bug drops the record rather than read past the buffer.
          if (!record_.open(std::string_view(in.bytes.data() + e.off, e.len))) continue;
          const bool ok = json_ ? format_json(*schemas[id], json_keys_[id], record_, o, json_ts_)
                                : format_tsv(*schemas[id], record_, o, *record_cache_, conn_columns_[id]);
          if (!ok) continue;
          const size_t len = o.size() - off;
          out.entries.push_back(Entry{e.ts_ns, e.uid_hi, e.seq, static_cast<uint32_t>(off), e.uid_lo,
                                      static_cast<uint32_t>(len)});
          text.bytes += len + sizeof(Entry);
        }
      }
      if (!in.bytes.empty()) {
        text_ratio_[id] = static_cast<uint32_t>(std::min<size_t>(out.bytes.size() * kRatioOne / in.bytes.size(), kRatioOne));
      }
      // Kept until the flush: without much slack. Cutting it off copies the whole text (on mb100k, 120
      // instructions a record when it was done on every buffer), so only a guess that was well off is.
      if (out.bytes.capacity() - out.bytes.size() > out.bytes.size() / 8) out.bytes.shrink_to_fit();
      text.logs.emplace_back(id, std::move(out));
    }
    return text;
  }

 private:
  void refresh(const std::vector<const LogSchema*>& schemas) {
    for (size_t id = conn_columns_.size(); id < schemas.size(); ++id) {
      conn_columns_.push_back(TsvRecordCache::columns_of(*schemas[id]));
      text_ratio_.push_back(kRatioOne / 2);  // a packed record is two to three times its text
      if (json_) json_keys_.emplace_back(*schemas[id]);
    }
  }

  bool json_;
  // Text bytes per packed byte, in 1/kRatioOne, at most one: the Value array alone is 24 bytes a field,
  // so only records of long escaped strings have more text than packed bytes (and a guess too small
  // only costs a growth).
  static constexpr size_t kRatioOne = 1024;

  std::vector<uint8_t> conn_columns_;             // by LogId: TsvRecordCache::columns_of its schema
  std::vector<uint32_t> text_ratio_;              // by LogId: of its last buffer formatted
  std::unique_ptr<TsvRecordCache> record_cache_;  // TSV only
  std::vector<JsonKeys> json_keys_;               // by LogId, JSON only: each schema's keys, escaped once
  text::TimeText json_ts_;                        // JSON only: the last ts's seconds
  PackedValues record_;                           // the record being formatted, read in place
};

}  // namespace

// What the manager and its sinks share. Sinks hold it too, so a sink that outlives its manager hands
// over into nothing rather than into freed memory.
//
// Records travel in two steps. A sink packs each record (record_pack.hpp) and hands its packed buffers
// over (enqueue); the log thread formats them to text and keeps the text (accept), sorting and spilling
// it to a run file past spill_bytes. So the workers only copy values, and formatting, sorting and
// spilling run beside them instead of on the packet path.
struct SharedLogState {
  std::string dir;
  bool json = false;
  size_t spill_bytes = 0;
  size_t sink_limit = 0;    // packed bytes a sink hands over on its own past
  size_t queue_limit = 0;   // packed bytes waiting for the log thread past which a hand-over waits
  std::atomic<uint64_t> handoff_gen{0};

  std::mutex mu;  // guards everything below
  std::condition_variable settled;  // a spill ended, a batch was formatted, or the log thread stopped
  std::condition_variable work;     // for the log thread: a batch was queued, or stop
  std::condition_variable room;     // for a waiting hand-over: the queue shrank, or the log thread stopped
  std::vector<const LogSchema*> schemas;  // by LogId
  std::vector<char> enabled;              // by LogId
  std::vector<std::string> only;          // Options::only
  std::deque<Batch> queued;               // packed, for the log thread, in hand-over order
  size_t queued_bytes = 0;
  bool formatting = false;                // the log thread holds a batch taken from `queued`
  int formatting_here = 0;                // hand-overs formatting on their own thread (no log thread)
  bool thread_running = false;
  bool stop = false;
  std::string thread_error;               // why the log thread stopped early (empty: it did not)
  std::vector<Batch> pending;             // formatted
  size_t pending_bytes = 0;
  std::vector<SpillRun> runs;
  int spilling = 0;                       // spills under way (one at most with a spill thread)
  struct SpillJob {
    std::vector<Batch> batches;
    std::string path;
  };
  std::optional<SpillJob> spill_job;      // for the spill thread
  bool spill_thread_running = false;
  bool spill_stop = false;
  std::condition_variable spill_work;     // for the spill thread: a job, or stop
  uint64_t next_run = 0;
  bool spill_failure_reported = false;
  // After a spill fails its records are back in `pending`, which is still past spill_bytes: without a
  // back-off every later hand-over would sort and try to write all of them again (quadratic, and the
  // log thread, then the workers, would stall behind it). The next attempt waits until this much is
  // buffered: twice what failed.
  size_t spill_retry_bytes = 0;

  ~SharedLogState() {
    for (const SpillRun& r : runs) ::unlink(r.path.c_str());
  }

  // Hidden, and named for this process, so that nothing else in the log directory is taken for a run.
  std::string run_path_locked() {
    return dir + "/.ots-spill-" + std::to_string(::getpid()) + "-" + std::to_string(next_run++) + ".run";
  }

  std::string new_run_path() {
    std::lock_guard lk(mu);
    return run_path_locked();
  }

  // A sink's packed hand-over. Waits while the log thread is queue_limit behind (the workers may not
  // outrun it without bound); formats on the calling thread when there is no log thread (a sink that
  // outlived its manager's close).
  void enqueue(Batch&& b) {
    {
      std::unique_lock lk(mu);
      room.wait(lk, [&] { return !thread_running || queued_bytes < queue_limit; });
      if (thread_running) {
        queued_bytes += b.bytes;
        queued.push_back(std::move(b));
        work.notify_one();
        return;
      }
      ++formatting_here;  // under the same lock as the look at thread_running: a flush now waits for it
    }
    format_here(b);
  }

  // The caller counted this in formatting_here (under mu), so that a flush waits for it as for the log
  // thread; it is uncounted here when done.
  void format_here(const Batch& b) {
    std::vector<const LogSchema*> s;
    {
      std::lock_guard lk(mu);
      s = schemas;
    }
    struct Done {
      SharedLogState& st;
      ~Done() {
        {
          std::lock_guard lk(st.mu);
          --st.formatting_here;
        }
        st.settled.notify_all();
      }
    } done{*this};
    Formatter f(json);
    accept(f.format(b, s));
  }

  // The log thread: formats queued batches in hand-over order until stopped with nothing left queued.
  void run_log_thread() {
    try {
      Formatter f(json);
      std::unique_lock lk(mu);
      for (;;) {
        work.wait(lk, [&] { return stop || !queued.empty(); });
        if (queued.empty()) break;
        Batch b = std::move(queued.front());
        queued.pop_front();
        queued_bytes -= b.bytes;
        formatting = true;
        room.notify_all();
        const std::vector<const LogSchema*> s = schemas;
        lk.unlock();
        Batch text;
        try {
          text = f.format(b, s);
        } catch (...) {
          // Back to the front of the queue, for settle() to format: nothing handed over is lost.
          lk.lock();
          queued_bytes += b.bytes;
          queued.push_front(std::move(b));
          throw;
        }
        accept(std::move(text));
        lk.lock();
        formatting = false;
        settled.notify_all();
      }
      thread_running = false;
    } catch (const std::exception& e) {
      // bad_alloc: what is still queued is formatted by flush(); hand-overs format on their own thread.
      std::lock_guard lk(mu);
      thread_error = e.what();
      formatting = false;
      thread_running = false;
    }
    room.notify_all();
    settled.notify_all();
  }

  // Waits until everything handed over so far is formatted and no spill is under way; then formats here
  // what a failed log thread left queued.
  void settle() {
    std::deque<Batch> left;
    {
      std::unique_lock lk(mu);
      settled.wait(lk, [&] {
        return (queued.empty() || !thread_running) && !formatting && formatting_here == 0 && spilling == 0;
      });
      left.swap(queued);
      queued_bytes = 0;
      formatting_here += static_cast<int>(left.size());
    }
    for (const Batch& b : left) format_here(b);
  }

  // Takes formatted records; past spill_bytes, everything buffered is sorted and spilled as one run: by
  // the spill thread when there is one (sorting and writing a 256 MB run takes over half a second, in
  // which the log thread formats on and the workers, whose hand-overs it takes, are not held up), else
  // by the calling thread, outside the lock so that hand-overs go on meanwhile. One spill at a time: a
  // second waits for the first, which bounds the text in memory to twice spill_bytes.
  void accept(Batch&& b) {
    std::vector<Batch> to_spill;
    std::string path;
    {
      std::unique_lock lk(mu);
      pending_bytes += b.bytes;
      pending.push_back(std::move(b));
      const auto due = [&] { return pending_bytes > std::max(spill_bytes, spill_retry_bytes); };
      if (!due()) return;
      if (spill_thread_running) {
        settled.wait(lk, [&] { return spilling == 0 || !spill_thread_running; });
        // Meanwhile another hand-over may have spilled, or a flush taken, what was pending.
        if (!due()) return;
      }
      // The run's name first: if making it throws (bad_alloc), nothing has been taken or counted yet.
      path = run_path_locked();
      to_spill.swap(pending);
      pending_bytes = 0;
      ++spilling;
      if (spill_thread_running) {
        spill_job = SpillJob{std::move(to_spill), std::move(path)};
        spill_work.notify_one();
        return;
      }
    }
    spill(std::move(to_spill), std::move(path));
  }

  // The spill thread: writes the runs accept() hands it until stopped with none left.
  void run_spill_thread() {
    std::unique_lock lk(mu);
    for (;;) {
      spill_work.wait(lk, [&] { return spill_stop || spill_job.has_value(); });
      if (!spill_job) break;
      SpillJob job = std::move(*spill_job);
      spill_job.reset();
      lk.unlock();
      try {
        spill(std::move(job.batches), std::move(job.path));
      } catch (const std::exception& e) {  // bad_alloc keeping the run's name or the records
        std::fprintf(stderr, "otsensor: warning: log spill failed (%s); some records may be lost\n", e.what());
        settled.notify_all();
      }
      lk.lock();
    }
    spill_thread_running = false;
    lk.unlock();
    settled.notify_all();  // an accept() waiting for a spill to end sees that none will run here
  }

  // Sorts `to_spill` into the run file `path`, counted in `spilling` by the caller; on failure the records
  // go back to `pending` (nothing is lost).
  void spill(std::vector<Batch> to_spill, std::string path) {
    int err = 0;
    RunLogStarts starts;
    bool ok = false;
    try {
      ok = write_run(path, to_spill, err, starts);
    } catch (const std::bad_alloc&) {
      // Spills come when memory is short: the records go back to memory and `spilling` is settled
      // below, or every later flush would wait for this spill for ever.
      err = ENOMEM;
    }
    if (!ok) ::unlink(path.c_str());
    {
      std::lock_guard lk(mu);
      struct Settle {  // even if keeping the run or the records throws: a flush waits for spilling == 0
        int& n;
        ~Settle() { --n; }
      } settle{spilling};
      if (ok) {
        try {
          runs.push_back(SpillRun{path, std::move(starts)});
          spill_retry_bytes = 0;
        } catch (const std::bad_alloc&) {
          // The run cannot be recorded: its file goes, and its records stay in memory as after a failed write.
          ::unlink(path.c_str());
          ok = false;
          err = ENOMEM;
        }
      }
      if (!ok) {
        // Nothing is lost: the records stay in memory until the next flush writes them.
        if (!spill_failure_reported) {
          std::fprintf(stderr, "otsensor: warning: cannot spill logs to %s: %s; keeping them in memory\n",
                       path.c_str(), std::strerror(err));
          spill_failure_reported = true;
        }
        size_t kept = 0;
        for (Batch& sb : to_spill) {
          kept += sb.bytes;
          pending_bytes += sb.bytes;
          pending.push_back(std::move(sb));
        }
        spill_retry_bytes = 2 * kept;
      }
    }
    settled.notify_all();
  }
};

namespace {

class Sink final : public LogSink {
 public:
  explicit Sink(std::shared_ptr<SharedLogState> sh) : sh_(std::move(sh)) {
    seen_gen_ = sh_->handoff_gen.load(std::memory_order_acquire);
    refresh_schemas();
  }

  void write(LogId log, uint64_t ts_ns, const Uid& uid, std::span<const Value> values) override {
    if (log >= enabled_.size()) {
      refresh_schemas();
      // An unregistered log is the caller's bug; the packet path drops the record rather than throw.
      if (log >= enabled_.size()) return;
    }
    if (!enabled_[log]) return;
    LogBuffer& b = logs_[log];
    const size_t want = std::min(kSinkReserve, sh_->sink_limit);
    // A full buffer is set aside for the next hand-over and a fresh one started, instead of growing it:
    // growing copies every record written so far, again at each doubling. The manager sorts a log's
    // records whatever buffer they are in, so the files are the same.
    if (b.bytes.capacity() - b.bytes.size() < want / 32 && !b.entries.empty()) {
      sealed_.emplace_back(log, std::move(b));
      b = LogBuffer{};
    }
    if (b.bytes.capacity() < want) {
      b.bytes.reserve(want);
      b.entries.reserve(want / 64);  // packed records are 60-150 bytes
    }
    // Packed straight into the buffer's room: no staging copy and no sizing pass per record.
    const size_t off = b.bytes.size();
    size_t len = pack_record(values, b.bytes.data() + off, b.bytes.capacity() - off);
    if (len == 0) {
      // Longer than the room left (a record of long strings): the buffer grows to hold it.
      b.bytes.reserve(off + packed_size(values));
      len = pack_record(values, b.bytes.data() + off, b.bytes.capacity() - off);
    }
    b.bytes.set_size(off + len);
    b.entries.push_back(Entry{ts_ns, uid.hi, seq_++, static_cast<uint32_t>(off), uid.lo, static_cast<uint32_t>(len)});
    bytes_ += len + sizeof(Entry);
    if (bytes_ >= sh_->sink_limit) handoff();
  }

  void handoff() override {
    seen_gen_ = sh_->handoff_gen.load(std::memory_order_acquire);
    if (bytes_ == 0) return;
    Batch batch;
    batch.bytes = bytes_;
    batch.logs = std::move(sealed_);
    sealed_.clear();
    for (size_t id = 0; id < logs_.size(); ++id) {
      if (logs_[id].entries.empty()) continue;
      batch.logs.emplace_back(static_cast<LogId>(id), std::move(logs_[id]));
      logs_[id] = LogBuffer{};
    }
    bytes_ = 0;
    sh_->enqueue(std::move(batch));
  }

  bool wants_handoff() const override {
    return sh_->handoff_gen.load(std::memory_order_relaxed) != seen_gen_;
  }

  bool enabled(LogId log) const override { return log < enabled_.size() && enabled_[log]; }

 private:
  void refresh_schemas() {
    std::lock_guard lk(sh_->mu);
    enabled_ = sh_->enabled;
    if (logs_.size() < enabled_.size()) logs_.resize(enabled_.size());
  }

  std::shared_ptr<SharedLogState> sh_;
  std::vector<char> enabled_;              // a copy: add() may grow the manager's while we write
  std::vector<LogBuffer> logs_;            // by LogId, packed records
  std::vector<std::pair<LogId, LogBuffer>> sealed_;  // full buffers, for the next hand-over
  size_t bytes_ = 0;
  uint64_t seq_ = 0;
  uint64_t seen_gen_ = 0;
};

// One source of a log's merge: the in-memory records, or one run file.
struct RunState {
  std::unique_ptr<RunReader> reader;
  bool alive = false;
};

struct MergeSource {
  RecordRef cur;
  const std::vector<RecordRef>* mem = nullptr;
  size_t idx = 0;
  RunState* run = nullptr;

  bool advance(LogId log) {
    if (mem) {
      if (++idx >= mem->size()) return false;
      cur = (*mem)[idx];
      return true;
    }
    run->alive = run->reader->next();
    if (!run->alive || run->reader->current().log != log) return false;
    cur = run->reader->current();
    return true;
  }
};

// Merges whole runs (every log) into one, so that a final merge never reads more than kMaxFanIn runs at
// once: each open run holds a read buffer.
constexpr size_t kMaxFanIn = 64;

// Threads that write logs at a flush: as many as there are cores, up to four (each holds one log's
// merge at a time).
size_t flush_threads() {
  const unsigned hw = std::thread::hardware_concurrency();
  return std::clamp<size_t>(hw == 0 ? 1 : hw, 1, 4);
}

uint64_t run_file_size(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(n);
}

SpillRun merge_runs(const std::vector<SpillRun>& in, const std::string& out) {
  std::vector<RunState> runs(in.size());
  std::vector<MergeSource> src;
  src.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    runs[i].reader = std::make_unique<RunReader>(in[i].path);
    runs[i].alive = runs[i].reader->next();
    if (runs[i].alive) src.push_back(MergeSource{runs[i].reader->current(), nullptr, 0, &runs[i]});
  }
  std::vector<MergeSource*> heap;
  for (MergeSource& s : src) heap.push_back(&s);
  const auto later = [](const MergeSource* a, const MergeSource* b) { return run_less(b->cur, a->cur); };
  std::make_heap(heap.begin(), heap.end(), later);
  RunWriter w;
  bool ok = w.open(out);
  struct RemoveOnThrow {  // a reader's error (a truncated run) must not leave the output behind
    const std::string& path;
    bool armed = true;
    ~RemoveOnThrow() {
      if (armed) ::unlink(path.c_str());
    }
  } guard{out};
  while (ok && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    MergeSource* s = heap.back();
    ok = w.add(s->cur);
    s->run->alive = s->run->reader->next();
    if (s->run->alive) {
      s->cur = s->run->reader->current();
      std::push_heap(heap.begin(), heap.end(), later);
    } else {
      heap.pop_back();
    }
  }
  ok = w.finish() && ok;
  if (!ok) throw std::runtime_error("cannot write spill file " + out + ": " + std::strerror(w.error()));
  guard.armed = false;
  return SpillRun{out, w.log_starts()};
}

}  // namespace

struct LogManager::Impl {
  std::shared_ptr<SharedLogState> sh;

  struct Output {
    LogFile file;
    bool opened_before = false;
    uint64_t records = 0;
  };
  std::vector<Output> outs;  // by LogId; only flush(), reopen() and close() touch them
  mutable std::mutex counts_mu;
  bool closed = false;
  std::thread log_thread;
  std::thread spill_thread;

  ~Impl() { stop_log_thread(); }

  // The log thread and the spill thread beside it. Without a spill thread (it could not start) the log
  // thread spills itself; without a log thread the workers format.
  void start_log_thread() {
    {
      std::lock_guard lk(sh->mu);
      sh->spill_thread_running = true;
    }
    try {
      spill_thread = std::thread([s = sh.get()] { s->run_spill_thread(); });
    } catch (const std::system_error&) {
      std::lock_guard lk(sh->mu);
      sh->spill_thread_running = false;
    }
    {
      std::lock_guard lk(sh->mu);
      sh->thread_running = true;
    }
    log_thread = std::thread([s = sh.get()] { s->run_log_thread(); });
  }

  // Formats what is queued, then ends the thread; later hand-overs format (and spill) on their own
  // threads. The spill thread ends after it, with the spill the log thread may have handed it last.
  void stop_log_thread() {
    if (log_thread.joinable()) {
      {
        std::lock_guard lk(sh->mu);
        sh->stop = true;
      }
      sh->work.notify_all();
      log_thread.join();
    }
    if (spill_thread.joinable()) {
      {
        std::lock_guard lk(sh->mu);
        sh->spill_stop = true;
      }
      sh->spill_work.notify_all();
      spill_thread.join();
    }
  }

  // flush()'s first step: everything handed over so far formatted, and a log thread that failed
  // reported (once) rather than its records lost silently.
  void settle() {
    sh->settle();
    std::string err;
    {
      std::lock_guard lk(sh->mu);
      err.swap(sh->thread_error);
    }
    if (!err.empty()) std::fprintf(stderr, "otsensor: warning: log thread stopped (%s); formatting on the workers\n", err.c_str());
  }

  std::string file_path(const LogSchema& s) const {
    return (std::filesystem::path(sh->dir) / (std::string(s.path) + ".log")).string();
  }

  // Writes `text` (one record, or several whole records in order) to the log's file, opening it first.
  void write_text(LogId id, const LogSchema& schema, std::string_view text) {
    Output& o = outs[id];
    if (!o.file.is_open()) {
      o.file.open(file_path(schema), !o.opened_before);
      o.opened_before = true;
      if (!sh->json) o.file.write(tsv_header(schema, static_cast<int64_t>(std::time(nullptr))));
    }
    o.file.write(text);
  }

  void write_record(LogId id, const LogSchema& schema, const RecordRef& r) {
    write_text(id, schema, std::string_view(r.line, r.len));
  }

  // Writes one log: its in-memory records (sorted here) merged with its part of every run. Touches only
  // this log's Output, so that logs are written in parallel.
  uint64_t merge_log(LogId id, const LogSchema& schema, std::vector<RecordRef>& mem, const std::vector<SpillRun>& spilled) {
    sort_records(mem);
    std::vector<RunState> runs;
    runs.reserve(spilled.size());
    for (const SpillRun& r : spilled) {
      for (const auto& [log, offset] : r.starts) {
        if (log != id) continue;
        RunState rs;
        rs.reader = std::make_unique<RunReader>(r.path, offset);
        rs.alive = rs.reader->next() && rs.reader->current().log == id;
        if (rs.alive) runs.push_back(std::move(rs));
      }
    }
    std::vector<MergeSource> src;
    src.reserve(runs.size() + 1);
    if (!mem.empty()) src.push_back(MergeSource{mem[0], &mem, 0, nullptr});
    for (RunState& rs : runs) src.push_back(MergeSource{rs.reader->current(), nullptr, 0, &rs});
    uint64_t written = 0;
    if (src.size() == 1 && src[0].mem) {
      // Sorted records mostly lie one after the other in their sink's buffer, as they were written:
      // such a run goes to the file in one piece.
      size_t i = 0;
      while (i < mem.size()) {
        const char* begin = mem[i].line;
        const char* end = begin + mem[i].len;
        for (++i; i < mem.size() && mem[i].line == end; ++i) end += mem[i].len;
        write_text(id, schema, std::string_view(begin, static_cast<size_t>(end - begin)));
      }
      return mem.size();
    }
    std::vector<MergeSource*> heap;
    heap.reserve(src.size());
    for (MergeSource& s : src) heap.push_back(&s);
    const auto later = [](const MergeSource* a, const MergeSource* b) { return record_less(b->cur, a->cur); };
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), later);
      MergeSource* s = heap.back();
      write_record(id, schema, s->cur);
      ++written;
      if (s->advance(id)) {
        std::push_heap(heap.begin(), heap.end(), later);
      } else {
        heap.pop_back();
      }
    }
    return written;
  }

  void flush() {
    std::vector<Batch> batches;
    std::vector<SpillRun> runs;
    std::vector<const LogSchema*> schemas;
    settle();
    {
      std::unique_lock lk(sh->mu);
      // A spill under way holds records taken from `pending`: wait for its run.
      sh->settled.wait(lk, [&] { return sh->spilling == 0; });
      batches.swap(sh->pending);
      sh->pending_bytes = 0;
      sh->spill_retry_bytes = 0;  // what failed to spill is written now
      runs.swap(sh->runs);
      schemas = sh->schemas;
    }
    struct RemoveRuns {
      const std::vector<SpillRun>& runs;
      ~RemoveRuns() {
        for (const SpillRun& r : runs) ::unlink(r.path.c_str());
      }
    } remove_runs{runs};

    {
      std::lock_guard lk(counts_mu);  // counts() reads `outs`
      if (outs.size() < schemas.size()) outs.resize(schemas.size());
    }
    std::vector<std::vector<RecordRef>> mem(schemas.size());
    for_each_record(batches, [&](const RecordRef& r) {
      if (r.log < mem.size()) mem[r.log].push_back(r);
    });

    bool fan_in_failed = false;
    while (runs.size() > kMaxFanIn && !fan_in_failed) {
      std::vector<SpillRun> merged;
      for (size_t i = 0; i < runs.size(); i += kMaxFanIn) {
        const size_t end = std::min(runs.size(), i + kMaxFanIn);
        if (end - i == 1 || fan_in_failed) {
          merged.insert(merged.end(), runs.begin() + static_cast<ptrdiff_t>(i),
                        runs.begin() + static_cast<ptrdiff_t>(end));
          continue;
        }
        const std::vector<SpillRun> group(runs.begin() + static_cast<ptrdiff_t>(i),
                                          runs.begin() + static_cast<ptrdiff_t>(end));
        try {
          merged.push_back(merge_runs(group, sh->new_run_path()));
        } catch (const std::exception& e) {
          // The runs are whole still: the logs are merged from all of them at once (a read buffer and a
          // descriptor each) rather than lost with them.
          std::fprintf(stderr, "otsensor: warning: cannot merge spilled log runs (%s); merging %zu runs at once\n",
                       e.what(), runs.size());
          fan_in_failed = true;
          merged.insert(merged.end(), group.begin(), group.end());
          continue;
        }
        for (const SpillRun& r : group) ::unlink(r.path.c_str());
      }
      runs.swap(merged);
    }

    // Logs are independent files: sorted, merged and written on up to kFlushThreads threads, the
    // largest first. At the end of a replay nothing else runs, and this was a fifth of a Modbus/DNP3
    // capture's wall time on one thread.
    std::vector<uint64_t> weight(schemas.size(), 0);
    for (size_t id = 0; id < schemas.size(); ++id) {
      for (const RecordRef& r : mem[id]) weight[id] += r.len;
    }
    for (const SpillRun& r : runs) {
      for (size_t k = 0; k < r.starts.size(); ++k) {
        const uint64_t end = k + 1 < r.starts.size() ? r.starts[k + 1].second : run_file_size(r.path);
        if (r.starts[k].first < weight.size()) weight[r.starts[k].first] += end - r.starts[k].second;
      }
    }
    std::vector<LogId> order;
    for (size_t id = 0; id < schemas.size(); ++id) {
      if (weight[id] > 0) order.push_back(static_cast<LogId>(id));
    }
    std::stable_sort(order.begin(), order.end(), [&](LogId x, LogId y) { return weight[x] > weight[y]; });

    std::vector<uint64_t> written(schemas.size(), 0);
    std::atomic<size_t> next{0};
    std::mutex err_mu;
    std::exception_ptr first_error;
    auto work = [&] {
      for (size_t k = next++; k < order.size(); k = next++) {
        const LogId id = order[k];
        try {
          written[id] = merge_log(id, *schemas[id], mem[id], runs);
          outs[id].file.flush();
        } catch (...) {
          std::lock_guard lk(err_mu);
          if (!first_error) first_error = std::current_exception();
        }
      }
    };
    const size_t helpers = std::min<size_t>(order.size(), flush_threads()) - (order.empty() ? 0 : 1);
    std::vector<std::thread> threads;
    threads.reserve(helpers);
    try {
      for (size_t t = 0; t < helpers; ++t) threads.emplace_back(work);
    } catch (const std::system_error&) {
      // No thread to be had: the ones started and this one take every log between them.
    }
    work();
    for (std::thread& t : threads) t.join();
    {
      std::lock_guard lk(counts_mu);
      for (size_t id = 0; id < written.size(); ++id) outs[id].records += written[id];
    }
    if (first_error) std::rethrow_exception(first_error);
  }

  void close_files() {
    for (Output& o : outs) {
      if (!o.file.is_open()) continue;
      // Zeek writes #close only with the meta header, which JSON turns off.
      if (!sh->json) o.file.write(tsv_footer(static_cast<int64_t>(std::time(nullptr))));
      o.file.close();
    }
  }
};

LogManager::LogManager(Options opts) : impl_(std::make_unique<Impl>()) {
  auto sh = std::make_shared<SharedLogState>();
  sh->dir = opts.dir.empty() ? std::string(".") : opts.dir;
  std::error_code ec;
  std::filesystem::create_directories(sh->dir, ec);
  if (ec) throw std::runtime_error("cannot create log directory " + sh->dir + ": " + ec.message());
  if (!std::filesystem::is_directory(sh->dir, ec)) {
    throw std::runtime_error("log directory " + sh->dir + " is not a directory");
  }
  // Creating a file is the only test that holds for every cause (permissions, read-only mount, ACLs).
  const std::string probe = sh->dir + "/.ots-write-probe-" + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write to log directory " + sh->dir + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());

  sh->json = opts.json;
  sh->only = opts.only;
  sh->spill_bytes = std::max<size_t>(opts.spill_bytes, 1);
  sh->sink_limit = std::clamp<size_t>(sh->spill_bytes / 8, 1, kMaxSinkBytes);
  sh->queue_limit = kQueueBytes;
  impl_->sh = std::move(sh);
  impl_->start_log_thread();
}

LogManager::~LogManager() {
  if (impl_->closed) return;
  try {
    close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "otsensor: error: %s\n", e.what());
  }
}

LogId LogManager::add(const LogSchema& schema) {
  std::lock_guard lk(impl_->sh->mu);
  auto& schemas = impl_->sh->schemas;
  if (schemas.size() > 0xffff) throw std::length_error("too many logs");
  schemas.push_back(&schema);
  const auto& only = impl_->sh->only;
  impl_->sh->enabled.push_back(only.empty() || std::find(only.begin(), only.end(), schema.path) != only.end());
  return static_cast<LogId>(schemas.size() - 1);
}

bool LogManager::enabled(LogId log) const {
  std::lock_guard lk(impl_->sh->mu);
  return log < impl_->sh->enabled.size() && impl_->sh->enabled[log];
}

std::unique_ptr<LogSink> LogManager::make_sink() { return std::make_unique<Sink>(impl_->sh); }

void LogManager::request_handoff() { impl_->sh->handoff_gen.fetch_add(1, std::memory_order_release); }

void LogManager::flush() { impl_->flush(); }

void LogManager::reopen() {
  impl_->flush();
  impl_->close_files();
}

void LogManager::settle() { impl_->settle(); }

void LogManager::close() {
  impl_->stop_log_thread();
  impl_->flush();
  impl_->close_files();
  impl_->closed = true;
}

std::vector<LogManager::LogCount> LogManager::counts() const {
  std::vector<const LogSchema*> schemas;
  {
    std::lock_guard lk(impl_->sh->mu);
    schemas = impl_->sh->schemas;
  }
  std::vector<LogCount> out;
  out.reserve(schemas.size());
  std::lock_guard lk(impl_->counts_mu);
  for (size_t id = 0; id < schemas.size(); ++id) {
    out.push_back(LogCount{std::string(schemas[id]->path), id < impl_->outs.size() ? impl_->outs[id].records : 0});
  }
  return out;
}

}  // namespace ots
