// libFuzzer target: the virtio-mmio register file (devices/virtio/
// mmio_transport.cc) in front of a virtio-blk device (block_device.cc) over
// an in-memory BlockBackend, driven by a hostile guest (virtio_guest.h):
// register accesses, feature negotiation, queue setup, chains, notifications,
// resets, and well-formed-looking virtio-blk requests (IN, OUT, FLUSH,
// GET_ID, DISCARD, unknown types) with input-chosen sectors and lengths.
//
// Input: u8 disk flags (bit0 read-only, bit1 discard, bit2 empty disk),
// u8 sectors - 1, serial (u8 length + bytes), then FuzzGuest steps; the
// device step (op 15) is one virtio-blk request or a backend failure switch.
// Checks beyond ASan/UBSan: the backend's contract (block_backend.h) --
// every access inside [0, size), no write or discard on a read-only disk,
// discards in whole sectors.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/block_device.h"
#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/virtio_spec.h"
#include "disk/block_backend.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/virtio_guest.h"

namespace kuml {
namespace fuzz {
namespace {

class MemBackend : public BlockBackend {
 public:
  MemBackend(uint64_t size, bool read_only, bool discard)
      : data_(size, 0), read_only_(read_only), discard_(discard) {}

  uint64_t size_bytes() const override { return data_.size(); }
  bool read_only() const override { return read_only_; }
  bool supports_discard() const override { return discard_; }

  absl::Status ReadAt(uint64_t offset, absl::Span<uint8_t> dst) override {
    CheckInside(offset, dst.size());
    if (fail_ & 1) return absl::InternalError("injected read error");
    if (!dst.empty())
      std::memcpy(dst.data(), data_.data() + offset, dst.size());
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t offset,
                       absl::Span<const uint8_t> src) override {
    Check(!read_only_);
    CheckInside(offset, src.size());
    if (fail_ & 2) return absl::InternalError("injected write error");
    if (!src.empty())
      std::memcpy(data_.data() + offset, src.data(), src.size());
    return absl::OkStatus();
  }
  absl::Status Flush() override {
    if (fail_ & 4) return absl::InternalError("injected flush error");
    return absl::OkStatus();
  }
  absl::Status Discard(uint64_t offset, uint64_t length) override {
    Check(discard_ && !read_only_);
    Check(offset % kSectorBytes == 0 && length % kSectorBytes == 0);
    CheckInside(offset, length);
    if (fail_ & 8) return absl::InternalError("injected discard error");
    if (length != 0) std::memset(data_.data() + offset, 0, length);
    return absl::OkStatus();
  }

  void set_fail(uint8_t mask) { fail_ = mask; }

 private:
  void CheckInside(uint64_t offset, uint64_t len) const {
    Check(offset <= data_.size() && len <= data_.size() - offset);
  }

  std::vector<uint8_t> data_;
  const bool read_only_;
  const bool discard_;
  uint8_t fail_ = 0;
};

uint64_t PickSector(FuzzInput& in) {
  switch (in.U8() % 4) {
    case 0:
    case 1:
      return in.U8();
    case 2:
      return in.U16();
    default:
      return in.U64();
  }
}

// One request laid out the way Linux's virtio_blk does: header, data in
// `pieces` descriptors, status byte (lengths and types input-chosen).
void BlockRequest(FuzzInput& in, FuzzGuest& g, MemBackend& backend) {
  const uint8_t kind = in.U8();
  if (kind >= 0xf0) {
    backend.set_fail(in.U8());
    return;
  }
  static constexpr uint32_t kTypes[] = {kVirtioBlkTIn, kVirtioBlkTOut,
                                        kVirtioBlkTFlush, kVirtioBlkTGetId,
                                        kVirtioBlkTDiscard};
  VirtioBlkReqHeader h{};
  h.type = kind % 6 < 5 ? kTypes[kind % 6] : in.U32();
  h.sector = PickSector(in);
  std::string header(reinterpret_cast<const char*>(&h), sizeof h);
  if (kind & 0x80) header.resize(in.U8() % 17);  // short header

  std::vector<FuzzGuest::Segment> segs;
  segs.push_back({g.Put(header), static_cast<uint32_t>(header.size()), false});

  const uint8_t shape = in.U8();
  uint32_t len = (shape & 0x80) ? in.U16() : 512u * (shape % 9);
  const int pieces = 1 + (shape >> 4) % 4;
  bool out = h.type == kVirtioBlkTOut || h.type == kVirtioBlkTDiscard;
  if (h.type == kVirtioBlkTDiscard && !(shape & 0x80)) {
    std::string ranges;
    uint8_t n = in.U8() % 36;
    for (uint8_t i = 0; i < n; ++i) {
      VirtioBlkDiscardSegment d{};
      d.sector = PickSector(in);
      d.num_sectors = in.Bool() ? in.U8() : in.U32();
      d.flags = in.U8() < 0xf0 ? 0 : in.U32();
      ranges.append(reinterpret_cast<const char*>(&d), sizeof d);
    }
    len = static_cast<uint32_t>(ranges.size());
    uint64_t gpa = g.Put(ranges);
    segs.push_back({gpa, len, false});
  } else if (len > 0) {
    uint64_t gpa = out ? g.Put(in.Bytes(len)) : g.Reserve(len);
    uint32_t step = len / pieces;
    for (int i = 0; i < pieces; ++i) {
      uint32_t n = i + 1 == pieces ? len - step * i : step;
      segs.push_back({gpa + uint64_t{step} * i, n, !out});
    }
  }
  uint32_t status_len = (shape & 0x08) ? in.U8() % 4 : 1;
  if (status_len) segs.push_back({g.Reserve(status_len), status_len, true});

  const uint8_t how = in.U8();
  g.AddChain(0, segs, how & 1);
  if (!(how & 2)) g.Notify(0, how & 4);
}

}  // namespace
}  // namespace fuzz
}  // namespace kuml

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;        // NOLINT
  using namespace kuml::fuzz;  // NOLINT
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const uint64_t sectors = (flags & 4) ? 0 : 1 + uint64_t{in.U8()};
  std::string serial = in.LengthPrefixed(32);
  auto backend = std::make_shared<MemBackend>(
      sectors * BlockBackend::kSectorBytes, flags & 1, flags & 2);

  FuzzGuest g;
  MmioTransport t(std::make_unique<VirtioBlock>(backend, serial), g.memory(),
                  g.irq());
  g.Attach(&t);
  g.Initialize(in);
  for (int ops = 0; ops < 512 && !in.empty(); ++ops) {
    g.Step(in, [&](FuzzInput& in) { BlockRequest(in, g, *backend); });
  }
  if (Debug()) {
    auto* blk = static_cast<VirtioBlock*>(t.device());
    VirtioBlock::Stats st = blk->stats();
    std::fprintf(stderr,
                 "status %#x reads %lu writes %lu flushes %lu get_ids %lu "
                 "discards %lu unsupported %lu io_errors %lu dropped %lu "
                 "last_error '%s'\n",
                 t.status(), st.reads, st.writes, st.flushes, st.get_ids,
                 st.discards, st.unsupported, st.io_errors, st.dropped,
                 t.last_error().c_str());
  }
  return 0;
}
