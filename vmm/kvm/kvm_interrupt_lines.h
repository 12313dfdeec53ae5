// InterruptLine implementations that reach the guest through KVM's in-kernel
// interrupt controllers.
#ifndef KUML_VMM_KVM_KVM_INTERRUPT_LINES_H_
#define KUML_VMM_KVM_KVM_INTERRUPT_LINES_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "util/unique_fd.h"
#include "vmm/interrupt_line.h"
#include "vmm/kvm/kvm.h"

namespace kuml {

// Mirrors a device's interrupt output onto a GSI with KVM_IRQ_LINE. On an
// edge-triggered IOAPIC pin each rise delivers one interrupt.
class KvmIrqLine : public InterruptLine {
 public:
  KvmIrqLine(Vm* vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
  void SetLevel(bool high) override { (void)vm_->SetIrqLine(gsi_, high); }

 private:
  Vm* vm_;
  uint32_t gsi_;
};

// An irqfd: each rise of the device's line becomes one edge on the GSI,
// injected by KVM without a trip through the vCPU thread. Fits virtio-mmio,
// whose Linux driver acknowledges InterruptStatus before it looks at the
// rings, so a rise that happens while the line is already high is never
// needed for progress.
class IrqFdLine : public InterruptLine {
 public:
  static absl::StatusOr<std::unique_ptr<IrqFdLine>> Create(Vm* vm,
                                                           uint32_t gsi);
  void SetLevel(bool high) override;

 private:
  explicit IrqFdLine(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace kuml

#endif  // KUML_VMM_KVM_KVM_INTERRUPT_LINES_H_
