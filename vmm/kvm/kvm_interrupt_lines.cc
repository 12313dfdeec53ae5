#include "vmm/kvm/kvm_interrupt_lines.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "util/errno_status.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<IrqFdLine>> IrqFdLine::Create(Vm* vm,
                                                             uint32_t gsi) {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) return ErrnoStatus("eventfd for irqfd");
  absl::Status s = vm->AddIrqFd(fd.get(), gsi);
  if (!s.ok()) return s;
  return std::unique_ptr<IrqFdLine>(new IrqFdLine(std::move(fd)));
}

void IrqFdLine::SetLevel(bool high) {
  if (!high) return;
  uint64_t one = 1;
  // EAGAIN only if the counter is saturated: an interrupt is pending anyway.
  (void)!::write(fd_.get(), &one, sizeof(one));
}

}  // namespace kuml
