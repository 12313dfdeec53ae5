// libFuzzer target: UML COW disks as kuml opens them (disk/): the input
// becomes a COW file (header + bitmap + data, any version, any garbage) and
// a backing file in a private temporary directory; the disk is opened the
// ways a ubd switch or a tool opens it -- OpenUbd (COW over a named backing
// file, created when missing; sniffed; flags r, s, t, c, d), OpenCowDisk
// with the header's backing file, a requested one (UML's "switch", which
// rewrites a v3 header) or a forced one (uml_moo -b) -- then read, written,
// flushed and discarded as the input says, closed, and merged (cow_merge.h)
// into a new image or in place.
//
// Safety: the harness never lets the code open a path outside its directory.
// A header's backing path may name the harness's files through placeholders
// the input writes into the path field ("@B", "@O", "@C", "@M" followed by a
// NUL become <dir>/backing, <dir>/other, <dir>/cow, <dir>/missing); a
// header naming anything else is only ever opened with the backing file
// forced to <dir>/backing.
//
// Input: u8 open flags, u8 more flags, u32 backing mtime, u32 other mtime,
// backing bytes (u16 length), COW bytes (u16 length), then ops (u8 count,
// each u8 kind, offset, length, fill). -max_len 16384 in the scripts.
// Checks beyond ASan/UBSan: a model of the disk's bytes (read once at open,
// updated by successful writes, forgotten where a write failed or a discard
// ran) must match every successful read and the merged image; a read-only
// disk refuses writes.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "disk/block_backend.h"
#include "disk/cow_disk.h"
#include "disk/cow_format.h"
#include "disk/cow_merge.h"
#include "disk/cow_open.h"
#include "disk/host_file.h"
#include "disk/ubd_open.h"
#include "tests/fuzz/fuzz_input.h"
#include "util/unique_fd.h"

namespace kuml {
namespace fuzz {
namespace {

constexpr uint64_t kMaxModelBytes = 1 << 20;
constexpr uint64_t kMaxIo = 64 * 1024;

struct Dir {
  std::string dir, backing, other, cow, missing, out;
  Dir() {
    // tmpfs by default: the code under test fsyncs.
    const char* base = std::getenv("KUML_FUZZ_TMPDIR");
    if (base == nullptr && ::access("/dev/shm", W_OK) == 0) base = "/dev/shm";
    if (base == nullptr) base = std::getenv("TEST_TMPDIR");
    if (base == nullptr) base = "/tmp";
    std::string templ = std::string(base) + "/kuml-cow-fuzz-XXXXXX";
    Check(::mkdtemp(templ.data()) != nullptr);
    // Canonical, as AbsolutizePath() will name the files.
    char* real = ::realpath(templ.c_str(), nullptr);
    Check(real != nullptr);
    dir = real;
    ::free(real);
    backing = dir + "/backing";
    other = dir + "/other";
    cow = dir + "/cow";
    missing = dir + "/missing";
    out = dir + "/out";
  }
  ~Dir() {
    for (const std::string* f : {&backing, &other, &cow, &missing, &out}) {
      ::unlink(f->c_str());
    }
    ::rmdir(dir.c_str());
  }
  bool Ours(const std::string& p) const {
    return p == backing || p == other || p == cow || p == missing;
  }
};

Dir& TheDir() {
  static Dir* d = new Dir();
  static bool registered = [] {
    std::atexit([] { delete &TheDir(); });
    return true;
  }();
  (void)registered;
  return *d;
}

void WriteFile(const std::string& path, const std::string& bytes,
               uint32_t mtime, uint64_t size) {
  ::unlink(path.c_str());
  UniqueFd fd(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  Check(fd.get() >= 0);
  Check(::pwrite(fd.get(), bytes.data(), bytes.size(), 0) ==
        static_cast<ssize_t>(bytes.size()));
  if (size != bytes.size()) Check(::ftruncate(fd.get(), size) == 0);
  struct timespec t[2] = {{mtime, 0}, {mtime, 0}};
  Check(::futimens(fd.get(), t) == 0);
}

std::string ReadWholeFile(const std::string& path) {
  std::string s;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return s;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) break;
    s.append(buf, n);
  }
  return s;
}

// Replaces the first "<token>\0" in the header area by "<path>\0".
void Substitute(std::string& cow, const std::string& token,
                const std::string& path) {
  size_t at = cow.find(token + std::string(1, '\0'));
  if (at == std::string::npos || at > kCowMaxHeaderBytes) return;
  std::string with = path + std::string(1, '\0');
  if (cow.size() < at + with.size()) cow.resize(at + with.size());
  cow.replace(at, with.size(), with);
}

// What the disk must read as: bytes and whether they are known. Its loops
// are left out of the coverage instrumentation (they are the harness's, and
// hot).
#define KUML_FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))
struct Model {
  bool on = false;
  std::string bytes;
  std::vector<uint8_t> known;  // 1: bytes[i] is what the disk must read

