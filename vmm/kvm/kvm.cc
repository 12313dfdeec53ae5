#include "vmm/kvm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/errno_status.h"
#include "vmm/kvm/kvm_abi.h"

namespace kuml {
namespace {

// Retries an ioctl interrupted by a signal; returns its result.
template <typename Arg>
int Ioctl(int fd, unsigned long request, Arg arg) {
  int r;
  do {
    r = ::ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR);
  return r;
}

// Capabilities without which kuml cannot run a guest at all.
struct RequiredCap {
  int cap;
  const char* name;
};
constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
};

}  // namespace

absl::StatusOr<Kvm> Kvm::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat(path,
                       " does not exist: this host offers no KVM (no hardware "
                       "virtualization, or the kvm module is not loaded)"));
    }
    return ErrnoStatus(absl::StrCat("open ", path), err);
  }
  int version = Ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s speaks KVM API version %d; kuml needs %d", path,
                        version, KVM_API_VERSION));
  }
  for (const RequiredCap& c : kRequiredCaps) {
    if (Ioctl(fd.get(), KVM_CHECK_EXTENSION, c.cap) <= 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " lacks ", c.name, ", which kuml needs"));
    }
  }
  int mmap_size = Ioctl(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (mmap_size < static_cast<int>(sizeof(kvm_run))) {
    return ErrnoStatus("KVM_GET_VCPU_MMAP_SIZE");
  }
  return Kvm(std::move(fd), mmap_size);
}

int Kvm::CheckExtension(int capability) const {
  int r = Ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
  return r < 0 ? 0 : r;
}

absl::StatusOr<std::vector<kvm_cpuid_entry2>> Kvm::GetSupportedCpuid() const {
  // The ioctl says E2BIG until the buffer is big enough.
  for (size_t n = 64; n <= 1024; n *= 2) {
    std::vector<uint8_t> buf(sizeof(KvmCpuid2Header) +
                             n * sizeof(kvm_cpuid_entry2));
    auto* header = reinterpret_cast<KvmCpuid2Header*>(buf.data());
    header->nent = n;
    if (Ioctl(fd_.get(), kKvmGetSupportedCpuid, header) == 0) {
      auto* first =
          reinterpret_cast<kvm_cpuid_entry2*>(buf.data() + sizeof(*header));
      return std::vector<kvm_cpuid_entry2>(first, first + header->nent);
    }
    if (errno != E2BIG) return ErrnoStatus("KVM_GET_SUPPORTED_CPUID");
  }
  return absl::InternalError("KVM_GET_SUPPORTED_CPUID: table too large");
}

absl::StatusOr<std::vector<uint32_t>> Kvm::GetMsrIndexList() const {
  KvmMsrListHeader probe{};
  Ioctl(fd_.get(), kKvmGetMsrIndexList, &probe);  // E2BIG, fills nmsrs
  std::vector<uint8_t> buf(sizeof(KvmMsrListHeader) +
                           probe.nmsrs * sizeof(uint32_t));
  auto* header = reinterpret_cast<KvmMsrListHeader*>(buf.data());
  header->nmsrs = probe.nmsrs;
  if (Ioctl(fd_.get(), kKvmGetMsrIndexList, header) < 0) {
    return ErrnoStatus("KVM_GET_MSR_INDEX_LIST");
  }
  std::vector<uint32_t> indices(header->nmsrs);
  std::memcpy(indices.data(), buf.data() + sizeof(*header),
              indices.size() * sizeof(uint32_t));
  return indices;
}

absl::StatusOr<Vm> Kvm::CreateVm() const {
  int vm = Ioctl(fd_.get(), KVM_CREATE_VM, 0);
  if (vm < 0) return ErrnoStatus("KVM_CREATE_VM");
  return Vm(UniqueFd(vm), vcpu_mmap_size_);
}

absl::Status Vm::SetUserMemoryRegion(uint32_t slot, uint64_t guest_phys_addr,
                                     uint64_t size, void* host_addr) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.guest_phys_addr = guest_phys_addr;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host_addr);
  if (Ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return ErrnoStatus(
        absl::StrFormat("KVM_SET_USER_MEMORY_REGION slot %u [%#x, +%#x)", slot,
                        guest_phys_addr, size));
  }
  return absl::OkStatus();
}

absl::Status Vm::CreateIrqchip() {
  if (Ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) {
    return ErrnoStatus("KVM_CREATE_IRQCHIP");
  }
  return absl::OkStatus();
}

absl::Status Vm::CreatePit2() {
  kvm_pit_config config{};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (Ioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0) {
    return ErrnoStatus("KVM_CREATE_PIT2");
  }
  return absl::OkStatus();
}

absl::Status Vm::SetTssAddr(uint64_t addr) {
  if (Ioctl(fd_.get(), KVM_SET_TSS_ADDR, addr) < 0) {
    return ErrnoStatus("KVM_SET_TSS_ADDR");
  }
  return absl::OkStatus();
}

