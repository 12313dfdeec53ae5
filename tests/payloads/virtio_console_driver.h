// A minimal polling virtio-console driver (MULTIPORT) over virtio-mmio, for
// test payloads: finds the console device among the virtio-mmio slots, does
// Linux's control handshake, learns every port's name and console flag, and
// moves bytes on each port with one receive and a few transmit buffers.
#ifndef KUML_TESTS_PAYLOADS_VIRTIO_CONSOLE_DRIVER_H_
#define KUML_TESTS_PAYLOADS_VIRTIO_CONSOLE_DRIVER_H_

#include "tests/payloads/payload.h"

#define VC_MMIO_BASE 0xd0000000u
#define VC_SLOTS 19
#define VC_QSIZE 8
#define VC_MAX_PORTS 24
#define VC_BUF 4096

#define VC_DEVICE_READY 0
#define VC_PORT_ADD 1
#define VC_PORT_READY 3
#define VC_CONSOLE_PORT 4
#define VC_PORT_OPEN 6
#define VC_PORT_NAME 7

struct vc_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct vc_queue {
  volatile struct vc_desc* desc;
  volatile uint16_t* avail;  // flags, idx, ring[]
  volatile uint16_t* used;   // flags, idx, then {u32 id, u32 len}[]
  uint16_t avail_idx;
  uint16_t last_used;
  uint8_t* bufs;  // VC_QSIZE buffers of VC_BUF bytes, descriptor i -> buf i
};
struct vc_port {
  int added;
  int named;
  int console;
  char name[32];
  uint8_t* rx_pending;  // bytes received and not yet consumed
  uint32_t rx_len, rx_pos;
  uint16_t tx_next;  // next transmit descriptor to use
};

static uint32_t vc_base;
static uint32_t vc_nports;
static struct vc_queue vc_q[2 * (VC_MAX_PORTS + 1)];
static struct vc_port vc_ports[VC_MAX_PORTS];

static inline uint32_t vc_reg(uint32_t off) {
  return mmio_read32(vc_base + off);
}
static inline void vc_set(uint32_t off, uint32_t v) {
  mmio_write32(vc_base + off, v);
}
static inline uint16_t vc_rxq(uint32_t p) { return p == 0 ? 0 : 2 + 2 * p; }
static inline uint16_t vc_txq(uint32_t p) { return p == 0 ? 1 : 3 + 2 * p; }

// Puts descriptor `d` (its buffer, `len` bytes) in the avail ring.
static void vc_post(uint16_t q, uint16_t d, uint32_t len, int device_writes) {
  struct vc_queue* vq = &vc_q[q];
  vq->desc[d].addr = (uint32_t)(vq->bufs + d * VC_BUF);
  vq->desc[d].len = len;
  vq->desc[d].flags = device_writes ? 2 : 0;
  vq->desc[d].next = 0;
  vq->avail[2 + vq->avail_idx % VC_QSIZE] = d;
  barrier();
  vq->avail_idx++;
  vq->avail[1] = vq->avail_idx;
  barrier();
  vc_set(0x050, q);
}

// A used element of queue q, if any: returns 1 and fills id/len.
static int vc_poll_used(uint16_t q, uint32_t* id, uint32_t* len) {
  struct vc_queue* vq = &vc_q[q];
  barrier();
  if (vq->used[1] == vq->last_used) return 0;
  volatile uint32_t* elem =
      (volatile uint32_t*)(vq->used + 2) + 2 * (vq->last_used % VC_QSIZE);
  *id = elem[0];
  *len = elem[1];
  vq->last_used++;
  return 1;
}

static void vc_control(uint32_t id, uint16_t event, uint16_t value) {
  // Control transmit: descriptor = avail_idx % QSIZE, waited for at once.
  struct vc_queue* vq = &vc_q[3];
  uint16_t d = vq->avail_idx % VC_QSIZE;
  uint8_t* b = vq->bufs + d * VC_BUF;
  *(uint32_t*)b = id;
  *(uint16_t*)(b + 4) = event;
  *(uint16_t*)(b + 6) = value;
  vc_post(3, d, 8, 0);
  uint32_t uid, ulen;
  while (!vc_poll_used(3, &uid, &ulen)) {
  }
}

// Handles control messages until none is waiting; returns how many.
static int vc_process_control(void) {
  int n = 0;
  uint32_t d, len;
  while (vc_poll_used(2, &d, &len)) {
    n++;
    uint8_t* b = vc_q[2].bufs + d * VC_BUF;
    uint32_t id = *(uint32_t*)b;
    uint16_t event = *(uint16_t*)(b + 4);
    if (id < vc_nports) {
      struct vc_port* p = &vc_ports[id];
      if (event == VC_PORT_ADD) {
        p->added = 1;
        vc_post(vc_rxq(id), 0, VC_BUF, 1);  // one receive buffer
        vc_control(id, VC_PORT_READY, 1);
      } else if (event == VC_CONSOLE_PORT) {
        p->console = 1;
      } else if (event == VC_PORT_NAME) {
        uint32_t k = 0;
        for (; k + 8 < len && k < sizeof(p->name) - 1; k++)
          p->name[k] = b[8 + k];
        p->name[k] = 0;
        p->named = 1;
      }
    }
    vc_post(2, (uint16_t)d, VC_BUF, 1);  // give the buffer back
  }
  return n;
}

