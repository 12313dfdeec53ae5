#include "devices/virtio/block_device.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "devices/virtio/virtio_spec.h"

namespace kuml {
namespace {

constexpr uint64_t kSector = BlockBackend::kSectorBytes;

// Config space offsets (spec 5.2.4).
constexpr size_t kCfgCapacity = 0;
constexpr size_t kCfgSegMax = 12;
constexpr size_t kCfgBlkSize = 20;
constexpr size_t kCfgMaxDiscardSectors = 36;
constexpr size_t kCfgMaxDiscardSeg = 40;
constexpr size_t kCfgDiscardSectorAlignment = 44;

template <typename T>
void PutLe(std::array<uint8_t, VirtioBlock::kConfigBytes>& cfg, size_t at,
           T value) {
  std::memcpy(cfg.data() + at, &value, sizeof value);  // host is LE
}

}  // namespace

VirtioBlock::VirtioBlock(std::shared_ptr<BlockBackend> backend,
                         std::string serial, std::optional<uint32_t> ubd_index)
    : backend_(std::move(backend)),
      serial_(serial.substr(0, kVirtioBlkIdBytes)),
      features_(kVirtioFVersion1 | kVirtioFRingIndirectDesc |
                kVirtioFRingEventIdx | kVirtioBlkFSegMax | kVirtioBlkFBlkSize |
                kVirtioBlkFFlush | (backend_->read_only() ? kVirtioBlkFRo : 0) |
                (backend_->supports_discard() && !backend_->read_only()
                     ? kVirtioBlkFDiscard
                     : 0)) {
  PutLe<uint64_t>(config_, kCfgCapacity, backend_->size_bytes() / kSector);
  PutLe<uint32_t>(config_, kCfgSegMax, kSegMax);
  PutLe<uint32_t>(config_, kCfgBlkSize, kSector);
  if (features_ & kVirtioBlkFDiscard) {
    PutLe<uint32_t>(config_, kCfgMaxDiscardSectors, kMaxDiscardSectors);
    PutLe<uint32_t>(config_, kCfgMaxDiscardSeg, kMaxDiscardSegments);
    PutLe<uint32_t>(config_, kCfgDiscardSectorAlignment,
                    kDiscardAlignmentSectors);
  }
  if (ubd_index.has_value()) {
    PutLe<uint32_t>(config_, kCfgUbdMagic, kUbdMagic);
    PutLe<uint32_t>(config_, kCfgUbdIndex, *ubd_index);
  }
}

uint32_t VirtioBlock::device_type() const { return kVirtioIdBlock; }

VirtioBlock::Stats VirtioBlock::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void VirtioBlock::ReadConfig(uint64_t offset, uint8_t* data, uint32_t size) {
  std::memset(data, 0, size);
  if (offset >= config_.size()) return;
  uint64_t n = std::min<uint64_t>(size, config_.size() - offset);
  std::memcpy(data, config_.data() + offset, n);
}

void VirtioBlock::WriteConfig(uint64_t, const uint8_t*, uint32_t) {
  // Every field we expose is read-only (no CONFIG_WCE).
}

absl::Status VirtioBlock::Activate(VirtioActivation activation) {
  if (activation.queues.size() != 1 || !activation.queues[0]->ready()) {
    return absl::FailedPreconditionError(
        "virtio-blk: request queue 0 was not set up");
  }
  absl::MutexLock lock(&mu_);
  queue_ = activation.queues[0];
  interrupt_ = activation.interrupt;
  notify_again_ = activation.notify_again;
  reported_broken_ = false;
  active_ = true;
  return absl::OkStatus();
}

void VirtioBlock::Reset() {
  absl::MutexLock lock(&mu_);
  active_ = false;
  queue_ = nullptr;
  interrupt_ = nullptr;
  notify_again_ = nullptr;
}

void VirtioBlock::QueueNotify(uint16_t index) {
  absl::MutexLock lock(&mu_);
  if (!active_ || index != 0) return;
  int budget = notify_again_ ? kRequestsPerNotify : -1;
  while (budget != 0) {
    absl::optional<DescriptorChain> chain = queue_->Pop();
    if (!chain) break;
    queue_->AddUsed(chain->head(), Serve(*chain));
    if (budget > 0) --budget;
  }
  if (budget == 0) notify_again_(index);  // maybe more: after the others
  if (queue_->broken() && !reported_broken_) {
    reported_broken_ = true;
    interrupt_->SignalNeedsReset(queue_->last_error());
  }
  if (queue_->NeedsInterrupt()) interrupt_->SignalUsedBuffers();
}

uint8_t VirtioBlock::CheckRange(uint64_t sector, uint64_t len,
                                uint64_t* offset) const {
  uint64_t disk = backend_->size_bytes();
  if (len % kSector != 0 || sector > disk / kSector) return kVirtioBlkSIoErr;
  *offset = sector * kSector;  // cannot overflow: sector <= disk / 512
  if (len > disk - *offset) return kVirtioBlkSIoErr;
  return kVirtioBlkSOk;
}

uint8_t VirtioBlock::ServeDiscard(const DescriptorChain& chain,
                                  uint64_t data_out) {
  constexpr uint64_t kSegBytes = sizeof(VirtioBlkDiscardSegment);
  if (data_out == 0 || data_out % kSegBytes != 0 ||
      data_out / kSegBytes > kMaxDiscardSegments) {
    return kVirtioBlkSIoErr;
  }
  VirtioBlkDiscardSegment segs[kMaxDiscardSegments];
  const uint64_t n = data_out / kSegBytes;
  if (chain.CopyFromReadable(sizeof(VirtioBlkReqHeader),
                             absl::MakeSpan(reinterpret_cast<uint8_t*>(segs),
                                            n * kSegBytes)) != n * kSegBytes) {
    return kVirtioBlkSIoErr;
  }
  // All ranges are checked before any is applied: a bad request discards
  // nothing.
  for (uint64_t i = 0; i < n; ++i) {
    if (segs[i].flags != 0) return kVirtioBlkSUnsupp;
    uint64_t offset = 0;
    if (segs[i].num_sectors > kMaxDiscardSectors ||
        CheckRange(segs[i].sector, uint64_t{segs[i].num_sectors} * kSector,
                   &offset) != kVirtioBlkSOk) {
      return kVirtioBlkSIoErr;
    }
  }
  for (uint64_t i = 0; i < n; ++i) {
    if (!backend_
             ->Discard(segs[i].sector * kSector,
                       uint64_t{segs[i].num_sectors} * kSector)
             .ok()) {
      return kVirtioBlkSIoErr;
    }
  }
  return kVirtioBlkSOk;
}

uint32_t VirtioBlock::Serve(const DescriptorChain& chain) {
  VirtioBlkReqHeader header;
  if (chain.readable_bytes() < sizeof header || chain.writable_bytes() < 1) {
    ++stats_.dropped;
    return 0;
  }
  // Copy the header out first: the guest may change its buffer meanwhile.
  chain.CopyFromReadable(
      0, absl::MakeSpan(reinterpret_cast<uint8_t*>(&header), sizeof header));
  // The status byte is the last writable byte; data comes before it.
  const uint64_t data_in = chain.writable_bytes() - 1;
  const uint64_t data_out = chain.readable_bytes() - sizeof header;

  uint8_t status = kVirtioBlkSOk;
  uint64_t written = 0;  // data bytes written into guest buffers
  uint64_t offset = 0;
  switch (header.type) {
    case kVirtioBlkTIn: {
      ++stats_.reads;
      status = CheckRange(header.sector, data_in, &offset);
      if (status != kVirtioBlkSOk) break;
      absl::Status s = chain.ForEachWritable(
          0, data_in, [this, &offset](absl::Span<uint8_t> piece) {
            absl::Status r = backend_->ReadAt(offset, piece);
            offset += piece.size();
            return r;
          });
      if (s.ok()) {
        written = data_in;
      } else {
        status = kVirtioBlkSIoErr;
      }
      break;
    }
    case kVirtioBlkTOut: {
      ++stats_.writes;
      if (backend_->read_only()) {
        status = kVirtioBlkSIoErr;
        break;
      }
      status = CheckRange(header.sector, data_out, &offset);
      if (status != kVirtioBlkSOk) break;
      absl::Status s = chain.ForEachReadable(
          sizeof header, data_out,
          [this, &offset](absl::Span<const uint8_t> piece) {
            absl::Status r = backend_->WriteAt(offset, piece);
            offset += piece.size();
            return r;
          });
      if (!s.ok()) status = kVirtioBlkSIoErr;
      break;
    }
    case kVirtioBlkTFlush:
      ++stats_.flushes;
      if (!backend_->Flush().ok()) status = kVirtioBlkSIoErr;
      break;
    case kVirtioBlkTGetId: {
      ++stats_.get_ids;
      uint8_t id[kVirtioBlkIdBytes] = {};
      std::memcpy(id, serial_.data(), serial_.size());
      uint64_t n = std::min<uint64_t>(data_in, sizeof id);
      written = chain.CopyToWritable(0, absl::MakeConstSpan(id, n));
      break;
    }
    case kVirtioBlkTDiscard:
      if (!(features_ & kVirtioBlkFDiscard)) {
        ++stats_.unsupported;
        status = kVirtioBlkSUnsupp;
        break;
      }
      ++stats_.discards;
      status = ServeDiscard(chain, data_out);
      break;
    default:
      ++stats_.unsupported;
      status = kVirtioBlkSUnsupp;
      break;
  }
  if (status == kVirtioBlkSIoErr) ++stats_.io_errors;
  chain.CopyToWritable(data_in, absl::MakeConstSpan(&status, 1));
  return static_cast<uint32_t>(written + 1);
}

}  // namespace kuml
