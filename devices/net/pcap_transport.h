// eth<n>=pcap,[<host if>],[<filter>],[<option>],[<option>],[<mac>]: a
// read-only interface that shows the guest what libpcap captures on a host
// interface, filtered by a tcpdump expression (HOWTO 6.12): for building
// sniffers and monitors. Options: promisc (default) / nopromisc,
// optimize / nooptimize (the filter optimizer; default off, as in UML).
// Frames the guest sends are dropped. Capturing needs CAP_NET_RAW.
#ifndef KUML_DEVICES_NET_PCAP_TRANSPORT_H_
#define KUML_DEVICES_NET_PCAP_TRANSPORT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"
#include "frontend/machine_spec.h"

namespace kuml {

absl::StatusOr<std::unique_ptr<NetTransport>> OpenPcapTransport(
    const PcapTransport& spec);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_PCAP_TRANSPORT_H_
