// SIGINT/SIGTERM (stop: flush every flow and log, close the logs, exit 0) and SIGHUP (reopen the logs,
// reload the site model with its rules) for the run loop. The handler only records the signal; the loop acts on it
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
// SIGHUP's alone, first thing: a reload asked for during start-up (logrotate racing a restart, a test)
// waits for the run loop instead of killing the process, SIGHUP's default action. SIGINT and SIGTERM keep
// theirs until install_signal_handlers(), so a start-up blocked opening a source can still be stopped.
void install_reload_handler();

// What arrived since the last call; `stop` stays set once a stop signal came.
SignalRequests take_signal_requests();

// Cheap check for the packet loop (one relaxed atomic load).
bool signal_pending();

}  // namespace ots
