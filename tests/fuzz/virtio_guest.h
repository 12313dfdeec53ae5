// FuzzGuest: a hostile virtio-mmio driver for the device fuzzers
// (mmio_blk, virtio_console, virtio_net). It programs an MmioTransport
// through its register file and lays out split virtqueues in guest RAM, all
// decided by the fuzzer's input: register reads/writes (any offset, size and
// value), a Linux-like bring-up with input-chosen features and queue sizes,
// raw and well-formed descriptor chains, avail-ring games, notifications
// (MMIO write or MmioTransport::NotifyQueue), interrupt acks and resets.
// Device-specific operations (a virtio-blk request, console input, a
// received frame) are left to the harness through a callback.
//
// Layout of the 1 MiB of guest RAM: queue i (< 12) at 0x10000 + i * 0x2000
// (descriptors +0, avail ring +0x1000, used ring +0x1400, room for 256
// entries), buffers in [0x40000, 0x80000).
#ifndef KUML_TESTS_FUZZ_VIRTIO_GUEST_H_
#define KUML_TESTS_FUZZ_VIRTIO_GUEST_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/mmio_transport.h"
#include "devices/virtio/virtio_device.h"
#include "devices/virtio/virtio_spec.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/guest_memory.h"
#include "vmm/interrupt_line.h"

namespace kuml {
namespace fuzz {

// Level line: counts calls, nothing else (the transport may call it from
// any thread; the fuzzers are single-threaded).
class CountingLine : public InterruptLine {
 public:
  void SetLevel(bool high) override {
    level_ = high;
    ++calls_;
  }
  bool level() const { return level_; }

 private:
  bool level_ = false;
  uint64_t calls_ = 0;
};

class FuzzGuest {
 public:
  static constexpr uint64_t kRamBytes = 1 << 20;
  static constexpr uint64_t kQueueBase = 0x10000;
  static constexpr uint64_t kQueueStride = 0x2000;
  static constexpr uint64_t kData = 0x40000;
  static constexpr uint64_t kDataBytes = 0x40000;
  static constexpr int kMaxQueues = 12;

  struct Segment {
    uint64_t gpa;
    uint32_t len;
    bool device_writes;
  };

  // A fresh guest RAM; Attach() the transport built over memory() next.
  FuzzGuest() {
    auto m = GuestMemory::Create(kRamBytes);
    Check(m.ok());
    mem_ = std::move(*m);
  }

  GuestMemory* memory() { return mem_.get(); }
  CountingLine* irq() { return &irq_; }

  void Attach(MmioTransport* t) {
    t_ = t;
    t_->SetNotifyAgain([this](uint16_t q) {
      if (again_.size() < 1024) again_.push_back(q);
    });
    nq_ = std::min<int>(t_->device()->num_queues(), kMaxQueues);
    queues_.assign(nq_, Queue{});
  }

  int num_queues() const { return nq_; }

  // ---- register file ----
  uint32_t Read32(uint64_t off) {
    uint32_t v = 0;
    t_->Read(off, reinterpret_cast<uint8_t*>(&v), 4);
    return v;
  }
  void Write32(uint64_t off, uint32_t v) {
    t_->Write(off, reinterpret_cast<const uint8_t*>(&v), 4);
  }

  // Linux's bring-up, with the input choosing what is accepted and which
  // queues are set up how.
  void Initialize(FuzzInput& in) {
    Write32(0x070, 0);
    Write32(0x070, kVirtioStatusAcknowledge);
    Write32(0x070, kVirtioStatusAcknowledge | kVirtioStatusDriver);
    Write32(0x014, 1);
    uint64_t offered = uint64_t{Read32(0x010)} << 32;
    Write32(0x014, 0);
    offered |= Read32(0x010);
    uint64_t want;
    switch (in.U8() % 4) {
      case 0:
        want = offered;
        break;
      case 1:
        want = offered & (in.U64() | kVirtioFVersion1);
        break;
      case 2:
        want = offered & ~(kVirtioFRingIndirectDesc | kVirtioFRingEventIdx);
        break;
      default:
        want = in.U64();  // may be refused
        break;
    }
    Write32(0x024, 1);
    Write32(0x020, static_cast<uint32_t>(want >> 32));
    Write32(0x024, 0);
    Write32(0x020, static_cast<uint32_t>(want));
    Write32(0x070, kVirtioStatusAcknowledge | kVirtioStatusDriver |
                       kVirtioStatusFeaturesOk);
    for (int q = 0; q < nq_; ++q) {
      uint8_t how = in.U8();
      if ((how & 0xc0) == 0xc0) continue;  // leave this queue alone
      Write32(0x030, q);
      uint32_t max = Read32(0x034);
      uint32_t size = 1u << (how % 9);
      if (max != 0 && size > max) size = max;
      if (how & 0x20) size = in.U16();  // raw, maybe refused
      SetupQueue(q, size);
    }
    if (in.U8() % 8 != 0) {
      Write32(0x070, Read32(0x070) | kVirtioStatusDriverOk);
    }
  }

