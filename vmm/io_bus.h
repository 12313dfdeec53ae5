// IoBus: routes guest port-I/O or MMIO accesses to the device that owns the
// address. One instance for the PIO space, one for MMIO.
#ifndef KUML_VMM_IO_BUS_H_
#define KUML_VMM_IO_BUS_H_

#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "vmm/bus_device.h"

namespace kuml {

class IoBus {
 public:
  // Registers `device` (not owned; must outlive the bus) for
  // [base, base + length). Overlapping ranges are refused.
  absl::Status Register(uint64_t base, uint64_t length, BusDevice* device);
  void Unregister(uint64_t base);

  // Dispatches an access; false when no device owns `addr` (reads then
  // return all ones, as on a PC with nothing on the bus).
  bool Read(uint64_t addr, uint8_t* data, uint32_t size) const;
  bool Write(uint64_t addr, const uint8_t* data, uint32_t size) const;

 private:
  struct Range {
    uint64_t length;
    BusDevice* device;
  };
  // Finds the range holding [addr, addr + size); fills *offset.
  BusDevice* Find(uint64_t addr, uint32_t size, uint64_t* offset) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<uint64_t, Range> ranges_ ABSL_GUARDED_BY(mu_);  // keyed by base
};

}  // namespace kuml

#endif  // KUML_VMM_IO_BUS_H_
