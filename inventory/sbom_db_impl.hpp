// SbomDatabase's state, shared by its two halves: sbom_db.cpp (open, schema, writes) and sbom_query.cpp
// (the queries). Internal to inventory/.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "inventory/sbom_db.hpp"
#include "inventory/sqlite_statement.hpp"

namespace ots::sbom {

struct SbomDatabase::Impl {
  sqlite::DbHandle db;
  std::string path;
  // Writes (ReadWrite only).
  sqlite::Statement begin, commit, rollback;
  sqlite::Statement upsert_device, delete_links, find_component, insert_component, insert_link, delete_orphans;
  // Queries: the matching components, their devices, and those devices' rows (by id, or all in device_id
  // order through the covering index).
  sqlite::Statement components_named, components_of_purl, links_of, device_by_id, devices_in_order, max_device_id;
  sqlite::Statement stats;

  std::string error(std::string_view what) const {
    return fmt::format("{}: {}: {}", path, what, sqlite3_errmsg(db.get()));
  }
};

}  // namespace ots::sbom
