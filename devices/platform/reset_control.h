// ResetControl: the two ways a PC resets itself from software, as the guest
// kernel uses them (Linux's reboot= k and p methods):
//  - the i8042 keyboard controller's "pulse reset line" command: 0xfe written
//    to its command port 0x64. Reads of 0x64 say the controller is idle, so
//    Linux's kb_wait() does not spin; port 0x60 reads as zero.
//  - the reset control register at 0xcf9: a write with RST_CPU (bit 2) set.
// Register the same instance at kI8042Base (length 5) and kCf9Port (1).
#ifndef KUML_DEVICES_PLATFORM_RESET_CONTROL_H_
#define KUML_DEVICES_PLATFORM_RESET_CONTROL_H_

#include <cstdint>

#include "devices/platform/guest_requests.h"
#include "vmm/bus_device.h"

namespace kuml {

class ResetControl : public BusDevice {
 public:
  static constexpr uint16_t kI8042Base = 0x60;  // data 0x60, command 0x64
  static constexpr uint64_t kI8042Length = 5;
  static constexpr uint16_t kCf9Port = 0xcf9;
  static constexpr uint8_t kI8042PulseReset = 0xfe;
  static constexpr uint8_t kCf9ResetCpu = 1 << 2;

  // `base` is the port this instance is registered at (kI8042Base or
  // kCf9Port): the bus passes offsets relative to it.
  ResetControl(GuestRequestSink* sink, uint16_t base)
      : sink_(sink), base_(base) {}

  void Read(uint64_t offset, uint8_t* data, uint32_t size) override;
  void Write(uint64_t offset, const uint8_t* data, uint32_t size) override;

 private:
  GuestRequestSink* sink_;
  uint16_t base_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_PLATFORM_RESET_CONTROL_H_
