// libFuzzer target: one split virtqueue (devices/virtio/virtqueue.cc,
// descriptor_chain.cc) over guest RAM whose descriptor table, rings and
// buffers the input writes, as a hostile driver would.
//
// Input (tests/fuzz/fuzz_input.h encoding):
//   u8 flags   bit0 INDIRECT_DESC, bit1 EVENT_IDX, bit2 RAM above 4 GiB
//              (3 GiB + 64 KiB: two regions), bit3 hostile ring addresses
//   u8 size    bit7 clear: 1 << (size % 9); set: a raw u16 follows
//   [3 x u64 ring addresses when flags bit3]
//   then ops (op byte % 8) until the input ends; see Op below.
// Checks beyond ASan/UBSan: every segment of a popped chain is the guest RAM
// Translate() gives for it, stream sizes add up, the copy helpers return
// what their contract says and ForEach* refuse exactly the out-of-range
// ranges.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "devices/virtio/descriptor_chain.h"
#include "devices/virtio/virtio_spec.h"
#include "devices/virtio/virtqueue.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/guest_memory.h"

namespace kuml {
namespace fuzz {
namespace {

constexpr uint16_t kMaxSize = 256;
constexpr uint64_t kDesc = 0x10000;
constexpr uint64_t kAvail = 0x12000;
constexpr uint64_t kUsed = 0x13000;
constexpr uint64_t kData = 0x20000;  // 128 KiB of buffers
constexpr uint64_t kDataBytes = 0x20000;
// Copies are capped: a chain may name the same RAM many times over.
constexpr uint64_t kMaxCopy = 64 * 1024;

struct State {
  std::unique_ptr<GuestMemory> mem;
  Virtqueue vq{0, kMaxSize};
  uint64_t features = 0;
  uint16_t avail_idx = 0;  // the driver's shadow
  bool big = false;
  uint64_t popped = 0;
};

// A guest address for a descriptor, mostly inside the data area.
uint64_t PickAddress(FuzzInput& in, const State& s) {
  switch (in.U8() % 6) {
    case 0:
    case 1:
    case 2:
      return kData + in.U16() % kDataBytes;
    case 3:  // near the end of RAM / the 3 GiB hole / high RAM
      if (s.big) {
        const uint64_t bases[] = {GuestMemory::kMmioHoleStart,
                                  GuestMemory::kHighRamStart,
                                  GuestMemory::kHighRamStart + 0x10000};
        const uint64_t base = bases[in.U8() % 3];
        return base - 0x800 + in.U16() % 0x1000;
      }
      return s.mem->ram_bytes() - 0x800 + in.U16() % 0x1000;
    case 4:  // the rings themselves
      return kDesc + in.U16() % 0x4000;
    default:
      return in.U64();
  }
}

uint32_t PickLength(FuzzInput& in) {
  switch (in.U8() % 4) {
    case 0:
    case 1:
      return in.U8();
    case 2:
      return in.U16();
    default:
      return in.U32();
  }
}

void CheckSegments(const GuestMemory& mem, const DescriptorChain::Segments& v,
                   uint64_t expect_total) {
  uint64_t total = 0;
  for (const GuestSegment& seg : v) {
    Check(seg.len != 0);
    absl::StatusOr<uint8_t*> host = mem.Translate(seg.gpa, seg.len);
    Check(host.ok() && *host == seg.host);
    total += seg.len;
  }
  Check(total == expect_total);
}

void Exercise(FuzzInput& in, State& s, const DescriptorChain& c) {
  Check(c.head() < s.vq.size());
  CheckSegments(*s.mem, c.readable(), c.readable_bytes());
  CheckSegments(*s.mem, c.writable(), c.writable_bytes());
  Check(c.readable_bytes() + c.writable_bytes() <= UINT32_MAX);

  // Whole (capped) readable stream, then an input-chosen window.
  std::vector<uint8_t> buf(std::min(c.readable_bytes(), kMaxCopy));
  Check(c.CopyFromReadable(0, absl::MakeSpan(buf)) == buf.size());
  uint64_t off = in.U32() % (c.readable_bytes() + 2);
  std::vector<uint8_t> win(in.U16() % 4096);
  uint64_t want =
      off >= c.readable_bytes()
          ? 0
          : std::min<uint64_t>(win.size(), c.readable_bytes() - off);
  Check(c.CopyFromReadable(off, absl::MakeSpan(win)) == want);

  // Writable: a pattern at an input-chosen offset.
  off = in.U32() % (c.writable_bytes() + 2);
  std::vector<uint8_t> pat(std::min<uint64_t>(in.U16(), kMaxCopy), 0xa5);
  want = off >= c.writable_bytes()
             ? 0
             : std::min<uint64_t>(pat.size(), c.writable_bytes() - off);
  Check(c.CopyToWritable(off, absl::MakeConstSpan(pat)) == want);

  // ForEach*: OK exactly when the range is inside, pieces add up.
  uint64_t fo = in.U32(), fl = in.U32();
  if (in.Bool()) fo %= c.readable_bytes() + 1;
  if (in.Bool()) fl %= c.readable_bytes() + 1;
  uint64_t seen = 0;
  absl::Status st = c.ForEachReadable(fo, fl, [&](absl::Span<const uint8_t> p) {
    Check(!p.empty());
    seen += p.size();
    volatile uint8_t first = p.front(), last = p.back();  // touch both ends
    (void)first;
    (void)last;
    return absl::OkStatus();
  });
  bool inside = fo <= c.readable_bytes() && fl <= c.readable_bytes() - fo;
  Check(st.ok() == inside);
  if (inside) Check(seen == fl);

  fo = in.U32() % (c.writable_bytes() + 1);
  fl = in.U32() % (c.writable_bytes() + 1);
  seen = 0;
  st = c.ForEachWritable(fo, fl, [&](absl::Span<uint8_t> p) {
    Check(!p.empty());
    seen += p.size();
    p.front() = 0x5a;
    p.back() = 0x5a;
    return absl::OkStatus();
  });
  inside = fo <= c.writable_bytes() && fl <= c.writable_bytes() - fo;
  Check(st.ok() == inside);
  if (inside) Check(seen == fl);
}

void Configure(FuzzInput& in, State& s, bool hostile) {
  uint8_t size = in.U8();
  s.vq.set_size((size & 0x80) ? in.U16() : (1u << (size % 9)));
  if (hostile) {
    s.vq.set_desc_gpa(in.U64());
    s.vq.set_avail_gpa(in.U64());
    s.vq.set_used_gpa(in.U64());
  } else {
    s.vq.set_desc_gpa(kDesc);
    s.vq.set_avail_gpa(kAvail);
    s.vq.set_used_gpa(kUsed);
  }
  s.avail_idx = 0;
  absl::Status st = s.vq.Enable(s.mem.get(), s.features);
  Check(st.ok() == s.vq.ready());
}

}  // namespace
}  // namespace fuzz
}  // namespace kuml

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuml;        // NOLINT
  using namespace kuml::fuzz;  // NOLINT
  FuzzInput in(data, size);
  State s;
  const uint8_t flags = in.U8();
  if (flags & 1) s.features |= kVirtioFRingIndirectDesc;
  if (flags & 2) s.features |= kVirtioFRingEventIdx;
  s.big = (flags & 4) != 0;
  auto mem = GuestMemory::Create(s.big ? GuestMemory::kMmioHoleStart + 0x10000
                                       : (1 << 20));
  Check(mem.ok());
  s.mem = std::move(*mem);
  Configure(in, s, (flags & 8) != 0);

  for (int ops = 0; ops < 512 && !in.empty(); ++ops) {
    const uint32_t q = s.vq.size() ? s.vq.size() : 1;
    switch (in.U8() % 8) {
      case 0: {  // raw bytes into one of the areas
        const uint64_t bases[] = {kDesc, kAvail, kUsed, kData};
        uint64_t gpa = bases[in.U8() % 4] + in.U16() % 0x2000;
        std::string bytes = in.LengthPrefixed(255);
        s.mem->Write(gpa, bytes.data(), bytes.size()).IgnoreError();
        break;
      }
      case 1: {  // one descriptor
        uint16_t index = in.U16() % q;
        VirtqDesc d;
        d.addr = PickAddress(in, s);
        d.len = PickLength(in);
        d.flags = in.U16();
        d.next = in.U16();
        if (in.Bool()) d.next %= q;
        s.mem->WriteObject(kDesc + 16 * uint64_t{index}, d).IgnoreError();
        break;
      }
      case 2: {  // an indirect table in the data area
        uint64_t gpa = kData + (in.U16() % kDataBytes & ~uint64_t{15});
        uint8_t n = in.U8() % 16;
        for (uint8_t i = 0; i < n; ++i) {
          VirtqDesc d;
          d.addr = PickAddress(in, s);
          d.len = PickLength(in);
          d.flags = in.U8() & 7;
          d.next = in.U8() % (n + 1);
          s.mem->WriteObject(gpa + 16 * uint64_t{i}, d).IgnoreError();
        }
        break;
      }
      case 3: {  // publish a head
        uint16_t head = in.U16();
        if (in.Bool()) head %= q;
        s.mem->WriteObject<uint16_t>(kAvail + 4 + 2 * (s.avail_idx % q), head)
            .IgnoreError();
        ++s.avail_idx;
        s.mem->WriteObject<uint16_t>(kAvail + 2, s.avail_idx).IgnoreError();
        break;
      }
      case 4: {  // avail idx / flags / used_event, raw
        uint8_t which = in.U8() % 3;
        uint16_t v = in.U16();
        uint64_t gpa = which == 0   ? kAvail + 2
                       : which == 1 ? kAvail
                                    : kAvail + 4 + 2 * uint64_t{q};
        if (which == 0) s.avail_idx = v;
        s.mem->WriteObject<uint16_t>(gpa, v).IgnoreError();
        break;
      }
      case 5: {  // the device's loop: pop everything, serve, complete
        int budget = 1 + in.U8();
        bool exercise = in.Bool();
        while (budget-- > 0) {
          absl::optional<DescriptorChain> c = s.vq.Pop();
          if (!c) break;
          ++s.popped;
          if (exercise) Exercise(in, s, *c);
          uint64_t len = in.Bool() ? in.U32() : c->writable_bytes();
          s.vq.AddUsed(c->head(), static_cast<uint32_t>(len));
        }
        (void)s.vq.NeedsInterrupt();
        if (s.vq.broken()) Check(!s.vq.Pop().has_value());
        break;
      }
      case 6: {  // driver/transport: disable, re-enable, reset
        switch (in.U8() % 3) {
          case 0:
            s.vq.Disable();
            Check(!s.vq.Pop().has_value());
            break;
          case 1:
            Check(s.vq.Enable(s.mem.get(), s.features).ok() == s.vq.ready());
            s.avail_idx = 0;
            break;
          default:
            s.vq.Reset();
            Check(!s.vq.ready() && s.vq.size() == kMaxSize);
            Configure(in, s, in.Bool());
            break;
        }
        break;
      }
      default: {  // a device completing a head it never popped
        const uint16_t head = in.U16();
        s.vq.AddUsed(head, in.U32());
        (void)s.vq.NeedsInterrupt();
        break;
      }
    }
  }
  if (Debug()) {
    std::fprintf(stderr, "ready %d broken %d malformed %lu popped %lu '%s'\n",
                 s.vq.ready(), s.vq.broken(), s.vq.malformed_chains(), s.popped,
                 s.vq.last_error().c_str());
  }
  return 0;
}
