// Reply: what one mconsole command answers, in UML's terms.
//
// UML puts an `err` word in every reply packet: 0 for success, 1 for a
// command error, or a negative errno from a device's config/remove routine
// (uml_mconsole exits with err & 0xff, so -EBUSY shows as 240). The text is
// what the client prints after "OK " / "ERR ". `code` says the same thing in
// gRPC/absl terms for the gRPC door.
#ifndef KUML_MCONSOLE_REPLY_H_
#define KUML_MCONSOLE_REPLY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"

namespace kuml::mconsole {

// gRPC trailing metadata key holding UML's err word (decimal) on a failed
// call (proto/kuml.proto).
inline constexpr char kUmlErrKey[] = "uml-err";

// What a command that needs the guest's machine answers while kuml is
// between two boots of it.
inline constexpr char kBetweenBoots[] =
    "The guest is between boots; try again in a moment";

struct Reply {
  int32_t err = 0;
  std::string text;
  absl::StatusCode code = absl::StatusCode::kOk;

  bool ok() const { return err == 0; }

  static Reply Ok(std::string text = "") {
    return Reply{0, std::move(text), absl::StatusCode::kOk};
  }
  // err = 1: UML's plain command error.
  static Reply Error(absl::StatusCode code, std::string text) {
    return Reply{1, std::move(text), code};
  }
  // err = -errno, as UML's config/remove routines return.
  static Reply Errno(int errno_value, absl::StatusCode code, std::string text) {
    return Reply{-errno_value, std::move(text), code};
  }
  // The status the gRPC door returns (OK, or `code` with the text).
  absl::Status ToStatus() const {
    return ok() ? absl::OkStatus() : absl::Status(code, text);
  }
};

// A reply plus an action to take once the reply is on its way: UML answers
// `halt`, `reboot`, `cad` and `sysrq b` first and acts afterwards, because
// the action may end the guest before a later reply could be sent.
struct Outcome {
  Reply reply;
  std::function<void()> after_reply;  // may be empty

  void Finish() {
    if (after_reply) {
      std::function<void()> action = std::move(after_reply);
      after_reply = nullptr;
      action();
    }
  }
};

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_REPLY_H_
