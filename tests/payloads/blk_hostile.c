// A hostile driver: descriptors pointing outside guest RAM, a descriptor
// loop, an index out of range. The VMM must survive each and the device
// must still serve a correct request afterwards.
#include "tests/payloads/virtio_blk_driver.h"

static void report(const char* what, uint32_t used_len) {
  serial_puts("blk: ");
  serial_puts(what);
  serial_puts(" used_len ");
  serial_dec(used_len);
  serial_puts(" status ");
  serial_dec(*STATUS);
  serial_puts("\n");
}

void payload_main(void) {
  if (blk_init()) {
    serial_puts("blk: init failed\n");
    return;
  }
  // 1. Data buffer beyond the end of RAM (guest has 64 MiB).
  REQ->type = BLK_T_IN;
  REQ->sector = 0;
  *STATUS = 0xff;
  DESC[0].addr = (uint32_t)REQ;
  DESC[0].len = 16;
  DESC[0].flags = DESC_F_NEXT;
  DESC[0].next = 1;
  DESC[1].addr = 0xfff00000u;
  DESC[1].len = 512;
  DESC[1].flags = DESC_F_NEXT | DESC_F_WRITE;
  DESC[1].next = 2;
  DESC[2].addr = (uint32_t)STATUS;
  DESC[2].len = 1;
  DESC[2].flags = DESC_F_WRITE;
  DESC[2].next = 0;
  report("outside-ram", blk_submit_head(0));

  // 2. A loop: 0 -> 1 -> 0 -> ...
  *STATUS = 0xff;
  DESC[1].addr = (uint32_t)DATA;
  DESC[1].next = 0;
  report("loop", blk_submit_head(0));

  // 3. next index beyond the queue.
  *STATUS = 0xff;
  DESC[1].next = 200;
  report("bad-next", blk_submit_head(0));

  // 4. Length that wraps around 4 GiB.
  *STATUS = 0xff;
  DESC[1].next = 2;
  DESC[1].addr = 0x100000u;
  DESC[1].len = 0xffffff00u;
  report("huge-len", blk_submit_head(0));

  // Still alive: a correct read.
  uint32_t used_len = 0;
  uint8_t st = blk_request(BLK_T_IN, 0, DATA, 512, &used_len);
  serial_puts(st == 0 ? "blk: still works\n" : "blk: broken after abuse\n");
}
