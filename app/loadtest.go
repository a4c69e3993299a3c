package app

import (
	"context"
	"fmt"
	"io"
)

// loadtestCmd is replaced by the load generator (issue 5).
func loadtestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("loadtest is not built yet")
}
