#include "machine/machine.h"

#include <cstdlib>

#include "absl/base/internal/sysinfo.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "machine/sandbox_policy.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/mptable.h"
#include "vmm/cpu/cpuid.h"
#include "vmm/vcpu/vcpu_setup.h"

namespace kuml {
namespace {

// Pages KVM needs outside guest RAM on Intel hosts (real-mode TSS: 3 pages;
// EPT identity map: 1 page). Just below the 4 GiB line, clear of the IOAPIC
// and LAPIC windows.
constexpr uint64_t kKvmTssAddr = 0xfffbd000;
constexpr uint64_t kKvmIdentityMapAddr = 0xfffbc000;

}  // namespace

absl::StatusOr<std::unique_ptr<Machine>> Machine::Create(
    const Kvm& kvm, KvmFlavor flavor, const MachineConfig& config) {
  if (config.num_vcpus < 1 || config.num_vcpus > 254) {
    return absl::InvalidArgumentError(
        absl::StrCat("vcpu count ", config.num_vcpus, " is not in 1..254"));
  }
  const size_t virtio_count = config.devices.size();
  if (virtio_count > VirtioMmioSlots::kMaxSlots) {
    size_t disks = 0;
    for (const PluggableDevice& device : config.devices) {
      if (device.disk != nullptr) ++disks;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(virtio_count, " virtio devices (", disks,
                     " disks): at most ", VirtioMmioSlots::kMaxSlots, " fit"));
  }
  absl::StatusOr<std::unique_ptr<GuestMemory>> memory =
      GuestMemory::Create(config.mem_bytes);
  if (!memory.ok()) return memory.status();
  absl::StatusOr<Vm> vm = kvm.CreateVm();
  if (!vm.ok()) return vm.status();
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) return loop.status();
  std::unique_ptr<Machine> machine(new Machine(
      config, flavor, std::move(*vm), std::move(*memory), std::move(*loop)));
  absl::Status s = machine->Init(kvm);
  if (!s.ok()) return s;
  return machine;
}

Machine::Machine(const MachineConfig& config, KvmFlavor flavor, Vm vm,
                 std::unique_ptr<GuestMemory> memory,
                 std::unique_ptr<EventLoop> loop)
    : config_(config),
      flavor_(flavor),
      vm_(std::move(vm)),
      memory_(std::move(memory)),
      loop_(std::move(loop)),
      console_irq_(&vm_, kConsoleIrq),
      virtio_(&vm_, &mmio_, memory_.get(), loop_.get()) {}

Machine::~Machine() {
  for (auto& r : runners_) r->Kick();
  runners_.clear();        // joins the vCPU threads before devices go away
  console_input_.reset();  // leaves the loop while it exists
}

