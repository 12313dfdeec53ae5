// Why a machine stopped running, and how its parts ask it to stop.
#ifndef KUML_VMM_VCPU_MACHINE_STOP_H_
#define KUML_VMM_VCPU_MACHINE_STOP_H_

#include <string>

namespace kuml {

enum class StopReason {
  kPowerOff,     // the guest powered itself off
  kReset,        // the guest asked for a reset (reboot)
  kTripleFault,  // a vCPU triple-faulted: a PC resets
  kGuestPanic,   // the guest kernel reported a panic
  kHalt,         // the host asked (mconsole halt, signal)
  kError,        // the VMM could not go on (detail says why)
};

const char* StopReasonName(StopReason reason);

struct MachineStop {
  StopReason reason = StopReason::kError;
  std::string detail;
};

// Implemented by the machine; called from vCPU threads and devices.
class StopControl {
 public:
  virtual ~StopControl() = default;
  // The first request wins; later ones are ignored. Thread-safe, non-blocking.
  virtual void RequestStop(StopReason reason, std::string detail) = 0;
  virtual bool stop_requested() const = 0;
};

}  // namespace kuml

#endif  // KUML_VMM_VCPU_MACHINE_STOP_H_
