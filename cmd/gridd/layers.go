package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/importers"
	"github.com/gridd/gridd/postgis"
)

func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	levelName := fs.String("level", "", "level of the layer: district, street, community or grid (required)")
	dept := fs.String("dept", "", "department code of a departmental layer (zongzhi, chengguan, gongan, dangjian, shichang, yingji)")
	name := fs.String("name", "", "layer name (default: the file name)")
	var opts importers.Options
	fs.StringVar(&opts.CodeField, "code-field", "", "attribute holding the code (default: guessed)")
	fs.StringVar(&opts.NameField, "name-field", "", "attribute holding the name (default: guessed)")
	fs.StringVar(&opts.ParentField, "parent-field", "", "attribute holding the parent area's code (default: guessed)")
	fs.StringVar(&opts.HouseholdsField, "households-field", "", "attribute holding the household count (default: guessed)")
	fs.StringVar(&opts.PopulationField, "population-field", "", "attribute holding the population (default: guessed)")
	fs.StringVar(&opts.SRS, "srs", "", "coordinate system of the file, e.g. EPSG:4490 (default: from the file, else EPSG:4326)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return geo.Errorf(geo.EINVALID, "import takes one file: gridd import --level grid --dept zongzhi FILE.geojson")
	}
	level, err := geo.ParseLevel(*levelName)
	if err != nil {
		return err
	}
	path := fs.Arg(0)
	hash, err := fileHash(path)
	if err != nil {
		return err
	}
	r, err := importers.Open(path, opts)
	if err != nil {
		return err
	}
	defer r.Close()
	info := r.Info()
	mapping, err := importers.MapFields(info.Fields, opts)
	if err != nil {
		return err
	}
	if len(mapping.Guessed) > 0 {
		fmt.Fprintf(stdout, "fields guessed: %s\n", strings.Join(mapping.Guessed, ", "))
	}
	srs := opts.SRS
	if srs == "" {
		srs = info.SRS
	}
	if srs == "" {
		srs = "EPSG:4326"
	}
	if *name == "" {
		*name = filepath.Base(path)
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	meta := postgis.LayerMeta{Dept: *dept, Level: level, Name: *name, FileName: filepath.Base(path), FileHash: hash, SourceSRS: srs, Encoding: info.Encoding}
	res, err := db.ImportLayer(ctx, meta, func() (geo.Feature, error) {
		f, err := r.Next()
		if err != nil {
			return f, err
		}
		return f, mapping.Apply(&f)
	})
	if err != nil {
		return err
	}
	if res.Unchanged {
		fmt.Fprintf(stdout, "%s is identical to version %d of this layer (layer %d): nothing imported\n", path, res.Version, res.LayerID)
		return nil
	}
	fmt.Fprintf(stdout, "imported %s as layer %d, version %d: %d features (%d repaired, %d dropped), %s, %s\n",
		path, res.LayerID, res.Version, res.Features, res.Repaired, res.Dropped, srs, info.Encoding)
	return nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func runMerge(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	base := fs.String("base", "zongzhi", "department whose grid layer provides the grids")
	note := fs.String("note", "", "a note to keep with the generation")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	gen, err := db.CreateAsIsGeneration(ctx, postgis.AsIsParams{BaseDept: *base, Note: *note})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "draft generation %d made from the latest layers (grids of %s as they are); activate it with 'gridd activate %d'\n", gen, *base, gen)
	return nil
}

func runActivate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("activate", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return geo.Errorf(geo.EINVALID, "activate takes one generation number: gridd activate GEN")
	}
	gen, err := strconv.Atoi(fs.Arg(0))
	if err != nil || gen <= 0 {
		return geo.Errorf(geo.EINVALID, "%q is not a generation number", fs.Arg(0))
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Activate(ctx, gen); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generation %d is active\n", gen)
	return nil
}

func runGenerations(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("generations", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	gens, err := db.Generations(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GEN\tSTATE\tCREATED\tNOTE")
	for _, g := range gens {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", g.ID, g.State, g.CreatedAt.Format("2006-01-02 15:04"), g.Note)
	}
	return tw.Flush()
}
