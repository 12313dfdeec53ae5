// FramePump: a thread that copies every frame between two NetTransports in
// both directions -- a patch cable. Tests plug a tap whose other end is a
// network namespace's kernel stack into a transport under test, so that a
// real TCP/IP stack (ping, TCP) stands in for a guest on that transport.
// Between a transport with vnet headers and one without, headers are
// added (all zero) or dropped; a tap with headers gets no offloads turned
// on, so what it delivers is always a finished frame.
#ifndef KUML_DEVICES_NET_TESTING_FRAME_PUMP_H_
#define KUML_DEVICES_NET_TESTING_FRAME_PUMP_H_

#include <atomic>
#include <thread>

#include "devices/net/net_transport.h"
#include "util/unique_fd.h"

namespace kuml {

class FramePump {
 public:
  FramePump(NetTransport* a, NetTransport* b);
  ~FramePump();

  uint64_t a_to_b() const { return a_to_b_.load(); }
  uint64_t b_to_a() const { return b_to_a_.load(); }

 private:
  void Run();

  NetTransport* a_;
  NetTransport* b_;
  UniqueFd stop_;  // eventfd
  std::atomic<uint64_t> a_to_b_{0}, b_to_a_{0};
  std::thread thread_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_NET_TESTING_FRAME_PUMP_H_
