// A guest that says it is up and then idles for ever: `hlt` with interrupts
// off parks the vCPU in KVM (in-kernel irqchip), so it costs no host CPU.
// For kumld's fleet tests and bench/fleet_bench.sh: many tiny guests.
#include "tests/payloads/payload.h"

void payload_main(void) {
  serial_puts("kuml payload: idle ready\n");
  for (;;) __asm__ volatile("hlt");
}
