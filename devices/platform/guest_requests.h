// GuestRequestSink: how platform devices tell the machine that the guest
// asked to power off, to reset, or that its kernel panicked.
#ifndef KUML_DEVICES_PLATFORM_GUEST_REQUESTS_H_
#define KUML_DEVICES_PLATFORM_GUEST_REQUESTS_H_

namespace kuml {

enum class GuestRequest {
  kPowerOff,
  kReset,
  kPanic,
};

class GuestRequestSink {
 public:
  virtual ~GuestRequestSink() = default;
  // Called on a vCPU thread; must not block.
  virtual void OnGuestRequest(GuestRequest request) = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_PLATFORM_GUEST_REQUESTS_H_
