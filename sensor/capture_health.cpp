#include "sensor/capture_health.hpp"

#include <fmt/format.h>

namespace ots {

void capture_health_notices(const CaptureInterval& in, const CaptureHealthConfig& cfg, std::vector<Notice>& out) {
  const double seconds = static_cast<double>(in.length_ns) / 1e9;
  const double lost = in.acks == 0 ? 0.0 : 100.0 * static_cast<double>(in.gaps) / static_cast<double>(in.acks);
  // Zeek compares with >= (capture-loss.zeek: pct_lost >= too_much_loss*100) and no ACKs means no loss.
  if (in.acks != 0 && lost >= cfg.too_much_loss_percent) {
    Notice n;
    n.ts_ns = in.ts_ns;
    n.note = kTooMuchLossNote;
    // Zeek's own message, which SIEM content for Zeek matches on.
    n.msg = fmt::format("The capture loss script detected an estimated loss rate above {:.3f}%", lost);
    n.sub = fmt::format("{} of {} TCP ACKs in {:.1f} s acknowledged data never seen (threshold {}%)", in.gaps, in.acks,
                        seconds, cfg.too_much_loss_percent);
    n.severity = Severity::Medium;
    out.push_back(std::move(n));
  }
  if (in.live && in.dropped != 0) {
    const uint64_t seen = in.packets + in.dropped;
    const double share = 100.0 * static_cast<double>(in.dropped) / static_cast<double>(seen);
    if (share > cfg.dropped_packets_percent) {
      Notice n;
      n.ts_ns = in.ts_ns;
      n.note = kDroppedPacketsNote;
      // Zeek's message (netstats.zeek): dropped, received including the dropped, and the link's count.
      n.msg = fmt::format("{} packets dropped after filtering, {} received{}", in.dropped, seen,
                          in.link ? fmt::format(", {} on link", in.link) : std::string());
      n.sub = fmt::format("{:.3f}% of the packets in {:.1f} s dropped by the kernel or the interface (threshold {}%)",
                          share, seconds, cfg.dropped_packets_percent);
      n.severity = Severity::Medium;
      out.push_back(std::move(n));
    }
  }
}

}  // namespace ots
