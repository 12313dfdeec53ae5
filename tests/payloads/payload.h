// Freestanding helpers for kuml's test payloads: tiny guest programs that run
// in 32-bit flat protected mode (paging off, interrupts off) at 0x100000 and
// drive the VMM's devices through their registers, as a kernel would.
#ifndef KUML_TESTS_PAYLOADS_PAYLOAD_H_
#define KUML_TESTS_PAYLOADS_PAYLOAD_H_

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) {
  __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v) {
  __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
  uint8_t v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
static inline uint32_t mmio_read32(uint32_t addr) {
  return *(volatile uint32_t*)addr;
}
static inline void mmio_write32(uint32_t addr, uint32_t v) {
  *(volatile uint32_t*)addr = v;
}
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }

// ttyS0 (8250 at 0x3f8): wait for THR empty, then send.
static inline void serial_putc(char c) {
  while (!(inb(0x3f8 + 5) & 0x20)) {
  }
  outb(0x3f8, (uint8_t)c);
}
static inline void serial_puts(const char* s) {
  while (*s) serial_putc(*s++);
}
static inline void serial_hex(uint32_t v) {
  const char* digits = "0123456789abcdef";
  serial_puts("0x");
  for (int i = 28; i >= 0; i -= 4) serial_putc(digits[(v >> i) & 0xf]);
}
static inline void serial_dec(uint32_t v) {
  char buf[11];
  int n = 0;
  do {
    buf[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) serial_putc(buf[--n]);
}

// The machine's power control (ACPI PM1a_CNT at 0x604): SLP_EN.
static inline void power_off(void) {
  outw(0x604, 1 << 13);
  for (;;) __asm__ volatile("hlt");
}
// The i8042 "pulse reset line" command.
static inline void reset_i8042(void) {
  outb(0x64, 0xfe);
  for (;;) __asm__ volatile("hlt");
}

static inline void* memset_(void* p, int c, uint32_t n) {
  uint8_t* b = (uint8_t*)p;
  while (n--) *b++ = (uint8_t)c;
  return p;
}
static inline void memcpy_(void* d, const void* s, uint32_t n) {
  uint8_t* db = (uint8_t*)d;
  const uint8_t* sb = (const uint8_t*)s;
  while (n--) *db++ = *sb++;
}

// Every payload defines this; the entry stub calls it, then powers off.
void payload_main(void);

#endif  // KUML_TESTS_PAYLOADS_PAYLOAD_H_
