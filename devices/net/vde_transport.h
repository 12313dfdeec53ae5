// eth<n>=vde,[<switch>],[<mac>],[<port>],[<group>],[<mode>],[<description>]:
// a port on a VDE switch (vde_switch from vde2, or any libvdeplug URL such
// as vxvde://), through libvdeplug as UML's vde_user.c does. An empty
// switch means libvdeplug's default.
#ifndef KUML_DEVICES_NET_VDE_TRANSPORT_H_
#define KUML_DEVICES_NET_VDE_TRANSPORT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "frontend/machine_spec.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<NetTransport>> OpenVdeTransport(
    const VdeTransport& spec);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_VDE_TRANSPORT_H_