absl::Status Machine::Init(const Kvm& kvm) {
  absl::Status s = vm_.SetTssAddr(kKvmTssAddr);
  if (!s.ok()) return s;
  s = vm_.SetIdentityMapAddr(kKvmIdentityMapAddr);
  if (!s.ok()) return s;
  s = vm_.CreateIrqchip();
  if (!s.ok()) return s;
  s = vm_.CreatePit2();
  if (!s.ok()) return s;
  if (kvm.CheckExtension(KVM_CAP_EXIT_ON_EMULATION_FAILURE) > 0) {
    s = vm_.EnableExitOnEmulationFailure();
    if (!s.ok()) return s;
  }
  uint32_t slot = 0;
  for (const GuestRegion& r : memory_->regions()) {
    s = vm_.SetUserMemoryRegion(slot++, r.gpa, r.size, r.host);
    if (!s.ok()) return s;
  }

  s = InitPlatformDevices();
  if (!s.ok()) return s;
  std::vector<std::string> cmdline;
  if (!config_.boot_console.empty()) {
    cmdline.push_back("console=" + config_.boot_console);
  }
  cmdline.push_back("reboot=k");
  if (flavor_ == KvmFlavor::kSoftwareAssisted) {
    for (std::string& arg : SoftwareKvmGuestKernelArgs()) {
      cmdline.push_back(std::move(arg));
    }
  }
  s = InitVirtioSlots(cmdline);
  if (!s.ok()) return s;
  cmdline.insert(cmdline.end(), config_.kernel_args.begin(),
                 config_.kernel_args.end());
  kernel_cmdline_ = absl::StrJoin(cmdline, " ");
  // x86 Linux keeps COMMAND_LINE_SIZE - 1 = 2047 bytes and silently drops the
  // rest; a vmlinux cannot tell us its limit, so refuse instead of truncating.
  constexpr size_t kLinuxCommandLineMax = 2047;
  if (kernel_cmdline_.size() > kLinuxCommandLineMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("the guest kernel command line would be ",
                     kernel_cmdline_.size(), " bytes; Linux keeps only ",
                     kLinuxCommandLineMax, ": drop some switches"));
  }

  KernelLoadRequest request;
  request.kernel_path = config_.kernel_path;
  request.cmdline = kernel_cmdline_;
  request.initrd_path = config_.initrd_path;
  absl::StatusOr<BootCpuState> boot = LoadKernel(*memory_, request);
  if (!boot.ok()) return boot.status();
  s = WriteMpTable(*memory_, config_.num_vcpus);
  if (!s.ok()) return s;

  absl::StatusOr<std::vector<kvm_cpuid_entry2>> cpuid = kvm.GetSupportedCpuid();
  if (!cpuid.ok()) return cpuid.status();
  VcpuSetup setup;
  setup.supported_cpuid = &*cpuid;
  setup.num_vcpus = config_.num_vcpus;
  setup.flavor = flavor_;
  for (uint32_t id = 0; id < config_.num_vcpus; ++id) {
    absl::StatusOr<Vcpu> vcpu = vm_.CreateVcpu(id);
    if (!vcpu.ok()) return vcpu.status();
    vcpus_.push_back(std::make_unique<Vcpu>(std::move(*vcpu)));
    s = ConfigureVcpu(*vcpus_.back(), setup);
    if (!s.ok()) return s;
    // Application processors wait in KVM for the boot CPU's INIT/SIPI.
    if (id == 0) {
      s = ApplyBootState(*vcpus_.back(), *boot);
      if (!s.ok()) return s;
    }
    runners_.push_back(std::make_unique<VcpuRunner>(
        vcpus_.back().get(), &pio_, &mmio_, memory_.get(), this));
    runners_.back()->SetPauseGate(&pause_gate_);
    if (config_.sandbox_vcpus) {
      runners_.back()->SetThreadStartHook([] {
        // What reads /sys/devices/system/cpu/online the first time it is
        // needed must have done so before the vCPU filter (no openat):
        // Abseil's CPU count (absl::Mutex's spin decision, cached once per
        // process) and this thread's malloc arena.
        (void)absl::base_internal::NumCPUs();
        void* volatile warm = std::malloc(64);
        std::free(warm);
        return InstallSyscallFilter(KumlVcpuFilter(), false);
      });
    }
  }
  return absl::OkStatus();
}

absl::Status Machine::InitPlatformDevices() {
  Channel* console = config_.console;
  Uart8250::OutputSink sink;  // none: output discarded
  if (console != nullptr) {
    // Never blocks a vCPU: what the channel cannot take now waits in the
    // UART, which holds the guest's writers back (uart_8250.h); a host side
    // that is gone takes and drops everything, and the guest goes on (as
    // UML does when its terminal disappears).
    console_output_ = std::make_unique<LoopOutput>(
        loop_.get(), console, [this] { console_->TransmitRoom(); });
    sink = [out = console_output_.get()](absl::Span<const uint8_t> bytes) {
      return out->Offer(bytes);
    };
  }
  console_ = std::make_unique<Uart8250>(&console_irq_, std::move(sink));
  struct Port {
    uint64_t base, length;
    BusDevice* device;
  } ports[] = {
      {kConsolePort, Uart8250::kRegisterCount, console_.get()},
      {ResetControl::kI8042Base, ResetControl::kI8042Length, &i8042_},
      {ResetControl::kCf9Port, 1, &cf9_},
      {PanicNotifier::kPort, 1, &panic_},
      {PowerControl::kPort, PowerControl::kLength, &power_},
  };
  for (const Port& p : ports) {
    absl::Status s = pio_.Register(p.base, p.length, p.device);
    if (!s.ok()) return s;
  }
  if (console != nullptr) {
    console_input_ =
        std::make_unique<LoopInput>(loop_.get(), console, console_.get());
    console_input_->Start();
  }
  return absl::OkStatus();
}

