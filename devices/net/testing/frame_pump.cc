#include "devices/net/testing/frame_pump.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace kuml {

FramePump::FramePump(NetTransport* a, NetTransport* b)
    : a_(a), b_(b), stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  thread_ = std::thread([this] { Run(); });
}

FramePump::~FramePump() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  thread_.join();
}

void FramePump::Run() {
  std::vector<uint8_t> frame(kMaxFrameBytes + kVirtioNetHdrBytes);
  auto move = [&frame](NetTransport* from, NetTransport* to,
                       std::atomic<uint64_t>& count) {
    for (;;) {
      // Frames are read after room for a header, so one can be added.
      constexpr size_t kHdr = kVirtioNetHdrBytes;
      absl::StatusOr<size_t> n =
          from->Receive(absl::MakeSpan(frame).subspan(kHdr));
      if (!n.ok() || *n == 0) return;
      uint8_t* start = frame.data() + kHdr;
      size_t len = *n;
      if (from->vnet_header() && !to->vnet_header()) {
        if (len < kHdr) continue;
        start += kHdr;  // plain frames only come out of an offload-less tap
        len -= kHdr;
      } else if (!from->vnet_header() && to->vnet_header()) {
        start -= kHdr;  // a finished frame: an all-zero header
        std::fill(start, start + kHdr, 0);
        len += kHdr;
      }
      iovec v{start, len};
      if (to->Send(absl::MakeConstSpan(&v, 1)).ok()) ++count;
    }
  };
  for (;;) {
    pollfd fds[3] = {{stop_.get(), POLLIN, 0},
                     {a_->poll_fd(), POLLIN, 0},
                     {b_->poll_fd(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) continue;
    if (fds[0].revents) return;
    if (fds[1].revents) move(a_, b_, a_to_b_);
    if (fds[2].revents) move(b_, a_, b_to_a_);
  }
}

}  // namespace kuml
