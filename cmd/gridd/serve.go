package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/web"
)

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	addr := fs.String("addr", envOr("GRIDD_ADDR", ":8080"), "HTTP listen address ($GRIDD_ADDR)")
	withDemo := fs.Bool("demo", false, "load the demo city first when the database has no generation yet")
	seed := fs.Int("seed", 0, "demo seed (with --demo; 0: the default)")
	maxUploadMB := fs.Int64("max-upload-mb", 512, "largest layer file accepted over HTTP, in MiB")
	uploadDir := fs.String("upload-dir", "", "where uploaded layer files wait while imported (default: the system's temp dir)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv := web.NewServer(web.Config{Addr: *addr}, web.Deps{})
	// Listen before starting the database: a busy port fails fast.
	l, err := srv.Listen()
	if err != nil {
		return err
	}
	defer l.Close()
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if *withDemo {
		if _, err := db.ActiveGeneration(ctx); geo.ErrorCode(err) == geo.ENOTFOUND {
			fmt.Fprintln(stdout, "empty database: loading the demo city")
			if err := loadDemo(ctx, db, demoOptions{seed: *seed}, stdout); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	imports := newImportService(ctx, db.DB, 2)
	srv = web.NewServer(web.Config{Addr: *addr, UploadDir: *uploadDir, MaxUploadBytes: *maxUploadMB << 20},
		web.Deps{Locator: db, Tiles: db, Health: db, Generations: db, Importer: imports})
	fmt.Fprintf(stdout, "gridd serving on http://%s\n", displayAddr(l.Addr().String()))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if db.embedded != nil {
		go func() {
			select {
			case <-db.embedded.Exited():
				slog.Error("the embedded postgres exited; shutting down")
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return srv.Serve(ctx, l)
}

func displayAddr(a string) string {
	if len(a) > 0 && a[0] == ':' {
		return "localhost" + a
	}
	if len(a) > 5 && a[:5] == "[::]:" {
		return "localhost:" + a[5:]
	}
	return a
}
