// Machine: one guest -- its memory, vCPUs and devices -- and the loop that
// runs it until it stops. The lifecycle lives here (run, pause/resume,
// stop requests from the guest's platform devices, mconsole and signals);
// the virtio-mmio slots are VirtioMmioSlots (virtio_slots.h).
//
// Built from a MachineConfig (plain VMM terms; machine_builder.h translates
// the user's MachineSpec into it). Run() starts a thread per vCPU, runs the
// event loop (console input, virtio notifications) on the calling thread and
// returns why the machine stopped. A reboot is a new Machine built from the
// same config: guest state never leaks from one boot into the next.
//
// Guest physical layout beyond RAM (see vmm/boot/layout.h for low memory):
//   0xd0000000..              virtio-mmio slots (virtio_slots.h)
//   0xfec00000 IOAPIC, 0xfee00000 local APICs (in-kernel)
//   ports: 0x3f8 ttyS0 (IRQ 4), 0x60/0x64 i8042 reset, 0x505 panic
//          notifier, 0x604 power control, 0xcf9 reset control
#ifndef KUML_MACHINE_MACHINE_H_
#define KUML_MACHINE_MACHINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "devices/chan/channel.h"
#include "devices/chan/loop_input.h"
#include "devices/chan/loop_output.h"
#include "devices/platform/guest_requests.h"
#include "devices/platform/panic_notifier.h"
#include "devices/platform/power_control.h"
#include "devices/platform/reset_control.h"
#include "devices/serial/uart_8250.h"
#include "machine/pluggable_device.h"
#include "machine/virtio_slots.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/event_loop.h"
#include "vmm/guest_memory.h"
#include "vmm/io_bus.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/kvm_interrupt_lines.h"
#include "vmm/vcpu/machine_stop.h"
#include "vmm/vcpu/pause_gate.h"
#include "vmm/vcpu/vcpu_runner.h"

namespace kuml {

struct MachineConfig {
  uint64_t mem_bytes = 64ull << 20;
  uint32_t num_vcpus = 1;
  // vmlinux (PVH), bzImage, or a multiboot flat binary (the test payloads).
  std::string kernel_path;
  std::optional<std::string> initrd_path;
  // The user's part of the kernel command line; the machine prepends
  // console=<boot_console> and the virtio-mmio device announcements.
  std::vector<std::string> kernel_args;
  // The 8250's name under the guest kernel; empty when kernel_args name the
  // console themselves (kuml's kernel with UML's names: console=tty0).
  std::string boot_console = "ttyS0";
  // The virtio devices in slot order, which is the guest's probe order:
  // the disks first (the first is /dev/vda), then network and console
  // devices (machine_builder.h).
  std::vector<PluggableDevice> devices;
  // Host side of ttyS0; not owned, may be null (output discarded, no input).
  Channel* console = nullptr;
  // Empty virtio-mmio slots announced after the devices, for PlugVirtio()
  // (mconsole hot-plug); fewer when the slots run out.
  uint32_t spare_virtio_slots = 0;
  // Each vCPU thread adds the vCPU seccomp filter (sandbox_policy.h) before
  // it first runs the guest.
  bool sandbox_vcpus = false;
};

class Machine : public StopControl, public GuestRequestSink {
 public:
  static constexpr uint16_t kConsolePort = 0x3f8;
  static constexpr uint32_t kConsoleIrq = 4;

  static absl::StatusOr<std::unique_ptr<Machine>> Create(
      const Kvm& kvm, KvmFlavor flavor, const MachineConfig& config);
  ~Machine() override;

  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Runs the guest until it stops; returns why. Call once.
  MachineStop Run();

  // StopControl: thread-safe; the first request wins.
  void RequestStop(StopReason reason, std::string detail) override;
  bool stop_requested() const override { return stop_requested_.load(); }
  // GuestRequestSink (platform devices, on vCPU threads).
  void OnGuestRequest(GuestRequest request) override;

  // mconsole `stop` / `go`. Pause() parks every vCPU thread (out of
  // KVM_RUN, waiting), then completes the disk requests the guest had
  // already submitted and flushes every disk backend, so a host-side copy
  // taken while paused is consistent. The event loop keeps running (console
  // input is buffered). Thread-safe; never call from a vCPU thread.
  // FailedPrecondition when already paused, Unavailable when the machine is
  // stopping, DeadlineExceeded when a vCPU did not park in time.
  absl::Status Pause(absl::Duration timeout = absl::Seconds(10));
  // FailedPrecondition when not paused.
  absl::Status Resume();
  // Before Run(): the vCPUs will park before their first instruction, as
  // if Pause() had been called (mconsole `stop` before the guest started).
  void PauseBeforeRun();
  bool paused() const { return pause_gate_.closed(); }

