// Prints a line on ttyS0 and returns (the entry stub then powers off).
#include "tests/payloads/payload.h"

void payload_main(void) { serial_puts("kuml payload: hello\n"); }
