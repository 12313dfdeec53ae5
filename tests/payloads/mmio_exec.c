// Jumps into the virtio-mmio window, where there is no RAM to fetch
// instructions from: KVM cannot emulate that, and the VMM must stop with a
// clear error (RIP and bytes), not hang.
#include "tests/payloads/payload.h"

void payload_main(void) {
  serial_puts("kuml payload: executing from MMIO\n");
  void (*fn)(void) = (void (*)(void))0xd0008000u;
  fn();
}
