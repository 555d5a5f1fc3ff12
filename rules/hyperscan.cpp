#include "rules/hyperscan.hpp"

#include <hs/hs.h>

#include <stdexcept>

namespace ots::rules {

std::unique_ptr<HsDatabase> HsDatabase::compile(const std::vector<HsPattern>& patterns, HsMode mode,
                                                 std::string& error, int& failed_index) {
  failed_index = -1;
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (const HsPattern& p : patterns) {
    exprs.push_back(p.expression.c_str());
    flags.push_back(HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH | (p.caseless ? HS_FLAG_CASELESS : 0u));
    ids.push_back(p.id);
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()),
                       // No HS_MODE_SOM_HORIZON_*: rules ask whether a pattern matched, never where it
                       // started, which keeps the stream state (per connection direction) small.
                       mode == HsMode::Block ? HS_MODE_BLOCK : HS_MODE_STREAM, nullptr, &db, &err) != HS_SUCCESS) {
    error = err && err->message ? err->message : "compilation failed";
    if (err) failed_index = err->expression;
    hs_free_compile_error(err);
    return nullptr;
  }
  return std::unique_ptr<HsDatabase>(new HsDatabase(db));
}

HsDatabase::~HsDatabase() { hs_free_database(db_); }

size_t HsDatabase::bytes() const {
  size_t n = 0;
  return hs_database_size(db_, &n) == HS_SUCCESS ? n : 0;
}

size_t HsDatabase::stream_state_bytes() const {
  size_t n = 0;
  return hs_stream_size(db_, &n) == HS_SUCCESS ? n : 0;
}

HsScratch::~HsScratch() {
  if (s_) hs_free_scratch(s_);
}

HsScratch& HsScratch::operator=(HsScratch&& o) noexcept {
  if (this != &o) {
    if (s_) hs_free_scratch(s_);
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

void HsScratch::grow_for(const HsDatabase& db) {
  if (hs_alloc_scratch(db.db_, &s_) != HS_SUCCESS) throw std::runtime_error("Hyperscan: cannot allocate scratch space");
}

HsScratch HsScratch::clone() const {
  HsScratch out;
  if (s_ && hs_clone_scratch(s_, &out.s_) != HS_SUCCESS)
    throw std::runtime_error("Hyperscan: cannot clone scratch space");
  return out;
}

namespace {

struct ScanContext {
  void (*on_match)(unsigned, void*);
  void* ctx;
};

int on_hs_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* c) {
  auto* sc = static_cast<ScanContext*>(c);
  sc->on_match(id, sc->ctx);
  return 0;  // continue: every pattern's (single) match is wanted
}

}  // namespace

bool hs_scan_block(const HsDatabase& db, HsScratch& scratch, std::span<const uint8_t> data,
                   void (*on_match)(unsigned id, void* ctx), void* ctx) {
  ScanContext sc{on_match, ctx};
  return hs_scan(db.db_, reinterpret_cast<const char*>(data.data()), static_cast<unsigned>(data.size()), 0,
                 scratch.s_, on_hs_match, &sc) == HS_SUCCESS;
}

HsStream::~HsStream() { close(nullptr, nullptr, nullptr); }

HsStream& HsStream::operator=(HsStream&& o) noexcept {
  if (this != &o) {
    close(nullptr, nullptr, nullptr);
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

bool HsStream::open(const HsDatabase& db) {
  close(nullptr, nullptr, nullptr);
  return hs_open_stream(db.db_, 0, &s_) == HS_SUCCESS;
}

bool HsStream::scan(HsScratch& scratch, std::span<const uint8_t> data, void (*on_match)(unsigned id, void* ctx),
                    void* ctx) {
  ScanContext sc{on_match, ctx};
  return hs_scan_stream(s_, reinterpret_cast<const char*>(data.data()), static_cast<unsigned>(data.size()), 0,
                        scratch.s_, on_hs_match, &sc) == HS_SUCCESS;
}

bool HsStream::reset() { return hs_reset_stream(s_, 0, nullptr, nullptr, nullptr) == HS_SUCCESS; }

void HsStream::close(HsScratch* scratch, void (*on_match)(unsigned id, void* ctx), void* ctx) {
  if (!s_) return;
  ScanContext sc{on_match, ctx};
  // Without a callback Hyperscan frees the state and reports nothing.
  hs_close_stream(s_, on_match && scratch ? scratch->s_ : nullptr, on_match && scratch ? on_hs_match : nullptr, &sc);
  s_ = nullptr;
}

}  // namespace ots::rules
