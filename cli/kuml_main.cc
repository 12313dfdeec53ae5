// kuml: boots a Linux guest in a KVM virtual machine from a User-Mode-Linux
// command line (`kuml ubd0=root_fs con0=fd:0,fd:1 mem=128M`).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "devices/chan/terminal_mode.h"
#include "frontend/command_line.h"
#include "frontend/guest_cmdline.h"
#include "frontend/help_text.h"
#include "frontend/support.h"
#include "machine/agent_link.h"
#include "machine/gdb_stub.h"
#include "machine/line_factory.h"
#include "machine/machine.h"
#include "machine/machine_builder.h"
#include "machine/net_factory.h"
#include "machine/sandbox_policy.h"
#include "machine/vcpu_count.h"
#include "mconsole/grpc_service.h"
#include "mconsole/mconsole_host.h"
#include "vmm/boot/kernel_config.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot_trace.h"
#include "vmm/cpu/host_kvm.h"
#include "vmm/kvm/kvm.h"
#include "vmm/sandbox/jail.h"
#include "vmm/sandbox/syscall_filter.h"

namespace kuml {
namespace {

// The machine running now, for the signal thread (null between boots).
absl::Mutex g_machine_mu;
Machine* g_machine ABSL_GUARDED_BY(g_machine_mu) = nullptr;
int g_stop_signal ABSL_GUARDED_BY(g_machine_mu) = 0;

// Termination signals are blocked in every thread and taken here, so that a
// `kill` stops the guest cleanly and the terminal is restored on the way out.
void SignalThread(sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    absl::MutexLock lock(&g_machine_mu);
    g_stop_signal = sig;
    if (g_machine != nullptr) {
      g_machine->RequestStop(StopReason::kHalt,
                             std::string("signal ") + strsignal(sig));
    }
  }
}

void Say(const std::string& s) { std::cerr << "kuml: " << s << "\r\n"; }

// kuml's exit statuses (documented in README.md).
enum ExitStatus {
  kExitGuestStopped = 0,  // power off, halt, or reboot with noreboot
  kExitVmmError = 1,      // the VMM could not go on (message on stderr)
  kExitUsage = 2,         // bad command line
  kExitGuestPanic = 3,    // the guest kernel panicked
};

// How long an mconsole command may wait for the guest agent's answer (one
// that has its port open; without one a command fails at once).
constexpr absl::Duration kAgentCallLimit = absl::Seconds(10);

// --showconfig: UML prints the .config it was built with; kuml prints the
// guest kernel's, which guest/build-kernel.sh keeps beside the vmlinux it
// builds (<dir>/config).
int ShowConfig(const MachineSpec& spec) {
  const std::string kernel =
      spec.kernel_path.empty() ? DefaultKernelPath() : spec.kernel_path;
  const std::optional<std::string> config = KernelConfigPath(kernel);
  std::ifstream in(config.value_or(""));
  if (!config.has_value() || !in) {
    Say(absl::StrCat("--showconfig: no kernel configuration beside ", kernel,
                     " (kuml's kernel build keeps one as config in the "
                     "kernel's directory)"));
    return kExitVmmError;
  }
  std::cout << in.rdbuf();
  return 0;
}

int Main(int argc, char** argv) {
  BootTracePoint("main");
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
  if (!spec.ok()) {
    Say(std::string(spec.status().message()));
    Say("see kuml --help");
    return kExitUsage;
  }
  if (spec->show_help) {
    std::cout << HelpText();
    return 0;
  }
  if (spec->show_version) {
    std::cout << VersionString() << "\n";
    return 0;
  }
  if (spec->show_config) return ShowConfig(*spec);
  for (const std::string& w : spec->warnings) Say("warning: " + w);
  if (spec->jail_user.has_value() && geteuid() != 0) {
    Say(absl::StrCat("jail: needs root (kuml runs as uid ", geteuid(),
                     "); run it as root, or without jail"));
    return kExitUsage;
  }
  absl::Status supported = CheckSupported(*spec);
  if (supported.ok()) supported = CheckNetSwitches(*spec);
  if (!supported.ok()) {
    Say(std::string(supported.message()));
    return kExitUsage;
  }

  // A kernel that knows UML's device names (kuml's own says so in an ELF
  // note) gets UML's command line; an unreadable kernel is reported when the
  // boot loads it.
  {
    const std::string kernel =
        spec->kernel_path.empty() ? DefaultKernelPath() : spec->kernel_path;
    absl::StatusOr<KernelNotes> notes = ReadKernelNotes(kernel);
    if (notes.ok() && notes->uml_device_names) {
      spec->guest_names = GuestNames::kUml;
    }
  }

  // Every line's host side, opened once for all boots (ptys announced,
  // telnet ports listening) before anything else can fail.
  absl::StatusOr<std::unique_ptr<LineFactory>> lines =
      LineFactory::Open(*spec, [](const std::string& m) { Say(m); });
  if (!lines.ok()) {
    Say(std::string(lines.status().message()));
    return kExitVmmError;
  }

  absl::StatusOr<Kvm> kvm = Kvm::Open();
  if (!kvm.ok()) {
    Say(std::string(kvm.status().message()));
    return kExitVmmError;
  }
  KvmFlavor flavor = DetectKvmFlavor();
  if (flavor == KvmFlavor::kSoftwareAssisted) {
    Say("note: /dev/kvm here is a software-assisted KVM (this host has no "
        "VT-x/AMD-V): guest kernel code is emulated, so the guest will be "
        "slow (a minute or more to boot)");
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT}) sigaddset(&stop_signals, s);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::thread(SignalThread, stop_signals).detach();

