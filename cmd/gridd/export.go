package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gridd/gridd/geo"
)

func runExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	levelName := fs.String("level", "grid", "level to export: district, street, community or grid")
	gen := fs.Int("gen", 0, "generation (default: the active one)")
	format := fs.String("format", "", "geojson or csv (default: from the file name)")
	crosswalk := fs.Bool("crosswalk", false, "export a department's crosswalk (with --dept) as CSV instead")
	dept := fs.String("dept", "", "department of the crosswalk")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return geo.Errorf(geo.EINVALID, "export writes one file: gridd export --level grid grids.geojson")
	}
	path := fs.Arg(0)
	if *format == "" {
		*format = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
		if *format == "json" {
			*format = "geojson"
		}
	}
	if *crosswalk && *dept == "" {
		return geo.Errorf(geo.EINVALID, "--crosswalk needs --dept CODE")
	}
	level, err := geo.ParseLevel(*levelName)
	if err != nil {
		return err
	}
	if !*crosswalk && *format != "geojson" && *format != "csv" {
		return geo.Errorf(geo.EINVALID, "export format %q: use geojson or csv (or name the file .geojson/.csv)", *format)
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// Write beside the target and rename, so a failed export leaves no
	// half-written file under the name people look for.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write %s", path)
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if *crosswalk {
		err = db.ExportCrosswalk(ctx, *gen, *dept, bw)
	} else {
		err = db.ExportAreas(ctx, *gen, level, *format, bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write %s", path)
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}
