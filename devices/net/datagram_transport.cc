#include "devices/net/datagram_transport.h"

#include <cerrno>
#include <utility>

#include "util/errno_status.h"

namespace kuml {

DatagramTransport::DatagramTransport(std::string description, UniqueFd socket,
                                     std::vector<uint8_t> destination,
                                     std::vector<UniqueFd> extra)
    : description_(std::move(description)),
      socket_(std::move(socket)),
      destination_(std::move(destination)),
      extra_(std::move(extra)) {}

absl::Status DatagramTransport::Send(absl::Span<const iovec> frame) {
  msghdr msg{};
  if (!destination_.empty()) {
    msg.msg_name = const_cast<uint8_t*>(destination_.data());
    msg.msg_namelen = destination_.size();
  }
  msg.msg_iov = const_cast<iovec*>(frame.data());
  msg.msg_iovlen = frame.size();
  while (::sendmsg(socket_.get(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    switch (errno) {
      case EINTR:
        continue;
      // Full socket buffer, or (ucast, daemon) nobody listening at the other
      // end right now: a cable with no one on it drops frames.
      case EAGAIN:
      case ENOBUFS:
      case ECONNREFUSED:
      case ENOENT:
        return absl::OkStatus();
      default:
        return ErrnoStatus("send to " + description_);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> DatagramTransport::Receive(absl::Span<uint8_t> buffer) {
  for (;;) {
    // MSG_TRUNC: the datagram's real length, so oversized ones are noticed.
    ssize_t n = ::recv(socket_.get(), buffer.data(), buffer.size(),
                       MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      // ECONNREFUSED: an ICMP error for an earlier ucast send, not a frame.
      if (errno == EAGAIN || errno == ECONNREFUSED) return 0;
      return ErrnoStatus("receive from " + description_);
    }
    if (n == 0 || static_cast<size_t>(n) > buffer.size()) continue;
    return static_cast<size_t>(n);
  }
}

}  // namespace kuml
