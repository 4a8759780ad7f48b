package netcore

// dfaSteps is dfaStepsGo in assembly, where the three parts' positions and
// states stay in registers.
//
//go:noescape
func dfaSteps(c *dfaCursor, n int)
