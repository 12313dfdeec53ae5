// A minimal polling virtio-blk driver over virtio-mmio (version 2), enough to
// exercise kuml's device from a guest: one queue of 8 entries at fixed
// addresses, requests built from up to three descriptors.
#ifndef KUML_TESTS_PAYLOADS_VIRTIO_BLK_DRIVER_H_
#define KUML_TESTS_PAYLOADS_VIRTIO_BLK_DRIVER_H_

#include "tests/payloads/payload.h"

#define VIRTIO_BASE 0xd0000000u
#define QSIZE 8

// Register offsets (virtio-mmio v2).
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES 0x010
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DESC_HIGH 0x084
#define R_QUEUE_AVAIL_LOW 0x090
#define R_QUEUE_AVAIL_HIGH 0x094
#define R_QUEUE_USED_LOW 0x0a0
#define R_QUEUE_USED_HIGH 0x0a4
#define R_CONFIG 0x100

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8

struct desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct avail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[QSIZE];
};
struct used_elem {
  uint32_t id;
  uint32_t len;
};
struct used {
  uint16_t flags;
  uint16_t idx;
  struct used_elem ring[QSIZE];
};
struct blk_req {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

#define DESC ((volatile struct desc*)0x200000u)
#define AVAIL ((volatile struct avail*)0x201000u)
#define USED ((volatile struct used*)0x202000u)
#define REQ ((struct blk_req*)0x203000u)
#define DATA ((uint8_t*)0x204000u)
#define STATUS ((volatile uint8_t*)0x205000u)

static inline uint32_t vreg(uint32_t off) {
  return mmio_read32(VIRTIO_BASE + off);
}
static inline void vset(uint32_t off, uint32_t v) {
  mmio_write32(VIRTIO_BASE + off, v);
}

static uint16_t last_used;
static uint32_t device_features_lo;

// Returns 0 on success, or a code naming the failed step.
static int blk_init(void) {
  if (vreg(R_MAGIC) != 0x74726976u) return 1;
  if (vreg(R_VERSION) != 2) return 2;
  if (vreg(R_DEVICE_ID) != 2) return 3;
  vset(R_STATUS, 0);
  vset(R_STATUS, 1);      // ACKNOWLEDGE
  vset(R_STATUS, 1 | 2);  // DRIVER
  vset(R_DEVICE_FEATURES_SEL, 0);
  device_features_lo = vreg(R_DEVICE_FEATURES);
  vset(R_DEVICE_FEATURES_SEL, 1);
  if (!(vreg(R_DEVICE_FEATURES) & 1)) return 4;  // VERSION_1
  vset(R_DRIVER_FEATURES_SEL, 1);
  vset(R_DRIVER_FEATURES, 1);
  vset(R_DRIVER_FEATURES_SEL, 0);
  vset(R_DRIVER_FEATURES, 0);
  vset(R_STATUS, 1 | 2 | 8);  // FEATURES_OK
  if (!(vreg(R_STATUS) & 8)) return 5;
  vset(R_QUEUE_SEL, 0);
  if (vreg(R_QUEUE_NUM_MAX) < QSIZE) return 6;
  vset(R_QUEUE_NUM, QSIZE);
  memset_((void*)DESC, 0, 0x3000);
  vset(R_QUEUE_DESC_LOW, (uint32_t)DESC);
  vset(R_QUEUE_DESC_HIGH, 0);
  vset(R_QUEUE_AVAIL_LOW, (uint32_t)AVAIL);
  vset(R_QUEUE_AVAIL_HIGH, 0);
  vset(R_QUEUE_USED_LOW, (uint32_t)USED);
  vset(R_QUEUE_USED_HIGH, 0);
  vset(R_QUEUE_READY, 1);
  vset(R_STATUS, 1 | 2 | 8 | 4);  // DRIVER_OK
  last_used = 0;
  return 0;
}

static inline uint64_t blk_capacity(void) {
  return (uint64_t)vreg(R_CONFIG) | ((uint64_t)vreg(R_CONFIG + 4) << 32);
}

// Makes descriptor 0 the head of a chain, publishes it and waits for the
// device. Returns the used length.
static uint32_t blk_submit_head(uint16_t head) {
  AVAIL->ring[AVAIL->idx % QSIZE] = head;
  barrier();
  AVAIL->idx = AVAIL->idx + 1;
  barrier();
  vset(R_QUEUE_NOTIFY, 0);
  while (USED->idx == last_used) barrier();
  uint32_t len = USED->ring[last_used % QSIZE].len;
  last_used++;
  vset(R_INTERRUPT_ACK, vreg(R_INTERRUPT_STATUS));
  return len;
}

// One request: header, optional data (device-writable for reads/get-id),
// status. Returns the status byte (0xff if the device never wrote it).
static uint8_t blk_request(uint32_t type, uint64_t sector, uint8_t* data,
                           uint32_t len, uint32_t* used_len) {
  REQ->type = type;
  REQ->reserved = 0;
  REQ->sector = sector;
  *STATUS = 0xff;
  uint16_t n = 0;
  DESC[n].addr = (uint32_t)REQ;
  DESC[n].len = sizeof(struct blk_req);
  DESC[n].flags = DESC_F_NEXT;
  DESC[n].next = n + 1;
  n++;
  if (len != 0) {
    DESC[n].addr = (uint32_t)data;
    DESC[n].len = len;
    DESC[n].flags = DESC_F_NEXT | (type == BLK_T_OUT ? 0 : DESC_F_WRITE);
    DESC[n].next = n + 1;
    n++;
  }
  DESC[n].addr = (uint32_t)STATUS;
  DESC[n].len = 1;
  DESC[n].flags = DESC_F_WRITE;
  DESC[n].next = 0;
  uint32_t l = blk_submit_head(0);
  if (used_len) *used_len = l;
  return *STATUS;
}

#endif  // KUML_TESTS_PAYLOADS_VIRTIO_BLK_DRIVER_H_
