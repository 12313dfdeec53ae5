#include "kumld/host_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kuml::kumld {
namespace {

constexpr absl::Duration kDefaultReadyTimeout = absl::Minutes(10);

bool IsUp(host::GuestState s) { return s == host::RUNNING; }
// States a starting guest does not leave by itself: waiting is pointless.
bool IsSettledDown(host::GuestState s) {
  return s == host::FAILED || s == host::STOPPED;
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::Status HostService::Up(grpc::ServerContext* context,
                             const host::UpRequest* request,
                             grpc::ServerWriter<host::UpProgress>* writer) {
  absl::Time begin = absl::Now();
  std::vector<std::string> messages;
  absl::StatusOr<std::vector<std::string>> umids = fleet_->Up(
      request->manifest_text(),
      request->manifest_name().empty() ? "manifest" : request->manifest_name(),
      request->base_dir(), &messages);
  if (!umids.ok()) return ToGrpc(umids.status());
  uint32_t total = umids->size();
  auto send = [&](const host::GuestInfo& g, uint32_t ready,
                  const std::string& message) {
    host::UpProgress p;
    p.set_umid(g.umid());
    p.set_state(g.state());
    p.set_pid(g.pid());
    p.set_ready(ready);
    p.set_total(total);
    p.set_message(message.empty() ? g.note() : message);
    p.set_elapsed_seconds(absl::ToDoubleSeconds(absl::Now() - begin));
    writer->Write(p);
  };
  for (const std::string& m : messages) {
    host::UpProgress p;
    p.set_total(total);
    p.set_message(m);
    writer->Write(p);
  }
  // Progress: one message per guest whenever its state changes, until all
  // are up (or given up on) when the client waits, else once.
  std::map<std::string, host::GuestState> last;
  absl::Time deadline =
      begin + (request->ready_timeout_ms() > 0
                   ? absl::Milliseconds(request->ready_timeout_ms())
                   : kDefaultReadyTimeout);
  for (;;) {
    std::vector<host::GuestInfo> guests = fleet_->List(*umids);
    uint32_t ready = 0, settled = 0;
    for (const host::GuestInfo& g : guests) {
      if (IsUp(g.state())) ++ready;
      if (IsUp(g.state()) || IsSettledDown(g.state())) ++settled;
    }
    for (const host::GuestInfo& g : guests) {
      auto it = last.find(g.umid());
      if (it == last.end() || it->second != g.state()) {
        last[g.umid()] = g.state();
        send(g, ready, "");
      }
    }
    if (!request->wait_ready() || settled == guests.size()) {
      if (request->wait_ready() && ready < guests.size()) {
        return grpc::Status(
            grpc::StatusCode::ABORTED,
            absl::StrCat(guests.size() - ready, " of ", guests.size(),
                         " guests did not come up"));
      }
      return grpc::Status::OK;
    }
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    if (absl::Now() >= deadline) {
      return grpc::Status(
          grpc::StatusCode::DEADLINE_EXCEEDED,
          absl::StrCat(ready, " of ", guests.size(), " guests up after ",
                       absl::FormatDuration(absl::Now() - begin)));
    }
    fleet_->WaitForChange(std::min(deadline, absl::Now() + absl::Seconds(1)));
  }
}

grpc::Status HostService::List(grpc::ServerContext*, const host::ListRequest*,
                               host::ListReply* reply) {
  for (host::GuestInfo& g : fleet_->List()) *reply->add_guest() = std::move(g);
  return grpc::Status::OK;
}

grpc::Status HostService::Stop(grpc::ServerContext*,
                               const host::GuestRequest* request,
                               host::GuestReply* reply) {
  absl::StatusOr<host::GuestInfo> g = fleet_->Stop(request->umid());
  if (!g.ok()) return ToGrpc(g.status());
  *reply->mutable_guest() = *g;
  return grpc::Status::OK;
}

grpc::Status HostService::Start(grpc::ServerContext*,
                                const host::GuestRequest* request,
                                host::GuestReply* reply) {
  absl::StatusOr<host::GuestInfo> g = fleet_->Start(request->umid());
  if (!g.ok()) return ToGrpc(g.status());
  *reply->mutable_guest() = *g;
  return grpc::Status::OK;
}

grpc::Status HostService::Destroy(grpc::ServerContext*,
                                  const host::GuestRequest* request,
                                  host::GuestReply* reply) {
  absl::StatusOr<host::GuestInfo> g = fleet_->Destroy(request->umid());
  if (!g.ok()) return ToGrpc(g.status());
  *reply->mutable_guest() = *g;
  return grpc::Status::OK;
}

grpc::Status HostService::Down(grpc::ServerContext*,
                               const host::GuestRequest* request,
                               host::DownReply* reply) {
  std::vector<std::string> umids;
  if (!request->umid().empty()) {
    umids.push_back(request->umid());
  } else {
    for (const host::GuestInfo& g : fleet_->List()) umids.push_back(g.umid());
  }
  // Every stop begins at once, so a fleet goes down in about one stop
  // timeout (halt, SIGTERM, then SIGKILL, which can't be refused).
  for (const std::string& u : umids) {
    absl::StatusOr<host::GuestInfo> g = fleet_->Destroy(u);
    if (!g.ok()) return ToGrpc(g.status());
    *reply->add_guest() = *g;
  }
  absl::Time deadline = absl::Now() + absl::Minutes(5);
  if (!fleet_->WaitGone(umids, deadline)) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "some guests did not stop in time");
  }
  return grpc::Status::OK;
}

grpc::Status HostService::Mconsole(grpc::ServerContext*,
                                   const host::MconsoleRequest* request,
                                   host::MconsoleReply* reply) {
  absl::StatusOr<MconsoleAnswer> a =
      fleet_->Mconsole(request->umid(), request->command());
  if (!a.ok()) return ToGrpc(a.status());
  reply->set_err(a->err);
  reply->set_text(a->text);
  return grpc::Status::OK;
}

}  // namespace kuml::kumld
