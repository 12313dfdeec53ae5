// A tiny network peer over kuml's virtio-net: finds the first virtio-net
// device, takes its IP from its MAC (fe:fd:a:b:c:d is a.b.c.d, HOWTO 6.3),
// answers ARP requests and ICMP echo requests for that IP. Built with
// -DPING_PEER it also pings its peer (the same /24, last byte 1 <-> 2) three
// times, prints each reply and powers off; without, it powers off after
// answering ECHO_ANSWERS echo requests. Polling only (interrupts stay off).
#include "tests/payloads/payload.h"

#ifndef ECHO_ANSWERS
#define ECHO_ANSWERS 3
#endif

#define MMIO_BASE 0xd0000000u
#define MMIO_SLOTS 19
#define QSIZE 8
#define BUF_BYTES 2048
#define HDR 12

#define R_MAGIC 0x000
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
#define R_STATUS 0x070
#define R_QUEUE_DESC_LOW 0x080
#define R_QUEUE_DESC_HIGH 0x084
#define R_QUEUE_AVAIL_LOW 0x090
#define R_QUEUE_AVAIL_HIGH 0x094
#define R_QUEUE_USED_LOW 0x0a0
#define R_QUEUE_USED_HIGH 0x0a4
#define R_CONFIG 0x100

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
struct used {
  uint16_t flags;
  uint16_t idx;
  struct {
    uint32_t id;
    uint32_t len;
  } ring[QSIZE];
};

// Per queue: descriptors, avail, used, then QSIZE buffers.
#define QUEUE_AREA(q) (0x300000u + (q) * 0x10000u)
#define DESC(q) ((volatile struct desc*)QUEUE_AREA(q))
#define AVAIL(q) ((volatile struct avail*)(QUEUE_AREA(q) + 0x1000))
#define USED(q) ((volatile struct used*)(QUEUE_AREA(q) + 0x2000))
#define BUF(q, i) ((uint8_t*)(QUEUE_AREA(q) + 0x3000 + (i) * BUF_BYTES))

static uint32_t base;
static uint8_t mac[6];
static uint8_t ip[4];
static uint16_t rx_last, tx_next;

static uint32_t reg(uint32_t off) { return mmio_read32(base + off); }
static void set(uint32_t off, uint32_t v) { mmio_write32(base + off, v); }

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static void put_ip(const uint8_t* a) {
  for (int i = 0; i < 4; ++i) {
    serial_dec(a[i]);
    if (i < 3) serial_putc('.');
  }
}

static void setup_queue(uint32_t q) {
  set(R_QUEUE_SEL, q);
  set(R_QUEUE_NUM, QSIZE);
  memset_((void*)QUEUE_AREA(q), 0, 0x3000);
  set(R_QUEUE_DESC_LOW, (uint32_t)DESC(q));
  set(R_QUEUE_DESC_HIGH, 0);
  set(R_QUEUE_AVAIL_LOW, (uint32_t)AVAIL(q));
  set(R_QUEUE_AVAIL_HIGH, 0);
  set(R_QUEUE_USED_LOW, (uint32_t)USED(q));
  set(R_QUEUE_USED_HIGH, 0);
  set(R_QUEUE_READY, 1);
}

static void post_rx(uint16_t i) {
  DESC(0)[i].addr = (uint32_t)BUF(0, i);
  DESC(0)[i].len = BUF_BYTES;
  DESC(0)[i].flags = 2;  // device writes
  AVAIL(0)->ring[AVAIL(0)->idx % QSIZE] = i;
  barrier();
  AVAIL(0)->idx = AVAIL(0)->idx + 1;
  barrier();
}

static int net_init(void) {
  for (uint32_t s = 0; s < MMIO_SLOTS; ++s) {
    base = MMIO_BASE + s * 0x1000;
    if (reg(R_MAGIC) == 0x74726976u && reg(R_DEVICE_ID) == 1) break;
    base = 0;
  }
  if (!base) return 1;
  set(R_STATUS, 0);
  set(R_STATUS, 1 | 2);
  set(R_DEVICE_FEATURES_SEL, 1);
  if (!(reg(R_DEVICE_FEATURES) & 1)) return 2;
  set(R_DRIVER_FEATURES_SEL, 1);
  set(R_DRIVER_FEATURES, 1);  // VERSION_1
  set(R_DRIVER_FEATURES_SEL, 0);
  set(R_DRIVER_FEATURES, 1u << 5);  // MAC
  set(R_STATUS, 1 | 2 | 8);
  if (!(reg(R_STATUS) & 8)) return 3;
  setup_queue(0);
  setup_queue(1);
  set(R_STATUS, 1 | 2 | 8 | 4);
  for (int i = 0; i < 6; ++i) mac[i] = *(volatile uint8_t*)(base + R_CONFIG + i);
  if (mac[0] != 0xfe || mac[1] != 0xfd) return 4;
  memcpy_(ip, mac + 2, 4);
  for (uint16_t i = 0; i < QSIZE; ++i) post_rx(i);
  set(R_QUEUE_NOTIFY, 0);
  return 0;
}

static void send_frame(const uint8_t* frame, uint32_t len) {
  uint16_t i = tx_next++ % QSIZE;
  uint8_t* buf = BUF(1, i);
  memset_(buf, 0, HDR);
  memcpy_(buf + HDR, frame, len);
  DESC(1)[i].addr = (uint32_t)buf;
  DESC(1)[i].len = HDR + len;
  DESC(1)[i].flags = 0;
  AVAIL(1)->ring[AVAIL(1)->idx % QSIZE] = i;
  barrier();
  AVAIL(1)->idx = AVAIL(1)->idx + 1;
  barrier();
  set(R_QUEUE_NOTIFY, 1);
}

