#include "devices/net/tap_transport.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "devices/net/socket_util.h"
#include "devices/net/uml_net.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml {
namespace {

constexpr char kCapabilityHint[] =
    " (creating a tap device or configuring its host side needs "
    "CAP_NET_ADMIN or, for eth<n>=tuntap,,,<host ip>, UML's setuid uml_net "
    "helper (uml-utilities; root and group uml-net may run it): run kuml as "
    "root, join group uml-net, or have root create a persistent tap for you "
    "-- `tunctl -u <user>` or `ip tuntap add <name> mode tap user <user>` -- "
    "and use eth<n>=tuntap,<name>)";

class TapTransport : public NetTransport {
 public:
  // `addresses`: for a tap set up as uml_net does, the helper that routes
  // the guest's addresses to it (null otherwise).
  TapTransport(std::string name, UniqueFd fd, bool vnet_header,
               std::unique_ptr<UmlNetAddresses> addresses = nullptr)
      : name_(std::move(name)),
        fd_(std::move(fd)),
        vnet_(vnet_header),
        addresses_(std::move(addresses)) {}

  std::string description() const override {
    return absl::StrCat("tuntap ", name_, vnet_ ? " (vnet header)" : "");
  }
  int poll_fd() const override { return fd_.get(); }
  bool vnet_header() const override { return vnet_; }

  absl::Status SetGuestOffloads(const GuestOffloads& o) override {
    if (!vnet_) return absl::OkStatus();
    unsigned flags = 0;
    if (o.csum) {
      flags |= TUN_F_CSUM;
      // The kernel refuses TSO without checksum offload.
      if (o.tso4) flags |= TUN_F_TSO4;
      if (o.tso6) flags |= TUN_F_TSO6;
      if ((o.tso4 || o.tso6) && o.ecn) flags |= TUN_F_TSO_ECN;
    }
    if (::ioctl(fd_.get(), TUNSETOFFLOAD, flags) < 0) {
      return ErrnoStatus(absl::StrCat("tap ", name_, ": TUNSETOFFLOAD"));
    }
    return absl::OkStatus();
  }

