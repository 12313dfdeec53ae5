// A 100 Hz tick for payloads that wait for input: idle_tick_init() programs
// the PIT (channel 0, rate generator) to raise IRQ0 through the 8259 at
// vector 0x20 and loads an IDT whose IRQ gates only acknowledge; then
// idle_tick_wait() halts with interrupts on until the next tick.
//
// Why not just poll: a payload that polls the UART back to back keeps its
// vCPU busy for as long as it waits. In the nested KVM host the tests use
// (QEMU TCG emulating SVM, tests/kvmhost) a guest spinning for a few seconds
// froze the whole nested host -- not even kill -9 of kuml completed -- so a
// test waiting for "no input arrives" never ended. A halted vCPU parks in
// KVM, as a Linux guest's idle loop does.
//
// The software-assisted kvm_pvm of some hosts (KUML_KVMHOST=host there, see
// reference/kvm-here.md) cannot emulate the handler's ring-0 `iret`: kuml
// stops such a guest with a clear "could not emulate" error. The tests run
// these payloads in the nested host or on a hardware KVM.
#ifndef KUML_TESTS_PAYLOADS_IDLE_TICK_H_
#define KUML_TESTS_PAYLOADS_IDLE_TICK_H_

#include <stdint.h>

#include "tests/payloads/payload.h"

struct idt_gate {
  uint16_t offset_low;
  uint16_t selector;
  uint8_t zero;
  uint8_t type;  // 0x8e: present, ring 0, 32-bit interrupt gate
  uint16_t offset_high;
} __attribute__((packed));

struct idt_pointer {
  uint16_t limit;
  uint32_t base;
} __attribute__((packed));

static struct idt_gate idle_tick_idt[0x30];

// Every IRQ (vectors 0x20..0x2f): a non-specific EOI to both 8259s, return.
// An EOI to a controller with nothing in service changes nothing.
__asm__(
    ".text\n"
    "idle_tick_irq:\n"
    "  push %eax\n"
    "  movb $0x20, %al\n"
    "  outb %al, $0xa0\n"
    "  outb %al, $0x20\n"
    "  pop %eax\n"
    "  iret\n");
void idle_tick_irq(void);

static inline void idle_tick_init(void) {
  uint16_t cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  const uint32_t handler = (uint32_t)idle_tick_irq;
  for (int v = 0x20; v < 0x30; v++) {
    idle_tick_idt[v].offset_low = (uint16_t)handler;
    idle_tick_idt[v].selector = cs;
    idle_tick_idt[v].zero = 0;
    idle_tick_idt[v].type = 0x8e;
    idle_tick_idt[v].offset_high = (uint16_t)(handler >> 16);
  }
  // Exceptions (0..0x1f) stay not-present: one would triple-fault, which
  // ends the machine loudly instead of hiding a payload bug.
  struct idt_pointer idtr = {sizeof(idle_tick_idt) - 1,
                             (uint32_t)idle_tick_idt};
  __asm__ volatile("lidt %0" : : "m"(idtr));
  // 8259s: edge triggered, cascaded, master at 0x20, slave at 0x28, 8086
  // mode; only IRQ0 unmasked.
  outb(0x20, 0x11);
  outb(0x21, 0x20);
  outb(0x21, 0x04);
  outb(0x21, 0x01);
  outb(0xa0, 0x11);
  outb(0xa1, 0x28);
  outb(0xa1, 0x02);
  outb(0xa1, 0x01);
  outb(0x21, 0xfe);
  outb(0xa1, 0xff);
  // PIT channel 0, lobyte/hibyte, mode 2: 1193182 Hz / 11932 = 100 Hz.
  outb(0x43, 0x34);
  outb(0x40, 11932 & 0xff);
  outb(0x40, 11932 >> 8);
}

// Halts until the next interrupt (at most 10 ms), interrupts off again after.
static inline void idle_tick_wait(void) { __asm__ volatile("sti; hlt; cli"); }

#endif  // KUML_TESTS_PAYLOADS_IDLE_TICK_H_
