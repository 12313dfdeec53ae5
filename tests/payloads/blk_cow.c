// Reads the whole disk and prints its FNV-1a 64 hash, writes three known
// ranges (sector 5, sectors 100..107, the last sector), flushes, and prints
// the hash again. tests/cow_payload_test.cc runs it over a COW file the real
// UML wrote and checks both hashes and what uml_moo makes of the result.
#include "tests/payloads/virtio_blk_driver.h"

static int hash_disk(uint64_t sectors) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint64_t s = 0; s < sectors; s += 8) {
    uint32_t n = sectors - s >= 8 ? 4096 : (uint32_t)(sectors - s) * 512;
    uint8_t st = blk_request(BLK_T_IN, s, DATA, n, 0);
    if (st != 0) {
      serial_puts("blk_cow: read error at sector ");
      serial_dec((uint32_t)s);
      serial_puts("\n");
      return 1;
    }
    for (uint32_t i = 0; i < n; ++i) {
      h ^= DATA[i];
      h *= 0x100000001b3ull;
    }
  }
  serial_puts("blk_cow: hash ");
  serial_hex((uint32_t)(h >> 32));
  serial_puts(" ");
  serial_hex((uint32_t)h);
  serial_puts("\n");
  return 0;
}

static void write_range(uint64_t sector, uint32_t len, int pattern) {
  for (uint32_t i = 0; i < len; ++i) {
    DATA[i] = pattern >= 0 ? (uint8_t)pattern : (uint8_t)(i * 3 + 11);
  }
  uint8_t st = blk_request(BLK_T_OUT, sector, DATA, len, 0);
  serial_puts("blk_cow: write status ");
  serial_dec(st);
  serial_puts("\n");
}

void payload_main(void) {
  if (blk_init() != 0) {
    serial_puts("blk_cow: init failed\n");
    return;
  }
  const uint64_t sectors = blk_capacity();
  serial_puts("blk_cow: capacity ");
  serial_dec((uint32_t)sectors);
  serial_puts("\n");
  if (hash_disk(sectors)) return;
  write_range(5, 512, 'K');
  write_range(100, 4096, -1);
  write_range(sectors - 1, 512, 'L');
  serial_puts("blk_cow: flush status ");
  serial_dec(blk_request(BLK_T_FLUSH, 0, 0, 0, 0));
  serial_puts("\n");
  hash_disk(sectors);
}
