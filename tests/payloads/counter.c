// Counts forever in guest memory, for mconsole stop/go: a host that reads
// kCounterAddr sees it advance while the vCPU runs and freeze while it is
// parked. Prints "counter: tick" on ttyS0 every 2^24 counts so a test that
// only sees the console can watch it too, and answers a serial BREAK
// followed by a key with "counter: break then '<key>'" (the magic SysRq
// sequence kuml's mconsole `sysrq` sends).
#include "tests/payloads/payload.h"

#define COUNTER_ADDR 0x300000u
#define COM1 0x3f8

void payload_main(void) {
  volatile uint32_t* counter = (volatile uint32_t*)COUNTER_ADDR;
  *counter = 0;
  outb(COM1 + 2, 0x01);  // FCR: FIFOs on (room for a break and its key)
  int after_break = 0;
  serial_puts("counter: start\n");
  for (uint32_t i = 1;; ++i) {
    *counter = i;
    if ((i & 0xfff) == 0) {
      uint8_t lsr;
      while ((lsr = inb(COM1 + 5)) & 0x01) {
        uint8_t c = inb(COM1);
        if (lsr & 0x10) {
          after_break = 1;  // the break's NUL
        } else if (after_break) {
          after_break = 0;
          serial_puts("counter: break then '");
          serial_putc((char)c);
          serial_puts("'\n");
        }
      }
    }
    if ((i & 0xffffff) == 0) serial_puts("counter: tick\n");
  }
}
