// Host terminals as channels: UML's `pts` / `pty` (a fresh pseudo-terminal
// the user attaches a terminal program to) and `tty:<device>` (an existing
// host terminal, e.g. a virtual console or another pty's slave).
#ifndef KUML_DEVICES_CHAN_HOST_TERMINAL_H_
#define KUML_DEVICES_CHAN_HOST_TERMINAL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/chan/channel.h"
#include "devices/chan/fd_channel.h"
#include "devices/chan/forwarding_channel.h"
#include "util/unique_fd.h"

namespace kuml {

// A Unix98 pseudo-terminal: the channel reads and writes the master; the
// slave (slave_path(), "/dev/pts/N") is for the user: `screen /dev/pts/N`,
// or another guest's `ssl1=tty:/dev/pts/N` (HOWTO 5.3).
//
// The channel keeps a slave fd open for its whole life. Without it, the
// master reports a hangup (POLLHUP, read -> EIO) whenever no program has
// the slave open -- before the user attaches and after each detach -- and
// the line would either spin or end for good. With it, guest output simply
// waits in the pty (and then back-pressures the guest) until someone
// reads, and a program that detaches can be followed by another one.
//
// UML's legacy BSD `pty` channel (/dev/ptyXX) does not exist on modern
// hosts; kuml gives `pty` the same Unix98 pty as `pts`.
class PtsChannel : public ForwardingChannel {
 public:
  // `raw`: the pty starts in raw mode (UML's default; ssl-non-raw keeps
  // the kernel's cooked defaults). The pty is ours, so nothing is restored.
  static absl::StatusOr<std::unique_ptr<PtsChannel>> Open(bool raw);

  const std::string& slave_path() const { return slave_path_; }

  ~PtsChannel() override { Close(); }
  void Close() override;

 private:
  PtsChannel(std::unique_ptr<FdChannel> master, UniqueFd slave,
             std::string slave_path)
      : ForwardingChannel(std::move(master)),
        slave_(std::move(slave)),
        slave_path_(std::move(slave_path)) {}

  UniqueFd slave_;
  std::string slave_path_;
};

// `tty:<path>`: opens an existing host terminal for reading and writing
// (O_NOCTTY: it never becomes kuml's controlling terminal) and, when `raw`,
// puts it in raw mode until the channel closes (restored on every exit we
// can catch, see terminal_mode.h). Errors name the path. A path that is not
// a terminal is refused: UML's tty channel is for terminals, and a regular
// file would make a line that never blocks and never ends.
absl::StatusOr<std::unique_ptr<FdChannel>> OpenTtyChannel(
    const std::string& path, bool raw);

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_HOST_TERMINAL_H_
