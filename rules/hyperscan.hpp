// The one wrapper of the Hyperscan (Vectorscan) C library: compiled databases (block mode for PDUs,
// streaming mode for reassembled byte streams), scratch spaces and stream states, all owned, so the rest
// of the code never sees hs_* pointers. Lifecycle as Hyperscan's simplegrep: compile once at start-up,
// one scratch per thread, scan, callback.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct hs_database;
struct hs_scratch;
struct hs_stream;

namespace ots::rules {

struct HsPattern {
  std::string expression;
  bool caseless = false;
  unsigned id = 0;  // reported to the scan callback
};

enum class HsMode : uint8_t { Block, Stream };

class HsDatabase {
 public:
  // Block or streaming mode; every pattern dot-all (payload bytes are not lines) and single-match
  // (whether it matched is all a rule asks; in streaming mode: once per stream until it is reset). Null
  // on failure, with Hyperscan's message and the index into `patterns` of the expression it rejected
  // (-1 when the failure is not one expression's).
  static std::unique_ptr<HsDatabase> compile(const std::vector<HsPattern>& patterns, HsMode mode, std::string& error,
                                             int& failed_index);
  ~HsDatabase();
  HsDatabase(const HsDatabase&) = delete;
  HsDatabase& operator=(const HsDatabase&) = delete;
  size_t bytes() const;
  // Streaming mode: the bytes of one open stream's state (hs_stream_size), 0 for block mode.
  size_t stream_state_bytes() const;

 private:
  friend class HsScratch;
  friend class HsStream;
  friend bool hs_scan_block(const HsDatabase&, class HsScratch&, std::span<const uint8_t>,
                            void (*)(unsigned, void*), void*);
  explicit HsDatabase(hs_database* db) : db_(db) {}
  hs_database* db_;
};

class HsScratch {
 public:
  HsScratch() = default;
  ~HsScratch();
  HsScratch(HsScratch&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  HsScratch& operator=(HsScratch&& o) noexcept;
  HsScratch(const HsScratch&) = delete;
  HsScratch& operator=(const HsScratch&) = delete;

  // Makes the scratch large enough for `db` too (start-up). Throws std::runtime_error when Hyperscan
  // cannot allocate it.
  void grow_for(const HsDatabase& db);
  // A scratch of the same size for another thread (start-up). Throws as grow_for.
  HsScratch clone() const;
  bool empty() const { return s_ == nullptr; }

 private:
  friend bool hs_scan_block(const HsDatabase&, HsScratch&, std::span<const uint8_t>, void (*)(unsigned, void*),
                            void*);
  friend class HsStream;
  hs_scratch* s_ = nullptr;
};

// One open stream of a streaming-mode database: the state Hyperscan keeps between the blocks of one
// byte stream, so a pattern matches across them. Move-only; closing it (or the destructor) frees it.
class HsStream {
 public:
  HsStream() = default;
  ~HsStream();
  HsStream(HsStream&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  HsStream& operator=(HsStream&& o) noexcept;
  HsStream(const HsStream&) = delete;
  HsStream& operator=(const HsStream&) = delete;

  // Opens a stream of `db` (a streaming-mode database). False when Hyperscan cannot (out of memory).
  bool open(const HsDatabase& db);
  bool is_open() const { return s_ != nullptr; }
  // The next bytes of the stream; on_match(id, ctx) for each pattern whose (single) match ends in them.
  bool scan(HsScratch& scratch, std::span<const uint8_t> data, void (*on_match)(unsigned id, void* ctx), void* ctx);
  // Back to the start of a stream, without reporting end-of-stream matches (the bytes before a hole
  // did not end there; what follows starts afresh).
  bool reset();
  // Ends the stream: patterns that can only match at its end (`$`) report now, then the state is freed.
  // With on_match null nothing is reported.
  void close(HsScratch* scratch, void (*on_match)(unsigned id, void* ctx), void* ctx);

 private:
  hs_stream* s_ = nullptr;
};

// Scans `data` once; calls on_match(id, ctx) for each pattern that matched (once per pattern). False
// when Hyperscan reports an error (the packet path counts it; it does not throw).
bool hs_scan_block(const HsDatabase& db, HsScratch& scratch, std::span<const uint8_t> data,
                   void (*on_match)(unsigned id, void* ctx), void* ctx);

}  // namespace ots::rules
