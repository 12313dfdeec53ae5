// Kvm, Vm, Vcpu: thin RAII owners of the /dev/kvm, VM and vCPU descriptors.
//
// Every ioctl is checked and its failure becomes a Status that names the
// ioctl. Nothing here knows about devices or boot: machine/machine.* builds the
// machine on top of these.
#ifndef KUML_VMM_KVM_KVM_H_
#define KUML_VMM_KVM_KVM_H_

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "util/mapping.h"
#include "util/unique_fd.h"

namespace kuml {

class Vm;
class Vcpu;

// The KVM subsystem of the host (/dev/kvm).
class Kvm {
 public:
  // Opens `path`, checks the API version and the capabilities kuml needs.
  // The error says plainly when there is no KVM on this host.
  static absl::StatusOr<Kvm> Open(const std::string& path = "/dev/kvm");

  int fd() const { return fd_.get(); }
  // KVM_CHECK_EXTENSION; 0 when unsupported.
  int CheckExtension(int capability) const;
  absl::StatusOr<std::vector<kvm_cpuid_entry2>> GetSupportedCpuid() const;
  absl::StatusOr<std::vector<uint32_t>> GetMsrIndexList() const;
  int vcpu_mmap_size() const { return vcpu_mmap_size_; }

  absl::StatusOr<Vm> CreateVm() const;

 private:
  Kvm(UniqueFd fd, int vcpu_mmap_size)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  int vcpu_mmap_size_;
};

// One virtual machine.
class Vm {
 public:
  int fd() const { return fd_.get(); }

  absl::Status SetUserMemoryRegion(uint32_t slot, uint64_t guest_phys_addr,
                                   uint64_t size, void* host_addr);
  // In-kernel PIC + IOAPIC + per-vCPU LAPIC, and the PIT (i8254).
  absl::Status CreateIrqchip();
  absl::Status CreatePit2();
  // Intel VMX needs three pages for a real-mode TSS and one for an identity
  // map; harmless elsewhere. Both must lie outside guest RAM.
  absl::Status SetTssAddr(uint64_t addr);
  absl::Status SetIdentityMapAddr(uint64_t addr);
  // Asks KVM to report emulation failures with the instruction bytes.
  absl::Status EnableExitOnEmulationFailure();
  // KVM_IRQ_LINE: drives interrupt line `gsi` high or low.
  absl::Status SetIrqLine(uint32_t gsi, bool level);
  // KVM_IOEVENTFD: a guest write to [addr, addr+len) (matching `datamatch`
  // when given) signals `event_fd` instead of exiting to the VMM.
  absl::Status AddIoEventFd(int event_fd, uint64_t addr, uint32_t len, bool pio,
                            std::optional<uint64_t> datamatch);
  absl::Status RemoveIoEventFd(int event_fd, uint64_t addr, uint32_t len,
                               bool pio, std::optional<uint64_t> datamatch);
  // KVM_IRQFD: a write to `event_fd` injects an edge on `gsi`.
  absl::Status AddIrqFd(int event_fd, uint32_t gsi);

  absl::StatusOr<Vcpu> CreateVcpu(uint32_t id);

 private:
  friend class Kvm;
  Vm(UniqueFd fd, int vcpu_mmap_size)
      : fd_(std::move(fd)), vcpu_mmap_size_(vcpu_mmap_size) {}

  UniqueFd fd_;
  int vcpu_mmap_size_;
};

// One virtual CPU and its shared kvm_run page.
class Vcpu {
 public:
  uint32_t id() const { return id_; }
  int fd() const { return fd_.get(); }
  kvm_run* run() const { return reinterpret_cast<kvm_run*>(run_.data()); }

  absl::Status GetRegs(kvm_regs* regs) const;
  absl::Status SetRegs(const kvm_regs& regs);
  absl::Status GetSregs(kvm_sregs* sregs) const;
  absl::Status SetSregs(const kvm_sregs& sregs);
  absl::Status GetFpu(kvm_fpu* fpu) const;
  absl::Status SetFpu(const kvm_fpu& fpu);
  // KVM_SET_GUEST_DEBUG: breakpoints, watchpoints and single-step for the
  // gdb stub (machine/kvm_debug_target.h); their hits exit KVM_EXIT_DEBUG.
  absl::Status SetGuestDebug(const kvm_guest_debug& debug);
  // One MSR (KVM_GET_MSRS).
  absl::StatusOr<uint64_t> GetMsr(uint32_t index) const;
  absl::Status SetCpuid(const std::vector<kvm_cpuid_entry2>& entries);
  absl::Status SetMsrs(const std::vector<kvm_msr_entry>& msrs);
  absl::Status GetLapic(kvm_lapic_state* lapic) const;
  absl::Status SetLapic(const kvm_lapic_state& lapic);
  absl::Status GetVcpuEvents(kvm_vcpu_events* events) const;
  absl::Status SetVcpuEvents(const kvm_vcpu_events& events);
  // Queues a #BP for the guest (KVM_SET_VCPU_EVENTS), changing nothing
  // else of the vCPU's event state (NMI, SIPI, interrupt shadow ...).
  absl::Status InjectBreakpoint();
  // KVM_TRANSLATE: guest virtual -> guest physical with the vCPU's paging.
  absl::StatusOr<uint64_t> Translate(uint64_t guest_virtual) const;

  // KVM_RUN. Returns 0 on an exit to handle, or the errno (EINTR when the
  // vCPU was kicked, EAGAIN ...).
  int Run();

 private:
  friend class Vm;
  Vcpu(uint32_t id, UniqueFd fd, Mapping run)
      : id_(id), fd_(std::move(fd)), run_(std::move(run)) {}

  uint32_t id_;
  UniqueFd fd_;
  Mapping run_;
};

}  // namespace kuml

#endif  // KUML_VMM_KVM_KVM_H_
