// MachineSpec: plain data describing the machine a user asked for on the UML
// command line (`kuml ubd0=root_fs con0=fd:0,fd:1 mem=128M ...`).
//
// It is produced by ParseCommandLine (command_line.h) and consumed by the VMM;
// it holds no file descriptors and was built without touching the file
// system. Every device entry keeps the exact switch text it came from, so
// error messages and mconsole's `config <dev>` can quote it back.
//
// Limits and defaults mirror UML 6.1 (arch/um/drivers); where kuml chooses
// differently the comment says so.
#ifndef KUML_FRONTEND_MACHINE_SPEC_H_
#define KUML_FRONTEND_MACHINE_SPEC_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "util/net_address.h"

namespace kuml {

inline constexpr int kMaxUbdDevices = 16;   // ubd_kern.c MAX_DEV
inline constexpr int kMaxConsoles = 16;     // stdio_console.c MAX_TTYS
inline constexpr int kMaxSerialLines = 64;  // ssl.c NR_PORTS
// UML has no limit on eth<n>/vec<n>; kuml caps the index so that device
// names stay short and no index can overflow anything downstream.
inline constexpr int kMaxNetDevices = 256;
inline constexpr size_t kMaxUmidLength = 63;  // umid.c UMID_LEN - 1
// kumld's state directory under uml_dir: never a guest's umid (a guest by
// that name would remove kumld's lock and records when it ends).
inline constexpr char kReservedUmid[] = "kumld.d";
inline constexpr uint64_t kDefaultMemBytes = uint64_t{64} << 20;
// UML itself accepts less, but no kernel we boot gets to init below this.
inline constexpr uint64_t kMinMemBytes = uint64_t{16} << 20;
inline constexpr uint64_t kMemGranule = 4096;
// UML's ubd0_init(): an unconfigured ubd0 is the file ./root_fs.
inline constexpr char kDefaultRootFs[] = "root_fs";

// ---------------------------------------------------------------------------
// Block devices: ubd<n><flags>=<file>[(,|:)<backing>][(,|:)<serial>]

struct UbdSpec {
  std::string file;          // image, or the COW file when backing_file is set
  std::string backing_file;  // empty: none given on the command line
  std::string serial;        // empty: none
  bool read_only = false;    // flag r
  bool sync = false;         // flag s (O_SYNC on the host file)
  bool no_cow = false;       // flag d (never treat `file` as a COW file)
  bool shared = false;       // flag c (no host locking)
  bool no_trim = false;      // flag t (no discard)
  // "ubd0r=root_fs"; empty for the implicit ubd0=root_fs default.
  std::string switch_text;
};

// ---------------------------------------------------------------------------
// Consoles (con<n>, 0..15) and serial lines (ssl<n>, 0..63).

enum class LineKind { kConsole, kSerial };

// One host channel behind a line (chan_kern.c chan_table).
struct ChannelSpec {
  enum class Type { kFd, kNull, kPort, kPty, kPts, kTty, kXterm };
  Type type = Type::kNull;
  int fd = -1;        // kFd: host file descriptor
  uint16_t port = 0;  // kPort: TCP port, 1..65535
  // kPort: the address to listen on (port:<addr>:<port>); none: every
  // address, as UML listens.
  std::optional<Ipv4Address> listen_address;
  std::string tty_path;  // kTty: host tty device, non-empty

