// Content patterns: a literal as Suricata writes it ("abc|de ad|def": bytes between pipes in hex) turned
// into a Hyperscan expression that matches exactly those bytes.
#pragma once

#include <string>
#include <string_view>

namespace ots::rules {

// The bytes a Suricata-style content literal stands for. False with `why` ("unterminated |...| hex
// block", "'g' is not a hex digit", ...) when the literal is malformed or empty.
bool decode_content_literal(std::string_view literal, std::string& bytes, std::string& why);

// A Hyperscan expression matching exactly `bytes` (every byte escaped as \xNN, so no byte is special).
std::string literal_expression(std::string_view bytes);

}  // namespace ots::rules
