// Parsers the syslog tests read messages back with: RFC 5424, CEF and LEEF, written from the specs
// (docs/reference), independent of the code that formats them.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ots::test {

struct Rfc5424 {
  int pri = -1;
  std::string version, timestamp, hostname, app_name, procid, msgid;
  // SD-ID -> (PARAM-NAME -> value, unescaped)
  std::map<std::string, std::map<std::string, std::string>> sd;
  std::string msg;
};

// RFC 5424 section 6; nullopt when the line does not follow the ABNF.
inline std::optional<Rfc5424> parse_rfc5424(std::string_view s) {
  Rfc5424 m;
  size_t i = 0;
  if (s.empty() || s[0] != '<') return std::nullopt;
  const size_t gt = s.find('>');
  if (gt == std::string_view::npos || gt < 2 || gt > 4) return std::nullopt;
  m.pri = std::stoi(std::string(s.substr(1, gt - 1)));
  if (m.pri < 0 || m.pri > 191) return std::nullopt;
  i = gt + 1;
  auto field = [&](std::string& out) {
    const size_t sp = s.find(' ', i);
    if (sp == std::string_view::npos || sp == i) return false;
    out = std::string(s.substr(i, sp - i));
    i = sp + 1;
    return true;
  };
  if (!field(m.version) || !field(m.timestamp) || !field(m.hostname) || !field(m.app_name) || !field(m.procid) ||
      !field(m.msgid))
    return std::nullopt;
  if (i < s.size() && s[i] == '-') {
    ++i;
  } else {
    while (i < s.size() && s[i] == '[') {
      ++i;
      const size_t end_id = s.find_first_of(" ]", i);
      if (end_id == std::string_view::npos) return std::nullopt;
      auto& params = m.sd[std::string(s.substr(i, end_id - i))];
      i = end_id;
      while (i < s.size() && s[i] == ' ') {
        ++i;
        const size_t eq = s.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= s.size() || s[eq + 1] != '"') return std::nullopt;
        const std::string name(s.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        while (i < s.size() && s[i] != '"') {
          if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == ']')) ++i;
          value.push_back(s[i++]);
        }
        if (i >= s.size()) return std::nullopt;
        ++i;  // closing quote
        params[name] = value;
      }
      if (i >= s.size() || s[i] != ']') return std::nullopt;
      ++i;
    }
  }
  if (i < s.size()) {
    if (s[i] != ' ') return std::nullopt;
    m.msg = std::string(s.substr(i + 1));
  }
  return m;
}

struct Cef {
  std::vector<std::string> header;  // version ("CEF:0"), vendor, product, version, signature id, name, severity
  std::map<std::string, std::string> ext;
};

// CEF: seven '|'-separated header fields ('\|' and '\\' escaped), then space-separated key=value pairs
// whose values escape '=', '\', CR and LF; a value runs to the next " key=".
inline std::optional<Cef> parse_cef(std::string_view s) {
  Cef c;
  std::string cur;
  size_t i = 0;
  while (i < s.size() && c.header.size() < 7) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '|' || s[i + 1] == '\\')) {
      cur.push_back(s[i + 1]);
      i += 2;
    } else if (s[i] == '|') {
      c.header.push_back(cur);
      cur.clear();
      ++i;
    } else {
      cur.push_back(s[i++]);
    }
  }
  if (c.header.size() != 7 || c.header[0] != "CEF:0") return std::nullopt;
  const std::string_view ext = s.substr(i);
  // Positions of unescaped '='; the key is the word before each.
  std::vector<std::pair<size_t, size_t>> keys;  // (key start, '=' position)
  for (size_t k = 0; k < ext.size(); ++k) {
    if (ext[k] == '\\') {
      ++k;
      continue;
    }
    if (ext[k] != '=') continue;
    size_t start = k;
    while (start > 0 && ext[start - 1] != ' ') --start;
    keys.emplace_back(start, k);
  }
  for (size_t k = 0; k < keys.size(); ++k) {
    const size_t vbeg = keys[k].second + 1;
    const size_t vend = k + 1 < keys.size() ? keys[k + 1].first - 1 : ext.size();
    std::string v;
    for (size_t j = vbeg; j < vend; ++j) {
      if (ext[j] == '\\' && j + 1 < vend) {
        const char n = ext[++j];
        v.push_back(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
      } else {
        v.push_back(ext[j]);
      }
    }
    c.ext[std::string(ext.substr(keys[k].first, keys[k].second - keys[k].first))] = v;
  }
  return c;
}

struct Leef {
  std::vector<std::string> header;  // "LEEF:2.0", vendor, product, version, event id, delimiter
  std::map<std::string, std::string> attrs;
};

// LEEF 2.0: six '|'-separated header fields, the sixth the attribute delimiter (a character, or x/0x and
// hex digits), then key=value attributes separated by it.
inline std::optional<Leef> parse_leef(std::string_view s) {
  Leef l;
  size_t i = 0;
  for (int k = 0; k < 6; ++k) {
    const size_t bar = s.find('|', i);
    if (bar == std::string_view::npos) return std::nullopt;
    l.header.emplace_back(s.substr(i, bar - i));
    i = bar + 1;
  }
  if (l.header[0] != "LEEF:2.0") return std::nullopt;
  std::string d = l.header[5];
  char delim = d.size() == 1 ? d[0] : '\0';
  if (d.size() > 1) {
    const size_t hex = d.rfind('x');
    if (hex == std::string::npos) return std::nullopt;
    delim = static_cast<char>(std::stoi(d.substr(hex + 1), nullptr, 16));
  }
  const std::string_view rest = s.substr(i);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t end = rest.find(delim, pos);
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view kv = rest.substr(pos, end - pos);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    l.attrs[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
    pos = end + 1;
  }
  return l;
}

}  // namespace ots::test
