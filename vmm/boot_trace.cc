#include "vmm/boot_trace.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

namespace kuml {
namespace {

bool Enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("KUML_BOOT_TRACE");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return enabled;
}

}  // namespace

void BootTracePoint(const char* name) {
  if (!Enabled()) return;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  static std::mutex mu;
  static std::set<std::string>* seen = new std::set<std::string>;
  std::lock_guard<std::mutex> lock(mu);
  if (!seen->insert(name).second) return;
  std::fprintf(stderr, "kuml-trace: %s %lld.%09ld\n", name,
               static_cast<long long>(now.tv_sec), now.tv_nsec);
}

}  // namespace kuml