  // The guest agent's port (mconsole log/proc/stack/cad, hot-plug), made
  // anew for each boot; see machine/agent_link.h.
  AgentLink agent(kAgentCallLimit);
  (*lines)->AddServicePort(kAgentPortName, [&agent](EventLoop* loop) {
    return agent.NewBoot(loop);
  });
  absl::StatusOr<MachineConfig> config = BuildMachineConfig(*spec, **lines);
  if (!config.ok()) {
    Say(std::string(config.status().message()));
    return kExitVmmError;
  }
  std::vector<std::string> cpu_warnings;
  absl::Status cpus =
      CheckVcpuCount(spec->num_vcpus, ReadVcpuLimits(*kvm, config->kernel_path),
                     &cpu_warnings);
  for (const std::string& w : cpu_warnings) Say("warning: " + w);
  if (!cpus.ok()) {
    Say(std::string(cpus.message()));
    return kExitUsage;
  }
  if (PortChannel* port = (*lines)->console0_port()) {
    // As UML's boot does: nothing happens until someone telnets in.
    Say(absl::StrCat("con0 is on port:", port->port(),
                     ": waiting for a telnet connection"));
    while (!port->WaitForClient(absl::Seconds(1))) {
      absl::MutexLock lock(&g_machine_mu);
      if (g_stop_signal != 0) return 128 + g_stop_signal;
    }
  }

  // ~/.uml/<umid>/ with the mconsole sockets, for the process's lifetime
  // (across reboots), as UML keeps it.
  // kuml's gdb stub, for the process's life: every boot's Machine is bound
  // to it; it listens from the start with gdb= or debug, or once mconsole's
  // `config gdb=` asks.
  GdbStub gdb_stub(*kvm, flavor,
                   [](const std::string& notice) { Say(notice); });

  mconsole::MconsoleHostOptions mconsole_options;
  mconsole_options.spec = *spec;
  mconsole_options.kernel_path = config->kernel_path;
  mconsole_options.agent = &agent;
  mconsole_options.lines = lines->get();
  mconsole_options.jailed = spec->jail_user.has_value();
  mconsole_options.gdb = &gdb_stub;
  mconsole_options.grpc_door = [](const std::string& path,
                                  mconsole::CommandCore* core)
      -> absl::StatusOr<std::unique_ptr<mconsole::Door>> {
    absl::StatusOr<std::unique_ptr<mconsole::GrpcDoor>> door =
        mconsole::GrpcDoor::Start(path, core);
    if (!door.ok()) return door.status();
    return std::unique_ptr<mconsole::Door>(std::move(*door));
  };
  absl::StatusOr<std::unique_ptr<mconsole::MconsoleHost>> started =
      mconsole::MconsoleHost::Start(std::move(mconsole_options));
  // Like UML, a guest whose mconsole cannot be set up (no writable home for
  // ~/.uml, say) still boots; it just cannot be steered.
  std::unique_ptr<mconsole::MconsoleHost> mconsole;
  if (started.ok()) {
    mconsole = std::move(*started);
    if (!spec->quiet) {
      for (const std::string& m : mconsole->messages()) Say(m);
    }
  } else {
    Say(absl::StrCat("no mconsole for this guest: ",
                     started.status().message()));
  }

