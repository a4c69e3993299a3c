//go:build !unix

package loadgen

func raiseFileLimit(int) error { return nil }