  void SetupQueue(int q, uint32_t size) {
    Queue& s = queues_[q];
    s = Queue{};
    s.size = size;
    const uint64_t base = kQueueBase + kQueueStride * q;
    mem_->Zero(base, kQueueStride).IgnoreError();
    Write32(0x038, size);
    Write32(0x080, static_cast<uint32_t>(base));
    Write32(0x084, 0);
    Write32(0x090, static_cast<uint32_t>(base + 0x1000));
    Write32(0x094, 0);
    Write32(0x0a0, static_cast<uint32_t>(base + 0x1400));
    Write32(0x0a4, 0);
    Write32(0x044, 1);
  }

  // ---- guest memory helpers ----
  // Copies `bytes` into the buffer area (bump allocator, wraps) and returns
  // its address.
  uint64_t Put(const std::string& bytes) {
    uint64_t n = (bytes.size() + 15) & ~uint64_t{15};
    if (n > kDataBytes) n = kDataBytes;
    if (next_ + n > kDataBytes) next_ = 0;
    uint64_t gpa = kData + next_;
    next_ += n ? n : 16;
    mem_->Write(gpa, bytes.data(), std::min<uint64_t>(bytes.size(), n))
        .IgnoreError();
    return gpa;
  }
  uint64_t Reserve(uint32_t len) { return Put(std::string(len, '\0')); }

  // Writes the chain into the queue's next descriptors (or an indirect
  // table) and publishes it; returns the head.
  uint16_t AddChain(int q, const std::vector<Segment>& segs, bool indirect,
                    bool publish = true) {
    Queue& s = queues_[q];
    const uint32_t size = QueueSize(q);
    const uint64_t desc = kQueueBase + kQueueStride * q;
    uint16_t head = static_cast<uint16_t>(s.next_desc % size);
    if (indirect && !segs.empty()) {
      uint64_t table = Reserve(static_cast<uint32_t>(16 * segs.size()));
      for (size_t i = 0; i < segs.size(); ++i) {
        bool last = i + 1 == segs.size();
        VirtqDesc d{segs[i].gpa, segs[i].len,
                    static_cast<uint16_t>(
                        (segs[i].device_writes ? kVirtqDescFWrite : 0) |
                        (last ? 0 : kVirtqDescFNext)),
                    static_cast<uint16_t>(last ? 0 : i + 1)};
        mem_->WriteObject(table + 16 * i, d).IgnoreError();
      }
      VirtqDesc d{table, static_cast<uint32_t>(16 * segs.size()),
                  kVirtqDescFIndirect, 0};
      mem_->WriteObject(desc + 16 * uint64_t{head}, d).IgnoreError();
      s.next_desc = (s.next_desc + 1) % size;
    } else {
      for (size_t i = 0; i < segs.size(); ++i) {
        uint16_t index = static_cast<uint16_t>(s.next_desc % size);
        s.next_desc = (s.next_desc + 1) % size;
        bool last = i + 1 == segs.size();
        VirtqDesc d{segs[i].gpa, segs[i].len,
                    static_cast<uint16_t>(
                        (segs[i].device_writes ? kVirtqDescFWrite : 0) |
                        (last ? 0 : kVirtqDescFNext)),
                    static_cast<uint16_t>(last ? 0 : s.next_desc % size)};
        mem_->WriteObject(desc + 16 * uint64_t{index}, d).IgnoreError();
      }
    }
    if (publish) Publish(q, head);
    return head;
  }

  void Publish(int q, uint16_t head) {
    Queue& s = queues_[q];
    const uint64_t avail = kQueueBase + kQueueStride * q + 0x1000;
    mem_->WriteObject<uint16_t>(avail + 4 + 2 * (s.avail_idx % QueueSize(q)),
                                head)
        .IgnoreError();
    ++s.avail_idx;
    mem_->WriteObject<uint16_t>(avail + 2, s.avail_idx).IgnoreError();
  }

  // The driver kicks queue q: a register write or the ioeventfd path, then
  // whatever the device asked to have re-notified.
  void Notify(uint32_t q, bool mmio) {
    if (mmio) {
      Write32(0x050, q);
    } else {
      t_->NotifyQueue(q);
    }
    for (int rounds = 0; rounds < 64 && !again_.empty(); ++rounds) {
      std::vector<uint16_t> now;
      now.swap(again_);
      for (uint16_t a : now) t_->NotifyQueue(a);
    }
    again_.clear();
  }

