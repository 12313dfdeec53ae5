#include "devices/net/testing/stack_tap.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/net/tap_transport.h"

namespace kuml {

absl::StatusOr<StackTap> MakeStackTap(const std::string& cidr,
                                      const std::string& name,
                                      bool vnet_header) {
  StackTap stack;
  absl::StatusOr<std::unique_ptr<TestNetns>> ns = TestNetns::Create();
  if (!ns.ok()) return ns.status();
  stack.ns = *std::move(ns);
  absl::StatusOr<std::string> setup = stack.ns->Sh(
      absl::StrCat("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && "
                   "sysctl -qw net.ipv6.conf.default.disable_ipv6=1 && "
                   "ip tuntap add dev ",
                   name, " mode tap && ip addr add ", cidr, " dev ", name,
                   " && ip link set ", name, " up"));
  if (!setup.ok()) return setup.status();
  absl::StatusOr<std::unique_ptr<NetTransport>> wire =
      absl::InternalError("not run");
  stack.ns->Run([&] {
    TapOptions options;
    options.device = name;
    options.vnet_header = vnet_header;
    wire = OpenTapTransport(options);
  });
  if (!wire.ok()) return wire.status();
  stack.wire = *std::move(wire);
  return stack;
}

}  // namespace kuml