  // Canonical text: "fd:0", "null", "port:9000", "port:127.0.0.1:9000",
  // "pty", "pts", "tty:/dev/tty3", "xterm".
  std::string ToString() const;
  friend bool operator==(const ChannelSpec& a, const ChannelSpec& b) {
    return a.type == b.type && a.fd == b.fd && a.port == b.port &&
           a.listen_address == b.listen_address && a.tty_path == b.tty_path;
  }
};

// What one line is attached to: `none` (line not registered at all) or an
// input and an output channel (the same channel twice for "<chan>").
struct LineSpec {
  bool none = false;
  ChannelSpec input;
  ChannelSpec output;
  // Text after '=' ("fd:0,fd:1"); mconsole `config con0` answers with it.
  std::string config;
  // Whole switch ("con0=fd:0,fd:1" or "con=pts"); empty for a built-in
  // default.
  std::string switch_text;
};

// ---------------------------------------------------------------------------
// Network: eth<n>=<transport>[,<fields>] (one struct per transport; an
// empty positional field keeps the default shown here). MacAddress and
// Ipv4Address: util/net_address.h.

inline constexpr uint16_t kDefaultUmcastPort = 1102;
inline constexpr char kDefaultDaemonControlSocket[] =
    "/var/run/uml-utilities/uml_switch.ctl";  // Debian's build

// eth<n>=tuntap,[<tap dev>],[<mac>],[<gate ip>]
struct TuntapTransport {
  std::string device;  // empty: let the uml_net helper create one
  std::optional<MacAddress> mac;
  std::optional<Ipv4Address> gate;
};
// eth<n>=ethertap,<dev>,[<mac>],[<gate ip>]
struct EthertapTransport {
  std::string device;  // required
  std::optional<MacAddress> mac;
  std::optional<Ipv4Address> gate;
};
// eth<n>=daemon,[<mac>],[<sock type>],[<ctl socket>]
struct DaemonTransport {
  std::optional<MacAddress> mac;
  std::string socket_type = "unix";  // the only type UML implements
  std::string control_socket = kDefaultDaemonControlSocket;
};
// eth<n>=mcast,[<mac>],[<group>],[<port>],[<ttl>]
struct McastTransport {
  std::optional<MacAddress> mac;
  Ipv4Address group{{239, 192, 168, 1}};
  uint16_t port = kDefaultUmcastPort;
  uint8_t ttl = 1;
};
// eth<n>=ucast,[<mac>],<remote addr>,[<local port>],[<remote port>]
struct UcastTransport {
  std::optional<MacAddress> mac;
  Ipv4Address remote;  // required
  uint16_t local_port = kDefaultUmcastPort;
  uint16_t remote_port = kDefaultUmcastPort;
};
// eth<n>=slirp,[<mac>],<cmd>[,<arg>...]  ('_' in each word becomes ' ')
struct SlirpTransport {
  std::optional<MacAddress> mac;
  std::vector<std::string> argv{"slirp"};
};
// eth<n>=slip,<gate ip>
struct SlipTransport {
  std::optional<Ipv4Address> gate;
};
// eth<n>=vde,[<switch>],[<mac>],[<port>],[<group>],[<mode, octal>],[<descr>]
struct VdeTransport {
  std::string switch_path;  // empty: libvdeplug's default socket
  std::optional<MacAddress> mac;
  uint32_t port = 0;
  std::string group;
  uint32_t mode = 0;
  std::string description;  // empty: "UML vde_transport"
};
// eth<n>=pcap,[<host if>],[<filter>],[<option>],[<option>],[<mac>]
// options: promisc | nopromisc | optimize | nooptimize
struct PcapTransport {
  std::string host_interface = "eth0";
  std::string filter;
  bool promisc = true;
  bool optimize = false;
  std::optional<MacAddress> mac;
};

using EthTransport =
    std::variant<TuntapTransport, EthertapTransport, DaemonTransport,
                 McastTransport, UcastTransport, SlirpTransport, SlipTransport,
                 VdeTransport, PcapTransport>;

struct EthSpec {
  int index = 0;
  EthTransport transport;
  std::string config;       // text after '=' ("tuntap,tap0")
  std::string switch_text;  // "eth0=tuntap,tap0"
};

// vec<n>:transport=<t>,<key>=<value>,... (vector_kern.c). The options are
// validated (known keys, numbers where numeric) and kept as text, because
// the meaning of most keys depends on the transport.
enum class VecTransportType { kTap, kHybrid, kRaw, kGre, kL2tpv3, kBess, kFd };

struct VecSpec {
  int index = 0;
  VecTransportType transport = VecTransportType::kTap;
  std::map<std::string, std::string> options;  // every key, incl. transport
  std::string config;                          // text after ':'
  std::string switch_text;                     // "vec0:transport=tap,..."
};

// ---------------------------------------------------------------------------
// Everything else.

// xterm=<emulator>[,<title switch>[,<exec switch>]] (UML's upstream
// defaults; Debian patches in x-terminal-emulator).
struct XtermSpec {
  std::string emulator = "xterm";
  std::string title_switch = "-T";
  std::string exec_switch = "-e";
  std::string switch_text;  // empty: not given
};

// iomem=<name>,<file> (may be given once per name).
struct IomemSpec {
  std::string name;
  std::string file;
  std::string switch_text;
};

// hostfs=<root dir>[,append]
struct HostfsSpec {
  std::string root;  // empty: the host's "/"
  bool append = false;
  std::string switch_text;
};

// mconsole=notify:<socket>
struct MconsoleNotifySpec {
  std::string socket_path;
  std::string switch_text;
};

// gdb=<port> or gdb=<unix socket path> (kuml's switch; UML's `debug` uses
// the umid directory's "gdb" socket): where the gdb stub listens.
struct GdbListen {
  bool is_unix = false;
  uint16_t port = 0;  // TCP on 127.0.0.1
  std::string path;   // a unix socket
};

// Which names the guest kernel gives kuml's devices (guest_cmdline.h,
// machine/line_factory.h, machine/disk_factory.h).
enum class GuestNames {
  // A kernel with its own driver names: virtio disks /dev/vda.. (kuml
  // rewrites root=/dev/ubda), con0 the 8250's ttyS0, con1.. hvc ttys.
  kVirtio,
  // A kernel that knows UML's names (kuml's own: guest/patches/0003-*; it
  // says so with an ELF note) and is booted with kuml_names=uml: disks
  // /dev/ubda.. (98:16n), con0 tty0 (the 8250), con<n> tty<n> (4:n).
  kUml,
};

struct MachineSpec {
  // kernel=<path>: kuml's own switch. Empty: the CLI picks its default.
  std::string kernel_path;
  // Not a switch: what the guest kernel says about itself (its ELF note),
  // set by the CLI before anything is built from this spec.
  GuestNames guest_names = GuestNames::kVirtio;
  // sandbox=on|off (kuml's own): seccomp filters on every thread once the
  // guest's devices are open. On unless turned off (for debugging).
  bool sandbox = true;
  // jail / jail=<user> (UML's switch; root only): after the devices are
  // open, chroot into the umid directory and become <user> (nobody).
  std::optional<std::string> jail_user;
  // hotplug_slots=<n> (kuml's own): empty virtio-mmio slots announced at
  // boot for mconsole's config <dev>=. Unset: every slot left free (a
  // machine has 19 in all).
  std::optional<int> hotplug_slots;
  std::string initrd_path;                // initrd=
  uint64_t mem_bytes = kDefaultMemBytes;  // mem=, rounded up to 4 KiB
  // ncpus= (UML's SMP switch): the guest's vCPUs, 1..254 (the MP table's
  // APIC ids); the host and kernel limits are checked at start
  // (machine/vcpu_count.h).
  uint32_t num_vcpus = 1;
  std::string umid;     // umid=; empty: none given (pick a random one)
  std::string uml_dir;  // uml_dir=; empty: ~/.uml/

