#include "vmm/boot/page_tables.h"

#include <cstdint>
#include <vector>

#include "vmm/boot/layout.h"

namespace kuml {
namespace {
constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kPageSize = 1ull << 7;  // PS: a 2 MiB page in a PD entry
constexpr uint64_t kEntries = 512;
constexpr uint64_t kHugePage = 2ull << 20;
static_assert(kEntries * kHugePage == layout::kIdentityMapBytes,
              "one PD maps the identity range");
}  // namespace

absl::Status WriteIdentityPageTables(GuestMemory& mem) {
  std::vector<uint64_t> table(kEntries, 0);
  table[0] = layout::kPdptAddr | kPresent | kWritable;
  absl::Status s = mem.Write(layout::kPml4Addr, table.data(), 4096);
  if (!s.ok()) return s;
  table[0] = layout::kPdAddr | kPresent | kWritable;
  s = mem.Write(layout::kPdptAddr, table.data(), 4096);
  if (!s.ok()) return s;
  for (uint64_t i = 0; i < kEntries; ++i) {
    table[i] = (i * kHugePage) | kPresent | kWritable | kPageSize;
  }
  return mem.Write(layout::kPdAddr, table.data(), 4096);
}

}  // namespace kuml
