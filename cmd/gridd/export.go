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

	"github.com/gridd/gridd/exporters"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
)

func runExport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	levelName := fs.String("level", "grid", "level to export: district, street, community or grid")
	gen := fs.Int("gen", 0, "generation (default: the active one)")
	format := fs.String("format", "", "geojson, csv, gpkg (GeoPackage) or shp (shapefile; FILE.shp or a FILE.zip) (default: from the file name)")
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
		*format = exporters.FormatOf(path)
	}
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
	toFile := *format == exporters.FormatGeoPackage || *format == exporters.FormatShapefile
	switch {
	case *crosswalk && toFile:
		return geo.Errorf(geo.EINVALID, "the crosswalk is a table without geometry: export it as CSV (name the file .csv)")
	case !*crosswalk && !toFile && *format != "geojson" && *format != "csv":
		return geo.Errorf(geo.EINVALID, "export format %q: use geojson, csv, gpkg or shp (or name the file .geojson/.csv/.gpkg/.shp/.zip)", *format)
	case *format == exporters.FormatShapefile && exporters.FormatOf(path) != exporters.FormatShapefile:
		return geo.Errorf(geo.EINVALID, "%s: a shapefile export needs a file name ending in .shp (the .shx, .dbf, .prj and .cpg go beside it) or .zip", path)
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if toFile {
		n, err := exportFile(ctx, db.DB, *gen, level, *format, path)
		if err != nil {
			return err
		}
		if strings.EqualFold(filepath.Ext(path), ".shp") {
			fmt.Fprintf(stdout, "wrote %s (and its .shx, .dbf, .prj, .cpg): %d %s\n", path, n, level.Plural())
		} else {
			fmt.Fprintf(stdout, "wrote %s: %d %s\n", path, n, level.Plural())
		}
		return nil
	}
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

// exportFile writes one level of a generation (0: the active one) to path
// as a GeoPackage or shapefile and returns how many areas it wrote. It is
// where the database's areas become the exporters' features: the two
// packages do not know each other.
func exportFile(ctx context.Context, db *postgis.DB, gen int, level geo.Level, format, path string) (int, error) {
	n := 0
	err := exporters.WriteFile(path, format, level.Plural(), func(write func(exporters.Feature) error) error {
		return db.EachArea(ctx, gen, level, func(a geo.Area, areaM2 float64, review string) error {
			n++
			return write(exporters.Feature{
				Code: a.Code, Name: a.Name, Parent: a.ParentCode, Level: string(a.Level),
				Households: a.Households, Population: a.Population, AreaM2: areaM2, Review: review,
				Geometry: a.Geometry,
			})
		})
	})
	return n, err
}

// fileExporter makes the GeoPackage and zipped shapefile downloads of the
// HTTP API (web.FileExporter).
type fileExporter struct{ db *postgis.DB }

// ExportFile writes one level of a generation to path, which the web
// package then sends and removes.
func (e fileExporter) ExportFile(ctx context.Context, gen int, level geo.Level, format, path string) error {
	_, err := exportFile(ctx, e.db, gen, level, format, path)
	return err
}
