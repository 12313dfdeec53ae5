#include "kumld/manifest.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "frontend/command_line.h"
#include "frontend/parse_util.h"
#include "frontend/support.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace kuml::kumld {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;
using host::GuestTemplate;
using host::Manifest;

constexpr uint32_t kMaxGuests = 4096;  // per template; a typo guard
constexpr int64_t kCpuPeriodUs = 100000;

// Collects the first syntax error with its line (protobuf counts from 0).
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (line_ < 0) {
      line_ = line;
      message_ = message;
    }
  }
  int line() const { return line_; }
  const std::string& message() const { return message_; }

 private:
  int line_ = -1;
  std::string message_;
};

// Names a place in the manifest for error messages: the file, the line of
// the field (or of its enclosing block when the field is missing), and the
// field's path ("guest[2].limits.memory_max").
class Place {
 public:
  Place(const ManifestContext& context, const TextFormat::ParseInfoTree* tree,
        int block_line, std::string path)
      : context_(context),
        tree_(tree),
        block_line_(block_line),
        path_(std::move(path)) {}

  // `field` of this block; its line when it was written, else the block's.
  absl::Status Error(absl::string_view field_name,
                     absl::string_view message) const {
    int line = block_line_;
    const FieldDescriptor* field = Field(field_name);
    if (tree_ != nullptr && field != nullptr) {
      int index = field->is_repeated() ? 0 : -1;
      TextFormat::ParseLocation at = tree_->GetLocation(field, index);
      if (at.line >= 0) line = at.line;
    }
    return ErrorAtLine(line, Join(field_name), message);
  }

  // Element `index` of the repeated field `field_name`.
  absl::Status ErrorAt(absl::string_view field_name, int index,
                       absl::string_view message) const {
    int line = block_line_;
    const FieldDescriptor* field = Field(field_name);
    if (tree_ != nullptr && field != nullptr) {
      TextFormat::ParseLocation at = tree_->GetLocation(field, index);
      if (at.line >= 0) line = at.line;
    }
    return ErrorAtLine(line, absl::StrCat(Join(field_name), "[", index, "]"),
                       message);
  }

  Place Nested(absl::string_view field_name, int index) const {
    const FieldDescriptor* field = Field(field_name);
    const TextFormat::ParseInfoTree* nested = nullptr;
    int line = block_line_;
    if (tree_ != nullptr && field != nullptr) {
      nested = tree_->GetTreeForNested(field, index);
      TextFormat::ParseLocation at = tree_->GetLocation(field, index);
      if (at.line >= 0) line = at.line;
    }
    std::string path = Join(field_name);
    if (index >= 0) absl::StrAppend(&path, "[", index, "]");
    return Place(context_, nested, line, std::move(path));
  }

  void set_descriptor(const google::protobuf::Descriptor* d) {
    descriptor_ = d;
  }

 private:
  std::string Join(absl::string_view field) const {
    return path_.empty() ? std::string(field) : absl::StrCat(path_, ".", field);
  }
  const FieldDescriptor* Field(absl::string_view name) const {
    return descriptor_ == nullptr
               ? nullptr
               : descriptor_->FindFieldByName(std::string(name));
  }
  absl::Status ErrorAtLine(int line, absl::string_view field,
                           absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrCat(context_.name, ":", line + 1, ": ", field, ": ", message));
  }

  const ManifestContext& context_;
  const TextFormat::ParseInfoTree* tree_;
  int block_line_;
  std::string path_;
  const google::protobuf::Descriptor* descriptor_ = nullptr;
};

Place NestedOf(const Place& parent, absl::string_view field, int index,
               const google::protobuf::Descriptor* descriptor) {
  Place p = parent.Nested(field, index);
  p.set_descriptor(descriptor);
  return p;
}

// {i} and {umid}; any other {word} is a mistake worth naming.
absl::StatusOr<std::string> Substitute(absl::string_view text, uint32_t index,
                                       absl::string_view umid) {
  std::string out = absl::StrReplaceAll(
      text, {{"{i}", absl::StrCat(index)}, {"{umid}", umid}});
  size_t open = out.find('{');
  if (open != std::string::npos) {
    size_t close = out.find('}', open);
    std::string word =
        out.substr(open, close == std::string::npos ? std::string::npos
                                                    : close - open + 1);
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown placeholder '", word, "' (only {i} and {umid} exist)"));
  }
  return out;
}

bool IsKuml(const std::string& vmm) {
  return absl::EndsWith(vmm, "/kuml") || vmm == "kuml";
}

