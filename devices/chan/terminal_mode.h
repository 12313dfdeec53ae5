// RawTerminal: puts a host terminal into raw mode for a guest console and
// puts it back afterwards, on every way out of the process we can catch.
//
// UML's console channels (`con0=fd:0,fd:1`) hand the guest a raw host
// terminal: no echo, no line editing, no signal keys (Ctrl-C reaches the
// guest), no output processing (the guest sends CR LF itself). Leaving the
// user's shell in that state after kuml exits would be rude, so besides the
// RAII restore there is a process-wide registry of saved states that a
// signal handler and an atexit hook restore from.
//
// The registry:
//  * holds a dup() of each terminal's fd, so the restore does not depend on
//    the caller's fd staying open (or on its number not being reused);
//  * keys terminals by device number, so fd 0 and fd 1 on the same tty share
//    one entry: the first RawTerminal saves the original state, the last one
//    to go restores it (a second save would capture the raw state);
//  * only restores terminals registered by the current process (a forked
//    child that exits does not touch its parent's terminal).
//
// Fatal-signal handlers (SIGTERM SIGINT SIGHUP SIGQUIT SIGSEGV SIGBUS
// SIGABRT SIGILL SIGFPE) are installed the first time a terminal goes raw,
// but only for signals still at their default action: an ignored signal stays
// ignored, and a handler someone else installed is left alone (its owner must
// call RestoreAllTerminals() before it makes the process die). The handler
// restores, then re-raises the signal with the default action, so exit
// status and core dumps are what they would have been. SIGKILL, _exit() and
// a stopped process (SIGSTOP/SIGTSTP) cannot be covered.
#ifndef KUML_DEVICES_CHAN_TERMINAL_MODE_H_
#define KUML_DEVICES_CHAN_TERMINAL_MODE_H_

#include "absl/status/statusor.h"

namespace kuml {

class RawTerminal {
 public:
  // Slots in the process-wide registry: distinct terminals raw at once.
  static constexpr int kMaxTerminals = 32;

  // If `fd` is a terminal, saves its state (unless another RawTerminal
  // already holds the same terminal) and makes it raw. If it is not a
  // terminal, returns an inactive RawTerminal that does nothing. `fd` is not
  // owned and may be closed afterwards.
  static absl::StatusOr<RawTerminal> Enter(int fd);

  RawTerminal() = default;  // inactive
  RawTerminal(RawTerminal&& other) noexcept;
  RawTerminal& operator=(RawTerminal&& other) noexcept;
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal();

  // True when this object holds a terminal in raw mode.
  bool active() const { return slot_ >= 0; }

  // Drops this hold on the terminal now; the last hold restores the saved
  // state. Idempotent.
  void Restore();

 private:
  explicit RawTerminal(int slot) : slot_(slot) {}
  int slot_ = -1;  // registry slot, -1 when inactive
};

// Restores every terminal the registry holds to its saved state, without
// dropping the holds. Async-signal-safe (only tcsetattr and atomics); safe to
// call any number of times.
void RestoreAllTerminals();

// Installs the fatal-signal handlers and the atexit hook described above.
// Called by RawTerminal::Enter; idempotent.
void InstallTerminalRestoreHandlers();

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_TERMINAL_MODE_H_
