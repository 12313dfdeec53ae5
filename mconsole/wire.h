// The UML mconsole wire format (arch/um/drivers/mconsole.h, protocol
// version 2), little-endian u32 fields, no padding:
//
//   request  magic 0xcafebabe | version 2 | len | data[512]  (client -> UML)
//   reply    err | more | len (incl. NUL) | data[len]         (UML -> client)
//   notify   magic | version | type | len | data[len]         (UML -> notify:)
//
// Pure functions: decode one received datagram into what the server must do,
// encode reply packets (long texts split into 511-character chunks, each
// NUL-terminated, more=1 on all but the last) and notifications.
#ifndef KUML_MCONSOLE_WIRE_H_
#define KUML_MCONSOLE_WIRE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kuml::mconsole {

inline constexpr uint32_t kMagic = 0xcafebabe;
inline constexpr uint32_t kProtocolVersion = 2;
inline constexpr size_t kMaxData = 512;            // MCONSOLE_MAX_DATA
inline constexpr size_t kRequestHeaderBytes = 12;  // magic, version, len
inline constexpr size_t kRequestBytes = kRequestHeaderBytes + kMaxData;
inline constexpr size_t kReplyHeaderBytes = 12;  // err, more, len
inline constexpr size_t kMaxReplyBytes = kReplyHeaderBytes + kMaxData;

// UML's raw answer to a datagram without the magic (a "version 0" client):
// no header, no NUL.
inline constexpr absl::string_view kVersion0Reply =
    "ERR Version 0 mconsole clients are not supported by this driver";

// What to do with one received datagram (mconsole_get_request).
struct DecodedRequest {
  // Send these raw datagrams first, in order (each one whole packet).
  std::vector<std::string> early_replies;
  // Run `command` (already cut at `len` and at its first NUL) and reply.
  bool execute = false;
  std::string command;
};

// Validation in UML's order: no magic -> the raw version-0 text; len >= 512
// -> "Request too large"; version != 2 -> "This driver only supports version
// 2 clients" and the command still runs (UML does exactly that). A datagram
// shorter than its 12-byte header, or whose len runs past the bytes
// received, is "Truncated request" (UML would read stale buffer bytes).
DecodedRequest DecodeRequest(absl::Span<const uint8_t> datagram);

// The reply packets for one command: `text` in chunks of at most 511
// characters, each NUL-terminated, `more` set on all but the last; an empty
// text is one packet with just the NUL.
std::vector<std::string> EncodeReply(int32_t err, absl::string_view text);

// A request as uml_mconsole sends it: the full 524-byte struct.
std::string EncodeRequest(absl::string_view command,
                          uint32_t version = kProtocolVersion);

// One decoded reply packet (for clients and tests).
struct ReplyPacket {
  int32_t err = 0;
  bool more = false;
  std::string data;  // without the terminating NUL
};
// False when the packet is shorter than its header or its len.
bool DecodeReply(absl::Span<const uint8_t> packet, ReplyPacket* out);

// Notification types (enum mconsole_notify_types).
enum class NotifyType : uint32_t {
  kSocket = 0,      // data: the mconsole socket path, NUL included
  kPanic = 1,       // data: the panic message, NUL included
  kHang = 2,        // never sent by UML 6.1
  kUserNotify = 3,  // data: raw bytes from the guest, no NUL added
};
// len is clipped to 512 bytes, as UML does.
std::string EncodeNotify(NotifyType type, absl::string_view data);

}  // namespace kuml::mconsole

#endif  // KUML_MCONSOLE_WIRE_H_