absl::Status CheckTemplate(const GuestTemplate& t, const Place& at) {
  if (t.umid().empty())
    return at.Error("umid", "missing (every guest needs one)");
  uint32_t count = t.count() == 0 ? 1 : t.count();
  if (count > kMaxGuests) {
    return at.Error("count", absl::StrCat(count, " is more than ", kMaxGuests,
                                          " guests per template"));
  }
  if (count > 1 && !absl::StrContains(t.umid(), "{i}")) {
    return at.Error("umid",
                    absl::StrCat("'", t.umid(), "' has no {i}, so its ", count,
                                 " guests would share one umid"));
  }
  if (absl::StrContains(t.umid(), "{umid}")) {
    return at.Error("umid", "the umid can't contain {umid}");
  }
  return absl::OkStatus();
}

absl::StatusOr<CgroupLimits> ParseLimits(const host::Limits& limits,
                                         const Place& at) {
  CgroupLimits out;
  if (!limits.memory_max().empty()) {
    absl::StatusOr<std::string> m = MemoryMaxText(limits.memory_max());
    if (!m.ok()) return at.Error("memory_max", m.status().message());
    out.memory_max = *m;
  }
  if (!limits.cpu_max().empty()) {
    absl::StatusOr<std::string> c = CpuMaxText(limits.cpu_max());
    if (!c.ok()) return at.Error("cpu_max", c.status().message());
    out.cpu_max = *c;
  }
  return out;
}

// One guest of a template: substitutions, then the kuml command line
// checked with kuml's own parser so a typo fails here, not at boot.
absl::StatusOr<GuestSpec> ExpandOne(const Manifest& m, const GuestTemplate& t,
                                    uint32_t index, const Place& at,
                                    const ManifestContext& context,
                                    const CgroupLimits& limits) {
  GuestSpec g;
  absl::StatusOr<std::string> umid = Substitute(t.umid(), index, "");
  if (!umid.ok()) return at.Error("umid", umid.status().message());
  g.umid = *umid;
  {
    // kuml's umid= rules (length, no '/', not "." ...), from its parser.
    absl::StatusOr<MachineSpec> check =
        ParseCommandLine({absl::StrCat("umid=", g.umid)});
    if (!check.ok()) return at.Error("umid", check.status().message());
  }
  g.argv.push_back(t.vmm().empty() ? context.default_vmm : t.vmm());
  std::vector<std::string> args;
  for (absl::string_view word : absl::StrSplit(
           t.cmdline(), absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    absl::StatusOr<std::string> s = Substitute(word, index, g.umid);
    if (!s.ok()) return at.Error("cmdline", s.status().message());
    args.push_back(*s);
  }
  for (int k = 0; k < t.arg_size(); ++k) {
    absl::StatusOr<std::string> s = Substitute(t.arg(k), index, g.umid);
    if (!s.ok()) return at.ErrorAt("arg", k, s.status().message());
    args.push_back(*s);
  }
  for (size_t k = 0; k < args.size(); ++k) {
    if (absl::StartsWith(args[k], "umid=")) {
      return at.Error("cmdline", absl::StrCat(args[k],
                                              ": kumld sets umid= from the "
                                              "guest's umid field"));
    }
    if (args[k] == "--") break;
  }
  args.push_back(absl::StrCat("umid=", g.umid));
  bool has_uml_dir = false;
  for (const std::string& a : args) {
    if (a == "--") break;
    has_uml_dir = has_uml_dir || absl::StartsWith(a, "uml_dir=");
  }
  if (!context.uml_dir.empty() && !has_uml_dir) {
    args.push_back(absl::StrCat("uml_dir=", context.uml_dir));
  }
  if (IsKuml(g.argv[0])) {
    absl::StatusOr<MachineSpec> spec = ParseCommandLine(args);
    absl::Status ok = spec.ok() ? CheckSupported(*spec) : spec.status();
    if (ok.ok() && (spec->show_help || spec->show_version)) {
      ok = absl::InvalidArgumentError("--help/--version do not run a guest");
    }
    if (!ok.ok()) return at.Error("cmdline", ok.message());
  }
  g.argv.insert(g.argv.end(), args.begin(), args.end());
  g.workdir = t.workdir().empty() ? context.base_dir : t.workdir();
  g.restart = t.restart() != host::RESTART_UNSET           ? t.restart()
              : m.default_restart() != host::RESTART_UNSET ? m.default_restart()
                                                           : host::NEVER;
  g.limits = limits;
  for (int k = 0; k < t.prepare_size(); ++k) {
    const host::PreparedFile& p = t.prepare(k);
    Place pat = NestedOf(at, "prepare", k, host::PreparedFile::descriptor());
    if (p.path().empty()) return pat.Error("path", "missing");
    if (p.copy_of().empty()) return pat.Error("copy_of", "missing");
    absl::StatusOr<std::string> path = Substitute(p.path(), index, g.umid);
    if (!path.ok()) return pat.Error("path", path.status().message());
    absl::StatusOr<std::string> from = Substitute(p.copy_of(), index, g.umid);
    if (!from.ok()) return pat.Error("copy_of", from.status().message());
    g.prepare.push_back({*path, *from});
  }
  g.ready_pattern = t.ready_pattern();
  if (t.stop_timeout_ms() != 0) g.stop_timeout_ms = t.stop_timeout_ms();
  if (m.restart_backoff_ms() != 0) g.backoff_ms = m.restart_backoff_ms();
  if (m.restart_backoff_max_ms() != 0) {
    g.backoff_max_ms = m.restart_backoff_max_ms();
  }
  return g;
}

}  // namespace

