// Which ethernet address a guest interface gets (UML HOWTO 6.3):
//  - the one given on the switch, if any; its first byte must be even (an
//    odd first byte is a multicast/broadcast address no device may have --
//    UML silently picks a random one instead, kuml refuses);
//  - else, when the interface's IP address is known, fe:fd:a:b:c:d for
//    a.b.c.d: unique as long as the IPs are, and stable across runs. kuml
//    knows it from the guest kernel's ip=<client>:...:<device>:... option
//    (kernel IP autoconfiguration), for the interface it names, or for
//    eth0 when it names none;
//  - else a random locally administered unicast address, as UML's
//    eth_random_addr().
#ifndef KUML_MACHINE_MAC_POLICY_H_
#define KUML_MACHINE_MAC_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "util/net_address.h"

namespace kuml {

absl::StatusOr<MacAddress> ChooseMac(const std::optional<MacAddress>& given,
                                     const std::optional<Ipv4Address>& ip);

// The client address a guest kernel argument list gives interface
// `interface` ("eth0") through ip=; nullopt for ip=dhcp and the like.
std::optional<Ipv4Address> KernelIpFor(const std::vector<std::string>& args,
                                       const std::string& interface);

}  // namespace kuml

#endif  // KUML_MACHINE_MAC_POLICY_H_
