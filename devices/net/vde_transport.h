// eth<n>=vde,[<switch>],[<mac>],[<port>],[<group>],[<mode>],[<description>]:
// a port on a VDE switch (vde_switch from vde2, or any libvdeplug URL such
// as vxvde://), through libvdeplug as UML's vde_user.c does. An empty
// switch means libvdeplug's default.
#ifndef KUML_DEVICES_NET_VDE_TRANSPORT_H_
#define KUML_DEVICES_NET_VDE_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"

namespace kuml {

struct VdeOptions {
  std::string switch_path;  // empty: libvdeplug's default socket
  uint32_t port = 0;        // 0: any free port
  std::string group;
  uint32_t mode = 0;        // octal permissions of the port; 0: 0700
  std::string description;  // empty: "kuml vde_transport"
};

absl::StatusOr<std::unique_ptr<NetTransport>> OpenVdeTransport(
    const VdeOptions& options);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_VDE_TRANSPORT_H_
