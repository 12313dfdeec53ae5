#include "machine/line_factory.h"

#include <fcntl.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/chan/fd_channel.h"
#include "devices/chan/host_terminal.h"
#include "devices/chan/split_channel.h"
#include "devices/chan/xterm_channel.h"
#include "devices/virtio/console_channel_port.h"
#include "devices/virtio/console_device.h"

namespace kuml {
namespace {

// Everything needed to open the channels of one line.
struct LineContext {
  const MachineSpec* spec;
  LineKind kind;
  int index;
  bool raw;
  const LineFactory::Announce* announce;
  std::map<uint16_t, std::shared_ptr<PortServer>>* servers;
  PortChannel** port_line;  // set when a port: channel is opened
};

std::string LineName(LineKind kind, int n) {
  return absl::StrCat(kind == LineKind::kConsole ? "con" : "ssl", n);
}

// UML's announcement (stdio_console.c / ssl.c).
std::string AssignedMessage(LineKind kind, int n, const std::string& dev) {
  return absl::StrCat(
      kind == LineKind::kConsole ? "Virtual console " : "Serial line ", n,
      " assigned device '", dev, "'");
}

// UML's xterm title (stdio_console.c / ssl.c + add_xterm_umid).
std::string XtermTitle(const LineContext& c) {
  std::string title = absl::StrCat(
      c.kind == LineKind::kConsole ? "Virtual Console #" : "Serial Line #",
      c.index);
  if (!c.spec->umid.empty()) absl::StrAppend(&title, " (", c.spec->umid, ")");
  return title;
}

// Which direction of a line a channel serves: in a pair (`in,out`) each
// channel serves one, and an fd there is used only that way
// (`con0=null,fd:1` with fd 1 open write-only is an output, as in UML).
enum class Side { kBoth, kInput, kOutput };

absl::StatusOr<std::unique_ptr<Channel>> OpenOne(const ChannelSpec& chan,
                                                 const LineContext& c,
                                                 Side side = Side::kBoth) {
  switch (chan.type) {
    case ChannelSpec::Type::kFd: {
      FdChannel::Options options;
      options.in_fd = side == Side::kOutput ? -1 : chan.fd;
      options.out_fd = side == Side::kInput ? -1 : chan.fd;
      options.raw = c.raw;
      return FdChannel::Create(options);
    }
    case ChannelSpec::Type::kNull:
      return FdChannel::Create(FdChannel::Options());  // no fds at all
    case ChannelSpec::Type::kPty:
    case ChannelSpec::Type::kPts: {
      absl::StatusOr<std::unique_ptr<PtsChannel>> pts = PtsChannel::Open(c.raw);
      if (!pts.ok()) return pts.status();
      (*c.announce)(AssignedMessage(c.kind, c.index, (*pts)->slave_path()));
      return std::unique_ptr<Channel>(std::move(*pts));
    }
    case ChannelSpec::Type::kTty:
      return OpenTtyChannel(chan.tty_path, c.raw);
    case ChannelSpec::Type::kPort: {
      std::shared_ptr<PortServer>& server = (*c.servers)[chan.port];
      if (server == nullptr) {
        absl::StatusOr<std::shared_ptr<PortServer>> s =
            PortServer::Listen(chan.port, chan.listen_address);
        if (!s.ok()) return s.status();
        server = std::move(*s);
      } else if (server->address() != chan.listen_address) {
        // One listening socket per port: its lines share one address.
        return absl::InvalidArgumentError(absl::StrCat(
            "port ", chan.port, " already listens on ",
            server->address().has_value() ? server->address()->ToString()
                                          : "every address"));
      }
      absl::StatusOr<std::unique_ptr<PortChannel>> line = server->NewLine();
      if (!line.ok()) return line.status();
      *c.port_line = line->get();
      return std::unique_ptr<Channel>(std::move(*line));
    }
    case ChannelSpec::Type::kXterm: {
      XtermOptions options;
      options.emulator = c.spec->xterm.emulator;
      options.title_switch = c.spec->xterm.title_switch;
      options.exec_switch = c.spec->xterm.exec_switch;
      options.title = XtermTitle(c);
      options.raw = c.raw;
      absl::StatusOr<std::unique_ptr<XtermChannel>> x =
          XtermChannel::Open(options);
      if (!x.ok()) return x.status();
      return std::unique_ptr<Channel>(std::move(*x));
    }
  }
  return absl::InternalError("unknown channel type");
}

// The channel of a whole line: one channel when input and output are the
// same, one FdChannel for two fds, else a split pair (UML opens the two
// sides separately too).
absl::StatusOr<std::unique_ptr<Channel>> OpenLine(const LineSpec& line,
                                                  const LineContext& c) {
  using Type = ChannelSpec::Type;
  if (line.input == line.output && line.input.type == Type::kFd) {
    // One fd for both directions, as UML takes it: `con2=fd:3 3>file` is an
    // output-only line and `fd:3 3<file` an input-only one (UML just uses
    // the fd; reads or writes it cannot do fail quietly).
    int flags = fcntl(line.input.fd, F_GETFL);
    if (flags >= 0 && (flags & O_ACCMODE) != O_RDWR) {
      FdChannel::Options options;
      bool write_only = (flags & O_ACCMODE) == O_WRONLY;
      options.in_fd = write_only ? -1 : line.input.fd;
      options.out_fd = write_only ? line.input.fd : -1;
      options.raw = c.raw;
      return FdChannel::Create(options);
    }
  }
  if (line.input == line.output) return OpenOne(line.input, c);
  if (line.input.type == Type::kFd && line.output.type == Type::kFd) {
    FdChannel::Options options;
    options.in_fd = line.input.fd;
    options.out_fd = line.output.fd;
    options.raw = c.raw;
    return FdChannel::Create(options);
  }
  absl::StatusOr<std::unique_ptr<Channel>> in =
      OpenOne(line.input, c, Side::kInput);
  if (!in.ok()) return in.status();
  absl::StatusOr<std::unique_ptr<Channel>> out =
      OpenOne(line.output, c, Side::kOutput);
  if (!out.ok()) return out.status();
  return std::unique_ptr<Channel>(
      new SplitChannel(std::move(*in), std::move(*out)));
}

// One virtio-console port before its device exists: its name, whether the
// guest makes it a console (hvc tty), and what makes its host side on a
// machine's event loop.
struct ConsolePortSource {
  std::string name;
  bool console = false;
  LineFactory::PortHandlerFactory make;
};

// Builds a virtio-console with `ports`, in order, for each machine.
VirtioDeviceFactory ConsoleDeviceFactory(std::vector<ConsolePortSource> ports) {
  return [ports = std::move(ports)](const VirtioDeviceContext& context)
             -> absl::StatusOr<std::unique_ptr<VirtioDevice>> {
    std::vector<VirtioConsole::PortConfig> configs;
    for (const ConsolePortSource& port : ports) {
      absl::StatusOr<std::shared_ptr<ConsolePortHandler>> handler =
          port.make(context.loop);
      if (!handler.ok()) return handler.status();
      VirtioConsole::PortConfig config;
      config.name = port.name;
      config.console = port.console;
      config.handler = *std::move(handler);
      configs.push_back(std::move(config));
    }
    return std::unique_ptr<VirtioDevice>(new VirtioConsole(std::move(configs)));
  };
}

// Whether a line's port is a console port, which the guest makes a tty:
// with kuml's kernel and UML's names every line (con<n> is tty<n>, ssl<n>
// ttyS<n>); with another kernel the first kHvcTtys consoles (hvc0..hvc7),
// counted by `console_ports`, and no serial line.
bool GetsTty(const MachineSpec& spec, LineKind kind, int console_ports) {
  if (spec.guest_names == GuestNames::kUml) return true;
  return kind == LineKind::kConsole && console_ports < kHvcTtys;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LineFactory>> LineFactory::Open(
    const MachineSpec& spec, const Announce& announce) {
  std::unique_ptr<LineFactory> lines(new LineFactory());
  lines->spec_ = spec;
  lines->announce_ = announce;
  int console_ports = 0;
  for (LineKind kind : {LineKind::kConsole, LineKind::kSerial}) {
    for (int n = 0; n < LineCount(kind); ++n) {
      const LineSpec line = EffectiveLine(spec, kind, n);
      if (line.none) continue;
      PortChannel* port_line = nullptr;
      LineContext context{
          &spec,
          kind,
          n,
          /*raw=*/kind == LineKind::kConsole || !spec.ssl_non_raw,
          &announce,
          &lines->servers_,
          &port_line};
      absl::StatusOr<std::unique_ptr<Channel>> channel =
          OpenLine(line, context);
      if (!channel.ok()) {
        const std::string text =
            line.switch_text.empty()
                ? absl::StrCat(LineName(kind, n), "=", line.config)
                : line.switch_text;
        return absl::Status(
            channel.status().code(),
            absl::StrCat(text, ": ", channel.status().message()));
      }
      if (kind == LineKind::kConsole && n == 0) {
        lines->con0_ = std::move(*channel);
        lines->con0_port_ = port_line;
        // The kernel's own console writes go to con0: with nobody connected
        // they are dropped, not held (port_channel.h).
        if (port_line != nullptr) port_line->set_discard_without_client(true);
        continue;
      }
      GuestPort port;
      port.name = LineName(kind, n);
      port.console = GetsTty(spec, kind, console_ports);
      if (port.console) ++console_ports;
      port.channel = channel->get();
      lines->channels_.push_back(std::move(*channel));
      lines->ports_.push_back(std::move(port));
    }
  }
  return lines;
}

absl::StatusOr<PluggableDevice> LineFactory::OpenHotLine(LineKind kind,
                                                         int index,
                                                         const LineSpec& line) {
  if (spec_.sandbox && (line.input.type == ChannelSpec::Type::kXterm ||
                        line.output.type == ChannelSpec::Type::kXterm)) {
    // An emulator started now would run under kuml's seccomp filter, which
    // has no exec: it could not even start.
    return absl::FailedPreconditionError(absl::StrCat(
        LineName(kind, index), "=", line.config,
        ": an xterm can only be opened at boot while the sandbox is on "
        "(start kuml with sandbox=off to add one later)"));
  }
  PortChannel* port_line = nullptr;
  absl::StatusOr<std::unique_ptr<Channel>> opened;
  {
    absl::MutexLock lock(&servers_mu_);
    LineContext context{
        &spec_,
        kind,
        index,
        /*raw=*/kind == LineKind::kConsole || !spec_.ssl_non_raw,
        &announce_,
        &servers_,
        &port_line};
    opened = OpenLine(line, context);
  }
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat(LineName(kind, index), "=", line.config,
                                     ": ", opened.status().message()));
  }
  std::shared_ptr<Channel> channel = std::move(*opened);
  ConsolePortSource port;
  port.name = LineName(kind, index);
  port.console = GetsTty(spec_, kind, /*console_ports=*/0);
  port.make = [channel](EventLoop* loop)
      -> absl::StatusOr<std::shared_ptr<ConsolePortHandler>> {
    return std::make_shared<ConsoleChannelPort>(loop, channel);
  };
  PluggableDevice device;
  device.name = LineName(kind, index);
  device.make = ConsoleDeviceFactory({std::move(port)});
  device.config = line.config;
  device.console_tty = port.console;
  return device;
}

void LineFactory::AddServicePort(std::string name, PortHandlerFactory make) {
  service_ports_.emplace_back(std::move(name), std::move(make));
}

std::optional<PluggableDevice> LineFactory::ConsoleDevice() const {
  if (ports_.empty() && service_ports_.empty()) return std::nullopt;
  std::vector<ConsolePortSource> sources;
  for (const GuestPort& port : ports_) {
    Channel* channel = port.channel;
    ConsolePortSource source;
    source.name = port.name;
    source.console = port.console;
    source.make = [channel](EventLoop* loop)
        -> absl::StatusOr<std::shared_ptr<ConsolePortHandler>> {
      return std::make_shared<ConsoleChannelPort>(loop, channel);
    };
    sources.push_back(std::move(source));
  }
  for (const auto& [name, make] : service_ports_) {
    sources.push_back(ConsolePortSource{name, /*console=*/false, make});
  }
  PluggableDevice device;
  device.name = "lines";
  device.make = ConsoleDeviceFactory(std::move(sources));
  return device;
}

}  // namespace kuml
