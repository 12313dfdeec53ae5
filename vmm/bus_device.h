// BusDevice: anything the guest reaches through port I/O or MMIO.
//
// A device is registered on an IoBus at a base address; the bus hands it
// accesses with offsets relative to that base. Accesses arrive on vCPU
// threads, so a device that also has host-side work (a backend on the event
// loop) guards its own state.
#ifndef KUML_VMM_BUS_DEVICE_H_
#define KUML_VMM_BUS_DEVICE_H_

#include <cstdint>

namespace kuml {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // `size` is 1, 2, 4 or 8 bytes. Reads fill `data` completely (unknown
  // registers read as zero); writes to unknown registers are ignored.
  virtual void Read(uint64_t offset, uint8_t* data, uint32_t size) = 0;
  virtual void Write(uint64_t offset, const uint8_t* data, uint32_t size) = 0;
};

}  // namespace kuml

#endif  // KUML_VMM_BUS_DEVICE_H_
