// CPU time of the calling thread, for the benchmark figures of --stats-json: the workers', a stage
// thread's, the run loop's (worker_cpu_seconds, attest.thread_cpu_seconds, loop_cpu_seconds).
#pragma once

#include <sys/resource.h>

namespace ots {

// User + system seconds of the calling thread; -1 when the kernel does not say.
inline double thread_cpu_seconds() {
  rusage ru{};
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return -1;
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace ots
