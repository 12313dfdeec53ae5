// PanicNotifier: QEMU's "pvpanic" ISA port (0x505), by which a guest kernel
// says it has panicked. Reads report the events understood (PANICKED); a
// write with bit 0 set is a panic. The default guest kernel writes it from a
// panic notifier (guest/patches).
#ifndef KUML_DEVICES_PLATFORM_PANIC_NOTIFIER_H_
#define KUML_DEVICES_PLATFORM_PANIC_NOTIFIER_H_

#include <cstdint>

#include "devices/platform/guest_requests.h"
#include "vmm/bus_device.h"

namespace kuml {

class PanicNotifier : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x505;
  static constexpr uint8_t kPanicked = 1 << 0;

  explicit PanicNotifier(GuestRequestSink* sink) : sink_(sink) {}

  void Read(uint64_t offset, uint8_t* data, uint32_t size) override;
  void Write(uint64_t offset, const uint8_t* data, uint32_t size) override;

 private:
  GuestRequestSink* sink_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_PLATFORM_PANIC_NOTIFIER_H_