  absl::Status Send(absl::Span<const iovec> frame) override {
    if (addresses_ != nullptr) NoteGuestAddress(frame);
    while (::writev(fd_.get(), frame.data(), frame.size()) < 0) {
      switch (errno) {
        case EINTR:
          continue;
        // Queue full, interface down, or a frame the host kernel refused
        // (a bad offload header from the guest): dropped, as on a wire.
        case EAGAIN:
        case ENOBUFS:
        case EIO:
        case EINVAL:
          return absl::OkStatus();
        default:
          return ErrnoStatus(absl::StrCat("write to tap ", name_));
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Receive(absl::Span<uint8_t> buffer) override {
    for (;;) {
      ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      // EIO: the tap is detached/down; nothing to read.
      if (errno == EAGAIN || errno == EIO) return 0;
      return ErrnoStatus(absl::StrCat("read from tap ", name_));
    }
  }

 private:
  // The sender address of an ARP packet the guest sends is one of its
  // addresses (what UML's kernel learns from its address notifier).
  void NoteGuestAddress(absl::Span<const iovec> frame) {
    uint8_t head[42];
    size_t skip = vnet_ ? kVirtioNetHdrBytes : 0, got = 0;
    for (const iovec& part : frame) {
      const uint8_t* p = static_cast<const uint8_t*>(part.iov_base);
      size_t len = part.iov_len;
      const size_t skipped = std::min(skip, len);
      p += skipped;
      len -= skipped;
      skip -= skipped;
      const size_t take = std::min(len, sizeof head - got);
      std::memcpy(head + got, p, take);
      got += take;
      if (got == sizeof head) break;
    }
    if (std::optional<Ipv4Address> a = ArpSenderAddress(head, got)) {
      addresses_->Saw(*a);
    }
  }

  const std::string name_;
  const UniqueFd fd_;
  const bool vnet_;
  const std::unique_ptr<UmlNetAddresses> addresses_;
};

// True when `uml_net` can be found where UML's execvp would look, and can
// still work: once kuml's sandbox is on (no_new_privs, exec forbidden: a
// hot-plugged device), a setuid helper cannot.
bool HaveUmlNet() {
  if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1) return false;
  for (const std::string& file : UmlNetCandidates()) {
    if (::access(file.c_str(), F_OK) == 0) return true;
  }
  return false;
}

// The helper that routes the guest's addresses to `tap` as uml_net's `add`
// does, told at once of the address ip= gives it.
absl::StatusOr<std::unique_ptr<UmlNetAddresses>> StartAddresses(
    const std::string& tap, const TapOptions& options) {
  absl::StatusOr<std::unique_ptr<UmlNetAddresses>> addresses =
      UmlNetAddresses::Start(tap);
  if (addresses.ok() && options.guest_address.has_value()) {
    (*addresses)->Saw(*options.guest_address);
  }
  return addresses;
}

// eth<n>=tuntap,,,<gate> without CAP_NET_ADMIN: the tap from uml_net, as
// UML gets it, and uml_net's routes for the guest's addresses.
absl::StatusOr<std::unique_ptr<NetTransport>> OpenThroughUmlNet(
    const TapOptions& options) {
  absl::StatusOr<UmlNetTap> tap = UmlNetTuntapUp(*options.host_address);
  if (!tap.ok()) {
    return absl::Status(tap.status().code(),
                        absl::StrCat("creating a tap device: ",
                                     tap.status().message(), kCapabilityHint));
  }
  for (const std::string& line : tap->output) {
    std::fprintf(stderr, "kuml: %s\r\n", line.c_str());
  }
  absl::StatusOr<std::unique_ptr<UmlNetAddresses>> addresses =
      StartAddresses(tap->name, options);
  if (!addresses.ok()) return addresses.status();
  return std::unique_ptr<NetTransport>(new TapTransport(
      tap->name, std::move(tap->fd), false, *std::move(addresses)));
}

absl::Status InterfaceIoctl(int sock, unsigned long request, ifreq& ifr,
                            absl::string_view what) {
  if (::ioctl(sock, request, &ifr) < 0) {
    const int err = errno;
    return ErrnoStatus(absl::StrCat(what, err == EPERM ? kCapabilityHint : ""),
                       err);
  }
  return absl::OkStatus();
}

void PutIpv4(sockaddr& dst, const Ipv4Address& address) {
  const sockaddr_in sin = Ipv4SocketAddress(address, 0);
  std::memcpy(&dst, &sin, sizeof sin);
}

// ifconfig <tap> <address> netmask <netmask> up
absl::Status ConfigureHostSide(const std::string& tap,
                               const Ipv4Address& address,
                               const Ipv4Address& netmask) {
  absl::StatusOr<UniqueFd> sock = OpenSocket(AF_INET, SOCK_DGRAM, "tap setup");
  if (!sock.ok()) return sock.status();
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, tap.c_str(), IFNAMSIZ - 1);
  const std::string where =
      absl::StrCat("setting host address ", address.ToString(), " on ", tap);
  PutIpv4(ifr.ifr_addr, address);
  absl::Status s = InterfaceIoctl(sock->get(), SIOCSIFADDR, ifr, where);
  if (!s.ok()) return s;
  PutIpv4(ifr.ifr_netmask, netmask);
  s = InterfaceIoctl(sock->get(), SIOCSIFNETMASK, ifr, where);
  if (!s.ok()) return s;
  s = InterfaceIoctl(sock->get(), SIOCGIFFLAGS, ifr, where);
  if (!s.ok()) return s;
  ifr.ifr_flags |= IFF_UP;
  return InterfaceIoctl(sock->get(), SIOCSIFFLAGS, ifr,
                        absl::StrCat("bringing ", tap, " up"));
}

}  // namespace

Ipv4Address ClassfulNetmask(const Ipv4Address& address) {
  const uint8_t first = address.octets[0];
  if (first < 128) return Ipv4Address{{255, 0, 0, 0}};
  if (first < 192) return Ipv4Address{{255, 255, 0, 0}};
  return Ipv4Address{{255, 255, 255, 0}};
}

absl::StatusOr<std::unique_ptr<NetTransport>> OpenTapTransport(
    const TapOptions& options) {
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoStatus("opening /dev/net/tun (is the tun module loaded?)");
  }
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, options.device.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  bool vnet = false;
  if (options.vnet_header) {
    unsigned features = 0;
    if (::ioctl(fd.get(), TUNGETFEATURES, &features) == 0 &&
        (features & IFF_VNET_HDR) != 0) {
      ifr.ifr_flags |= IFF_VNET_HDR;
      vnet = true;
    }
  }
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    if (err == EPERM && options.device.empty() &&
        options.host_address.has_value() && options.use_uml_net &&
        HaveUmlNet()) {
      return OpenThroughUmlNet(options);
    }
    std::string what =
        options.device.empty()
            ? std::string("creating a tap device")
            : absl::StrCat("attaching to tap device '", options.device, "'");
    if (err == EPERM) {
      absl::StrAppend(&what, kCapabilityHint);
    } else if (err == EBUSY) {
      absl::StrAppend(&what, " (in use by another process, or not a tap)");
    } else if (err == EINVAL) {
      absl::StrAppend(&what, " (is it a tun device rather than a tap?)");
    }
    return ErrnoStatus(what, err);
  }
  const std::string name(ifr.ifr_name);
  if (vnet) {
    int size = kVirtioNetHdrBytes;
    if (::ioctl(fd.get(), TUNSETVNETHDRSZ, &size) < 0) {
      return ErrnoStatus(absl::StrCat("tap ", name, ": TUNSETVNETHDRSZ"));
    }
    // Until the guest driver says otherwise, hand it only finished frames.
    if (::ioctl(fd.get(), TUNSETOFFLOAD, 0u) < 0) {
      return ErrnoStatus(absl::StrCat("tap ", name, ": TUNSETOFFLOAD"));
    }
  }
  std::unique_ptr<UmlNetAddresses> addresses;
  if (options.device.empty() && options.host_address.has_value()) {
    // What uml_net would do: the gate as a /32 and, for each address of
    // the guest's, a host route and proxy ARP (uml_net's `add`, run by the
    // helper). Without uml_net, the gate's classful network instead, so the
    // guest is reachable without per-address routes.
    const bool uml_net = options.use_uml_net && HaveUmlNet();
    absl::Status s =
        ConfigureHostSide(name, *options.host_address,
                          uml_net ? Ipv4Address{{255, 255, 255, 255}}
                                  : ClassfulNetmask(*options.host_address));
    if (!s.ok()) return s;
    if (uml_net) {
      absl::StatusOr<std::unique_ptr<UmlNetAddresses>> started =
          StartAddresses(name, options);
      if (!started.ok()) return started.status();
      addresses = *std::move(started);
    }
  }
  return std::unique_ptr<NetTransport>(
      new TapTransport(name, std::move(fd), vnet, std::move(addresses)));
}

}  // namespace kuml