  // Sees every byte the guest writes to ttyS0 (mconsole `sysrq` returns the
  // kernel's answer this way); an empty function removes it. Called on vCPU
  // threads: must not block.
  using ConsoleTap = std::function<void(absl::Span<const uint8_t>)>;
  void SetConsoleTap(ConsoleTap tap);
  // A BREAK on ttyS0's line followed by `key`: the guest's 8250 driver takes
  // it as magic SysRq `key` (CONFIG_MAGIC_SYSRQ_SERIAL). Unavailable when the
  // receive FIFO has no room for both just now.
  absl::Status SendConsoleBreak(uint8_t key);

  // Hot-plug (mconsole `config ubd<n>=`, `eth<n>=`, `con<n>=`): makes the
  // device with `device.make` and puts it into a free spare slot -- the
  // guest then binds it through sysfs -- and returns the slot number, which
  // is Linux's platform device id (virtio-mmio.<slot>). `make` runs on the
  // event loop thread with this machine's context (a virtio-net watches its
  // host fd on that loop); its error is returned and takes no slot.
  // `device.disk`, when given, is flushed by Pause() and when unplugged.
  // Thread-safe (not from a vCPU thread). ResourceExhausted when no spare
  // slot is free.
  absl::StatusOr<uint32_t> PlugVirtio(PluggableDevice device);
  // Empties a slot PlugVirtio() filled (the guest should have unbound it):
  // its ioeventfds are dropped, the device is reset and destroyed, its disk
  // flushed and released. NotFound for a slot that is not plugged.
  absl::Status UnplugVirtio(uint32_t slot);

  // The slot of boot device `name` (PluggableDevice::name), if it has one.
  std::optional<uint32_t> BootSlot(const std::string& name) const;

  // ---- For the gdb stub (kvm_debug_target.h) ----
  // It shares the pause gate with Pause()/Resume(): an mconsole `go` while
  // a debugger holds the machine lets it run (the debugger sees the next
  // stop).
  uint32_t num_vcpus() const { return static_cast<uint32_t>(vcpus_.size()); }
  Vcpu& vcpu(uint32_t index) { return *vcpus_[index]; }
  // Every vCPU leaves KVM_RUN and parks; returns at once (also on a vCPU
  // thread). DebugWaitStopped() then waits until all are parked (false on
  // timeout or when the machine is stopping).
  void DebugStopAll();
  bool DebugWaitStopped(absl::Duration timeout);
  // Lets the vCPUs run, except those held.
  void DebugRunAll();
  // Keeps vCPU `index` parked while the others run (gdb's per-thread stop).
  void DebugHold(uint32_t index, bool held);
  // Where KVM_EXIT_DEBUG goes; null removes it. Thread-safe.
  void SetDebugHook(VcpuDebugHook* hook);

  GuestMemory& memory() { return *memory_; }
  const std::string& kernel_cmdline() const { return kernel_cmdline_; }
  // Summed over vCPUs.
  uint64_t total_exits() const;
  uint64_t refused_instructions_fixed() const;

 private:
  Machine(const MachineConfig& config, KvmFlavor flavor, Vm vm,
          std::unique_ptr<GuestMemory> memory, std::unique_ptr<EventLoop> loop);

  absl::Status Init(const Kvm& kvm);
  absl::Status InitPlatformDevices();
  // The boot devices and spare slots, announced on `cmdline`.
  absl::Status InitVirtioSlots(std::vector<std::string>& cmdline);
  // Runs `fn` on the event loop thread and waits for its status.
  absl::Status RunOnLoop(std::function<absl::Status()> fn,
                         absl::Duration timeout);

  MachineConfig config_;
  KvmFlavor flavor_;
  Vm vm_;
  std::unique_ptr<GuestMemory> memory_;
  std::unique_ptr<EventLoop> loop_;
  std::string kernel_cmdline_;

  IoBus pio_;
  IoBus mmio_;
  KvmIrqLine console_irq_;
  std::unique_ptr<Uart8250> console_;
  // The UART's way to con0's channel (null without one); destroyed before
  // the UART whose TransmitRoom() it calls.
  std::unique_ptr<LoopOutput> console_output_;
  std::unique_ptr<LoopInput> console_input_;
  PowerControl power_{this};
  ResetControl i8042_{this, ResetControl::kI8042Base};
  ResetControl cf9_{this, ResetControl::kCf9Port};
  PanicNotifier panic_{this};
  VirtioMmioSlots virtio_;

  PauseGate pause_gate_;
  absl::Mutex pause_mu_;  // one Pause/Resume at a time

  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  // Last: destroyed (kicked and joined) before anything they use.
  std::vector<std::unique_ptr<VcpuRunner>> runners_;

  std::atomic<bool> stop_requested_{false};
  absl::Mutex stop_mu_;
  MachineStop stop_ ABSL_GUARDED_BY(stop_mu_);
};

}  // namespace kuml

#endif  // KUML_MACHINE_MACHINE_H_
