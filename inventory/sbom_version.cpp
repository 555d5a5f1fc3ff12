// Version order and package URLs for the SBOM inventory's queries (inventory/sbom_version.hpp).
#include "inventory/sbom_version.hpp"

#include <algorithm>
#include <array>

namespace ots::sbom {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

struct Segment {
  std::string_view text;
  bool numeric = false;
  char separator = 0;  // the last non-alphanumeric character before it; 0 when glued to the previous segment
};

// Walks a version string segment by segment.
class VersionCursor {
 public:
  explicit VersionCursor(std::string_view v) : v_(v) {}
  bool next(Segment& s) {
    s.separator = 0;
    while (i_ < v_.size() && !is_digit(v_[i_]) && !is_alpha(v_[i_])) s.separator = v_[i_++];
    if (i_ == v_.size()) return false;
    const size_t start = i_;
    s.numeric = is_digit(v_[i_]);
    while (i_ < v_.size() && (s.numeric ? is_digit(v_[i_]) : is_alpha(v_[i_]))) ++i_;
    s.text = v_.substr(start, i_ - start);
    return true;
  }

 private:
  std::string_view v_;
  size_t i_ = 0;
};

std::string_view strip_zeros(std::string_view n) {
  while (n.size() > 1 && n[0] == '0') n.remove_prefix(1);
  return n;
}

bool is_zero(const Segment& s) { return s.numeric && strip_zeros(s.text) == "0"; }

int compare_numbers(std::string_view a, std::string_view b) {
  a = strip_zeros(a);
  b = strip_zeros(b);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int compare_text(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const char x = lower(a[i]), y = lower(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

bool marks_prerelease(const Segment& s) {
  if (s.separator == '-' || s.separator == '~') return true;
  static constexpr std::array<std::string_view, 7> kWords = {"alpha", "beta", "rc", "pre", "preview", "dev",
                                                             "snapshot"};
  return std::any_of(kWords.begin(), kWords.end(), [&](std::string_view w) { return compare_text(s.text, w) == 0; });
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  VersionCursor ca(a), cb(b);
  for (;;) {
    Segment sa, sb;
    const bool ha = ca.next(sa), hb = cb.next(sb);
    if (!ha && !hb) return 0;
    if (ha && hb) {
      int c;
      if (sa.numeric && sb.numeric) {
        c = compare_numbers(sa.text, sb.text);
      } else if (sa.numeric != sb.numeric) {
        c = sa.numeric ? 1 : -1;
      } else {
        c = compare_text(sa.text, sb.text);
      }
      if (c != 0) return c;
      continue;
    }
    // One side ran out: the other side's remainder decides. `sign` is the answer when the longer is greater.
    VersionCursor& rest = ha ? ca : cb;
    Segment s = ha ? sa : sb;
    const int sign = ha ? 1 : -1;
    while (is_zero(s)) {
      if (!rest.next(s)) return 0;
    }
    if (s.numeric) return sign;
    return marks_prerelease(s) ? -sign : sign;
  }
}

bool split_purl(std::string_view purl, PurlParts& out) {
  if (purl.size() < 4 || compare_text(purl.substr(0, 4), "pkg:") != 0) return false;
  std::string_view body = purl.substr(4);
  while (!body.empty() && body[0] == '/') body.remove_prefix(1);  // "pkg://type/..." is tolerated (purl spec)
  const size_t cut = body.find_first_of("?#");
  out.rest = cut == std::string_view::npos ? std::string() : std::string(body.substr(cut));
  body = body.substr(0, cut == std::string_view::npos ? body.size() : cut);
  const size_t slash = body.find('/');
  if (slash == 0 || slash == std::string_view::npos || slash + 1 == body.size()) return false;
  const size_t at = body.rfind('@');
  out.version.clear();
  if (at != std::string_view::npos && at > slash) {
    out.version = std::string(body.substr(at + 1));
    body = body.substr(0, at);
    if (body.size() == slash + 1) return false;  // no name before '@'
  }
  out.base = "pkg:";
  for (size_t i = 0; i < slash; ++i) out.base += lower(body[i]);
  out.base.append(body.substr(slash));
  return true;
}

}  // namespace ots::sbom
