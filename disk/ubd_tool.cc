// ubd_tool: a disk opened exactly as kuml opens a ubd switch (OpenUbd), for
// the interoperability tests that pit it against the real UML tools.
//
//   ubd_tool cat <file>[,<backing>]              whole disk -> stdout
//   ubd_tool write <file>[,<backing>] <offset> <data file>
//   ubd_tool import <file>[,<backing>] <image>   write every 512-byte sector
//                                                where <image> differs
//   ubd_tool hold <file>[,<backing>] <seconds>   keep it open (and locked)
// Exit status 0, or 1 with the error on stderr.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "disk/ubd_open.h"

namespace kuml {
namespace {

int Fail(const std::string& what) {
  std::cerr << "ubd_tool: " << what << "\n";
  return 1;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int Main(int argc, char** argv) {
  if (argc < 3) return Fail("usage: ubd_tool cat|write|import|hold <disk> ...");
  const std::string verb = argv[1];
  std::vector<std::string> parts = absl::StrSplit(argv[2], ',');
  UbdOpenOptions options;
  options.file = parts[0];
  if (parts.size() > 1) options.backing_file = parts[1];
  options.read_only = verb == "cat";
  auto disk = OpenUbd(options, [](const std::string& s) {
    std::cerr << "ubd_tool: " << s << "\n";
  });
  if (!disk.ok()) return Fail(std::string(disk.status().message()));
  BlockBackend& b = **disk;

  if (verb == "cat") {
    std::vector<uint8_t> buf(1 << 20);
    for (uint64_t off = 0; off < b.size_bytes(); off += buf.size()) {
      auto chunk = absl::MakeSpan(buf).first(
          std::min<uint64_t>(buf.size(), b.size_bytes() - off));
      if (auto s = b.ReadAt(off, chunk); !s.ok()) return Fail(s.ToString());
      std::cout.write(reinterpret_cast<const char*>(chunk.data()),
                      static_cast<std::streamsize>(chunk.size()));
    }
    return std::cout.good() ? 0 : Fail("write to stdout");
  }
  if (verb == "write" && argc == 5) {
    uint64_t off = 0;
    if (!absl::SimpleAtoi(argv[3], &off)) return Fail("bad offset");
    const std::string data = Slurp(argv[4]);
    auto s = b.WriteAt(
        off, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()),
                                 data.size()));
    if (s.ok()) s = b.Flush();
    return s.ok() ? 0 : Fail(s.ToString());
  }
  if (verb == "import" && argc == 4) {
    const std::string image = Slurp(argv[3]);
    if (image.size() != b.size_bytes()) return Fail("image size differs");
    std::vector<uint8_t> sector(512);
    for (uint64_t off = 0; off < image.size(); off += 512) {
      if (auto s = b.ReadAt(off, absl::MakeSpan(sector)); !s.ok()) {
        return Fail(s.ToString());
      }
      const auto* want = reinterpret_cast<const uint8_t*>(image.data() + off);
      if (std::equal(sector.begin(), sector.end(), want)) continue;
      if (auto s = b.WriteAt(off, absl::MakeConstSpan(want, 512)); !s.ok()) {
        return Fail(s.ToString());
      }
    }
    auto s = b.Flush();
    return s.ok() ? 0 : Fail(s.ToString());
  }
  if (verb == "hold" && argc == 4) {
    int seconds = 0;
    if (!absl::SimpleAtoi(argv[3], &seconds)) return Fail("bad seconds");
    std::cout << "holding" << std::endl;
    ::sleep(static_cast<unsigned>(seconds));
    return 0;
  }
  return Fail("bad arguments");
}

}  // namespace
}  // namespace kuml

int main(int argc, char** argv) { return kuml::Main(argc, argv); }
