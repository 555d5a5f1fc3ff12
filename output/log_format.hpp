// Zeek's ASCII (TSV) and JSON renderings of one record, and the TSV header and footer.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "output/log_schema.hpp"

namespace ots {

// Appends one record as a TSV data line (with its '\n') exactly as Zeek's Ascii writer does: escaping of
// separators and non-printable bytes as \xHH, "(empty)" for empty strings and containers, "-" for unset,
// 6-decimal times and intervals, T/F, a leading '#' written as \x23.
void format_tsv(const LogSchema& schema, std::span<const Value> values, std::string& out);

// Appends one record as a JSON object line (with its '\n') as Zeek's LogAscii::use_json=T writes it:
// flattened keys, unset fields omitted, times as epoch seconds with 6 decimals, Zeek's HEX string escape
// policy for bytes that are not valid UTF-8.
void format_json(const LogSchema& schema, std::span<const Value> values, std::string& out);

// The eight header lines (#separator ... #types) with #open at `open_time` (wall clock, local time,
// "%Y-%m-%d-%H-%M-%S"), and the #close footer line.
std::string tsv_header(const LogSchema& schema, int64_t open_time_unix_s);
std::string tsv_footer(int64_t close_time_unix_s);

}  // namespace ots
