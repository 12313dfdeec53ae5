/* Entry of every payload: a stack below the code, then payload_main(), then
   power off (so a payload that returns ends the machine cleanly). */
    .code32
    .section .text.entry, "ax"
    .globl _start
_start:
    movl $0x0ff000, %esp
    call payload_main
    movw $0x2000, %ax
    movw $0x604, %dx
    outw %ax, %dx
1:  hlt
    jmp 1b
