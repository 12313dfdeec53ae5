// Constants from the virtio 1.x specification (split virtqueues, the
// virtio-mmio transport, virtio-blk, virtio-net) and the in-memory ring
// layouts. Every multi-byte field is little-endian in guest memory; kuml runs
// on x86-64 only, so host order is the same (checked below).
#ifndef KUML_DEVICES_VIRTIO_VIRTIO_SPEC_H_
#define KUML_DEVICES_VIRTIO_VIRTIO_SPEC_H_

#include <cstdint>

namespace kuml {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "virtio rings are little-endian; kuml assumes a LE host");

// Device status bits (spec 2.1).
constexpr uint32_t kVirtioStatusAcknowledge = 1;
constexpr uint32_t kVirtioStatusDriver = 2;
constexpr uint32_t kVirtioStatusDriverOk = 4;
constexpr uint32_t kVirtioStatusFeaturesOk = 8;
constexpr uint32_t kVirtioStatusNeedsReset = 64;
constexpr uint32_t kVirtioStatusFailed = 128;

// Device-independent feature bits (spec 6).
constexpr uint64_t kVirtioFRingIndirectDesc = 1ull << 28;
constexpr uint64_t kVirtioFRingEventIdx = 1ull << 29;
constexpr uint64_t kVirtioFVersion1 = 1ull << 32;

// Device types (spec 5).
constexpr uint32_t kVirtioIdNet = 1;
constexpr uint32_t kVirtioIdBlock = 2;
constexpr uint32_t kVirtioIdConsole = 3;

// Split virtqueue descriptor flags (spec 2.7.5).
constexpr uint16_t kVirtqDescFNext = 1;
constexpr uint16_t kVirtqDescFWrite = 2;
constexpr uint16_t kVirtqDescFIndirect = 4;
// Driver -> device: "don't interrupt me" (when EVENT_IDX is not negotiated).
constexpr uint16_t kVirtqAvailFNoInterrupt = 1;
// Device -> driver: "don't notify me" (when EVENT_IDX is not negotiated).
constexpr uint16_t kVirtqUsedFNoNotify = 1;

// The largest queue size a split virtqueue may have.
constexpr uint32_t kVirtqMaxSize = 32768;

// One entry of the descriptor table, exactly as in guest memory.
struct VirtqDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
static_assert(sizeof(VirtqDesc) == 16, "virtq_desc is 16 bytes");

// One entry of the used ring.
struct VirtqUsedElem {
  uint32_t id;
  uint32_t len;
};
static_assert(sizeof(VirtqUsedElem) == 8, "virtq_used_elem is 8 bytes");

// Byte sizes and alignments of the three areas of a split queue of `n`
// entries (spec 2.7): the event-index fields are always counted, whether or
// not VIRTIO_F_EVENT_IDX is negotiated (Linux allocates them either way).
constexpr uint64_t VirtqDescTableBytes(uint64_t n) { return 16 * n; }
constexpr uint64_t VirtqAvailRingBytes(uint64_t n) { return 6 + 2 * n; }
constexpr uint64_t VirtqUsedRingBytes(uint64_t n) { return 6 + 8 * n; }
constexpr uint64_t kVirtqDescTableAlign = 16;
constexpr uint64_t kVirtqAvailRingAlign = 2;
constexpr uint64_t kVirtqUsedRingAlign = 4;

// virtio-blk (spec 5.2).
constexpr uint64_t kVirtioBlkFSegMax = 1ull << 2;
constexpr uint64_t kVirtioBlkFRo = 1ull << 5;
constexpr uint64_t kVirtioBlkFBlkSize = 1ull << 6;
constexpr uint64_t kVirtioBlkFFlush = 1ull << 9;
constexpr uint64_t kVirtioBlkFDiscard = 1ull << 13;

