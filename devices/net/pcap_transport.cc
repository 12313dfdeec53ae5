#include "devices/net/pcap_transport.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace kuml {
namespace {

class PcapCapture : public NetTransport {
 public:
  PcapCapture(std::string name, pcap_t* pcap)
      : name_(std::move(name)), pcap_(pcap) {}
  ~PcapCapture() override { pcap_close(pcap_); }

  std::string description() const override { return name_; }
  int poll_fd() const override { return pcap_get_selectable_fd(pcap_); }

  // Read-only: what the guest sends goes nowhere, as in UML.
  absl::Status Send(absl::Span<const iovec>) override {
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Receive(absl::Span<uint8_t> buffer) override {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int r = pcap_next_ex(pcap_, &header, &data);
    if (r == 0) return 0;  // non-blocking: nothing captured
    if (r < 0) {
      return absl::InternalError(absl::StrCat(name_, ": ", pcap_geterr(pcap_)));
    }
    const size_t n = std::min<size_t>(header->caplen, buffer.size());
    std::memcpy(buffer.data(), data, n);
    return n;
  }

 private:
  const std::string name_;
  pcap_t* const pcap_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<NetTransport>> OpenPcapTransport(
    const PcapOptions& options) {
  const std::string name =
      absl::StrCat("pcap ", options.host_interface,
                   options.filter.empty() ? "" : " '" + options.filter + "'");
  char errors[PCAP_ERRBUF_SIZE] = {};
  pcap_t* raw = pcap_create(options.host_interface.c_str(), errors);
  if (raw == nullptr) {
    return absl::UnavailableError(absl::StrCat(name, ": ", errors));
  }
  std::unique_ptr<PcapCapture> capture(new PcapCapture(name, raw));
  auto failed = [&](absl::string_view what) {
    return absl::UnavailableError(
        absl::StrCat(name, ": ", what, ": ", pcap_geterr(raw)));
  };
  pcap_set_snaplen(raw, static_cast<int>(kMaxFrameBytes));
  pcap_set_promisc(raw, options.promisc ? 1 : 0);
  // Hand over each frame at once instead of filling a buffer first.
  pcap_set_immediate_mode(raw, 1);
  const int activated = pcap_activate(raw);
  if (activated < 0) {
    std::string hint;
    if (activated == PCAP_ERROR_PERM_DENIED) {
      hint = " (capturing needs CAP_NET_RAW)";
    } else if (activated == PCAP_ERROR_NO_SUCH_DEVICE) {
      hint = " (no such host interface)";
    }
    return absl::UnavailableError(
        absl::StrCat(name, ": cannot capture: ", pcap_statustostr(activated),
                     " ", pcap_geterr(raw), hint));
  }
  if (pcap_datalink(raw) != DLT_EN10MB) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": ", options.host_interface, " is not an ethernet interface"));
  }
  if (!options.filter.empty()) {
    bpf_program program;
    if (pcap_compile(raw, &program, options.filter.c_str(),
                     options.optimize ? 1 : 0, PCAP_NETMASK_UNKNOWN) < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": bad filter: ", pcap_geterr(raw)));
    }
    const int set = pcap_setfilter(raw, &program);
    pcap_freecode(&program);
    if (set < 0) return failed("setting the filter");
  }
  if (pcap_setnonblock(raw, 1, errors) < 0) {
    return absl::UnavailableError(absl::StrCat(name, ": ", errors));
  }
  return std::unique_ptr<NetTransport>(std::move(capture));
}

}  // namespace kuml
