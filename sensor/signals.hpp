// SIGINT/SIGTERM (stop: flush every flow and log, close the logs, exit 0) and SIGHUP (reopen the logs,
// reload the site model) for the run loop. The handler only records the signal; the loop acts on it
// between bursts, on its own thread.
#pragma once

namespace ots {

struct SignalRequests {
  bool stop = false;    // SIGINT or SIGTERM arrived
  bool reload = false;  // SIGHUP arrived (once, however many came since the last look)
};

// Installs the handlers (idempotent). A second SIGINT/SIGTERM while the sensor shuts down kills it: the
// handler restores the default action after the first.
void install_signal_handlers();

// What arrived since the last call; `stop` stays set once a stop signal came.
SignalRequests take_signal_requests();

// Cheap check for the packet loop (one relaxed atomic load).
bool signal_pending();

}  // namespace ots
