// Host-side throughput of kuml's disk backends: sequential and random 4 KiB
// reads and writes through a raw image (RawFileBackend), a COW file that
// holds nothing yet (reads fall through to the backing file), and a COW file
// that holds every sector, beside plain pread/pwrite on the same files. The
// files are fresh and page-cache resident, so the figures are the backends'
// own cost per request, not the disk's. bench/cow_bench.sh prints ratios.
//
//   cow_backend_bench [--dir=<dir>] [--mib=<file size>] [benchmark flags]
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "benchmark/benchmark.h"
#include "disk/cow_create.h"
#include "disk/cow_disk.h"
#include "disk/cow_open.h"
#include "disk/host_file.h"
#include "disk/raw_file_backend.h"
#include "util/unique_fd.h"

ABSL_FLAG(std::string, dir, "/tmp", "where the benchmark's disk images go");
ABSL_FLAG(uint64_t, mib, 64, "the size of each disk image, in MiB");

namespace kuml {
namespace {

constexpr size_t kBlock = 4096;

std::string g_dir = "/tmp";
uint64_t g_bytes = 64ull << 20;

void Die(const std::string& what) {
  fprintf(stderr, "cow_backend_bench: %s\n", what.c_str());
  std::exit(1);
}

void MakeFile(const std::string& path, uint64_t bytes) {
  UniqueFd fd(
      ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) Die("create " + path);
  std::vector<uint8_t> buf(1 << 20);
  std::mt19937_64 rng(1);
  for (uint64_t off = 0; off < bytes; off += buf.size()) {
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    if (::pwrite(fd.get(), buf.data(), buf.size(), off) !=
        (ssize_t)buf.size()) {
      Die("write " + path);
    }
  }
}

std::unique_ptr<CowDisk> OpenCow(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) Die("open " + path);
  auto header = ReadCowHeader(fd.get(), path);
  if (!header.ok() || !header->has_value()) Die("header of " + path);
  CowOpenOptions options;
  options.lock_backing = false;  // several benchmark disks share one backing
  auto disk = OpenCowDisk(std::move(fd), path, **header, options);
  if (!disk.ok()) Die(std::string(disk.status().message()));
  return *std::move(disk);
}

// The same requests through plain pread/pwrite.
class PlainFile : public BlockBackend {
 public:
  explicit PlainFile(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {
    if (!fd_) Die("open " + path);
  }
  uint64_t size_bytes() const override { return g_bytes; }
  bool read_only() const override { return false; }
  absl::Status ReadAt(uint64_t off, absl::Span<uint8_t> dst) override {
    if (::pread(fd_.get(), dst.data(), dst.size(), off) < 0) Die("pread");
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t off, absl::Span<const uint8_t> src) override {
    if (::pwrite(fd_.get(), src.data(), src.size(), off) < 0) Die("pwrite");
    return absl::OkStatus();
  }
  absl::Status Flush() override { return absl::OkStatus(); }

 private:
  UniqueFd fd_;
};

struct Disks {
  std::unique_ptr<BlockBackend> pread, raw, cow_empty, cow_full;
  std::unique_ptr<BlockBackend> pread_cow_data;  // the COW file's data area
};

Disks& GetDisks() {
  static Disks* disks = [] {
    auto* d = new Disks;
    const std::string base = g_dir + "/bench_base.img";
    const std::string raw = g_dir + "/bench_raw.img";
    MakeFile(base, g_bytes);
    MakeFile(raw, g_bytes);
    for (const char* name : {"bench_empty.cow", "bench_full.cow"}) {
      const std::string path = g_dir + "/" + name;
      ::unlink(path.c_str());
      auto h = CreateCowFile(path, base);
      if (!h.ok()) Die(std::string(h.status().message()));
    }
    d->pread = std::make_unique<PlainFile>(raw);
    auto r = RawFileBackend::Open(raw, false);
    if (!r.ok()) Die(std::string(r.status().message()));
    d->raw = *std::move(r);
    d->cow_empty = OpenCow(g_dir + "/bench_empty.cow");
    d->cow_full = OpenCow(g_dir + "/bench_full.cow");
    // Fill the full COW: every sector written once, bits flushed.
    std::vector<uint8_t> buf(1 << 20, 0x5a);
    for (uint64_t off = 0; off < g_bytes; off += buf.size()) {
      if (!d->cow_full->WriteAt(off, buf).ok()) Die("fill COW");
    }
    if (!d->cow_full->Flush().ok()) Die("flush COW");
    return d;
  }();
  return *disks;
}

std::vector<uint64_t> Offsets(bool random) {
  const uint64_t blocks = g_bytes / kBlock;
  std::vector<uint64_t> offs(blocks);
  for (uint64_t i = 0; i < blocks; ++i) offs[i] = i * kBlock;
  if (random) std::shuffle(offs.begin(), offs.end(), std::mt19937_64(7));
  return offs;
}

void RunIo(benchmark::State& state, BlockBackend* (*pick)(Disks&), bool write,
           bool random) {
  BlockBackend* disk = pick(GetDisks());
  const std::vector<uint64_t> offs = Offsets(random);
  std::vector<uint8_t> buf(kBlock, 0xa5);
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t off = offs[i++ % offs.size()];
    absl::Status s = write ? disk->WriteAt(off, buf)
                           : disk->ReadAt(off, absl::MakeSpan(buf));
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBlock));
}

struct Backend {
  const char* name;
  BlockBackend* (*pick)(Disks&);
};
const Backend kBackends[] = {
    {"pread", [](Disks& d) { return d.pread.get(); }},
    {"raw", [](Disks& d) { return d.raw.get(); }},
    {"cow_empty", [](Disks& d) { return d.cow_empty.get(); }},
    {"cow_full", [](Disks& d) { return d.cow_full.get(); }},
};

}  // namespace
}  // namespace kuml

int main(int argc, char** argv) {
  // Google Benchmark takes its --benchmark_* flags out of argv first; the
  // rest are ours.
  benchmark::Initialize(&argc, argv);
  absl::ParseCommandLine(argc, argv);
  kuml::g_dir = absl::GetFlag(FLAGS_dir);
  kuml::g_bytes = absl::GetFlag(FLAGS_mib) << 20;
  for (const char* op : {"seq_read", "rand_read", "seq_write", "rand_write"}) {
    const bool write = std::strstr(op, "write") != nullptr;
    const bool random = std::strncmp(op, "rand", 4) == 0;
    for (const kuml::Backend& b : kuml::kBackends) {
      benchmark::RegisterBenchmark(
          (std::string(op) + "/" + b.name).c_str(),
          [pick = b.pick, write, random](benchmark::State& s) {
            kuml::RunIo(s, pick, write, random);
          });
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