absl::Status Machine::InitVirtioSlots(std::vector<std::string>& cmdline) {
  const VirtioDeviceContext context{loop_.get(), memory_.get()};
  for (const PluggableDevice& device : config_.devices) {
    absl::StatusOr<std::unique_ptr<VirtioDevice>> made = device.make(context);
    if (!made.ok()) return made.status();
    absl::StatusOr<std::string> announced =
        virtio_.AddDevice(std::move(*made), device.disk);
    if (!announced.ok()) return announced.status();
    cmdline.push_back(*std::move(announced));
  }
  while (virtio_.size() < VirtioMmioSlots::kMaxSlots &&
         virtio_.size() < config_.devices.size() + config_.spare_virtio_slots) {
    absl::StatusOr<std::string> announced = virtio_.AddSpare();
    if (!announced.ok()) return announced.status();
    cmdline.push_back(*std::move(announced));
  }
  return absl::OkStatus();
}

absl::Status Machine::RunOnLoop(std::function<absl::Status()> fn,
                                absl::Duration timeout) {
  struct Done {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::Status status ABSL_GUARDED_BY(mu);
  };
  if (loop_->stopped()) {
    return absl::UnavailableError("the machine is stopping");
  }
  auto done = std::make_shared<Done>();
  loop_->Post([fn = std::move(fn), done] {
    absl::Status status = fn();
    absl::MutexLock lock(&done->mu);
    done->status = status;
    done->done = true;
  });
  absl::MutexLock lock(&done->mu);
  if (!done->mu.AwaitWithTimeout(absl::Condition(&done->done), timeout)) {
    // A stopping loop runs no more tasks.
    return absl::DeadlineExceededError(
        "the machine's event loop did not run the task in time");
  }
  return done->status;
}

absl::StatusOr<uint32_t> Machine::PlugVirtio(PluggableDevice device) {
  if (stop_requested()) {
    return absl::UnavailableError("the machine is stopping");
  }
  auto plugged = std::make_shared<uint32_t>(0);
  absl::Status s = RunOnLoop(
      [this, plugged, device = std::move(device)]() -> absl::Status {
        absl::StatusOr<uint32_t> slot = virtio_.Plug(device);
        if (!slot.ok()) return slot.status();
        *plugged = *slot;
        return absl::OkStatus();
      },
      absl::Seconds(10));
  if (!s.ok()) return s;
  return *plugged;
}

absl::Status Machine::UnplugVirtio(uint32_t index) {
  return RunOnLoop([this, index] { return virtio_.Unplug(index); },
                   absl::Seconds(10));
}

MachineStop Machine::Run() {
  for (auto& r : runners_) r->Start();
  loop_->Run();
  for (auto& r : runners_) r->Kick();
  for (auto& r : runners_) r->Join();
  absl::MutexLock lock(&stop_mu_);
  return stop_;
}

void Machine::RequestStop(StopReason reason, std::string detail) {
  {
    absl::MutexLock lock(&stop_mu_);
    if (stop_requested_.load()) return;
    stop_.reason = reason;
    stop_.detail = std::move(detail);
    stop_requested_.store(true);
  }
  pause_gate_.Release();  // parked vCPUs see the stop
  for (auto& r : runners_) r->Kick();
  loop_->Stop();
}

