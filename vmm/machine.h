// Machine: one guest — its memory, vCPUs and devices — and the loop that runs
// it until it stops.
//
// Built from a MachineConfig (plain VMM terms; the UML front end in
// frontend/ and cli/ translates the user's switches into it). Run() starts a
// thread per vCPU, runs the event loop (console input, virtio notifications)
// on the calling thread and returns why the machine stopped. A reboot is a
// new Machine built from the same config: guest state never leaks from one
// boot into the next.
//
// Guest physical layout beyond RAM (see vmm/boot/layout.h for low memory):
//   0xd0000000 + i * 0x1000   virtio-mmio device i, IRQ kFirstVirtioIrq + i
//                             (Linux's platform device virtio-mmio.<i>); the
//                             spare slots for hot-plug come last
//   0xfec00000 IOAPIC, 0xfee00000 local APICs (in-kernel)
//   ports: 0x3f8 ttyS0 (IRQ 4), 0x60/0x64 i8042 reset, 0x505 panic
//          notifier, 0x604 power control, 0xcf9 reset control
#ifndef KUML_VMM_MACHINE_H_
#define KUML_VMM_MACHINE_H_

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
#include "devices/block/block_backend.h"
#include "devices/chan/channel.h"
#include "devices/chan/loop_input.h"
#include "devices/io_bus.h"
#include "devices/platform/guest_requests.h"
#include "devices/platform/panic_notifier.h"
#include "devices/platform/power_control.h"
#include "devices/platform/reset_control.h"
#include "devices/serial/uart_8250.h"
#include "devices/virtio/mmio_hot_slot.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/virtio_device.h"
#include "util/unique_fd.h"
#include "vmm/boot/cpu_state.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/event_loop.h"
#include "vmm/guest_memory.h"
#include "vmm/kvm/kvm.h"
#include "vmm/kvm_interrupt_lines.h"
#include "vmm/machine_stop.h"
#include "vmm/pause_gate.h"
#include "vmm/vcpu_runner.h"

namespace kuml {

struct DiskConfig {
  std::string path;
  bool read_only = false;
  std::string serial;  // virtio-blk GET_ID string (<= 20 bytes)
  // When set, the disk's bytes come from here (opened once by the caller, so
  // host locks and COW state outlive reboots) and `path`/`read_only` only
  // name it; otherwise each Machine opens `path` as a raw file.
  std::shared_ptr<BlockBackend> backend;
};

// What a virtio device gets from the machine it is plugged into.
struct VirtioDeviceContext {
  EventLoop* loop = nullptr;  // host fds of the device's backend
  GuestMemory* memory = nullptr;
};
// Makes one virtio device for one Machine (a reboot makes a new one). Called
// on the thread that creates the Machine.
using VirtioDeviceFactory =
    std::function<absl::StatusOr<std::unique_ptr<VirtioDevice>>(
        const VirtioDeviceContext&)>;

struct MachineConfig {
  uint64_t mem_bytes = 64ull << 20;
  uint32_t num_vcpus = 1;
  // vmlinux (PVH), bzImage, or a multiboot flat binary (the test payloads).
  std::string kernel_path;
  std::optional<std::string> initrd_path;
  // The user's part of the kernel command line; the machine prepends the
  // console and the virtio-mmio device announcements.
  std::vector<std::string> kernel_args;
  // In order: disks[0] is the guest's first virtio disk (/dev/vda).
  std::vector<DiskConfig> disks;
  // Further virtio devices (net, console, ...), placed after the disks.
  std::vector<VirtioDeviceFactory> virtio_devices;
  // Host side of ttyS0; not owned, may be null (output discarded, no input).
  Channel* console = nullptr;
  // Empty virtio-mmio slots announced after the devices, for PlugVirtio()
  // (mconsole hot-plug); fewer when the slots run out.
  uint32_t spare_virtio_slots = 0;
};

class Machine : public StopControl, public GuestRequestSink {
 public:
  static constexpr uint64_t kVirtioMmioBase = 0xd0000000;
  static constexpr uint32_t kFirstVirtioIrq = 5;
  static constexpr uint32_t kMaxVirtioDevices = 24 - kFirstVirtioIrq;
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

