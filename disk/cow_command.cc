#include "disk/cow_command.h"

#include <unistd.h>

#include <iostream>

#include "absl/strings/str_format.h"
#include "disk/cow_create.h"
#include "disk/cow_info.h"
#include "disk/cow_merge.h"

namespace kuml {
namespace {

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
// Merges smaller than this finish too fast for a progress bar to help.
constexpr uint64_t kProgressMinBytes = 64ull << 20;

struct Flags {
  bool force = false;     // -f
  bool in_place = false;  // -d
  std::string backing;    // -b <file>
  std::vector<std::string> operands;
};

// Parses options (`allowed`: letters; 'b' takes a value) before and between
// operands; "--" ends them.
bool ParseFlags(const std::vector<std::string>& args,
                const std::string& allowed, Flags& flags, std::ostream& err) {
  bool options_done = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      flags.operands.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    for (size_t j = 1; j < a.size(); ++j) {
      const char c = a[j];
      if (allowed.find(c) == std::string::npos) {
        err << "umlctl cow " << args[0] << ": unknown option -" << c << "\n";
        return false;
      }
      if (c == 'f') flags.force = true;
      if (c == 'd') flags.in_place = true;
      if (c == 'b') {
        if (j + 1 < a.size()) {
          flags.backing = a.substr(j + 1);
        } else if (i + 1 < args.size()) {
          flags.backing = args[++i];
        } else {
          err << "umlctl cow " << args[0] << ": -b needs a file name\n";
          return false;
        }
        break;
      }
    }
  }
  return true;
}

int Usage(std::ostream& err) {
  err << CowUsage();
  return kUsage;
}

int Fail(std::ostream& err, const absl::Status& status) {
  err << "umlctl cow: " << status.message() << "\n";
  return kFailed;
}

// A one-line bar redrawn in place with '\r'.
class ProgressBar {
 public:
  explicit ProgressBar(std::ostream& out) : out_(out) {}
  ~ProgressBar() {
    if (drawn_) out_ << "\n" << std::flush;
  }
  void Update(uint64_t done, uint64_t total) {
    if (total < kProgressMinBytes) return;
    const int percent = static_cast<int>(done * 100 / total);
    if (drawn_ && percent == last_percent_) return;
    last_percent_ = percent;
    drawn_ = true;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    out_ << absl::StrFormat("\r[%s%s] %3d%%  %u/%u MiB",
                            std::string(filled, '#'),
                            std::string(kWidth - filled, '.'), percent,
                            done >> 20, total >> 20)
         << std::flush;
  }

 private:
  std::ostream& out_;
  bool drawn_ = false;
  int last_percent_ = -1;
};

int Create(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err) {
  Flags flags;
  if (!ParseFlags(args, "f", flags, err)) return Usage(err);
  if (flags.operands.size() != 2) return Usage(err);
  CowCreateOptions options;
  options.overwrite = flags.force;
  absl::StatusOr<CowHeader> header =
      CreateCowFile(flags.operands[0], flags.operands[1], options);
  if (!header.ok()) return Fail(err, header.status());
  out << absl::StrFormat("created %s: COW version 3 over %s (%u bytes)\n",
                         flags.operands[0], header->backing_file, header->size);
  return kOk;
}

int Merge(const std::vector<std::string>& args, std::ostream& out,
          std::ostream& err) {
  Flags flags;
  if (!ParseFlags(args, "fdb", flags, err)) return Usage(err);
  if (flags.operands.size() != (flags.in_place ? 1u : 2u)) return Usage(err);
  if (flags.in_place && flags.force) {
    err << "umlctl cow merge: -f has no meaning with -d\n";
    return kUsage;
  }
  CowMergeOptions options;
  options.backing_path = flags.backing;
  options.in_place = flags.in_place;
  options.overwrite = flags.force;
  const bool show_progress = &out == &std::cout && ::isatty(STDOUT_FILENO);
  absl::StatusOr<CowMergeResult> result;
  {
    ProgressBar bar(out);
    if (show_progress) {
      options.progress = [&bar](uint64_t done, uint64_t total) {
        bar.Update(done, total);
      };
    }
    result = MergeCow(flags.operands[0],
                      flags.in_place ? "" : flags.operands[1], options);
  }
  if (!result.ok()) return Fail(err, result.status());
  if (flags.in_place) {
    out << absl::StrFormat(
        "merged %s into %s in place (%u sectors); the COW file no longer "
        "matches it\n",
        flags.operands[0], result->backing_path, result->cow_sectors);
  } else {
    out << absl::StrFormat(
        "merged %s over %s into %s (%u sectors from the "
        "COW file)\n",
        flags.operands[0], result->backing_path, flags.operands[1],
        result->cow_sectors);
  }
  return kOk;
}

int Info(const std::vector<std::string>& args, std::ostream& out,
         std::ostream& err) {
  Flags flags;
  if (!ParseFlags(args, "", flags, err)) return Usage(err);
  if (flags.operands.empty()) return Usage(err);
  int status = kOk;
  for (size_t i = 0; i < flags.operands.size(); ++i) {
    absl::StatusOr<CowInfo> info = InspectCow(flags.operands[i]);
    if (!info.ok()) {
      status = Fail(err, info.status());
      continue;
    }
    if (i > 0) out << "\n";
    out << FormatCowInfo(*info);
  }
  return status;
}

}  // namespace

const char* CowUsage() {
  return "usage:\n"
         "  umlctl cow create [-f] <COW file> <backing file>\n"
         "      make a COW file over a backing file (uml_mkcow); -f replaces "
         "an existing one\n"
         "  umlctl cow merge [-f] [-b <backing file>] <COW file> <new image>\n"
         "      write the merged disk to a new image (uml_moo); -f replaces "
         "an existing one\n"
         "  umlctl cow merge [-b <backing file>] -d <COW file>\n"
         "      merge the COW file into its backing file in place (uml_moo "
         "-d)\n"
         "  umlctl cow info <COW file>...\n"
         "      show the header and how much of the disk the COW file holds\n"
         "  -b uses that backing file instead of the one in the header, "
         "without checking its size and mtime\n";
}

int RunCowCommand(const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err) {
  if (args.empty()) return Usage(err);
  const std::string& verb = args[0];
  if (verb == "create") return Create(args, out, err);
  if (verb == "merge") return Merge(args, out, err);
  if (verb == "info") return Info(args, out, err);
  if (verb == "help" || verb == "--help" || verb == "-h") {
    out << CowUsage();
    return kOk;
  }
  err << "umlctl cow: unknown command '" << verb << "'\n";
  return Usage(err);
}

}  // namespace kuml
