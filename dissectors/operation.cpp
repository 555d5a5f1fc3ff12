#include "dissectors/operation.hpp"

namespace ots {

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::Modbus: return "modbus";
    case Protocol::Dnp3: return "dnp3";
    case Protocol::Enip: return "enip";
    case Protocol::Cip: return "cip";
    case Protocol::S7comm: return "s7comm";
    case Protocol::S7commPlus: return "s7comm-plus";
    case Protocol::Aqat: return "aqat";
    case Protocol::Count_: break;
  }
  return "unknown";
}

}  // namespace ots
