//go:build !amd64

package netcore

func dfaSteps(c *dfaCursor, n int) { dfaStepsGo(c, n) }
