#include "kumld/guest_records.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "util/errno_status.h"
#include "util/unique_fd.h"

namespace kuml::kumld {

host::GuestRecord ToRecord(const GuestStatus& status, uint64_t start_ticks) {
  const GuestSpec& spec = status.spec;
  host::GuestRecord r;
  r.set_umid(spec.umid);
  for (const std::string& a : spec.argv) r.add_argv(a);
  r.set_workdir(spec.workdir);
  r.set_restart(spec.restart);
  r.set_memory_max(spec.limits.memory_max);
  r.set_cpu_max(spec.limits.cpu_max);
  r.set_ready_pattern(spec.ready_pattern);
  r.set_stop_timeout_ms(spec.stop_timeout_ms);
  r.set_backoff_ms(spec.backoff_ms);
  r.set_backoff_max_ms(spec.backoff_max_ms);
  for (const FileCopy& f : spec.prepare) {
    host::PreparedFile* p = r.add_prepare();
    p->set_path(f.path);
    p->set_copy_of(f.copy_of);
  }
  r.set_pid(status.pid);
  r.set_start_ticks(status.pid > 0 ? start_ticks : 0);
  r.set_started_unix_ms(status.pid > 0 ? absl::ToUnixMillis(status.started)
                                       : 0);
  r.set_stopped(status.state == host::STOPPED ||
                status.state == host::STOPPING || status.state == host::FAILED);
  r.set_restarts(status.restarts);
  r.set_last_exit(status.last_exit);
  return r;
}

GuestSpec SpecFromRecord(const host::GuestRecord& r) {
  GuestSpec s;
  s.umid = r.umid();
  s.argv.assign(r.argv().begin(), r.argv().end());
  s.workdir = r.workdir();
  s.restart = r.restart();
  s.limits.memory_max = r.memory_max();
  s.limits.cpu_max = r.cpu_max();
  s.ready_pattern = r.ready_pattern();
  s.stop_timeout_ms = r.stop_timeout_ms();
  s.backoff_ms = r.backoff_ms();
  s.backoff_max_ms = r.backoff_max_ms();
  for (const host::PreparedFile& p : r.prepare()) {
    s.prepare.push_back({p.path(), p.copy_of()});
  }
  return s;
}

absl::Status GuestRecords::Save(const host::GuestRecord& record) const {
  std::string text;
  google::protobuf::TextFormat::PrintToString(record, &text);
  std::string path = absl::StrCat(dir_, "/", record.umid(), ".textproto");
  std::string tmp = path + ".tmp";
  UniqueFd fd(
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus("create " + tmp);
  if (write(fd.get(), text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    return ErrnoStatus("write " + tmp);
  }
  fd.Reset();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return ErrnoStatus("rename " + tmp);
  }
  return absl::OkStatus();
}

void GuestRecords::Remove(const std::string& umid) const {
  unlink(absl::StrCat(dir_, "/", umid, ".textproto").c_str());
}

std::vector<host::GuestRecord> GuestRecords::LoadAll(
    std::vector<std::string>* errors) const {
  std::vector<host::GuestRecord> out;
  DIR* dir = opendir(dir_.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (!absl::EndsWith(name, ".textproto")) continue;
    std::ifstream in(dir_ + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    host::GuestRecord r;
    if (!google::protobuf::TextFormat::ParseFromString(text.str(), &r) ||
        r.umid().empty() || r.argv_size() == 0) {
      errors->push_back(absl::StrCat(dir_, "/", name, ": unreadable record"));
      continue;
    }
    out.push_back(std::move(r));
  }
  closedir(dir);
  return out;
}

}  // namespace kuml::kumld
