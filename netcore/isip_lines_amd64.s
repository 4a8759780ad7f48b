#include "go_asm.h"
#include "textflag.h"

// func dfaSteps(c *dfaCursor, n int)
//
// n is even: the loop takes two steps at a time.
//
// dfaStepsGo with the four parts' positions and states in registers:
//
//	part         0    1    2    3
//	next byte    SI   DI   R8   R9
//	next answer  R10  R11  R12  R13
//	state        DX   R14  BP   CX
//
// AX holds the tables and BX is scratch. R14 (g in ABIInternal) is
// restored by the wrapper that calls this ABI0 function, and BP is saved
// by the prologue that the frame makes.
TEXT ·dfaSteps(SB), NOSPLIT, $8-16
	MOVQ c+0(FP), AX
	MOVQ dfaCursor_in(AX), BX
	MOVQ dfaCursor_p+0(AX), SI
	ADDQ BX, SI
	MOVQ dfaCursor_p+8(AX), DI
	ADDQ BX, DI
	MOVQ dfaCursor_p+16(AX), R8
	ADDQ BX, R8
	MOVQ dfaCursor_p+24(AX), R9
	ADDQ BX, R9
	MOVQ dfaCursor_out(AX), BX
	MOVQ dfaCursor_q+0(AX), R10
	ADDQ BX, R10
	MOVQ dfaCursor_q+8(AX), R11
	ADDQ BX, R11
	MOVQ dfaCursor_q+16(AX), R12
	ADDQ BX, R12
	MOVQ dfaCursor_q+24(AX), R13
	ADDQ BX, R13
	MOVQ dfaCursor_s+0(AX), DX
	MOVQ dfaCursor_s+8(AX), R14
	MOVQ dfaCursor_s+16(AX), BP
	MOVQ dfaCursor_s+24(AX), CX
	MOVQ n+8(FP), BX
	ADDQ SI, BX
	MOVQ BX, end-8(SP)
	LEAQ ·dfa(SB), AX

loop:
	MOVBLZX (SI), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL DX, BX
	MOVWLZX lineTables_next(AX)(BX*2), DX
	MOVL lineTables_out(AX)(DX*1), BX
	MOVW BX, (R10)
	SHRL $16, BX
	ADDQ BX, R10

	MOVBLZX (DI), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL R14, BX
	MOVWLZX lineTables_next(AX)(BX*2), R14
	MOVL lineTables_out(AX)(R14*1), BX
	MOVW BX, (R11)
	SHRL $16, BX
	ADDQ BX, R11

	MOVBLZX (R8), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL BP, BX
	MOVWLZX lineTables_next(AX)(BX*2), BP
	MOVL lineTables_out(AX)(BP*1), BX
	MOVW BX, (R12)
	SHRL $16, BX
	ADDQ BX, R12

	MOVBLZX (R9), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL CX, BX
	MOVWLZX lineTables_next(AX)(BX*2), CX
	MOVL lineTables_out(AX)(CX*1), BX
	MOVW BX, (R13)
	SHRL $16, BX
	ADDQ BX, R13


	MOVBLZX 1(SI), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL DX, BX
	MOVWLZX lineTables_next(AX)(BX*2), DX
	MOVL lineTables_out(AX)(DX*1), BX
	MOVW BX, (R10)
	SHRL $16, BX
	ADDQ BX, R10

	MOVBLZX 1(DI), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL R14, BX
	MOVWLZX lineTables_next(AX)(BX*2), R14
	MOVL lineTables_out(AX)(R14*1), BX
	MOVW BX, (R11)
	SHRL $16, BX
	ADDQ BX, R11

	MOVBLZX 1(R8), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL BP, BX
	MOVWLZX lineTables_next(AX)(BX*2), BP
	MOVL lineTables_out(AX)(BP*1), BX
	MOVW BX, (R12)
	SHRL $16, BX
	ADDQ BX, R12

	MOVBLZX 1(R9), BX
	MOVBLZX lineTables_class(AX)(BX*1), BX
	ADDL CX, BX
	MOVWLZX lineTables_next(AX)(BX*2), CX
	MOVL lineTables_out(AX)(CX*1), BX
	MOVW BX, (R13)
	SHRL $16, BX
	ADDQ BX, R13

	ADDQ $2, SI
	ADDQ $2, DI
	ADDQ $2, R8
	ADDQ $2, R9
	CMPQ SI, end-8(SP)
	JNE loop

	MOVQ c+0(FP), AX
	MOVQ dfaCursor_in(AX), BX
	SUBQ BX, SI
	SUBQ BX, DI
	SUBQ BX, R8
	SUBQ BX, R9
	MOVQ SI, dfaCursor_p+0(AX)
	MOVQ DI, dfaCursor_p+8(AX)
	MOVQ R8, dfaCursor_p+16(AX)
	MOVQ R9, dfaCursor_p+24(AX)
	MOVQ dfaCursor_out(AX), BX
	SUBQ BX, R10
	SUBQ BX, R11
	SUBQ BX, R12
	SUBQ BX, R13
	MOVQ R10, dfaCursor_q+0(AX)
	MOVQ R11, dfaCursor_q+8(AX)
	MOVQ R12, dfaCursor_q+16(AX)
	MOVQ R13, dfaCursor_q+24(AX)
	MOVQ DX, dfaCursor_s+0(AX)
	MOVQ R14, dfaCursor_s+8(AX)
	MOVQ BP, dfaCursor_s+16(AX)
	MOVQ CX, dfaCursor_s+24(AX)
	RET
