// Raises #UD with an empty IDT: #UD -> #GP -> #DF -> triple fault, which a
// PC answers with a reset.
#include "tests/payloads/payload.h"

void payload_main(void) {
  struct __attribute__((packed)) {
    uint16_t limit;
    uint32_t base;
  } idtr = {0, 0};
  serial_puts("kuml payload: triple fault\n");
  __asm__ volatile("lidt %0; ud2" : : "m"(idtr));
}