absl::Status Vm::SetIdentityMapAddr(uint64_t addr) {
  if (Ioctl(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
    return ErrnoStatus("KVM_SET_IDENTITY_MAP_ADDR");
  }
  return absl::OkStatus();
}

absl::Status Vm::EnableExitOnEmulationFailure() {
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE;
  cap.args[0] = 1;
  if (Ioctl(fd_.get(), KVM_ENABLE_CAP, &cap) < 0) {
    return ErrnoStatus("KVM_ENABLE_CAP(KVM_CAP_EXIT_ON_EMULATION_FAILURE)");
  }
  return absl::OkStatus();
}

absl::Status Vm::SetIrqLine(uint32_t gsi, bool level) {
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  if (Ioctl(fd_.get(), KVM_IRQ_LINE, &irq) < 0) {
    return ErrnoStatus(absl::StrCat("KVM_IRQ_LINE ", gsi));
  }
  return absl::OkStatus();
}

namespace {
kvm_ioeventfd MakeIoEventFd(int event_fd, uint64_t addr, uint32_t len, bool pio,
                            std::optional<uint64_t> datamatch) {
  kvm_ioeventfd io{};
  io.fd = event_fd;
  io.addr = addr;
  io.len = len;
  if (pio) io.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (datamatch.has_value()) {
    io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    io.datamatch = *datamatch;
  }
  return io;
}
}  // namespace

absl::Status Vm::AddIoEventFd(int event_fd, uint64_t addr, uint32_t len,
                              bool pio, std::optional<uint64_t> datamatch) {
  kvm_ioeventfd io = MakeIoEventFd(event_fd, addr, len, pio, datamatch);
  if (Ioctl(fd_.get(), KVM_IOEVENTFD, &io) < 0) {
    return ErrnoStatus(absl::StrFormat("KVM_IOEVENTFD at %#x", addr));
  }
  return absl::OkStatus();
}

absl::Status Vm::RemoveIoEventFd(int event_fd, uint64_t addr, uint32_t len,
                                 bool pio, std::optional<uint64_t> datamatch) {
  kvm_ioeventfd io = MakeIoEventFd(event_fd, addr, len, pio, datamatch);
  io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  if (Ioctl(fd_.get(), KVM_IOEVENTFD, &io) < 0) {
    return ErrnoStatus(absl::StrFormat("KVM_IOEVENTFD deassign at %#x", addr));
  }
  return absl::OkStatus();
}

absl::Status Vm::AddIrqFd(int event_fd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = event_fd;
  irqfd.gsi = gsi;
  if (Ioctl(fd_.get(), KVM_IRQFD, &irqfd) < 0) {
    return ErrnoStatus(absl::StrCat("KVM_IRQFD gsi ", gsi));
  }
  return absl::OkStatus();
}

absl::StatusOr<Vcpu> Vm::CreateVcpu(uint32_t id) {
  int fd = Ioctl(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  if (fd < 0) return ErrnoStatus(absl::StrCat("KVM_CREATE_VCPU ", id));
  UniqueFd vcpu_fd(fd);
  absl::StatusOr<Mapping> run =
      Mapping::Map(vcpu_mmap_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0,
                   "mmap kvm_run");
  if (!run.ok()) return run.status();
  return Vcpu(id, std::move(vcpu_fd), std::move(*run));
}

#define KUML_VCPU_IOCTL(name, request, arg)                         \
  if (Ioctl(fd_.get(), request, arg) < 0) {                         \
    return ErrnoStatus(absl::StrCat(#request " (vcpu ", id_, ")")); \
  }                                                                 \
  return absl::OkStatus()

absl::Status Vcpu::GetRegs(kvm_regs* regs) const {
  KUML_VCPU_IOCTL(GetRegs, KVM_GET_REGS, regs);
}
absl::Status Vcpu::SetRegs(const kvm_regs& regs) {
  KUML_VCPU_IOCTL(SetRegs, KVM_SET_REGS, &regs);
}
absl::Status Vcpu::GetSregs(kvm_sregs* sregs) const {
  KUML_VCPU_IOCTL(GetSregs, KVM_GET_SREGS, sregs);
}
absl::Status Vcpu::SetSregs(const kvm_sregs& sregs) {
  KUML_VCPU_IOCTL(SetSregs, KVM_SET_SREGS, &sregs);
}
absl::Status Vcpu::SetFpu(const kvm_fpu& fpu) {
  KUML_VCPU_IOCTL(SetFpu, KVM_SET_FPU, &fpu);
}
absl::Status Vcpu::GetFpu(kvm_fpu* fpu) const {
  KUML_VCPU_IOCTL(GetFpu, KVM_GET_FPU, fpu);
}
absl::Status Vcpu::SetGuestDebug(const kvm_guest_debug& debug) {
  KUML_VCPU_IOCTL(SetGuestDebug, KVM_SET_GUEST_DEBUG, &debug);
}
absl::Status Vcpu::GetLapic(kvm_lapic_state* lapic) const {
  KUML_VCPU_IOCTL(GetLapic, KVM_GET_LAPIC, lapic);
}
absl::Status Vcpu::SetLapic(const kvm_lapic_state& lapic) {
  KUML_VCPU_IOCTL(SetLapic, KVM_SET_LAPIC, &lapic);
}
absl::Status Vcpu::GetVcpuEvents(kvm_vcpu_events* events) const {
  KUML_VCPU_IOCTL(GetVcpuEvents, KVM_GET_VCPU_EVENTS, events);
}
absl::Status Vcpu::SetVcpuEvents(const kvm_vcpu_events& events) {
  KUML_VCPU_IOCTL(SetVcpuEvents, KVM_SET_VCPU_EVENTS, &events);
}
#undef KUML_VCPU_IOCTL

absl::Status Vcpu::InjectBreakpoint() {
  kvm_vcpu_events events;
  if (absl::Status s = GetVcpuEvents(&events); !s.ok()) return s;
  events.exception.injected = 1;
  events.exception.nr = 3;  // #BP
  events.exception.has_error_code = 0;
  events.exception.error_code = 0;
  events.flags = 0;  // change nothing else (NMI, SIPI, shadow ...)
  return SetVcpuEvents(events);
}

absl::Status Vcpu::SetCpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  std::vector<uint8_t> buf(sizeof(KvmCpuid2Header) +
                           entries.size() * sizeof(kvm_cpuid_entry2));
  auto* header = reinterpret_cast<KvmCpuid2Header*>(buf.data());
  header->nent = entries.size();
  std::memcpy(buf.data() + sizeof(*header), entries.data(),
              entries.size() * sizeof(kvm_cpuid_entry2));
  if (Ioctl(fd_.get(), kKvmSetCpuid2, header) < 0) {
    return ErrnoStatus(absl::StrCat("KVM_SET_CPUID2 (vcpu ", id_, ")"));
  }
  return absl::OkStatus();
}

absl::Status Vcpu::SetMsrs(const std::vector<kvm_msr_entry>& msrs) {
  std::vector<uint8_t> buf(sizeof(KvmMsrsHeader) +
                           msrs.size() * sizeof(kvm_msr_entry));
  auto* header = reinterpret_cast<KvmMsrsHeader*>(buf.data());
  header->nmsrs = msrs.size();
  std::memcpy(buf.data() + sizeof(*header), msrs.data(),
              msrs.size() * sizeof(kvm_msr_entry));
  int n = Ioctl(fd_.get(), kKvmSetMsrs, header);
  if (n < 0) return ErrnoStatus(absl::StrCat("KVM_SET_MSRS (vcpu ", id_, ")"));
  if (n != static_cast<int>(msrs.size())) {
    return absl::InternalError(absl::StrFormat(
        "KVM_SET_MSRS (vcpu %u): MSR %#x refused", id_, msrs[n].index));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Vcpu::GetMsr(uint32_t index) const {
  std::vector<uint8_t> buf(sizeof(KvmMsrsHeader) + sizeof(kvm_msr_entry));
  auto* header = reinterpret_cast<KvmMsrsHeader*>(buf.data());
  header->nmsrs = 1;
  auto* entry = reinterpret_cast<kvm_msr_entry*>(buf.data() + sizeof(*header));
  entry->index = index;
  int n = Ioctl(fd_.get(), kKvmGetMsrs, header);
  if (n < 0) return ErrnoStatus(absl::StrCat("KVM_GET_MSRS (vcpu ", id_, ")"));
  if (n != 1) {
    return absl::InternalError(
        absl::StrFormat("KVM_GET_MSRS (vcpu %u): MSR %#x refused", id_, index));
  }
  return entry->data;
}

absl::StatusOr<uint64_t> Vcpu::Translate(uint64_t guest_virtual) const {
  kvm_translation t{};
  t.linear_address = guest_virtual;
  if (Ioctl(fd_.get(), KVM_TRANSLATE, &t) < 0) {
    return ErrnoStatus("KVM_TRANSLATE");
  }
  if (!t.valid) {
    return absl::NotFoundError(
        absl::StrFormat("guest address %#x is not mapped", guest_virtual));
  }
  return static_cast<uint64_t>(t.physical_address);
}

int Vcpu::Run() {
  // Not retried on EINTR: a signal is how other threads kick this vCPU.
  return ::ioctl(fd_.get(), KVM_RUN, 0) < 0 ? errno : 0;
}

}  // namespace kuml