  // gdb= / debug now; mconsole `config gdb=` later (see above).
  if (spec->gdb.has_value() || spec->debug) {
    GdbListen where;
    if (spec->gdb.has_value()) {
      where = *spec->gdb;
    } else if (mconsole) {
      where.is_unix = true;
      where.path = mconsole->dir().path() + "/gdb";
    } else {
      Say("debug: the gdb socket goes in the umid directory, which could not "
          "be set up; give gdb=<port> instead");
      return kExitVmmError;
    }
    if (absl::Status s = gdb_stub.Listen(where); !s.ok()) {
      Say(absl::StrCat(spec->gdb.has_value() ? "gdb=" : "debug", ": ",
                       s.message()));
      return kExitUsage;
    }
    Say(absl::StrCat("gdb stub listening on ", gdb_stub.endpoint().value_or(""),
                     "; attach with: gdb ", config->kernel_path,
                     " -ex 'target remote ",
                     gdb_stub.remote_argument().value_or(""), "'"));
  }

  // Everything is open: from here on kuml needs neither the host's files nor
  // root (jail, as root), and each thread keeps to the system calls kuml
  // makes (machine/sandbox_policy.h), unless sandbox=off.
  if (spec->jail_user.has_value()) {
    if (!mconsole) {
      Say("jail: needs the umid directory, which could not be set up");
      return kExitVmmError;
    }
    JailOptions jail;
    jail.user = *spec->jail_user;
    jail.umid_dir = mconsole->dir().path();
    jail.kernel_path = config->kernel_path;
    jail.initrd_path = config->initrd_path;
    absl::StatusOr<JailPaths> jailed = EnterJail(jail);
    if (!jailed.ok()) {
      Say(std::string(jailed.status().message()));
      return kExitVmmError;
    }
    config->kernel_path = jailed->kernel_path;
    config->initrd_path = jailed->initrd_path;
  }
  if (spec->sandbox) {
    SetSandboxFatalHook(&RestoreAllTerminals);
    WarmUpForSandbox();
    absl::Status sandboxed =
        InstallSyscallFilter(KumlProcessFilter(), /*all_threads=*/true);
    if (!sandboxed.ok()) {
      Say(absl::StrCat("sandbox: ", sandboxed.message(),
                       " (sandbox=off runs without it)"));
      return kExitVmmError;
    }
    config->sandbox_vcpus = true;
  }

  for (int boot = 1;; ++boot) {
    if (mconsole && mconsole->halt_requested()) return kExitGuestStopped;
    absl::StatusOr<std::unique_ptr<Machine>> machine =
        Machine::Create(*kvm, flavor, *config);
    if (!machine.ok()) {
      Say(std::string(machine.status().message()));
      return kExitVmmError;
    }
    {
      absl::MutexLock lock(&g_machine_mu);
      if (g_stop_signal != 0) return 128 + g_stop_signal;
      g_machine = machine->get();
    }
    gdb_stub.Bind(machine->get());
    if (spec->debug && boot == 1) {
      // UML's `debug`: nothing runs until the debugger says so.
      (*machine)->PauseBeforeRun();
      Say("debug: the guest waits before its first instruction for a "
          "debugger to attach and continue");
    }
    if (mconsole) mconsole->BootStarting(machine->get());
    MachineStop stop = (*machine)->Run();
    if (mconsole) mconsole->BootEnded(stop);
    gdb_stub.Unbind();
    {
      absl::MutexLock lock(&g_machine_mu);
      g_machine = nullptr;
    }
    machine->reset();
    switch (stop.reason) {
      case StopReason::kPowerOff:
        return kExitGuestStopped;
      case StopReason::kHalt: {
        absl::MutexLock lock(&g_machine_mu);
        return g_stop_signal != 0 ? 128 + g_stop_signal : kExitGuestStopped;
      }
      case StopReason::kGuestPanic:
        Say(stop.detail);
        return kExitGuestPanic;
      case StopReason::kError:
        Say(stop.detail);
        return kExitVmmError;
      case StopReason::kReset:
      case StopReason::kTripleFault:
        if (stop.reason == StopReason::kTripleFault) Say(stop.detail);
        if (spec->noreboot) return kExitGuestStopped;
        if (!spec->quiet) Say("rebooting the guest");
        break;
    }
  }
}

}  // namespace
}  // namespace kuml

int main(int argc, char** argv) { return kuml::Main(argc, argv); }
