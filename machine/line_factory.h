// LineFactory: the factory of UML's lines -- the host side of every console
// (con0..15) and serial line (ssl0..63) of a MachineSpec, and the guest
// devices they appear as, at boot and when mconsole adds a line
// (`config con<n>=`/`ssl<n>=`). The only place kuml builds a virtio-console.
//
// Host side: every line that is not `none` gets its channel when kuml
// starts (UML opens most lazily, when the guest opens the tty; kuml's guest
// devices exist from boot, so their host ends do too). Channels live for
// the whole process: a guest reboot keeps the same ptys, telnet clients and
// terminals. `pts`/`pty` lines are announced as UML announces them:
//   Virtual console 1 assigned device '/dev/pts/5'
//   Serial line 0 assigned device '/dev/pts/6'
//
// Guest side (what the guest kernel sees). With kuml's kernel, which knows
// UML's names (spec.guest_names == GuestNames::kUml, kuml_names=uml;
// guest/patches/0003-*), the consoles are UML's ttys:
//   con0        tty0 (4:0): the 8250 UART at 0x3f8, IRQ 4; the boot console
//               (console=tty0, as UML appends it).
//   con1..15    virtio-console console ports named con<n>, each tty<n>
//               (4:n), whatever other lines exist.
//   ssl0..63    virtio-console console ports named ssl<n>, each ttyS<n>
//               (4:64+n): real ttys, as UML's serial lines.
// With any other kernel (GuestNames::kVirtio), Linux's own names:
//   con0        ttyS0: the same UART; the boot console.
//   con1..15    virtio-console console ports, in line order: the first
//               eight configured ones are hvc0..hvc7 (con1=pts con3=pts:
//               con1 is hvc0, con3 is hvc1). Linux has only eight hvc ttys
//               (HVC_ALLOC_TTY_ADAPTERS, drivers/tty/hvc/hvc_console.h), so
//               a ninth configured console becomes a plain port instead.
//   ssl0..63    virtio-console plain ports: /dev/vport<D>p<P>, byte streams
//               without termios. Making them ttys would take hvc ttys from
//               the consoles, and the 8250 driver has only the legacy
//               ports 0x2f8/0x3e8/0x2e8, two of them sharing IRQs with
//               ttyS0 and ttyS1: three lines out of 64, with names (ttyS1
//               for ssl0) that would mislead more than help.
// Every port carries its line's name ("con1", "ssl0") in
// /sys/class/virtio-ports/vport<D>p<P>/name, so the guest can find (and
// udev/mdev link as /dev/virtio-ports/<name>) each line. `none` lines have
// no port. kuml's own ports (AddServicePort: the guest agent's
// "org.kuml.agent") come after every line's, so they never shift the
// lines' port numbers; with neither lines nor service ports there is no
// virtio-console device at all.
#ifndef KUML_MACHINE_LINE_FACTORY_H_
#define KUML_MACHINE_LINE_FACTORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "devices/chan/channel.h"
#include "devices/chan/port_channel.h"
#include "devices/virtio/console_device.h"
#include "frontend/machine_spec.h"
#include "machine/pluggable_device.h"
#include "vmm/event_loop.h"

namespace kuml {

class LineFactory {
 public:
  using Announce = std::function<void(const std::string&)>;

  // Opens every line's channel. Errors name the switch that asked for the
  // failing channel ("ssl2=tty:/dev/nonesuch: tty:/dev/nonesuch: No such
  // file or directory").
  static absl::StatusOr<std::unique_ptr<LineFactory>> Open(
      const MachineSpec& spec, const Announce& announce);

  // con0's channel (the 8250), null for con0=none.
  Channel* console0() const { return con0_.get(); }
  // When con0 reads or writes a port: channel, the telnet line the boot
  // must wait on (UML's boot waits for a connection); else null.
  PortChannel* console0_port() const { return con0_port_; }

  // The virtio-console device for every line but con0 and for kuml's
  // service ports, or nullopt when there is none. It makes a new device per
  // boot over the same channels; this object must outlive every machine
  // using it.
  std::optional<PluggableDevice> ConsoleDevice() const;

  // A plain port of kuml's own, after the lines' ports, whose host side is
  // made anew for each boot by `make` (called with that machine's loop).
  using PortHandlerFactory =
      std::function<absl::StatusOr<std::shared_ptr<ConsolePortHandler>>(
          EventLoop*)>;
  void AddServicePort(std::string name, PortHandlerFactory make);

  // A line added while the guest runs (mconsole `config con<n>=...` or
  // `ssl<n>=...`): its channel opened now (a pts announced as at boot), and
  // a virtio-console device of its own with one port named like the line:
  // a console port (the guest gives it an hvc tty) for con<n>, a plain port
  // for ssl<n>. The device's factory owns the channel, which closes when the
  // last device made from it goes. Errors name the switch. Thread-safe.
  absl::StatusOr<PluggableDevice> OpenHotLine(LineKind kind, int index,
                                              const LineSpec& line);

  // What the guest sees for each configured line, in port order (tests,
  // docs): "con1" -> console port, "ssl0" -> plain port.
  struct GuestPort {
    std::string name;
    bool console = false;
    Channel* channel = nullptr;
  };
  const std::vector<GuestPort>& guest_ports() const { return ports_; }

 private:
  LineFactory() = default;

  // For lines opened later (OpenHotLine).
  MachineSpec spec_;
  Announce announce_;
  absl::Mutex servers_mu_;  // servers_ after Open()
  std::map<uint16_t, std::shared_ptr<PortServer>> servers_;
  std::unique_ptr<Channel> con0_;
  PortChannel* con0_port_ = nullptr;
  std::vector<std::unique_ptr<Channel>> channels_;  // owners for ports_
  std::vector<GuestPort> ports_;
  std::vector<std::pair<std::string, PortHandlerFactory>> service_ports_;
};

// How many console ports get hvc ttys (Linux's HVC_ALLOC_TTY_ADAPTERS).
inline constexpr int kHvcTtys = 8;

}  // namespace kuml

#endif  // KUML_MACHINE_LINE_FACTORY_H_
