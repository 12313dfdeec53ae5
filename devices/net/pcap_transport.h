// eth<n>=pcap,[<host if>],[<filter>],[<option>],[<option>],[<mac>]: a
// read-only interface that shows the guest what libpcap captures on a host
// interface, filtered by a tcpdump expression (HOWTO 6.12): for building
// sniffers and monitors. Options: promisc (default) / nopromisc,
// optimize / nooptimize (the filter optimizer; default off, as in UML).
// Frames the guest sends are dropped. Capturing needs CAP_NET_RAW.
#ifndef KUML_DEVICES_NET_PCAP_TRANSPORT_H_
#define KUML_DEVICES_NET_PCAP_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "devices/net/net_transport.h"

namespace kuml {

struct PcapOptions {
  std::string host_interface;
  std::string filter;  // a tcpdump expression; empty: every frame
  bool promisc = true;
  bool optimize = false;
};

absl::StatusOr<std::unique_ptr<NetTransport>> OpenPcapTransport(
    const PcapOptions& options);

}  // namespace kuml

#endif  // KUML_DEVICES_NET_PCAP_TRANSPORT_H_
