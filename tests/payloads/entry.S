/* Entry of every payload: a stack below the code, then payload_main(), then
   power off (so a payload that returns ends the machine cleanly).

   The binary starts with a jump over a multiboot header, so the same file
   boots in kuml (entered at its first byte, 0x100000) and in QEMU
   (`-kernel payload.bin`, which reads the header's address fields): the
   benchmarks run one payload in both. Port 0xf4 is QEMU's isa-debug-exit
   (nothing in kuml); port 0x604 is kuml's power control. */
    .code32
    .section .text.entry, "ax"
    .globl _start
_start:
    jmp start32

    .align 4
multiboot_header:
    .long 0x1badb002                 /* magic */
    .long 0x00010000                 /* flags: address fields are valid */
    .long -(0x1badb002 + 0x00010000) /* checksum */
    .long multiboot_header           /* header_addr */
    .long _start                     /* load_addr */
    .long 0                          /* load_end_addr: whole file */
    .long 0                          /* bss_end_addr: none */
    .long start32                    /* entry_addr */

start32:
    movl $0x0ff000, %esp
    call payload_main
    movb $0, %al
    outb %al, $0xf4
    movw $0x2000, %ax
    movw $0x604, %dx
    outw %ax, %dx
1:  hlt
    jmp 1b