  bool noreboot = false;
  bool quiet = false;  // also passed to the guest kernel
  // debug (UML's switch): serve gdb (on `gdb`, else the umid directory's
  // "gdb" socket) and hold the guest before its first instruction until a
  // debugger attaches.
  bool debug = false;
  std::optional<GdbListen> gdb;  // gdb=
  bool nosysemu = false;         // accepted, no effect (no ptrace in kuml)
  bool ssl_non_raw = false;
  std::optional<bool> stderr_console;  // stderr=<n>

  // --help / --version / --showconfig: the first one on the command line
  // wins and the rest of the command line is not parsed (as in UML, which
  // prints and exits while scanning argv).
  bool show_help = false;
  bool show_version = false;
  bool show_config = false;

  std::optional<MconsoleNotifySpec> mconsole_notify;
  std::optional<HostfsSpec> hostfs;
  XtermSpec xterm;
  std::vector<IomemSpec> iomem;
  std::vector<std::string> virtio_uml_devices;  // raw virtio_uml.device=

  // Disks by ubd index; always holds index 0 after parsing (root_fs default).
  // Iterating the map gives ubd index order, which is the order in which the
  // VMM registers its virtio disks (see guest_cmdline.h).
  std::map<int, UbdSpec> disks;
  bool ubd_sync = false;        // ubd=sync
  std::string ubd_sync_switch;  // its text, when given

  // Explicit con<n>= / ssl<n>= and the con= / ssl= defaults; use
  // EffectiveLine() to learn what a line is really attached to.
  std::map<int, LineSpec> consoles;
  std::optional<LineSpec> console_default;
  std::map<int, LineSpec> serial_lines;
  std::optional<LineSpec> serial_default;

  std::map<int, EthSpec> eth;
  std::map<int, VecSpec> vec;

  // Arguments for the guest kernel, in command-line order: root=, init=,
  // console=, quiet, rw, loglevel=, unknown words and a=b pairs. See
  // GuestKernelArgs() for the final list.
  std::vector<std::string> guest_args;

  // Things UML would merely print (typos like udb0=, obsolete fake_ide,
  // ignored data sockets, later switches overriding earlier ones).
  std::vector<std::string> warnings;
};

// The line a guest console or serial line is attached to, resolved the way
// UML does (stdio_console.c / ssl.c init): an explicit con<n>=/ssl<n>= wins,
// then con=/ssl= whatever their order on the command line, then the built-in
// default:
//   con0        fd:0,fd:1 (UML's CONFIG_CON_ZERO_CHAN: stdin/stdout)
//   con1..15    none. Upstream UML compiles in `xterm`; Debian's build has
//               "x-terminal-emulator", which is no valid channel, so those
//               lines fail to set up and do not exist -- the same as none.
//   ssl0..63    none. UML's default is `pty`: legacy BSD ptys, absent on
//               modern hosts, so UML's default serial lines fail to open
//               and are dead. kuml opens channels at start (not when the
//               guest opens the line), so honouring `pty` would allocate and
//               announce 64 ptys on every run for lines nobody uses. Ask
//               for them with ssl=pts.
// A built-in default has an empty switch_text. `n` out of range: none.
LineSpec EffectiveLine(const MachineSpec& spec, LineKind kind, int n);

// Number of lines of `kind` (16 consoles, 64 serial lines).
int LineCount(LineKind kind);

}  // namespace kuml

#endif  // KUML_FRONTEND_MACHINE_SPEC_H_
