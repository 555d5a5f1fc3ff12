// The one wrapper of the Hyperscan (Vectorscan) C library: a compiled block-mode database and a scratch
// space, both owned, so the rest of the code never sees hs_* pointers. Lifecycle as Hyperscan's
// simplegrep: compile once at start-up, one scratch per thread, scan, callback.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

struct hs_database;
struct hs_scratch;

namespace ots::rules {

struct HsPattern {
  std::string expression;
  bool caseless = false;
  unsigned id = 0;  // reported to the scan callback
};

class HsDatabase {
 public:
  // Block mode; every pattern dot-all (payload bytes are not lines) and single-match (whether it
  // matched is all a rule asks). Null on failure, with Hyperscan's message and the index into
  // `patterns` of the expression it rejected (-1 when the failure is not one expression's).
  static std::unique_ptr<HsDatabase> compile(const std::vector<HsPattern>& patterns, std::string& error,
                                             int& failed_index);
  ~HsDatabase();
  HsDatabase(const HsDatabase&) = delete;
  HsDatabase& operator=(const HsDatabase&) = delete;
  size_t bytes() const;

 private:
  friend class HsScratch;
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
  hs_scratch* s_ = nullptr;
};

// Scans `data` once; calls on_match(id, ctx) for each pattern that matched (once per pattern). False
// when Hyperscan reports an error (the packet path counts it; it does not throw).
bool hs_scan_block(const HsDatabase& db, HsScratch& scratch, std::span<const uint8_t> data,
                   void (*on_match)(unsigned id, void* ctx), void* ctx);

}  // namespace ots::rules
