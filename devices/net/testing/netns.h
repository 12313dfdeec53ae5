// TestNetns: a network namespace a test creates and owns (needs root), so
// that taps, addresses and traffic stay inside the test: created with only
// lo, which is up, multicast-capable and routes 224.0.0.0/4 (enough for
// the mcast transport). Gone when the object is destroyed (its last
// reference is the fd kept here; taps in it disappear with it).
#ifndef KUML_DEVICES_NET_TESTING_NETNS_H_
#define KUML_DEVICES_NET_TESTING_NETNS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "util/unique_fd.h"

namespace kuml {

class TestNetns {
 public:
  static absl::StatusOr<std::unique_ptr<TestNetns>> Create();

  // Runs `command` with /bin/sh inside the namespace; the output (stdout and
  // stderr) is returned; a non-zero exit is an error carrying it.
  absl::StatusOr<std::string> Sh(const std::string& command) const;

  // Runs `fn` on a thread that has entered the namespace (sockets and taps
  // it creates belong there; their fds work from any thread afterwards).
  void Run(const std::function<void()>& fn) const;

  // "nsenter --net=... " to prefix commands run from elsewhere.
  std::string Enter() const;

 private:
  explicit TestNetns(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Runs `command` with /bin/sh on the host; output or error as above.
absl::StatusOr<std::string> HostSh(const std::string& command);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_TESTING_NETNS_H_
