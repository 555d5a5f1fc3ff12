// SQLite, wrapped once for the SBOM inventory (inventory/sbom_db.cpp, sbom_query.cpp): the handle, prepared
// statements and the two one-shot helpers. Internal to inventory/: callers of SbomDatabase never see it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ots::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement. Text bound with bind() must outlive the next step(); reset() after each use
// (Use does it on scope exit). Column text is valid until the next step() or reset().
class Statement {
 public:
  bool prepare(sqlite3* db, const char* sql, std::string& err) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      err = sqlite3_errmsg(db);
      return false;
    }
    stmt_.reset(s);
    return true;
  }
  void bind(int i, std::string_view t) {
    sqlite3_bind_text(stmt_.get(), i, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
  }
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_.get(), i, v); }
  void bind_null(int i) { sqlite3_bind_null(stmt_.get(), i); }
  int step() { return sqlite3_step(stmt_.get()); }
  void reset() {
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }
  std::string_view text(int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string_view();
  }
  // A BLOB column's bytes, without the conversion to text (and its copy) that text() may make.
  std::string_view blob(int col) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_.get(), col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))) : std::string_view();
  }
  int64_t integer(int col) { return sqlite3_column_int64(stmt_.get(), col); }
  bool is_null(int col) { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

 private:
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

// Resets a statement when the scope ends, whichever way it ends.
class Use {
 public:
  explicit Use(Statement& s) : s_(s) {}
  ~Use() { s_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

 private:
  Statement& s_;
};

inline bool exec(sqlite3* db, const char* sql, std::string& err) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    err = msg ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return false;
  }
  return true;
}

// The first column of the first row of `sql` as an integer (PRAGMA application_id, user_version, counts).
inline bool query_int(sqlite3* db, const char* sql, int64_t& out, std::string& err) {
  Statement s;
  if (!s.prepare(db, sql, err)) return false;
  const int rc = s.step();
  if (rc != SQLITE_ROW) {
    err = rc == SQLITE_DONE ? std::string("no result") : sqlite3_errmsg(db);
    return false;
  }
  out = s.integer(0);
  return true;
}

}  // namespace ots::sqlite