  void Start(BlockBackend& disk) {
    on = disk.size_bytes() <= kMaxModelBytes;
    if (!on) return;
    bytes.assign(disk.size_bytes(), '\0');
    absl::Status s = disk.ReadAt(
        0,
        absl::MakeSpan(reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
    known.assign(bytes.size(), s.ok() ? 1 : 0);
  }
  void Set(uint64_t off, const std::string& data) {
    if (!on || data.empty()) return;
    bytes.replace(off, data.size(), data);
    std::memset(known.data() + off, 1, data.size());
  }
  void Forget(uint64_t off, uint64_t len) {
    if (!on || off >= bytes.size() || len == 0) return;
    len = std::min<uint64_t>(len, bytes.size() - off);
    std::memset(known.data() + off, 0, len);
  }
  KUML_FUZZ_NO_COVERAGE void Compare(uint64_t off,
                                     const std::string& got) const {
    if (!on || off >= bytes.size()) return;
    const uint64_t n = std::min<uint64_t>(got.size(), bytes.size() - off);
    uint64_t i = 0;
    while (i < n) {
      if (!known[off + i]) {
        ++i;
        continue;
      }
      uint64_t j = i;
      while (j < n && known[off + j]) ++j;
      Check(std::memcmp(got.data() + i, bytes.data() + off + i, j - i) == 0);
      i = j;
    }
  }
};

uint64_t PickOffset(FuzzInput& in, uint64_t size) {
  switch (in.U8() % 4) {
    case 0:
      return 512 * uint64_t{in.U8()};
    case 1:
      return size ? in.U32() % size : 0;
    case 2:
      return size - std::min<uint64_t>(size, in.U16() % 2048);
    default:
      return in.U64();
  }
}

void Operate(FuzzInput& in, BlockBackend& disk, Model& model) {
  const uint64_t size = disk.size_bytes();
  const int n = in.U8() % 32;
  for (int i = 0; i < n && !in.empty(); ++i) {
    const uint8_t kind = in.U8();
    const uint64_t off = PickOffset(in, size);
    const uint64_t len =
        (kind & 0x80) ? in.U32() % kMaxIo : 512 * (in.U8() % 9);
    const bool inside = off <= size && len <= size - off;
    switch (kind % 5) {
      case 0:
      case 1: {
        if (!inside && len > kMaxIo) break;
        std::string got(len, '\x77');
        absl::Status s = disk.ReadAt(
            off, absl::MakeSpan(reinterpret_cast<uint8_t*>(got.data()), len));
        if (!inside) Check(!s.ok());
        if (s.ok()) model.Compare(off, got);
        break;
      }
      case 2: {
        std::string data(len, static_cast<char>(in.U8()));
        for (size_t k = 0; k < data.size(); k += 97) data[k] ^= k;
        absl::Status s = disk.WriteAt(
            off, absl::MakeConstSpan(
                     reinterpret_cast<const uint8_t*>(data.data()), len));
        if (!inside) Check(!s.ok());
        if (disk.read_only()) Check(!s.ok());
        if (s.ok()) {
          model.Set(off, data);
        } else if (inside) {
          model.Forget(off, len);
        }
        break;
      }
      case 3:
        (void)disk.Flush();
        break;
      default: {
        absl::Status s = disk.Discard(off, len);
        if (!inside || !disk.supports_discard()) Check(!s.ok());
        if (inside) model.Forget(off, len);  // unspecified afterwards
        break;
      }
    }
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace kuml

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;        // NOLINT
  using namespace kuml::fuzz;  // NOLINT
  const Dir& d = TheDir();
  FuzzInput in(data, size);
  const uint8_t f1 = in.U8();
  const uint8_t f2 = in.U8();
  const uint32_t backing_mtime = in.U32();
  const uint32_t other_mtime = in.U32();
  std::string backing = in.LengthPrefixed(16384, true);
  std::string cow = in.LengthPrefixed(16384, true);
  Substitute(cow, "@B", d.backing);
  Substitute(cow, "@O", d.other);
  Substitute(cow, "@C", d.cow);
  Substitute(cow, "@M", d.missing);

  // What the header says, as the code under test will decode it.
  absl::StatusOr<std::optional<CowHeader>> header =
      DecodeCowHeader(absl::MakeConstSpan(
          reinterpret_cast<const uint8_t*>(cow.data()), cow.size()));
  const bool is_cow = header.ok() && header->has_value();
  // Only our own files may be opened through the header's path.
  const bool header_safe = !is_cow || d.Ours((*header)->backing_file);

  uint64_t backing_size = backing.size();
  uint32_t mtime = backing_mtime;
  if (is_cow) {
    if ((f2 & 2) && (*header)->size <= kMaxModelBytes) {
      backing_size = (*header)->size;
    }
    if (f2 & 4) mtime = (*header)->mtime;
  }
  WriteFile(d.backing, backing, mtime, backing_size);
  WriteFile(d.other, backing, (f2 & 8) ? mtime : other_mtime, backing_size);
  ::unlink(d.cow.c_str());
  ::unlink(d.out.c_str());
  if (!(f1 & 0x40)) WriteFile(d.cow, cow, 1000000000, cow.size());

  std::string disk_backing;  // the CowDisk's backing file, if one
  Model model;
  {
    std::shared_ptr<BlockBackend> disk;
    std::string open_error;
    int mode = f1 & 3;
    if (!header_safe) mode = 2;
    if (mode <= 1) {
      UbdOpenOptions o;
      o.file = d.cow;
      if (mode == 0) o.backing_file = (f2 & 0x10) ? d.other : d.backing;
      o.read_only = f1 & 4;
      o.sync = f1 & 8;
      o.no_trim = f1 & 0x10;
      o.shared = f1 & 0x20;
      o.no_cow = f2 & 0x20;
      absl::StatusOr<std::shared_ptr<BlockBackend>> r = OpenUbd(o);
      if (r.ok()) {
        disk = *r;
      } else {
        open_error = r.status().ToString();
      }
    } else {
      UniqueFd fd(
          ::open(d.cow.c_str(), ((f1 & 4) ? O_RDONLY : O_RDWR) | O_CLOEXEC));
      if (fd.get() >= 0) {
        absl::StatusOr<std::optional<CowHeader>> h =
            ReadCowHeader(fd.get(), d.cow);
        if (h.ok() && h->has_value()) {
          CowOpenOptions o;
          o.backing_path = (f2 & 0x10) && header_safe ? d.other : d.backing;
          o.force_backing = mode == 2;
          o.lock_backing = !(f1 & 0x20);
          o.disk.read_only = f1 & 4;
          o.disk.write_through = f1 & 8;
          o.disk.discard = !(f1 & 0x10);
          o.disk.allow_partial_sector = f2 & 0x40;
          absl::StatusOr<std::unique_ptr<CowDisk>> r =
              OpenCowDisk(std::move(fd), d.cow, **h, o);
          if (r.ok()) {
            disk = std::move(*r);
          } else {
            open_error = r.status().ToString();
          }
        }
      }
    }
    if (Debug()) {
      std::fprintf(stderr, "mode %d cow %d safe %d disk %s size %lu ro %d %s\n",
                   mode, is_cow, header_safe,
                   !disk                                ? "none"
                   : dynamic_cast<CowDisk*>(disk.get()) ? "cow"
                                                        : "raw",
                   disk ? disk->size_bytes() : 0, disk ? disk->read_only() : 0,
                   open_error.c_str());
    }
    if (disk) {
      if (auto* c = dynamic_cast<CowDisk*>(disk.get())) {
        disk_backing = c->backing_path();
        Check(d.Ours(disk_backing) && disk_backing != d.cow);
      }
      model.Start(*disk);
      Operate(in, *disk, model);
    }
  }  // closed (and flushed)

  if (f1 & 0x80) {
    CowMergeOptions m;
    m.backing_path = header_safe && !(f2 & 1) ? "" : d.backing;
    m.in_place = (f2 & 0x80) && !m.backing_path.empty();
    m.overwrite = true;
    absl::StatusOr<CowMergeResult> r =
        MergeCow(d.cow, m.in_place ? "" : d.out, m);
    if (Debug()) {
      std::fprintf(stderr, "merge%s: %s\n", m.in_place ? " in place" : "",
                   r.ok() ? "ok" : r.status().ToString().c_str());
    }
    if (r.ok()) {
      Check(d.Ours(r->backing_path));
      // The merged image is what the disk read as, where that is known.
      if (!disk_backing.empty() && r->backing_path == disk_backing &&
          model.on) {
        std::string merged =
            ReadWholeFile(m.in_place ? r->backing_path : d.out);
        Check(merged.size() >= std::min<uint64_t>(r->size, model.bytes.size()));
        model.Compare(0, merged.substr(0, model.bytes.size()));
      }
    }
  }
  return 0;
}