  // One generic operation; `device_op` gets the input for op 15.
  void Step(FuzzInput& in, const std::function<void(FuzzInput&)>& device_op) {
    static constexpr uint16_t kRegs[] = {
        0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030,
        0x034, 0x038, 0x044, 0x050, 0x060, 0x064, 0x070, 0x080, 0x084,
        0x090, 0x094, 0x0a0, 0x0a4, 0x0b0, 0x0b4, 0x0fc, 0x100};
    const uint8_t op = in.U8();
    const int q = nq_ ? (in.U8() % nq_) : 0;
    switch (op % 16) {
      case 0: {  // a register write
        constexpr size_t kN = sizeof(kRegs) / sizeof(kRegs[0]);
        uint8_t r = in.U8();
        uint64_t off = r < 240 ? kRegs[r % kN] : in.U16() % 0x1000;
        Write32(off, in.U32());
        break;
      }
      case 1: {  // any access of any size
        uint64_t off = in.U16() % 0x1100;
        static constexpr uint32_t kSizes[] = {1, 2, 4, 8};
        uint32_t sz = kSizes[in.U8() % 4];
        uint8_t buf[8];
        if (in.Bool()) {
          uint64_t v = in.U64();
          std::memcpy(buf, &v, 8);
          t_->Write(off, buf, sz);
        } else {
          t_->Read(off, buf, sz);
        }
        break;
      }
      case 2: {  // config space
        uint64_t off = 0x100 + in.U8();
        uint8_t buf[8];
        uint32_t sz = 1u << (in.U8() % 4);
        if (in.Bool()) {
          uint64_t v = in.U64();
          std::memcpy(buf, &v, 8);
          t_->Write(off, buf, sz);
        } else {
          t_->Read(off, buf, sz);
        }
        break;
      }
      case 3:
        Initialize(in);
        break;
      case 4: {  // raw bytes into the buffer area
        uint64_t gpa = kData + in.U32() % kDataBytes;
        std::string bytes = in.LengthPrefixed(4096, true);
        mem_->Write(gpa, bytes.data(), bytes.size()).IgnoreError();
        break;
      }
      case 5: {  // a chain of input-chosen buffers
        uint8_t n = 1 + in.U8() % 8;
        std::vector<Segment> segs;
        for (uint8_t i = 0; i < n; ++i) {
          Segment s;
          uint8_t mode = in.U8();
          s.len = (mode & 0x10) ? in.U16() : in.U8();
          s.device_writes = mode & 1;
          s.gpa = (mode & 0x20)   ? in.U64()
                  : (mode & 0x40) ? Put(in.Bytes(s.len))
                                  : kData + in.U32() % kDataBytes;
          segs.push_back(s);
        }
        uint8_t flags = in.U8();
        AddChain(q, segs, flags & 1, !(flags & 2));
        if (flags & 4) Notify(q, flags & 8);
        break;
      }
      case 6: {  // one raw descriptor
        VirtqDesc d;
        uint16_t index = in.U16();
        d.addr = in.Bool() ? in.U64() : kData + in.U32() % kDataBytes;
        d.len = in.U32();
        d.flags = in.U16();
        d.next = in.U16();
        const uint64_t desc = kQueueBase + kQueueStride * q;
        mem_->WriteObject(desc + 16 * (uint64_t{index} % 256), d).IgnoreError();
        break;
      }
      case 7: {  // avail ring games
        const uint64_t avail = kQueueBase + kQueueStride * q + 0x1000;
        uint16_t v = in.U16();
        switch (in.U8() % 4) {
          case 0:
            Publish(q, v);
            break;
          case 1:
            queues_[q].avail_idx = v;
            mem_->WriteObject<uint16_t>(avail + 2, v).IgnoreError();
            break;
          case 2:
            mem_->WriteObject<uint16_t>(avail, v).IgnoreError();  // flags
            break;
          default:  // used_event
            mem_->WriteObject<uint16_t>(avail + 4 + 2 * uint64_t{QueueSize(q)},
                                        v)
                .IgnoreError();
            break;
        }
        break;
      }
      case 8:
      case 9: {  // notify
        uint8_t how = in.U8();
        Notify((how & 0x80) ? in.U32() : q, how & 1);
        break;
      }
      case 10: {  // interrupt handler
        uint32_t status = Read32(0x060);
        Write32(0x064, in.Bool() ? in.U32() : status);
        break;
      }
      case 11: {  // reset
        if (in.Bool()) {
          Write32(0x070, 0);
        } else {
          t_->Reset();
        }
        for (Queue& s : queues_) s = Queue{};
        break;
      }
      case 12: {  // status register, any value
        Write32(0x070, in.U8());
        break;
      }
      case 13: {  // reconfigure one queue (may be refused: frozen, ready)
        Write32(0x030, in.Bool() ? q : in.U32());
        if (in.Bool()) Write32(0x044, 0);
        SetupQueue(q, in.Bool() ? in.U16() : 1u << (in.U8() % 9));
        break;
      }
      default:
        device_op(in);
        break;
    }
  }

  uint32_t QueueSize(int q) const {
    uint32_t s = queues_[q].size;
    return s == 0 || s > 256 ? 256 : s;
  }

 private:
  struct Queue {
    uint32_t size = 0;  // as written to QueueNum
    uint16_t avail_idx = 0;
    uint32_t next_desc = 0;
  };

  std::unique_ptr<GuestMemory> mem_;
  CountingLine irq_;
  MmioTransport* t_ = nullptr;
  int nq_ = 0;
  std::vector<Queue> queues_;
  std::vector<uint16_t> again_;
  uint64_t next_ = 0;
};

}  // namespace fuzz
}  // namespace kuml

#endif  // KUML_TESTS_FUZZ_VIRTIO_GUEST_H_
