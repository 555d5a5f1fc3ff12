// Zeek log schemas: field names and Zeek types, in Zeek's order. A log's schema is its public API.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "capture/net_types.hpp"

namespace ots {

// Zeek's type names, as they appear in #types.
enum class FieldType : uint8_t {
  Time,          // "time":      Value holds uint64_t nanoseconds since the epoch
  Interval,      // "interval":  int64_t nanoseconds
  String,        // "string":    std::string_view
  Enum,          // "enum":      std::string_view
  Addr,          // "addr":      IpAddr
  Subnet,        // "subnet":    std::string_view already in CIDR text form
  Port,          // "port":      uint64_t
  Count,         // "count":     uint64_t
  Int,           // "int":       int64_t
  Double,        // "double":    double
  Bool,          // "bool":      bool
  SetString,     // "set[string]":    std::span<const std::string_view>
  SetEnum,       // "set[enum]":      std::span<const std::string_view>
  VectorString,  // "vector[string]": std::span<const std::string_view>
  VectorCount,   // "vector[count]":  std::span<const uint64_t>
};

std::string_view zeek_type_name(FieldType t);

struct FieldDef {
  std::string_view name;  // flattened with '.', e.g. "id.orig_h"
  FieldType type;
};

struct LogSchema {
  std::string_view path;  // "conn" -> conn.log
  std::vector<FieldDef> fields;
};

// One field's value while a record is written. Views only: the record is formatted inside write(), so
// nothing here must outlive that call.
struct Unset {};
using Value = std::variant<Unset, uint64_t, int64_t, double, bool, std::string_view, IpAddr,
                           std::span<const std::string_view>, std::span<const uint64_t>>;

}  // namespace ots
