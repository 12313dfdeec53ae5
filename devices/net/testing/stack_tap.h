// A kernel TCP/IP stack standing in for a guest: a tap device with an
// address inside a TestNetns, and the tap's fd (the "wire" end) as a
// NetTransport that FramePump can connect to a transport under test.
#ifndef KUML_DEVICES_NET_TESTING_STACK_TAP_H_
#define KUML_DEVICES_NET_TESTING_STACK_TAP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "devices/net/testing/netns.h"

namespace kuml {

struct StackTap {
  std::unique_ptr<TestNetns> ns;
  std::unique_ptr<NetTransport> wire;
};

// A new namespace whose tap `name` has `cidr` ("10.9.0.1/24"), IPv6 off
// (no DAD chatter on the wire). `vnet_header` as in TapOptions.
absl::StatusOr<StackTap> MakeStackTap(const std::string& cidr,
                                      const std::string& name = "k0",
                                      bool vnet_header = false);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_TESTING_STACK_TAP_H_
