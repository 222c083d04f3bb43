package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
)

// runWithDB is what 'make test' uses: one throwaway embedded PostGIS for
// every test package, stopped and removed afterwards.
func runWithDB(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("with-db", flag.ContinueOnError)
	dir := fs.String("data", "", "data directory (default: a new temporary one, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return geo.Errorf(geo.EINVALID, "with-db runs a command: gridd with-db -- go test ./...")
	}
	dataDir := *dir
	if dataDir == "" {
		d, err := os.MkdirTemp("", "gridd-test-pg-")
		if err != nil {
			return err
		}
		// The postgres user must be able to enter it when gridd is root.
		os.Chmod(d, 0o755)
		defer os.RemoveAll(d)
		dataDir = d
	}
	srv, err := postgis.StartEmbedded(ctx, postgis.EmbeddedConfig{DataDir: dataDir, Throwaway: true})
	if err != nil {
		return err
	}
	defer srv.Stop()
	fmt.Fprintf(stdout, "throwaway PostGIS on 127.0.0.1:%d (%s)\n", srv.Port(), dataDir)
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "GRIDD_TEST_DATABASE_URL="+srv.AdminURL())
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			srv.Stop()
			return exitCode(ee.ExitCode())
		}
		return err
	}
	return nil
}
