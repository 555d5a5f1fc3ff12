#include "rules/rule_database.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "conduits/site_policy.hpp"

namespace ots::rules {

namespace {

// The event protocols a rule sees: its own; an enip rule also the CIP services ENIP carries.
bool sees(RuleProtocol rule, RuleProtocol event) {
  return rule == event || (rule == RuleProtocol::Enip && event == RuleProtocol::Cip);
}

bool in_direction(Direction d, bool to_server) {
  return d == Direction::Any || (d == Direction::ToServer) == to_server;
}

}  // namespace

std::unique_ptr<RuleDatabase> RuleDatabase::build(std::vector<Rule> rules, const SitePolicy* policy,
                                                  std::vector<std::string>& errors) {
  std::unique_ptr<RuleDatabase> out(new RuleDatabase());
  const size_t before = errors.size();
  out->rules_ = std::move(rules);
  const auto& rs = out->rules_;
  const bool zones = policy && policy->enabled();

  // Zone conditions: names of the site model.
  out->zones_.resize(rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    const FieldMatch& m = rs[i].match;
    Zones& z = out->zones_[i];
    auto zone = [&](const std::string& name, const char* key, int16_t& into) {
      if (name.empty()) return;
      if (!zones) {
        errors.push_back(fmt::format("{}: rule {} has '{}: {}', but no site model with zones is loaded", rs[i].mark.text(),
                                     rs[i].id, key, name));
        return;
      }
      into = policy->model().zone_index(name);
      if (into < 0) errors.push_back(fmt::format("{}: rule {}: '{}' names no zone of the site model", rs[i].mark.text(), rs[i].id, name));
    };
    zone(m.from_zone, "from_zone", z.from);
    zone(m.to_zone, "to_zone", z.to);
    if (!m.conduit.empty()) {
      if (!zones) {
        errors.push_back(fmt::format("{}: rule {} has 'conduit: {}', but no site model with zones is loaded",
                                     rs[i].mark.text(), rs[i].id, m.conduit));
      } else {
        z.conduit = -1;
        for (size_t c = 0; c < policy->conduits().size(); ++c)
          if (policy->conduits()[c].name == m.conduit) z.conduit = static_cast<int16_t>(c);
        if (z.conduit < 0)
          errors.push_back(fmt::format("{}: rule {}: '{}' names no conduit of the site model", rs[i].mark.text(), rs[i].id, m.conduit));
      }
    }
  }

  // One database per (event protocol, direction).
  out->slots_.resize(kRuleProtocols * 2);
  for (size_t p = 0; p < kRuleProtocols; ++p) {
    for (const bool to_server : {false, true}) {
      Slot& s = out->slots_[p * 2 + (to_server ? 1 : 0)];
      std::vector<HsPattern> patterns, stream_patterns;
      std::vector<std::pair<uint32_t, uint32_t>> origin, stream_origin;  // (rule, content index) per pattern
      for (uint32_t i = 0; i < rs.size(); ++i) {
        const Rule& r = rs[i];
        if (!in_direction(r.direction, to_server)) continue;
        if (r.scope == Scope::Stream) {
          // A stream is one protocol's bytes: an enip stream rule does not also sit in the cip slot.
          if (static_cast<size_t>(r.protocol) != p) continue;
          for (uint32_t c = 0; c < r.content.size(); ++c) {
            stream_patterns.push_back(
                {r.content[c].expression, r.content[c].nocase, static_cast<unsigned>(stream_patterns.size())});
            s.stream_pattern_rule.push_back(i);
            stream_origin.emplace_back(i, c);
          }
          continue;
        }
        if (!sees(r.protocol, static_cast<RuleProtocol>(p))) continue;
        const uint32_t event_protocol = static_cast<uint32_t>(p);
        auto codes = [&](auto&& each) {
          for (const OperationRef& o : r.match.operations)
            if (static_cast<uint32_t>(o.protocol) == event_protocol) each(o.key & 0xFFFF);
        };
        if (r.content.empty()) {
          s.field_only.push_back(i);
          if (r.match.operations.empty()) s.field_any.push_back(i);
          else codes([&](uint32_t c) { s.field_by_code.emplace_back(c, i); });
          continue;
        }
        if (r.match.operations.empty()) s.scan_always = true;
        else codes([&](uint32_t c) { s.scan_codes.push_back(c); });
        for (uint32_t c = 0; c < r.content.size(); ++c) {
          patterns.push_back({r.content[c].expression, r.content[c].nocase, static_cast<unsigned>(patterns.size())});
          s.pattern_rule.push_back(i);
          origin.emplace_back(i, c);
        }
      }
      std::sort(s.field_by_code.begin(), s.field_by_code.end());
      s.field_by_code.erase(std::unique(s.field_by_code.begin(), s.field_by_code.end()), s.field_by_code.end());
      std::sort(s.scan_codes.begin(), s.scan_codes.end());
      s.scan_codes.erase(std::unique(s.scan_codes.begin(), s.scan_codes.end()), s.scan_codes.end());
      const auto compile = [&](const std::vector<HsPattern>& pats, const std::vector<std::pair<uint32_t, uint32_t>>& from,
                               HsMode mode) -> std::unique_ptr<HsDatabase> {
        if (pats.empty()) return nullptr;
        std::string why;
        int failed = -1;
        auto db = HsDatabase::compile(pats, mode, why, failed);
        if (!db) {
          if (failed >= 0) {
            const auto [ri, ci] = from[static_cast<size_t>(failed)];
            const ContentPattern& c = rs[ri].content[ci];
            const std::string msg = fmt::format("{}: rule {}: Hyperscan cannot compile {} \"{}\": {}", c.mark.text(),
                                                rs[ri].id, c.regex ? "regex" : "content", c.text, why);
            // A rule in both directions fails in both slots: one message.
            if (std::find(errors.begin() + static_cast<std::ptrdiff_t>(before), errors.end(), msg) == errors.end())
              errors.push_back(msg);
          } else {
            errors.push_back(fmt::format("rules: Hyperscan cannot compile the {} {}patterns of {} {}: {}", pats.size(),
                                         mode == HsMode::Stream ? "stream " : "",
                                         rule_protocol_name(static_cast<RuleProtocol>(p)),
                                         to_server ? "to_server" : "to_client", why));
          }
          return nullptr;
        }
        out->patterns_ += pats.size();
        try {
          out->scratch_.grow_for(*db);  // one scratch covers the block and the streaming databases
        } catch (const std::exception& e) {
          errors.push_back(fmt::format("rules: {}", e.what()));
        }
        return db;
      };
      s.db = compile(patterns, origin, HsMode::Block);
      s.stream_db = compile(stream_patterns, stream_origin, HsMode::Stream);
    }
  }
  for (const Rule& r : rs) out->stream_rules_ += r.scope == Scope::Stream;
  for (uint32_t i = 0; i < rs.size(); ++i) out->by_id_.emplace_back(rs[i].id, i);
  std::sort(out->by_id_.begin(), out->by_id_.end());
  if (errors.size() != before) return nullptr;
  return out;
}

bool RuleDatabase::Slot::wants_scan(uint32_t code) const {
  return db && (scan_always || std::binary_search(scan_codes.begin(), scan_codes.end(), code & 0xFFFF));
}

const Rule* RuleDatabase::find(uint64_t id) const {
  const auto it = std::lower_bound(by_id_.begin(), by_id_.end(), std::make_pair(id, uint32_t{0}));
  return it != by_id_.end() && it->first == id ? &rules_[it->second] : nullptr;
}

RuleProtocol RuleDatabase::udp_port_protocol(uint16_t port) const {
  for (size_t p = 0; p < kRuleProtocols; ++p) {
    const auto rp = static_cast<RuleProtocol>(p);
    const uint16_t want = port_only_udp_port(rp);
    if (want == 0 || want != port) continue;
    if (!slot(rp, true).field_only.empty() || slot(rp, true).db || !slot(rp, false).field_only.empty() || slot(rp, false).db)
      return rp;
  }
  return RuleProtocol::Count_;
}

size_t RuleDatabase::database_bytes() const {
  size_t n = 0;
  for (const Slot& s : slots_) {
    if (s.db) n += s.db->bytes();
    if (s.stream_db) n += s.stream_db->bytes();
  }
  return n;
}

size_t RuleDatabase::stream_state_bytes() const {
  size_t n = 0;
  for (const Slot& s : slots_)
    if (s.stream_db) n = std::max(n, s.stream_db->stream_state_bytes());
  return n;
}

std::unique_ptr<RuleDatabase> load_rule_database(const std::vector<std::string>& files, const SitePolicy* policy,
                                                 std::vector<std::string>& errors) {
  std::vector<Rule> rules;
  if (!load_rule_files(files, rules, errors)) return nullptr;
  return RuleDatabase::build(std::move(rules), policy, errors);
}

}  // namespace ots::rules
