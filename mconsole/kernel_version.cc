#include "mconsole/kernel_version.h"

#include <cctype>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "vmm/boot/kernel_loader.h"

namespace kuml::mconsole {
namespace {

constexpr char kBannerPrefix[] = "Linux version ";
constexpr size_t kBannerPrefixLen = sizeof(kBannerPrefix) - 1;

// Skips " (....)" with nested parentheses at the front of `s`; false when
// `s` does not start with one.
bool SkipParenthesized(absl::string_view& s) {
  absl::string_view t = absl::StripLeadingAsciiWhitespace(s);
  if (t.empty() || t[0] != '(') return false;
  int depth = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '(') ++depth;
    if (t[i] == ')' && --depth == 0) {
      s = t.substr(i + 1);
      return true;
    }
  }
  return false;
}

bool HasBuildNumber(const KernelVersion& v) {
  return v.version.size() > 1 && v.version[0] == '#' &&
         std::isdigit(static_cast<unsigned char>(v.version[1]));
}

bool IsBzImage(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[0x206] = {};
  in.read(head, sizeof(head));
  return in.gcount() == sizeof(head) &&
         absl::string_view(head + 0x202, 4) == "HdrS";
}

}  // namespace

absl::StatusOr<KernelVersion> ParseLinuxBanner(absl::string_view banner) {
  absl::string_view s = absl::StripAsciiWhitespace(banner);
  if (!absl::ConsumePrefix(&s, kBannerPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a Linux banner: '", banner, "'"));
  }
  KernelVersion v;
  size_t space = s.find(' ');
  v.release = std::string(s.substr(0, space));
  if (v.release.empty()) {
    return absl::InvalidArgumentError("Linux banner without a release");
  }
  s = space == absl::string_view::npos ? "" : s.substr(space);
  // (user@host), then (compiler) in a vmlinux banner only.
  SkipParenthesized(s);
  SkipParenthesized(s);
  v.version = std::string(absl::StripAsciiWhitespace(s));
  return v;
}

absl::StatusOr<KernelVersion> ReadKernelVersion(const std::string& path) {
  if (IsBzImage(path)) {
    absl::StatusOr<std::string> banner = KernelVersionString(path);
    if (!banner.ok()) return banner.status();
    return ParseLinuxBanner(*banner);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  }
  const std::string image((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  std::optional<KernelVersion> first;
  for (size_t pos = image.find(kBannerPrefix); pos != std::string::npos;
       pos = image.find(kBannerPrefix, pos + 1)) {
    size_t start = pos + kBannerPrefixLen;
    if (start >= image.size() ||
        !std::isdigit(static_cast<unsigned char>(image[start]))) {
      continue;  // format strings and prose
    }
    size_t end = image.find('\0', pos);
    if (end == std::string::npos || end - pos > 512) continue;
    absl::StatusOr<KernelVersion> v =
        ParseLinuxBanner(absl::string_view(image).substr(pos, end - pos));
    if (!v.ok()) continue;
    if (HasBuildNumber(*v)) return *v;
    if (!first.has_value()) first = *v;
  }
  if (first.has_value()) return *first;
  return absl::NotFoundError(
      absl::StrCat(path, ": no \"Linux version\" banner in the file"));
}

}  // namespace kuml::mconsole
