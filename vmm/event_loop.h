// EventLoop: one thread's epoll loop for host-side device work (console input,
// virtio queue notifications through ioeventfds, later sockets and timers).
//
// Add/Remove/Post/Stop may be called from any thread; callbacks run on the
// thread inside Run().
#ifndef KUML_VMM_EVENT_LOOP_H_
#define KUML_VMM_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "util/unique_fd.h"

namespace kuml {

class EventLoop {
 public:
  // Receives the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLHUP ...).
  using Callback = std::function<void(uint32_t events)>;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();

  // Watches `fd` (not owned) for `events`. One registration per fd.
  absl::Status Add(int fd, uint32_t events, Callback callback);
  absl::Status Modify(int fd, uint32_t events);
  // Stops watching `fd`; its callback is not called again once this returns
  // on the loop thread (from another thread: after the current dispatch).
  void Remove(int fd);

  // Runs `fn` on the loop thread soon.
  void Post(std::function<void()> fn);

  // Dispatches events until Stop(). Returns immediately if already stopped.
  void Run();
  void Stop();
  bool stopped() const;

 private:
  EventLoop(UniqueFd epoll, UniqueFd wake);
  void Wake();
  void RunPosted();

  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd: interrupts epoll_wait for Post and Stop
  mutable absl::Mutex mu_;
  std::map<int, std::shared_ptr<Callback>> callbacks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kuml

#endif  // KUML_VMM_EVENT_LOOP_H_
