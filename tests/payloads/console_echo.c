// Talks on every line kuml gives the guest: ttyS0 (con0) and each
// virtio-console port. Prints the ports it found on ttyS0, says
// "<name> ready" on each port, then serves lines (ending in CR or LF):
//   on a port:  every line is reported on ttyS0 as "<name> got: <line>";
//               "ping <x>" is answered "pong <x> from <name>" on that port;
//               "quit" powers off.
//   on ttyS0:   "say <text>" sends <text> on every port; "quit" powers off.
#include "tests/payloads/idle_tick.h"
#include "tests/payloads/payload.h"
#include "tests/payloads/virtio_console_driver.h"

#define LINE_MAX 200

struct line {
  char text[LINE_MAX];
  uint32_t len;
};

static struct line port_lines[VC_MAX_PORTS];
static struct line tty_line;

static int starts_with(const char* s, const char* prefix) {
  while (*prefix) {
    if (*s++ != *prefix++) return 0;
  }
  return 1;
}

static int equals(const char* a, const char* b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

// kuml's own ports ("org.kuml.agent"), which are not lines: not listed,
// never written to.
static int is_line(uint32_t p) {
  return !starts_with(vc_ports[p].name, "org.kuml.");
}

// Adds c to l; returns 1 when a non-empty line is complete.
static int feed(struct line* l, int c) {
  if (c == '\r' || c == '\n') {
    if (l->len == 0) return 0;
    l->text[l->len] = 0;
    return 1;
  }
  if (l->len < LINE_MAX - 1) l->text[l->len++] = (char)c;
  return 0;
}

static void on_port_line(uint32_t p, const char* text) {
  serial_puts(vc_ports[p].name);
  serial_puts(" got: ");
  serial_puts(text);
  serial_puts("\n");
  if (equals(text, "quit")) {
    serial_puts("bye\n");
    power_off();
  }
  if (starts_with(text, "ping ")) {
    vc_puts(p, "pong ");
    vc_puts(p, text + 5);
    vc_puts(p, " from ");
    vc_puts(p, vc_ports[p].name);
    vc_puts(p, "\r\n");
  }
}

static void on_tty_line(const char* text) {
  if (equals(text, "quit")) {
    serial_puts("bye\n");
    power_off();
  }
  if (starts_with(text, "say ")) {
    for (uint32_t p = 0; p < vc_nports; p++) {
      if (!is_line(p)) continue;
      vc_puts(p, text + 4);
      vc_puts(p, "\r\n");
    }
    serial_puts("said\n");
  }
}

void payload_main(void) {
  int err = vc_init();
  if (err) {
    serial_puts("console payload: virtio-console init failed at step ");
    serial_dec(err);
    serial_puts("\n");
    return;
  }
  uint32_t lines = 0;
  for (uint32_t p = 0; p < vc_nports; p++) lines += is_line(p);
  serial_puts("console payload: ");
  serial_dec(lines);
  serial_puts(" ports:");
  for (uint32_t p = 0; p < vc_nports; p++) {
    if (!is_line(p)) continue;
    serial_puts(" ");
    serial_puts(vc_ports[p].name);
    if (vc_ports[p].console) serial_puts("(console)");
  }
  serial_puts("\n");
  for (uint32_t p = 0; p < vc_nports; p++) {
    if (!is_line(p)) continue;
    vc_puts(p, vc_ports[p].name);
    vc_puts(p, " ready\r\n");
  }
  idle_tick_init();
  for (;;) {
    int busy = 0;
    for (uint32_t p = 0; p < vc_nports; p++) {
      int c;
      while ((c = vc_getc(p)) >= 0) {
        busy = 1;
        if (feed(&port_lines[p], c)) {
          on_port_line(p, port_lines[p].text);
          port_lines[p].len = 0;
        }
      }
    }
    while (inb(0x3f8 + 5) & 1) {
      busy = 1;
      if (feed(&tty_line, inb(0x3f8))) {
        on_tty_line(tty_line.text);
        tty_line.len = 0;
      }
    }
    // Nothing came in this round: park until the next tick (idle_tick.h).
    if (!busy) idle_tick_wait();
  }
}