static uint8_t* vc_next_area;  // bump allocator for rings and buffers

static void* vc_alloc(uint32_t bytes) {
  uint8_t* p = vc_next_area;
  vc_next_area += (bytes + 0xfff) & ~0xfffu;
  return p;
}

// Returns 0, or a code naming the failed step.
static int vc_init(void) {
  vc_base = 0;
  for (uint32_t i = 0; i < VC_SLOTS; i++) {
    uint32_t b = VC_MMIO_BASE + i * 0x1000;
    if (mmio_read32(b) == 0x74726976u && mmio_read32(b + 8) == 3) {
      vc_base = b;
      break;
    }
  }
  if (!vc_base) return 1;
  vc_set(0x070, 0);
  vc_set(0x070, 1 | 2);
  vc_set(0x014, 0);
  if (!(vc_reg(0x010) & 2)) return 2;  // MULTIPORT
  vc_set(0x024, 1);
  vc_set(0x020, 1);  // VERSION_1
  vc_set(0x024, 0);
  vc_set(0x020, 2);  // MULTIPORT
  vc_set(0x070, 1 | 2 | 8);
  if (!(vc_reg(0x070) & 8)) return 3;
  vc_nports = vc_reg(0x100 + 4);
  if (vc_nports == 0 || vc_nports > VC_MAX_PORTS) return 4;
  vc_next_area = (uint8_t*)0x400000;
  for (uint32_t q = 0; q < 2 * (vc_nports + 1); q++) {
    struct vc_queue* vq = &vc_q[q];
    uint8_t* ring = vc_alloc(0x1000);
    memset_(ring, 0, 0x1000);
    vq->desc = (volatile struct vc_desc*)ring;
    vq->avail = (volatile uint16_t*)(ring + 0x400);
    vq->used = (volatile uint16_t*)(ring + 0x800);
    vq->avail_idx = vq->last_used = 0;
    vq->bufs = vc_alloc(VC_QSIZE * VC_BUF);
    vc_set(0x030, q);
    if (vc_reg(0x034) < VC_QSIZE) return 5;
    vc_set(0x038, VC_QSIZE);
    vc_set(0x080, (uint32_t)vq->desc);
    vc_set(0x084, 0);
    vc_set(0x090, (uint32_t)vq->avail);
    vc_set(0x094, 0);
    vc_set(0x0a0, (uint32_t)vq->used);
    vc_set(0x0a4, 0);
    vc_set(0x044, 1);
  }
  vc_set(0x070, 1 | 2 | 8 | 4);  // DRIVER_OK
  for (uint16_t d = 0; d < VC_QSIZE; d++) vc_post(2, d, VC_BUF, 1);
  vc_control(0xffffffffu, VC_DEVICE_READY, 1);
  // Every port is added, then named (PORT_NAME comes before PORT_OPEN).
  for (uint32_t spins = 0;; spins++) {
    vc_process_control();
    uint32_t named = 0;
    for (uint32_t p = 0; p < vc_nports; p++) named += vc_ports[p].named;
    if (named == vc_nports) break;
    if (spins > 200000000u) return 6;
  }
  for (uint32_t p = 0; p < vc_nports; p++) vc_control(p, VC_PORT_OPEN, 1);
  return 0;
}

// Sends `len` bytes on port p, waiting for a free transmit buffer (the host
// side may be holding them: back-pressure).
static void vc_write(uint32_t p, const uint8_t* data, uint32_t len) {
  uint16_t q = vc_txq(p);
  struct vc_queue* vq = &vc_q[q];
  while (len > 0) {
    // All VC_QSIZE descriptors in flight: wait for one to come back.
    while ((uint16_t)(vq->avail_idx - vq->last_used) >= VC_QSIZE) {
      uint32_t id, l;
      vc_poll_used(q, &id, &l);
    }
    uint16_t d = vq->avail_idx % VC_QSIZE;
    uint32_t n = len < VC_BUF ? len : VC_BUF;
    memcpy_(vq->bufs + d * VC_BUF, data, n);
    vc_post(q, d, n, 0);
    data += n;
    len -= n;
  }
}

static void vc_puts(uint32_t p, const char* s) {
  uint32_t n = 0;
  while (s[n]) n++;
  vc_write(p, (const uint8_t*)s, n);
}

// One received byte from port p, or -1 when none is waiting.
static int vc_getc(uint32_t p) {
  struct vc_port* port = &vc_ports[p];
  if (port->rx_pos >= port->rx_len) {
    if (port->rx_len) vc_post(vc_rxq(p), 0, VC_BUF, 1);  // buffer back
    port->rx_len = port->rx_pos = 0;
    uint32_t id, len;
    if (!vc_poll_used(vc_rxq(p), &id, &len)) return -1;
    port->rx_pending = vc_q[vc_rxq(p)].bufs;
    port->rx_len = len;
    if (len == 0) {
      vc_post(vc_rxq(p), 0, VC_BUF, 1);
      return -1;
    }
  }
  return port->rx_pending[port->rx_pos++];
}

#endif  // KUML_TESTS_PAYLOADS_VIRTIO_CONSOLE_DRIVER_H_
