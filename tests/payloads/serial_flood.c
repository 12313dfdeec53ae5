// Counts in guest memory (0x300000, like counter.c) and, in the same loop,
// sends a line to ttyS0 whenever the transmitter has room -- never waiting
// for it. A host reader of ttyS0 that stops reading must hold back only
// this output, never the count. 0x300004 counts the bytes sent.
#include "tests/payloads/payload.h"

#define COUNTER_ADDR 0x300000u
#define SENT_ADDR 0x300004u
#define COM1 0x3f8

void payload_main(void) {
  volatile uint32_t* counter = (volatile uint32_t*)COUNTER_ADDR;
  volatile uint32_t* sent = (volatile uint32_t*)SENT_ADDR;
  const char* line = "serial_flood: 0123456789abcdefghijklmnopqrstuvwxyz\n";
  const char* next = line;
  *counter = 0;
  *sent = 0;
  for (uint32_t i = 1;; ++i) {
    *counter = i;
    if (inb(COM1 + 5) & 0x20) {  // THR empty: room for one more byte
      outb(COM1, (uint8_t)*next);
      *sent = *sent + 1;
      if (*++next == '\0') next = line;
    }
  }
}
