// The gRPC Host service (proto/host.proto) over a Fleet.
#ifndef KUML_KUMLD_HOST_SERVICE_H_
#define KUML_KUMLD_HOST_SERVICE_H_

#include "kumld/fleet.h"
#include "proto/host.grpc.pb.h"

namespace kuml::kumld {

class HostService final : public host::Host::Service {
 public:
  explicit HostService(Fleet* fleet) : fleet_(fleet) {}

  grpc::Status Up(grpc::ServerContext* context, const host::UpRequest* request,
                  grpc::ServerWriter<host::UpProgress>* writer) override;
  grpc::Status List(grpc::ServerContext* context,
                    const host::ListRequest* request,
                    host::ListReply* reply) override;
  grpc::Status Stop(grpc::ServerContext* context,
                    const host::GuestRequest* request,
                    host::GuestReply* reply) override;
  grpc::Status Start(grpc::ServerContext* context,
                     const host::GuestRequest* request,
                     host::GuestReply* reply) override;
  grpc::Status Destroy(grpc::ServerContext* context,
                       const host::GuestRequest* request,
                       host::GuestReply* reply) override;
  grpc::Status Down(grpc::ServerContext* context,
                    const host::GuestRequest* request,
                    host::DownReply* reply) override;
  grpc::Status Mconsole(grpc::ServerContext* context,
                        const host::MconsoleRequest* request,
                        host::MconsoleReply* reply) override;

 private:
  Fleet* fleet_;
};

// absl::Status -> grpc::Status, code and message kept.
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_HOST_SERVICE_H_