  // Hot-plug (mconsole `config ubd<n>=`, `eth<n>=`, `con<n>=`): makes a
  // device with `make` and puts it into a free spare slot -- the guest then
  // binds it through sysfs -- and returns the slot number, which is Linux's
  // platform device id (virtio-mmio.<slot>). `make` runs on the event loop
  // thread with this machine's context (a virtio-net watches its host fd on
  // that loop); its error is returned and takes no slot. `backend`, when
  // given, is flushed by Pause() and when unplugged. Thread-safe (not from
  // a vCPU thread). ResourceExhausted when no spare slot is free.
  absl::StatusOr<uint32_t> PlugVirtio(VirtioDeviceFactory make,
                                      std::shared_ptr<BlockBackend> backend);
  // Empties a slot PlugVirtio() filled (the guest should have unbound it):
  // its ioeventfds are dropped, the device is reset and destroyed, its
  // backend flushed and released. NotFound for a slot that is not plugged.
  absl::Status UnplugVirtio(uint32_t slot);

  GuestMemory& memory() { return *memory_; }
  const std::string& kernel_cmdline() const { return kernel_cmdline_; }
  // Summed over vCPUs.
  uint64_t total_exits() const;
  uint64_t refused_instructions_fixed() const;

 private:
  struct VirtioSlot {
    uint64_t base = 0;
    uint32_t irq = 0;
    std::unique_ptr<IrqFdLine> irq_line;
    std::unique_ptr<MmioTransport> transport;
    std::vector<UniqueFd> notify;  // per queue: ioeventfd on QueueNotify
    // Spare slots (hot-plug) only: what the bus sees; `transport` may be
    // null (empty). Changed on the event loop thread only.
    std::unique_ptr<MmioHotSlot> hot;
    std::shared_ptr<BlockBackend> backend;  // hot-plugged disk
  };

  Machine(const MachineConfig& config, KvmFlavor flavor, Vm vm,
          std::unique_ptr<GuestMemory> memory, std::unique_ptr<EventLoop> loop);

  absl::Status Init(const Kvm& kvm);
  absl::Status InitPlatformDevices();
  absl::Status AddDisk(const DiskConfig& disk,
                       std::vector<std::string>& cmdline);
  // Plugs `device` into the next virtio-mmio slot and announces it on
  // `cmdline`.
  absl::Status AddVirtioDevice(std::unique_ptr<VirtioDevice> device,
                               std::vector<std::string>& cmdline);
  // A new slot's address, IRQ and irqfd (not yet on the bus).
  absl::StatusOr<std::unique_ptr<VirtioSlot>> NewSlot();
  absl::Status AddSpareSlot(std::vector<std::string>& cmdline);
  absl::Status WatchNotifications(VirtioSlot& slot);
  void UnwatchNotifications(VirtioSlot& slot);
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
  std::unique_ptr<LoopInput> console_input_;
  PowerControl power_{this};
  ResetControl i8042_{this, ResetControl::kI8042Base};
  ResetControl cf9_{this, ResetControl::kCf9Port};
  PanicNotifier panic_{this};
  std::vector<std::unique_ptr<VirtioSlot>> virtio_;
  std::vector<std::shared_ptr<BlockBackend>> disk_backends_;  // for Pause()

  PauseGate pause_gate_;
  absl::Mutex pause_mu_;  // one Pause/Resume at a time
  absl::Mutex tap_mu_;
  ConsoleTap console_tap_ ABSL_GUARDED_BY(tap_mu_);

  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  // Last: destroyed (kicked and joined) before anything they use.
  std::vector<std::unique_ptr<VcpuRunner>> runners_;

  std::atomic<bool> stop_requested_{false};
  absl::Mutex stop_mu_;
  MachineStop stop_ ABSL_GUARDED_BY(stop_mu_);
};

}  // namespace kuml

#endif  // KUML_VMM_MACHINE_H_
