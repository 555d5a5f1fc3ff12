#include "rules/hyperscan.hpp"

#include <hs/hs.h>

#include <stdexcept>

namespace ots::rules {

std::unique_ptr<HsDatabase> HsDatabase::compile(const std::vector<HsPattern>& patterns, std::string& error,
                                                 int& failed_index) {
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
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                       nullptr, &db, &err) != HS_SUCCESS) {
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

}  // namespace ots::rules
