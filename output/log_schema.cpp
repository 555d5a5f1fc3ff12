#include "output/log_schema.hpp"

namespace ots {

std::string_view zeek_type_name(FieldType t) {
  switch (t) {
    case FieldType::Time: return "time";
    case FieldType::Interval: return "interval";
    case FieldType::String: return "string";
    case FieldType::Enum: return "enum";
    case FieldType::Addr: return "addr";
    case FieldType::Subnet: return "subnet";
    case FieldType::Port: return "port";
    case FieldType::Count: return "count";
    case FieldType::Int: return "int";
    case FieldType::Double: return "double";
    case FieldType::Bool: return "bool";
    case FieldType::SetString: return "set[string]";
    case FieldType::SetEnum: return "set[enum]";
    case FieldType::VectorString: return "vector[string]";
    case FieldType::VectorCount: return "vector[count]";
  }
  return "string";
}

}  // namespace ots
