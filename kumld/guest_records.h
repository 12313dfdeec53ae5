// kumld's record of each guest on disk (<state_dir>/guests/<umid>.textproto,
// message GuestRecord): what a restarted kumld needs to re-adopt the VMMs
// that kept running, or to restart those that ended meanwhile.
#ifndef KUML_KUMLD_GUEST_RECORDS_H_
#define KUML_KUMLD_GUEST_RECORDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kumld/supervisor.h"
#include "proto/host.pb.h"

namespace kuml::kumld {

host::GuestRecord ToRecord(const GuestStatus& status, uint64_t start_ticks);
GuestSpec SpecFromRecord(const host::GuestRecord& record);

class GuestRecords {
 public:
  explicit GuestRecords(std::string dir) : dir_(std::move(dir)) {}
  // Written to a temporary file and renamed: never half a record.
  absl::Status Save(const host::GuestRecord& record) const;
  void Remove(const std::string& umid) const;
  // Every readable record; unreadable ones are reported in `errors`.
  std::vector<host::GuestRecord> LoadAll(
      std::vector<std::string>* errors) const;

 private:
  std::string dir_;
};

}  // namespace kuml::kumld

#endif  // KUML_KUMLD_GUEST_RECORDS_H_
