// On a read-only disk: the RO feature is offered, reads work, writes fail
// with VIRTIO_BLK_S_IOERR (1).
#include "tests/payloads/virtio_blk_driver.h"

void payload_main(void) {
  if (blk_init()) {
    serial_puts("blk: init failed\n");
    return;
  }
  serial_puts((device_features_lo & (1u << 5)) ? "blk: ro feature\n"
                                               : "blk: rw feature\n");
  uint8_t st = blk_request(BLK_T_IN, 0, DATA, 512, 0);
  serial_puts("blk: read status ");
  serial_dec(st);
  serial_puts("\n");
  memset_(DATA, 'X', 512);
  st = blk_request(BLK_T_OUT, 0, DATA, 512, 0);
  serial_puts("blk: write status ");
  serial_dec(st);
  serial_puts("\n");
}
