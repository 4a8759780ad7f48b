#include "textflag.h"

// func dfaSteps(c *dfaCursor, n int)
//
// dfaStepsGo with the three parts' positions and states in registers.
// Each step of a part: the byte's class, plus the state's row offset (the
// low 16 bits of its dfaNext entry), gives the next entry; its high 16
// bits are written at the part's write position, which moves on by two
// when they are not zero (an answer and "\n").
TEXT ·dfaSteps(SB), NOSPLIT, $8-16
	MOVQ c+0(FP), AX
	MOVQ 0(AX), BX    // c.in
	MOVQ 8(AX), CX    // c.out
	MOVQ 16(AX), SI   // c.p[0]
	ADDQ BX, SI
	MOVQ 24(AX), DI   // c.p[1]
	ADDQ BX, DI
	MOVQ 32(AX), R8   // c.p[2]
	ADDQ BX, R8
	MOVQ 40(AX), R9   // c.q[0]
	ADDQ CX, R9
	MOVQ 48(AX), R10  // c.q[1]
	ADDQ CX, R10
	MOVQ 56(AX), R11  // c.q[2]
	ADDQ CX, R11
	MOVQ 64(AX), R12  // c.s[0]
	MOVQ 72(AX), R13  // c.s[1]
	MOVQ 80(AX), DX   // c.s[2]
	MOVQ n+8(FP), BX
	ADDQ SI, BX
	MOVQ BX, end-8(SP)
	LEAQ ·dfaNext(SB), CX
	LEAQ ·dfaClass(SB), AX

loop:
	MOVBLZX (SI), BX
	MOVBLZX (AX)(BX*1), BX
	ADDL R12, BX
	MOVWLZX BX, BX
	MOVL (CX)(BX*4), R12
	MOVL R12, BX
	SHRL $16, BX
	MOVW BX, (R9)
	ADDL $0xffff, BX
	SHRL $15, BX
	ANDL $2, BX
	ADDQ BX, R9

	MOVBLZX (DI), BX
	MOVBLZX (AX)(BX*1), BX
	ADDL R13, BX
	MOVWLZX BX, BX
	MOVL (CX)(BX*4), R13
	MOVL R13, BX
	SHRL $16, BX
	MOVW BX, (R10)
	ADDL $0xffff, BX
	SHRL $15, BX
	ANDL $2, BX
	ADDQ BX, R10

	MOVBLZX (R8), BX
	MOVBLZX (AX)(BX*1), BX
	ADDL DX, BX
	MOVWLZX BX, BX
	MOVL (CX)(BX*4), DX
	MOVL DX, BX
	SHRL $16, BX
	MOVW BX, (R11)
	ADDL $0xffff, BX
	SHRL $15, BX
	ANDL $2, BX
	ADDQ BX, R11

	INCQ SI
	INCQ DI
	INCQ R8
	CMPQ SI, end-8(SP)
	JNE loop

	MOVQ c+0(FP), AX
	MOVQ 0(AX), BX
	SUBQ BX, SI
	SUBQ BX, DI
	SUBQ BX, R8
	MOVQ 8(AX), CX
	SUBQ CX, R9
	SUBQ CX, R10
	SUBQ CX, R11
	MOVQ SI, 16(AX)
	MOVQ DI, 24(AX)
	MOVQ R8, 32(AX)
	MOVQ R9, 40(AX)
	MOVQ R10, 48(AX)
	MOVQ R11, 56(AX)
	MOVQ R12, 64(AX)
	MOVQ R13, 72(AX)
	MOVQ DX, 80(AX)
	RET
