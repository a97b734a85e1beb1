/* Prints the Capstone 4 structure offsets CapstoneNative reads, from the installed headers (libcapstone-dev). */
#include <stdio.h>
#include <stddef.h>
#include <capstone/capstone.h>
#define P(name, value) printf("%s=%zu\n", name, (size_t) (value))
int main(void) {
  P("INSN_ID", offsetof(cs_insn, id));
  P("INSN_SIZE", offsetof(cs_insn, size));
  P("INSN_BYTES", offsetof(cs_insn, bytes));
  P("INSN_MNEMONIC", offsetof(cs_insn, mnemonic));
  P("INSN_OP_STR", offsetof(cs_insn, op_str));
  P("INSN_DETAIL", offsetof(cs_insn, detail));
  P("INSN_STRUCT_SIZE", sizeof(cs_insn));
  P("DETAIL_X86", offsetof(cs_detail, x86));
  P("X86_PREFIX", offsetof(cs_x86, prefix));
  P("X86_REX", offsetof(cs_x86, rex));
  P("X86_ADDR_SIZE", offsetof(cs_x86, addr_size));
  P("X86_OP_COUNT", offsetof(cs_x86, op_count));
  P("X86_OPERANDS", offsetof(cs_x86, operands));
  P("X86_MAX_OPERANDS", sizeof(((cs_x86 *) 0)->operands) / sizeof(cs_x86_op));
  P("OP_STRUCT_SIZE", sizeof(cs_x86_op));
  P("OP_TYPE", offsetof(cs_x86_op, type));
  P("OP_REG", offsetof(cs_x86_op, reg));
  P("OP_IMM", offsetof(cs_x86_op, imm));
  P("OP_MEM", offsetof(cs_x86_op, mem));
  P("OP_SIZE", offsetof(cs_x86_op, size));
  P("MEM_SEGMENT", offsetof(x86_op_mem, segment));
  P("MEM_BASE", offsetof(x86_op_mem, base));
  P("MEM_INDEX", offsetof(x86_op_mem, index));
  P("MEM_SCALE", offsetof(x86_op_mem, scale));
  P("MEM_DISP", offsetof(x86_op_mem, disp));
  P("CS_ARCH_X86", CS_ARCH_X86);
  P("CS_MODE_64", CS_MODE_64);
  P("CS_OPT_DETAIL", CS_OPT_DETAIL);
  P("CS_OPT_ON", CS_OPT_ON);
  P("OP_TYPE_REG", X86_OP_REG);
  P("OP_TYPE_IMM", X86_OP_IMM);
  P("OP_TYPE_MEM", X86_OP_MEM);
  return 0;
}
