// A connection's history letters as text (Conn::history()), apart from the packed form the flow table keeps
// (capture/conn_history.hpp), which cannot hand out a pointer into itself.
#pragma once

#include <string_view>

namespace ots {

struct HistoryText {
  char text[24] = {};  // at most flow::ConnHistory::kMax (23) letters and the terminating zero
  const char* c_str() const { return text; }
  bool empty() const { return text[0] == 0; }
  std::string_view view() const { return text; }
};

}  // namespace ots