absl::Status Machine::Pause(absl::Duration timeout) {
  absl::MutexLock pause_lock(&pause_mu_);
  if (pause_gate_.closed()) {
    return absl::FailedPreconditionError("the machine is already paused");
  }
  if (stop_requested()) {
    return absl::UnavailableError("the machine is stopping");
  }
  pause_gate_.Close();
  for (auto& r : runners_) r->Kick();
  if (!pause_gate_.WaitParked(runners_.size(), timeout)) {
    if (stop_requested()) {
      return absl::UnavailableError("the machine is stopping");
    }
    return absl::DeadlineExceededError(
        absl::StrCat("only ", pause_gate_.parked(), " of ", runners_.size(),
                     " vCPUs stopped within ", absl::FormatDuration(timeout)));
  }
  // On the event loop, which handles the disks' queues: finish what the
  // guest submitted before it was parked (a kick may still sit in an
  // ioeventfd), then flush. The loop is single-threaded, so once this task
  // runs no request is half done.
  absl::Status flushed =
      RunOnLoop([this] { return virtio_.FinishAndFlush(); }, timeout);
  if (absl::IsDeadlineExceeded(flushed)) {
    // The vCPUs are parked; only the flush is late.
    return absl::DeadlineExceededError(
        "the vCPUs are stopped but the disks were not flushed in time");
  }
  return flushed;
}

void Machine::PauseBeforeRun() {
  absl::MutexLock pause_lock(&pause_mu_);
  pause_gate_.Close();
}

absl::Status Machine::Resume() {
  absl::MutexLock pause_lock(&pause_mu_);
  if (!pause_gate_.closed()) {
    return absl::FailedPreconditionError("the machine is not paused");
  }
  pause_gate_.Open();
  return absl::OkStatus();
}

void Machine::DebugStopAll() {
  pause_gate_.Close();
  for (auto& r : runners_) r->Kick();
}

bool Machine::DebugWaitStopped(absl::Duration timeout) {
  return pause_gate_.WaitParked(runners_.size(), timeout);
}

void Machine::DebugRunAll() { pause_gate_.Open(); }

void Machine::DebugHold(uint32_t index, bool held) {
  runners_[index]->SetHeld(held);
}

void Machine::SetDebugHook(VcpuDebugHook* hook) {
  for (auto& r : runners_) r->SetDebugHook(hook);
}

void Machine::SetConsoleTap(ConsoleTap tap) {
  console_->SetTransmitObserver(std::move(tap));
}

absl::Status Machine::SendConsoleBreak(uint8_t key) {
  if (!console_->ReceiveBreak(key)) {
    return absl::UnavailableError(
        "the guest's serial console has no room for a break and a key now");
  }
  return absl::OkStatus();
}

void Machine::OnGuestRequest(GuestRequest request) {
  switch (request) {
    case GuestRequest::kPowerOff:
      RequestStop(StopReason::kPowerOff, "the guest powered off");
      break;
    case GuestRequest::kReset:
      RequestStop(StopReason::kReset, "the guest asked for a reset");
      break;
    case GuestRequest::kPanic:
      RequestStop(StopReason::kGuestPanic, "the guest kernel panicked");
      break;
  }
}

std::optional<uint32_t> Machine::BootSlot(const std::string& name) const {
  for (uint32_t i = 0; i < config_.devices.size(); ++i) {
    if (config_.devices[i].name == name) return i;  // slot i: see Init
  }
  return std::nullopt;
}

uint64_t Machine::total_exits() const {
  uint64_t n = 0;
  for (const auto& r : runners_) n += r->counters().exits.load();
  return n;
}

uint64_t Machine::refused_instructions_fixed() const {
  uint64_t n = 0;
  for (const auto& r : runners_) {
    n += r->counters().refused_instructions_fixed.load();
  }
  return n;
}

}  // namespace kuml
