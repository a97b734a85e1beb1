# Kernel-like integer code for CpuBenchmark (the mix of the 6.1 syscall paths: mov/cmp/jcc/test/add/lea,
# call/ret with push/pop frames, gs: per-CPU accesses, lock cmpxchg/xadd, movzx/movsxd, shifts, imul,
# rep movsq/stosq, string scans and list walks). On entry: rbx = data area (64 KiB), r15 = outer iterations.
# Data layout: [rbx+0x0000] 32-node list (node: next at +0, value at +8, flags at +16; 64 bytes apart),
#              [rbx+0x1000] a NUL-terminated 120-byte string, [rbx+0x2000] 1 KiB source, [rbx+0x3000] dest.
outer:
    lea rdi, [rbx+0x1000]
    call strlen
    add r14, rax

    mov rdi, rbx
    call list_sum
    add r14, rax

    lea rsi, [rbx+0x2000]
    lea rdi, [rbx+0x3000]
    mov edx, 1024
    call memcpy_rep

    lea rdi, [rbx+0x3000]
    mov ecx, 64
    xor eax, eax
    rep stosq

    mov rdi, rbx
    call counters
    lea rsi, [rbx+0x2000]
    mov ecx, 128
    call checksum
    add r14, rax

    dec r15
    jnz outer
    hlt

strlen:
    push rbp
    mov rbp, rsp
    mov rax, rdi
1:  cmp byte ptr [rax], 0
    je 2f
    add rax, 1
    jmp 1b
2:  sub rax, rdi
    pop rbp
    ret

list_sum:
    xor eax, eax
    test rdi, rdi
    je 2f
1:  mov rdx, qword ptr [rdi+8]
    movzx ecx, byte ptr [rdi+16]
    test cl, 1
    jne 3f
    add rax, rdx
3:  mov rdi, qword ptr [rdi]
    test rdi, rdi
    jne 1b
2:  ret

memcpy_rep:
    mov rcx, rdx
    shr rcx, 3
    and edx, 7
    rep movsq
    mov ecx, edx
    rep movsb
    ret

counters:
    push r12
    push r13
    mov r12d, 16
1:  mov rax, qword ptr gs:[0x20]
    lea rcx, [rax+1]
    lock cmpxchg qword ptr gs:[0x20], rcx
    jne 1b
    mov eax, 1
    lock xadd dword ptr [rdi+0x1800], eax
    movsxd rdx, eax
    imul rdx, rdx, 0x61c88647
    shr rdx, 7
    cmp rdx, 0x1000
    cmovb r13, rdx
    setne al
    dec r12d
    jnz 1b
    pop r13
    pop r12
    ret

checksum:
    xor eax, eax
1:  movzx edx, word ptr [rsi]
    rol eax, 5
    xor eax, edx
    add rsi, 2
    sub ecx, 1
    jne 1b
    ret
