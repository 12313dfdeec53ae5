// Reads sector 0 and prints its first line, writes sector 1, flushes, reads
// it back, prints the disk's serial. The test checks the output and the file.
#include "tests/payloads/virtio_blk_driver.h"

static const char kWritten[] = "kuml payload wrote sector 1\n";

void payload_main(void) {
  int err = blk_init();
  if (err) {
    serial_puts("blk: init failed at step ");
    serial_dec(err);
    serial_puts("\n");
    return;
  }
  serial_puts("blk: capacity ");
  serial_dec((uint32_t)blk_capacity());
  serial_puts(" sectors\n");

  uint8_t st = blk_request(BLK_T_IN, 0, DATA, 512, 0);
  serial_puts("blk: read status ");
  serial_dec(st);
  serial_puts(" sector0: ");
  for (int i = 0; i < 64 && DATA[i] && DATA[i] != '\n'; ++i) {
    serial_putc((char)DATA[i]);
  }
  serial_puts("\n");

  memset_(DATA, 0, 512);
  memcpy_(DATA, kWritten, sizeof(kWritten) - 1);
  st = blk_request(BLK_T_OUT, 1, DATA, 512, 0);
  serial_puts("blk: write status ");
  serial_dec(st);
  serial_puts("\n");
  st = blk_request(BLK_T_FLUSH, 0, 0, 0, 0);
  serial_puts("blk: flush status ");
  serial_dec(st);
  serial_puts("\n");

  memset_(DATA, 0, 512);
  st = blk_request(BLK_T_IN, 1, DATA, 512, 0);
  int same = 1;
  for (uint32_t i = 0; i < sizeof(kWritten) - 1; ++i) {
    same &= DATA[i] == (uint8_t)kWritten[i];
  }
  serial_puts(same && st == 0 ? "blk: readback ok\n" : "blk: readback BAD\n");

  memset_(DATA, 0, 32);
  st = blk_request(BLK_T_GET_ID, 0, DATA, 20, 0);
  serial_puts("blk: serial ");
  for (int i = 0; i < 20 && DATA[i]; ++i) serial_putc((char)DATA[i]);
  serial_puts("\n");

  st = blk_request(BLK_T_IN, blk_capacity(), DATA, 512, 0);
  serial_puts("blk: read past end status ");
  serial_dec(st);
  serial_puts("\n");
}
