#include "devices/net/vde_transport.h"

// libvdeplug.h has no extern "C" of its own.
extern "C" {
#include <libvdeplug.h>
}
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "util/errno_status.h"

namespace kuml {
namespace {

class VdeConnection : public NetTransport {
 public:
  VdeConnection(std::string name, VDECONN* conn)
      : name_(std::move(name)), conn_(conn) {}
  ~VdeConnection() override { vde_close(conn_); }

  std::string description() const override { return name_; }
  int poll_fd() const override { return vde_datafd(conn_); }

  absl::Status Send(absl::Span<const iovec> frame) override {
    // libvdeplug sends one contiguous buffer.
    absl::MutexLock lock(&send_mu_);
    send_buffer_.clear();
    for (const iovec& v : frame) {
      const auto* p = static_cast<const uint8_t*>(v.iov_base);
      send_buffer_.insert(send_buffer_.end(), p, p + v.iov_len);
    }
    if (vde_send(conn_, send_buffer_.data(), send_buffer_.size(),
                 MSG_DONTWAIT) < 0 &&
        errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED) {
      return ErrnoStatus(absl::StrCat("send to ", name_));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Receive(absl::Span<uint8_t> buffer) override {
    for (;;) {
      ssize_t n = vde_recv(conn_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0;
        return ErrnoStatus(absl::StrCat("receive from ", name_));
      }
      return static_cast<size_t>(n);
    }
  }

 private:
  const std::string name_;
  VDECONN* const conn_;
  absl::Mutex send_mu_;
  std::vector<uint8_t> send_buffer_ ABSL_GUARDED_BY(send_mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<NetTransport>> OpenVdeTransport(
    const VdeOptions& options) {
  std::string url = options.switch_path;
  std::string descr =
      options.description.empty() ? "kuml vde_transport" : options.description;
  std::string group = options.group;
  vde_open_args args{};
  args.port = static_cast<int>(options.port);
  args.group = group.empty() ? nullptr : group.data();
  args.mode = options.mode != 0 ? options.mode : 0700;
  const std::string name =
      absl::StrCat("vde ", url.empty() ? "(default switch)" : url);
  errno = 0;
  VDECONN* conn =
      vde_open(url.empty() ? nullptr : url.data(), descr.data(), &args);
  if (conn == nullptr) {
    return ErrnoStatus(absl::StrCat(name,
                                    ": connecting to the switch (is vde_switch "
                                    "running there?)"),
                       errno != 0 ? errno : ECONNREFUSED);
  }
  auto transport = std::make_unique<VdeConnection>(name, conn);
  // libvdeplug ignores the flags it is given and would block: make the
  // data socket itself non-blocking.
  const int fd = vde_datafd(conn);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoStatus(absl::StrCat(name,
                                    ": making the data socket "
                                    "non-blocking"));
  }
  return std::unique_ptr<NetTransport>(std::move(transport));
}

}  // namespace kuml