absl::StatusOr<std::string> MemoryMaxText(absl::string_view value) {
  if (value == "max") return std::string("max");
  absl::StatusOr<uint64_t> bytes = ParseMemSize(value);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", value, "': ", bytes.status().message(),
                     " (a size such as 96M, or max)"));
  }
  return absl::StrCat(*bytes);
}

absl::StatusOr<std::string> CpuMaxText(absl::string_view value) {
  if (value == "max") return std::string("max");
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("'", value,
                     "' is not a CPU limit (50% of one CPU, 150% of two, "
                     "\"<quota_us> <period_us>\", or max)"));
  };
  if (absl::ConsumeSuffix(&value, "%")) {
    uint32_t percent = 0;
    if (!absl::SimpleAtoi(value, &percent) || percent == 0 ||
        percent > 100000) {
      return bad();
    }
    return absl::StrCat(kCpuPeriodUs * percent / 100, " ", kCpuPeriodUs);
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(value, ' ', absl::SkipEmpty());
  uint64_t quota = 0, period = 0;
  // The kernel's bounds: period 1 ms .. 1 s, quota at least 1 ms.
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &quota) ||
      !absl::SimpleAtoi(parts[1], &period) || period < 1000 ||
      period > 1000000 || quota < 1000) {
    return bad();
  }
  return absl::StrCat(quota, " ", period);
}

absl::StatusOr<std::vector<GuestSpec>> ParseManifest(
    absl::string_view text, const ManifestContext& context) {
  Manifest m;
  TextFormat::ParseInfoTree tree;
  FirstError errors;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &m)) {
    return absl::InvalidArgumentError(absl::StrCat(
        context.name, ":", errors.line() + 1, ": ", errors.message()));
  }
  Place root(context, &tree, 0, "");
  root.set_descriptor(Manifest::descriptor());
  if (m.guest_size() == 0) {
    return root.Error("guest", "the manifest names no guest");
  }
  CgroupLimits defaults;
  {
    Place at = NestedOf(root, "default_limits", -1, host::Limits::descriptor());
    absl::StatusOr<CgroupLimits> l = ParseLimits(m.default_limits(), at);
    if (!l.ok()) return l.status();
    defaults = *l;
  }
  std::vector<GuestSpec> guests;
  std::set<std::string> umids;
  for (int k = 0; k < m.guest_size(); ++k) {
    const GuestTemplate& t = m.guest(k);
    Place at = NestedOf(root, "guest", k, GuestTemplate::descriptor());
    if (absl::Status s = CheckTemplate(t, at); !s.ok()) return s;
    CgroupLimits limits = defaults;
    if (t.has_limits()) {
      absl::StatusOr<CgroupLimits> l = ParseLimits(
          t.limits(), NestedOf(at, "limits", -1, host::Limits::descriptor()));
      if (!l.ok()) return l.status();
      if (!l->memory_max.empty()) limits.memory_max = l->memory_max;
      if (!l->cpu_max.empty()) limits.cpu_max = l->cpu_max;
    }
    uint32_t count = t.count() == 0 ? 1 : t.count();
    for (uint32_t n = 0; n < count; ++n) {
      absl::StatusOr<GuestSpec> g =
          ExpandOne(m, t, t.first_index() + n, at, context, limits);
      if (!g.ok()) return g.status();
      if (!umids.insert(g->umid).second) {
        return at.Error("umid", absl::StrCat("umid '", g->umid,
                                             "' is used by an earlier guest"));
      }
      guests.push_back(*std::move(g));
    }
  }
  return guests;
}

}  // namespace kuml::kumld
