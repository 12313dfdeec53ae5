#include "machine/gdb_stub.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace kuml {

GdbStub::GdbStub(const Kvm& kvm, KvmFlavor flavor,
                 std::function<void(const std::string&)> notice)
    : target_(KvmDebugTarget::ForHost(kvm, flavor, std::move(notice))) {}

GdbStub::~GdbStub() {
  absl::MutexLock lock(&mu_);
  server_.reset();  // before the target it calls
}

absl::Status GdbStub::Listen(const GdbListen& where) {
  absl::MutexLock lock(&mu_);
  if (server_ != nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the gdb stub already listens on ", server_->endpoint().ToString()));
  }
  const GdbEndpoint endpoint = where.is_unix ? GdbEndpoint::Unix(where.path)
                                             : GdbEndpoint::Tcp(where.port);
  absl::StatusOr<std::unique_ptr<GdbSocketServer>> server =
      GdbSocketServer::Start(endpoint, target_.get());
  if (!server.ok()) return server.status();
  server_ = std::move(*server);
  return absl::OkStatus();
}

absl::Status GdbStub::Stop() {
  std::unique_ptr<GdbSocketServer> server;
  {
    absl::MutexLock lock(&mu_);
    if (server_ == nullptr) {
      return absl::NotFoundError("the gdb stub is not listening");
    }
    server = std::move(server_);
  }
  server.reset();  // detaches a connected debugger, outside mu_
  return absl::OkStatus();
}

std::optional<std::string> GdbStub::endpoint() const {
  absl::MutexLock lock(&mu_);
  if (server_ == nullptr) return std::nullopt;
  return server_->endpoint().ToString();
}

std::optional<std::string> GdbStub::remote_argument() const {
  absl::MutexLock lock(&mu_);
  if (server_ == nullptr) return std::nullopt;
  if (server_->endpoint().is_unix) return server_->endpoint().path;
  return absl::StrCat("127.0.0.1:", server_->port());
}

}  // namespace kuml
