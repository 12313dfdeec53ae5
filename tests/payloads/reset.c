// Asks for a reset through the i8042 keyboard controller, as Linux's
// reboot=k does.
#include "tests/payloads/payload.h"

void payload_main(void) {
  serial_puts("kuml payload: resetting\n");
  reset_i8042();
}