static uint16_t csum(const uint8_t* p, uint32_t n) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static uint8_t frame[1600];

static void send_arp(uint16_t op, const uint8_t* dst_mac, const uint8_t* tip) {
  memset_(frame, 0, 42);
  memcpy_(frame, dst_mac, 6);
  memcpy_(frame + 6, mac, 6);
  frame[12] = 0x08, frame[13] = 0x06;
  frame[14] = 0, frame[15] = 1, frame[16] = 0x08, frame[17] = 0;
  frame[18] = 6, frame[19] = 4, frame[20] = 0, frame[21] = (uint8_t)op;
  memcpy_(frame + 22, mac, 6);
  memcpy_(frame + 28, ip, 4);
  if (op == 2) memcpy_(frame + 32, dst_mac, 6);
  memcpy_(frame + 38, tip, 4);
  send_frame(frame, 60);
}

static void send_echo(uint8_t type, const uint8_t* dst_mac,
                      const uint8_t* dst_ip, const uint8_t* icmp,
                      uint32_t icmp_len) {
  memcpy_(frame, dst_mac, 6);
  memcpy_(frame + 6, mac, 6);
  frame[12] = 0x08, frame[13] = 0x00;
  uint8_t* iph = frame + 14;
  memset_(iph, 0, 20);
  iph[0] = 0x45;
  iph[2] = (uint8_t)((20 + icmp_len) >> 8), iph[3] = (uint8_t)(20 + icmp_len);
  iph[8] = 64, iph[9] = 1;
  memcpy_(iph + 12, ip, 4);
  memcpy_(iph + 16, dst_ip, 4);
  uint16_t c = csum(iph, 20);
  iph[10] = (uint8_t)(c >> 8), iph[11] = (uint8_t)c;
  uint8_t* ic = iph + 20;
  memcpy_(ic, icmp, icmp_len);
  ic[0] = type, ic[1] = 0, ic[2] = 0, ic[3] = 0;
  c = csum(ic, icmp_len);
  ic[2] = (uint8_t)(c >> 8), ic[3] = (uint8_t)c;
  send_frame(frame, 34 + icmp_len);
}

static int same(const uint8_t* a, const uint8_t* b, int n) {
  for (int i = 0; i < n; ++i) {
    if (a[i] != b[i]) return 0;
  }
  return 1;
}

static uint32_t answered;
static uint8_t peer_mac[6];
static int peer_known;
static uint8_t peer_ip[4];
static int replies;

// Handles one received frame.
static void handle(const uint8_t* f, uint32_t len) {
  if (len < 42) return;
  if (f[12] == 0x08 && f[13] == 0x06 && same(f + 38, ip, 4)) {
    if (f[21] == 1) send_arp(2, f + 6, f + 28);  // request for us
    if (f[21] == 2 && same(f + 28, peer_ip, 4)) {
      memcpy_(peer_mac, f + 22, 6);
      peer_known = 1;
    }
    return;
  }
  if (f[12] != 0x08 || f[13] != 0x00 || f[23] != 1) return;  // IPv4 ICMP
  if (!same(f + 30, ip, 4)) return;
  const uint32_t ihl = (f[14] & 0xf) * 4;
  const uint32_t total = (f[16] << 8) | f[17];
  if (total < ihl + 8 || 14 + total > len) return;
  const uint8_t* icmp = f + 14 + ihl;
  if (icmp[0] == 8) {  // echo request
    send_echo(0, f + 6, f + 26, icmp, total - ihl);
    ++answered;
  } else if (icmp[0] == 0 && same(f + 26, peer_ip, 4)) {
    serial_puts("net: echo reply from ");
    put_ip(f + 26);
    serial_puts(" seq ");
    serial_dec((icmp[6] << 8) | icmp[7]);
    serial_puts("\n");
    ++replies;
  }
}

static void poll_rx(void) {
  while (USED(0)->idx != rx_last) {
    barrier();
    uint16_t slot = rx_last % QSIZE;
    uint32_t id = USED(0)->ring[slot].id;
    uint32_t len = USED(0)->ring[slot].len;
    ++rx_last;
    if (id < QSIZE && len > HDR && len <= BUF_BYTES) {
      handle(BUF(0, id) + HDR, len - HDR);
    }
    post_rx((uint16_t)(id % QSIZE));
    set(R_QUEUE_NOTIFY, 0);
  }
}

void payload_main(void) {
  int err = net_init();
  if (err) {
    serial_puts("net: init failed at step ");
    serial_dec(err);
    serial_puts("\n");
    return;
  }
  serial_puts("net: up as ");
  put_ip(ip);
  serial_puts("\n");
  memcpy_(peer_ip, ip, 3);
  peer_ip[3] = ip[3] == 1 ? 2 : 1;
#ifdef PING_PEER
  static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  uint8_t echo[40];
  for (int i = 0; i < 40; ++i) echo[i] = (uint8_t)i;
  uint64_t next = 0;
  uint16_t seq = 0;
  while (replies < 3) {
    poll_rx();
    uint64_t now = rdtsc();
    if (now < next) continue;
    next = now + (1ull << 29);  // a fraction of a second
    if (!peer_known) {
      send_arp(1, broadcast, peer_ip);
      continue;
    }
    ++seq;
    echo[6] = (uint8_t)(seq >> 8), echo[7] = (uint8_t)seq;
    send_echo(8, peer_mac, peer_ip, echo, sizeof echo);
  }
  serial_puts("net: ping ok\n");
  // Give the peer's last reply time to be answered... and our answers out.
  uint64_t until = rdtsc() + (1ull << 30);
  while (rdtsc() < until) poll_rx();
#else
  while (answered < ECHO_ANSWERS) poll_rx();
  serial_puts("net: answered ");
  serial_dec(answered);
  serial_puts(" echo requests\n");
#endif
}
