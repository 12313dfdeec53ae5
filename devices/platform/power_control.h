// PowerControl: the guest's power-off switch, an ACPI PM1a control register
// (16 bits) at port kPort.
//
// Writing a value with SLP_EN (bit 13) set powers the machine off: the only
// sleep state kuml offers is S5 (soft off), so SLP_TYP is not interpreted.
// The default guest kernel writes it from pm_power_off (guest/patches); an
// ACPI FADT that names this port as PM1a_CNT_BLK makes it work for any
// ACPI-enabled kernel, with no change here.
#ifndef KUML_DEVICES_PLATFORM_POWER_CONTROL_H_
#define KUML_DEVICES_PLATFORM_POWER_CONTROL_H_

#include <cstdint>

#include "devices/platform/guest_requests.h"
#include "vmm/bus_device.h"

namespace kuml {

class PowerControl : public BusDevice {
 public:
  static constexpr uint16_t kPort = 0x604;  // where QEMU's PIIX4/ICH9 put it
  static constexpr uint64_t kLength = 2;
  static constexpr uint16_t kSleepEnable = 1 << 13;

  explicit PowerControl(GuestRequestSink* sink) : sink_(sink) {}

  void Read(uint64_t offset, uint8_t* data, uint32_t size) override;
  void Write(uint64_t offset, const uint8_t* data, uint32_t size) override;

 private:
  GuestRequestSink* sink_;
  uint16_t value_ = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_PLATFORM_POWER_CONTROL_H_
