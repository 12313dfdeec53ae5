// DatagramTransport: a transport that is one datagram socket, each datagram
// one ethernet frame with no framing of its own. UML's mcast and ucast (UDP)
// and daemon (AF_UNIX datagrams to uml_switch) transports all work this way;
// they differ only in how the socket is set up, which their Open*()
// functions do before handing the socket over.
#ifndef KUML_DEVICES_NET_DATAGRAM_TRANSPORT_H_
#define KUML_DEVICES_NET_DATAGRAM_TRANSPORT_H_

#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "devices/net/net_transport.h"
#include "util/unique_fd.h"

namespace kuml {

class DatagramTransport : public NetTransport {
 public:
  // `socket` is non-blocking. Frames are sent to `destination` (a
  // sockaddr_in or sockaddr_un, copied) or, if it is empty, on the
  // connected socket. `extra` keeps further fds alive for the transport's
  // lifetime (uml_switch drops a port when its control connection closes).
  DatagramTransport(std::string description, UniqueFd socket,
                    std::vector<uint8_t> destination,
                    std::vector<UniqueFd> extra = {});

  std::string description() const override { return description_; }
  int poll_fd() const override { return socket_.get(); }
  absl::Status Send(absl::Span<const iovec> frame) override;
  absl::StatusOr<size_t> Receive(absl::Span<uint8_t> buffer) override;

 private:
  const std::string description_;
  const UniqueFd socket_;
  const std::vector<uint8_t> destination_;
  const std::vector<UniqueFd> extra_;
};

// The bytes of a socket address, for DatagramTransport's `destination`.
template <typename SockAddr>
std::vector<uint8_t> AddressBytes(const SockAddr& address) {
  const auto* p = reinterpret_cast<const uint8_t*>(&address);
  return std::vector<uint8_t>(p, p + sizeof address);
}

}  // namespace kuml

#endif  // KUML_DEVICES_NET_DATAGRAM_TRANSPORT_H_
