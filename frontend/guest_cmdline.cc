#include "frontend/guest_cmdline.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "frontend/parse_util.h"

namespace kuml {
namespace {

constexpr int kUbdMajor = 98;          // UML_UBD_MAJOR
constexpr int kUbdMinorsPerDisk = 16;  // 1 << UBD_SHIFT

// "/dev/vdb1" for ubd `index`, partition `partition` (0: whole disk).
std::optional<std::string> GuestDevice(const MachineSpec& spec, uint64_t index,
                                       uint64_t partition) {
  if (index >= kMaxUbdDevices || partition >= kUbdMinorsPerDisk) {
    return std::nullopt;
  }
  std::optional<std::string> disk =
      GuestDiskName(spec, static_cast<int>(index));
  if (!disk.has_value()) return std::nullopt;
  if (partition == 0) return absl::StrCat("/dev/", *disk);
  return absl::StrCat("/dev/", *disk, partition);
}

// Rewrites a UML root device (/dev/ubd<letter>[<partition>] or
// 98:<minor>) to its virtio name; nullopt: leave the value alone.
std::optional<std::string> TranslateRoot(const MachineSpec& spec,
                                         absl::string_view value) {
  absl::string_view rest = value;
  if (absl::ConsumePrefix(&rest, "/dev/ubd")) {
    if (rest.empty() || rest[0] < 'a' || rest[0] > 'z') return std::nullopt;
    const uint64_t index = rest[0] - 'a';
    rest.remove_prefix(1);
    uint64_t partition = 0;
    if (!rest.empty()) {
      if (rest[0] == '0') return std::nullopt;  // no "ubda01"
      std::optional<uint64_t> p = ParseWholeNumber(rest, 10);
      if (!p.has_value()) return std::nullopt;
      partition = *p;
    }
    return GuestDevice(spec, index, partition);
  }
  if (absl::ConsumePrefix(&rest, absl::StrCat(kUbdMajor, ":"))) {
    std::optional<uint64_t> minor = ParseWholeNumber(rest, 10);
    if (!minor.has_value()) return std::nullopt;
    return GuestDevice(spec, *minor / kUbdMinorsPerDisk,
                       *minor % kUbdMinorsPerDisk);
  }
  return std::nullopt;
}

// GuestKernelArgs for a kernel that knows UML's names: the user's words
// unchanged, as UML passes them, after the switch that turns the names on and
// UML's console=tty0; UML's root=98:0 when no root= is given.
std::vector<std::string> UmlNamesKernelArgs(const MachineSpec& spec) {
  std::vector<std::string> args = {"kuml_names=uml", "console=tty0"};
  bool have_root = false;
  for (const std::string& arg : spec.guest_args) {
    if (arg == "--") break;
    if (absl::StartsWith(arg, "root=")) have_root = true;
  }
  args.insert(args.end(), spec.guest_args.begin(), spec.guest_args.end());
  if (!have_root && spec.disks.count(0) != 0) {
    args.insert(std::find(args.begin(), args.end(), "--"),
                absl::StrCat("root=", kUbdMajor, ":0"));
  }
  return args;
}

}  // namespace

std::optional<std::string> GuestDiskName(const MachineSpec& spec,
                                         int ubd_index) {
  auto it = spec.disks.find(ubd_index);
  if (it == spec.disks.end()) return std::nullopt;
  if (spec.guest_names == GuestNames::kUml) {
    return absl::StrCat("ubd",
                        std::string(1, static_cast<char>('a' + it->first)));
  }
  // At most 16 disks, so one letter always suffices.
  const int position = static_cast<int>(std::distance(spec.disks.begin(), it));
  return absl::StrCat("vd", std::string(1, static_cast<char>('a' + position)));
}

std::vector<std::string> GuestKernelArgs(const MachineSpec& spec) {
  if (spec.guest_names == GuestNames::kUml) return UmlNamesKernelArgs(spec);
  std::vector<std::string> args;
  bool have_root = false;
  // After "--" the guest kernel hands everything to init, so a root= there
  // is init's business (UML counts it and then boots without a root=).
  bool after_dashes = false;
  for (const std::string& arg : spec.guest_args) {
    if (arg == "--") after_dashes = true;
    absl::string_view value = arg;
    if (!after_dashes && absl::ConsumePrefix(&value, "root=")) {
      have_root = true;
      std::optional<std::string> device = TranslateRoot(spec, value);
      if (device.has_value()) {
        args.push_back(absl::StrCat("root=", *device));
        continue;
      }
    }
    args.push_back(arg);
  }
  if (!have_root) {
    std::optional<std::string> disk = GuestDiskName(spec, 0);
    if (disk.has_value()) {
      auto dashes = std::find(args.begin(), args.end(), "--");
      args.insert(dashes, absl::StrCat("root=/dev/", *disk));
    }
  }
  return args;
}

std::string GuestKernelCommandLine(const MachineSpec& spec) {
  return absl::StrJoin(GuestKernelArgs(spec), " ");
}

}  // namespace kuml