constexpr uint32_t kVirtioBlkTIn = 0;
constexpr uint32_t kVirtioBlkTOut = 1;
constexpr uint32_t kVirtioBlkTFlush = 4;
constexpr uint32_t kVirtioBlkTGetId = 8;
constexpr uint32_t kVirtioBlkTDiscard = 11;

constexpr uint8_t kVirtioBlkSOk = 0;
constexpr uint8_t kVirtioBlkSIoErr = 1;
constexpr uint8_t kVirtioBlkSUnsupp = 2;

constexpr uint32_t kVirtioBlkIdBytes = 20;

// The request header the driver puts first in every virtio-blk chain.
struct VirtioBlkReqHeader {
  uint32_t type;
  uint32_t reserved;  // ioprio in legacy drivers; ignored
  uint64_t sector;
};
static_assert(sizeof(VirtioBlkReqHeader) == 16, "virtio_blk_req header");

// One range of a DISCARD (or WRITE_ZEROES) request's data.
struct VirtioBlkDiscardSegment {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;  // bit 0: unmap (WRITE_ZEROES only)
};
static_assert(sizeof(VirtioBlkDiscardSegment) == 16,
              "virtio_blk_discard_write_zeroes");

// virtio-net (spec 5.1).
constexpr uint64_t kVirtioNetFCsum = 1ull << 0;
constexpr uint64_t kVirtioNetFGuestCsum = 1ull << 1;
constexpr uint64_t kVirtioNetFMac = 1ull << 5;
constexpr uint64_t kVirtioNetFGuestTso4 = 1ull << 7;
constexpr uint64_t kVirtioNetFGuestTso6 = 1ull << 8;
constexpr uint64_t kVirtioNetFGuestEcn = 1ull << 9;
constexpr uint64_t kVirtioNetFHostTso4 = 1ull << 11;
constexpr uint64_t kVirtioNetFHostTso6 = 1ull << 12;
constexpr uint64_t kVirtioNetFHostEcn = 1ull << 13;
constexpr uint64_t kVirtioNetFMrgRxbuf = 1ull << 15;
constexpr uint64_t kVirtioNetFStatus = 1ull << 16;

constexpr uint8_t kVirtioNetHdrFNeedsCsum = 1;
constexpr uint8_t kVirtioNetHdrFDataValid = 2;
constexpr uint16_t kVirtioNetSLinkUp = 1;

// struct virtio_net_hdr_v1: in front of every frame on both queues.
struct VirtioNetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
  uint16_t num_buffers;  // device -> driver with MRG_RXBUF; else 1
};
static_assert(sizeof(VirtioNetHdr) == 12, "virtio_net_hdr_v1 is 12 bytes");

// virtio-console (spec 5.3).
constexpr uint64_t kVirtioConsoleFSize = 1ull << 0;
constexpr uint64_t kVirtioConsoleFMultiport = 1ull << 1;
constexpr uint64_t kVirtioConsoleFEmergWrite = 1ull << 2;

constexpr uint32_t kVirtioConsoleBadId = 0xffffffffu;
// Control events (spec 5.3.6.2).
constexpr uint16_t kVirtioConsoleDeviceReady = 0;
constexpr uint16_t kVirtioConsolePortAdd = 1;
constexpr uint16_t kVirtioConsolePortRemove = 2;
constexpr uint16_t kVirtioConsolePortReady = 3;
constexpr uint16_t kVirtioConsoleConsolePort = 4;
constexpr uint16_t kVirtioConsoleResize = 5;
constexpr uint16_t kVirtioConsolePortOpen = 6;
constexpr uint16_t kVirtioConsolePortName = 7;

// Every control message starts with this; PORT_NAME's name follows it.
struct VirtioConsoleControl {
  uint32_t id;  // port number
  uint16_t event;
  uint16_t value;
};
static_assert(sizeof(VirtioConsoleControl) == 8, "virtio_console_control");

}  // namespace kuml

#endif  // KUML_DEVICES_VIRTIO_VIRTIO_SPEC_H_
