#include "sensor/signals.hpp"

#include <signal.h>

#include <atomic>
#include <initializer_list>

namespace ots {

namespace {

constexpr unsigned kStop = 1u;
constexpr unsigned kReload = 2u;

// The process's only global mutable state, because a signal handler can reach nothing else: POSIX lets
// it touch lock-free atomics (and volatile sig_atomic_t) and little more. Bits of kStop and kReload.
std::atomic<unsigned> g_signal_requests{0};
static_assert(std::atomic<unsigned>::is_always_lock_free, "a signal handler needs a lock-free atomic");

extern "C" void on_signal(int sig) {
  if (sig == SIGHUP) {
    g_signal_requests.fetch_or(kReload, std::memory_order_relaxed);
    return;
  }
  g_signal_requests.fetch_or(kStop, std::memory_order_relaxed);
  // A second Ctrl-C should not wait for a slow shutdown. sigaction is async-signal-safe.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
}

}  // namespace

namespace {

void handle(std::initializer_list<int> signals) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART for the file and socket I/O elsewhere; poll(2), where an idle loop waits, returns EINTR
  // regardless (signal(7)), so the loop looks at the flags at once.
  sa.sa_flags = SA_RESTART;
  for (const int sig : signals) sigaction(sig, &sa, nullptr);
}

}  // namespace

void install_signal_handlers() { handle({SIGINT, SIGTERM, SIGHUP}); }

void install_reload_handler() { handle({SIGHUP}); }

SignalRequests take_signal_requests() {
  // The stop bit stays: every later look sees it too.
  const unsigned v = g_signal_requests.fetch_and(~kReload, std::memory_order_relaxed);
  return SignalRequests{(v & kStop) != 0, (v & kReload) != 0};
}

bool signal_pending() { return g_signal_requests.load(std::memory_order_relaxed) != 0; }

}  // namespace ots
