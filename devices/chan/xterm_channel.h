// UML's `xterm` channel: the line appears in a new terminal emulator window
// (the program xterm= names, "xterm -T <title> -e ..." by default).
//
// kuml allocates a pty (as for `pts`) and runs, inside the emulator, a
// two-way relay between the emulator's terminal and that pty
// (`stty raw -echo; cat <pty> & exec cat > <pty>`), so no helper binary is
// needed (UML uses its port-helper to pass the emulator's tty back). The
// emulator is killed when the channel closes, as UML does. Without an X
// display ($DISPLAY unset) the channel cannot open: a clear error, not a
// silent line.
#ifndef KUML_DEVICES_CHAN_XTERM_CHANNEL_H_
#define KUML_DEVICES_CHAN_XTERM_CHANNEL_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/chan/forwarding_channel.h"

namespace kuml {

struct XtermOptions {
  std::string emulator = "xterm";
  std::string title_switch = "-T";
  std::string exec_switch = "-e";
  std::string title;  // "Virtual Console #1 (umid)"
  bool raw = true;
};

class XtermChannel : public ForwardingChannel {
 public:
  static absl::StatusOr<std::unique_ptr<XtermChannel>> Open(
      const XtermOptions& options);
  ~XtermChannel() override;
  void Close() override;

  pid_t pid() const { return pid_; }
  const std::string& pty_path() const { return pty_path_; }

 private:
  XtermChannel(std::unique_ptr<Channel> pty, std::string pty_path, pid_t pid)
      : ForwardingChannel(std::move(pty)),
        pty_path_(std::move(pty_path)),
        pid_(pid) {}

  std::string pty_path_;
  pid_t pid_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_XTERM_CHANNEL_H_
