// NetTransport: the host side of one guest ethernet interface -- where the
// frames a guest sends go and where the frames it receives come from (a tap
// device, a uml_switch port, a UDP multicast group, libslirp, ...).
//
// Every transport is a file descriptor that turns readable when a frame can
// be received, so one event loop can serve them all: transports that are not
// a single fd by nature (libslirp with its sockets and timers) run their own
// thread and hand frames over a socketpair.
//
// Frames are whole ethernet frames (destination MAC first, no FCS). When
// vnet_header() is true each frame, in both directions, is preceded by a
// 12-byte virtio_net_hdr_v1 (a tap with IFF_VNET_HDR): the guest's checksum
// and segmentation offload requests pass through to the host kernel as they
// are, which then validates them.
//
// Ethernet semantics: a frame the host side cannot take now is dropped, not
// queued (the guest's TCP retransmits). Send() and Receive() may be called
// concurrently from different threads (one sender, one receiver).
#ifndef KUML_DEVICES_NET_NET_TRANSPORT_H_
#define KUML_DEVICES_NET_NET_TRANSPORT_H_

#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace kuml {

// Size of struct virtio_net_hdr_v1 (virtio 1.x: num_buffers always there).
inline constexpr size_t kVirtioNetHdrBytes = 12;
// The largest frame any transport hands over: a 64 KiB TSO frame plus the
// ethernet and VLAN headers.
inline constexpr size_t kMaxFrameBytes = 65536 + 14 + 4;

// TUNSETOFFLOAD bits: what the host may hand the guest unfinished.
struct GuestOffloads {
  bool csum = false;  // partial checksums (VIRTIO_NET_F_GUEST_CSUM)
  bool tso4 = false;
  bool tso6 = false;
  bool ecn = false;
};

class NetTransport {
 public:
  virtual ~NetTransport() = default;

  // For messages: "tuntap tap0", "mcast 239.192.168.1:1102 ttl 1", ...
  virtual std::string description() const = 0;

  // Level-triggered: readable (EPOLLIN) while Receive() has a frame.
  virtual int poll_fd() const = 0;

  // Frames carry a virtio_net_hdr_v1 in front (see above).
  virtual bool vnet_header() const { return false; }
  // Which unfinished frames the host may deliver (only with vnet_header();
  // others ignore it). Called when the guest driver negotiated features.
  virtual absl::Status SetGuestOffloads(const GuestOffloads&) {
    return absl::OkStatus();
  }

  // Sends one frame gathered from `frame`. OK also when the frame was
  // dropped because the host side is full; an error means this frame could
  // not be sent for a reason worth reporting (the device counts it).
  virtual absl::Status Send(absl::Span<const iovec> frame) = 0;

  // Reads one frame into `buffer` (kMaxFrameBytes, plus the header when
  // vnet_header(), always fits). Returns its length, 0 when none is pending.
  // Frames that did not fit are dropped and not reported.
  virtual absl::StatusOr<size_t> Receive(absl::Span<uint8_t> buffer) = 0;
};

}  // namespace kuml

#endif  // KUML_DEVICES_NET_NET_TRANSPORT_H_
