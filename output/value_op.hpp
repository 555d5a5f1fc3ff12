// How a field's value is written, from its Zeek type and the kind of value the record holds: the JSON
// formatter's dispatch, one table lookup and one jump per field instead of a switch on the type to
// decide whether the member is written and a second one to write it. (The TSV formatter keeps its
// switch on the type: there, with unset tested first, the table measured some 1.1 M instructions more
// on mb100k.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "output/log_schema.hpp"

namespace ots {

// Unset: a value of a kind the field's type cannot hold is written as unset (TSV's "-", omitted in
// JSON), as is Unset itself. The others name the value's kind and rendering.
enum class ValueOp : uint8_t { Unset, TimeU, TimeI, CountU, CountI, Double, Bool, Addr, String, Strings, Counts };

namespace value_op_detail {

inline constexpr size_t kValueKinds = std::variant_size_v<Value>;
inline constexpr size_t kFieldTypes = static_cast<size_t>(FieldType::VectorCount) + 1;

template <typename T>
inline constexpr size_t kind_of = Value{T{}}.index();

inline constexpr auto kOps = [] {
  std::array<std::array<ValueOp, kValueKinds>, kFieldTypes> t{};  // all Unset
  const auto set = [&t](FieldType ft, size_t kind, ValueOp op) { t[static_cast<size_t>(ft)][kind] = op; };
  for (const FieldType ft : {FieldType::Time, FieldType::Interval}) {
    set(ft, kind_of<uint64_t>, ValueOp::TimeU);
    set(ft, kind_of<int64_t>, ValueOp::TimeI);
  }
  for (const FieldType ft : {FieldType::Port, FieldType::Count, FieldType::Int}) {
    set(ft, kind_of<uint64_t>, ValueOp::CountU);
    set(ft, kind_of<int64_t>, ValueOp::CountI);
  }
  set(FieldType::Double, kind_of<double>, ValueOp::Double);
  set(FieldType::Bool, kind_of<bool>, ValueOp::Bool);
  set(FieldType::Addr, kind_of<IpAddr>, ValueOp::Addr);
  for (const FieldType ft : {FieldType::String, FieldType::Enum, FieldType::Subnet}) {
    set(ft, kind_of<std::string_view>, ValueOp::String);
  }
  for (const FieldType ft : {FieldType::SetString, FieldType::SetEnum, FieldType::VectorString}) {
    set(ft, kind_of<std::span<const std::string_view>>, ValueOp::Strings);
  }
  set(FieldType::VectorCount, kind_of<std::span<const uint64_t>>, ValueOp::Counts);
  return t;
}();

}  // namespace value_op_detail

inline ValueOp value_op(FieldType t, const Value& v) {
  using namespace value_op_detail;
  const size_t kind = v.index();
  const auto ti = static_cast<size_t>(t);
  // A valueless variant (variant_npos) and a FieldType out of range are unset too.
  return kind < kValueKinds && ti < kFieldTypes ? kOps[ti][kind] : ValueOp::Unset;
}

// The value behind `v` once value_op has said which kind it is.
template <typename T>
const T& held(const Value& v) {
  return *std::get_if<T>(&v);
}

}  // namespace ots
