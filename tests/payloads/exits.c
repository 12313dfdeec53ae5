// A loop of port writes to a port no device claims: each one is a full exit
// to the VMM and back. The exit-rate benchmark times it.
#include "tests/payloads/payload.h"

#ifndef EXIT_LOOPS
#define EXIT_LOOPS 20000
#endif

void payload_main(void) {
  for (uint32_t i = 0; i < EXIT_LOOPS; ++i) outb(0x4f0, (uint8_t)i);
  serial_puts("kuml payload: exits done\n");
}
