// uml_net: the setuid helper from uml-utilities through which UML, run by a
// user without CAP_NET_ADMIN, gets a configured tap (eth<n>=tuntap,,,<gate>).
// kuml calls it exactly as UML 6.1 does (arch/um/os-Linux/drivers/
// tuntap_user.c and net_user.c; checked by logging the real UML's calls):
//
//   uml_net 4 tuntap up <gate>          stdout is a SOCK_DGRAM socket; one
//       message comes back: the tap's name (IFNAMSIZ bytes) then the
//       helper's output ("* ifconfig tap0 <gate> netmask 255.255.255.255
//       up"), with the tap's fd as SCM_RIGHTS.
//   uml_net 4 add <tap> <addr> <netmask>   when the guest's interface gets
//       <addr>: a host route to it over the tap, proxy ARP on the tap (and
//       on host interfaces whose network holds it).
//   uml_net 4 del <tap> <addr> <netmask>   when the address goes.
//
// UML's kernel sees its guest's addresses; kuml learns them from the frames
// the guest sends (UmlNetAddresses::Saw, fed by the tap transport: the
// sender address of its ARP packets) and from ip= on the kernel command
// line. UML passes the interface's netmask, which kuml cannot see: it
// passes the address's classful one (the same for the usual 192.168.x.y/24;
// uml_net uses it only to find host interfaces for proxy ARP). The add/del
// calls run in a helper process forked when the tap is opened, before the VMM's
// sandbox forbids exec; it runs `del` for every address it added when kuml goes
// away, as UML does when the device closes.
#ifndef KUML_DEVICES_NET_UML_NET_H_
#define KUML_DEVICES_NET_UML_NET_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "util/net_address.h"
#include "util/unique_fd.h"

namespace kuml {

// UML_NET_VERSION of UML 6.1.
inline constexpr int kUmlNetVersion = 4;

struct UmlNetTap {
  UniqueFd fd;       // the tap, IFF_TAP | IFF_NO_PI (no virtio-net header)
  std::string name;  // "tap0"
  // What the helper printed, one entry per line ("* ifconfig tap0 ...").
  std::vector<std::string> output;
};

// Where UML's execvp would look for uml_net: <dir>/uml_net for each $PATH
// directory, in order.
std::vector<std::string> UmlNetCandidates();

// Runs `uml_net 4 tuntap up <gate>` (found in $PATH, as UML's execvp does)
// and returns the tap it created. Errors say what failed: no helper
// (NotFound, naming uml-utilities and the group uml-net), its own
// complaint, or a reply without a descriptor.
absl::StatusOr<UmlNetTap> UmlNetTuntapUp(const Ipv4Address& gate);

// The guest addresses of one tap, told to uml_net (add/del) from a helper
// process. Thread-safe.
class UmlNetAddresses {
 public:
  // Forks the helper for `tap`; its uml_net calls print their output
  // ("* route add -host ...") on kuml's stderr, as UML prints them.
  static absl::StatusOr<std::unique_ptr<UmlNetAddresses>> Start(
      const std::string& tap);
  // Closes the helper's socket: it runs `del` for every address added and
  // exits; the destructor waits for it.
  ~UmlNetAddresses();

  // `address` is the guest's (from a frame it sent, or ip=): the first time
  // it is seen, `uml_net 4 add <tap> <address> <netmask>` is queued, with
  // the address's classful netmask (see above). 0.0.0.0, broadcast and
  // multicast addresses are ignored.
  void Saw(const Ipv4Address& address);

  // Addresses queued so far (tests).
  std::vector<Ipv4Address> added() const;

 private:
  UmlNetAddresses(std::string tap, UniqueFd socket, pid_t pid)
      : tap_(std::move(tap)), socket_(std::move(socket)), pid_(pid) {}

  const std::string tap_;
  UniqueFd socket_;
  const pid_t pid_;
  mutable absl::Mutex mu_;
  std::set<uint32_t> seen_ ABSL_GUARDED_BY(mu_);
  std::vector<Ipv4Address> added_ ABSL_GUARDED_BY(mu_);
};

// The sender protocol address of an Ethernet frame carrying an IPv4 ARP
// packet (request or reply), if `frame` is one.
std::optional<Ipv4Address> ArpSenderAddress(const uint8_t* frame, size_t len);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_UML_NET_H_
