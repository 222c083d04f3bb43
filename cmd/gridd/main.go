// Command gridd is the grid management server and its tools: one binary
// with subcommands. Run 'gridd help' for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gridd/gridd/geo"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "serve the API, tiles and console over HTTP", runServe},
		{"demo", "load the demo city (Yinzhou, Ningbo) into an empty database", runDemo},
		{"import", "import a boundary or grid layer from a file", runImport},
		{"merge", "merge the departments' layers into a draft generation (多网合一)", runMerge},
		{"activate", "make a generation the active one", runActivate},
		{"check", "validate a generation: overlaps, gaps, nesting, codes (exit 1 on a violation)", runCheck},
		{"disputes", "list a generation's disputed pieces between areas (插花地), or settle one: disputes resolve ID confirm|reassign|transfer", runDisputes},
		{"generations", "list generations", runGenerations},
		{"export", "export a level of a generation, or a department's crosswalk", runExport},
		{"assign", "locate the points of a CSV file: grid, community, street, district (--in, --out)", runAssign},
		{"buildings", "assign the buildings to the grids of a generation again (gridd buildings assign --gen N)", runBuildings},
		{"register", "the register of households and residents (实有人口): register load FILE.csv|.xlsx, status, key", runRegister},
		{"categories", "list the incident category catalogue, or load one from a CSV file", runCategories},
		{"user", "accounts: add, passwd, list (--login, --role, --scope)", runUser},
		{"token", "API tokens: create (shown once), revoke ID, list", runToken},
		{"with-db", "start a throwaway embedded PostGIS, run a command with GRIDD_TEST_DATABASE_URL, stop it", runWithDB},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var exit exitCode
		if errors.As(err, &exit) {
			os.Exit(int(exit))
		}
		fmt.Fprintln(os.Stderr, "gridd:", err)
		os.Exit(1)
	}
}

// exitCode ends gridd with a status and no message of its own.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	usage(stderr)
	return geo.Errorf(geo.EINVALID, "unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "gridd: geospatial grid management server (网格化服务管理)")
	fmt.Fprintln(w, "\nUsage: gridd COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'gridd COMMAND -h' for a command's flags.")
}
