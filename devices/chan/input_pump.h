// InputPump: moves a channel's input into a line device's InputSink with
// back-pressure, one step per event-loop wakeup.
//
// Expected use on the event loop (all calls on the loop thread):
//
//   sink->SetRoomCallback([&] { loop->Post([&] { Step(); }); });
//   loop->Add(channel->input_fd(), EPOLLIN, [&](uint32_t) { Step(); });
//   void Step() {
//     switch (pump.Pump()) {
//       case InputPump::Next::kWatch: (re)watch input_fd for EPOLLIN; break;
//       case InputPump::Next::kPause: stop watching; the room callback will
//                                     call Step() again; break;
//       case InputPump::Next::kStop:  stop watching for good (EOF/error);
//     }
//   }
//
// Pump() reads at most as much as the sink has room for, so host input
// waits in the host fd (the pipe, the tty) while the guest is slow, and is
// never dropped. If the sink shrinks between the room check and the hand
// over (the guest reconfigured the device), the bytes it did not take are
// kept here and offered first next time.
#ifndef KUML_DEVICES_CHAN_INPUT_PUMP_H_
#define KUML_DEVICES_CHAN_INPUT_PUMP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "devices/chan/channel.h"
#include "devices/chan/input_sink.h"

namespace kuml {

class InputPump {
 public:
  enum class Next {
    kWatch,  // keep (or start again) watching the input fd
    kPause,  // stop watching until the sink's room callback
    kStop,   // input ended (EOF or error): stop watching for good
  };

  // Neither is owned; both must outlive the pump. At most `chunk` bytes are
  // read per step.
  InputPump(Channel* channel, InputSink* sink, size_t chunk = 4096);

  // One step: offer leftovers, then read once from the channel if the sink
  // has room. Safe to call spuriously.
  Next Pump();

  // Why input stopped (OK for a clean EOF or while still running).
  const absl::Status& status() const { return status_; }
  // Bytes read from the channel that the sink has not taken yet.
  size_t pending() const { return pending_.size(); }

 private:
  Next AfterHandOver();

  Channel* channel_;
  InputSink* sink_;
  std::vector<uint8_t> buffer_;
  std::vector<uint8_t> pending_;
  bool stopped_ = false;
  absl::Status status_;
};

}  // namespace kuml

#endif  // KUML_DEVICES_CHAN_INPUT_PUMP_H_
