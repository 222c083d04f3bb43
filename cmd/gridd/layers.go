package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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
	fs.StringVar(&opts.Encoding, "encoding", "", "attribute text encoding of .dbf/.csv: utf-8, gbk, gb18030, big5 (default: .cpg, the DBF driver byte, else detected)")
	fs.StringVar(&opts.Table, "table", "", "GeoPackage table, or shapefile in a zip or folder, to read")
	fs.StringVar(&opts.WKTField, "wkt-field", "", "CSV column holding WKT geometry (default: wkt/geometry/geom)")
	fs.StringVar(&opts.LonField, "lon-field", "", "CSV column holding longitude (default: lon/lng/longitude/x/经度)")
	fs.StringVar(&opts.LatField, "lat-field", "", "CSV column holding latitude (default: lat/latitude/y/纬度)")
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
	var p geo.MergeParams
	base := fs.String("base", "zongzhi", "departments whose grid layer provides the grid shapes, in priority order (comma-separated)")
	fs.Float64Var(&p.SliverArea, "sliver-area", 0, "pieces smaller than this many m² are slivers (default 1000)")
	fs.Float64Var(&p.SliverWidth, "sliver-width", 0, "pieces thinner than this mean width in m are slivers (default 20)")
	fs.Float64Var(&p.GapNewArea, "gap-new-area", 0, "uncovered community area from this many m² becomes a new grid (default 50000)")
	fs.Float64Var(&p.MatchShare, "match-share", 0, "a grid keeps an active grid's code when they overlap by this share of both (default 0.5)")
	fs.IntVar(&p.HouseholdBound, "household-bound", 0, "flag grids with more households than this (default 500)")
	fs.StringVar(&p.Note, "note", "", "a note to keep with the generation")
	asJSON := fs.Bool("json", false, "print the generation number and the full report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p.Base = strings.Split(*base, ",")
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	rep, err := db.Merge(ctx, p)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printMergeReport(stdout, rep)
	fmt.Fprintf(stdout, "\ndraft generation %d made in %.1fs; check it with 'gridd check --gen %d', activate it with 'gridd activate %d'\n",
		rep.Generation, time.Since(start).Seconds(), rep.Generation, rep.Generation)
	return nil
}

// printMergeReport prints the summary tables a person reads before
// activating a draft.
func printMergeReport(w io.Writer, rep geo.MergeReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "generation %d: grids from %s (layer %d)", rep.Generation, rep.BaseDept, rep.BaseLayer)
	if len(rep.Derived) > 0 {
		fmt.Fprintf(w, "; derived levels: %s", strings.Join(rep.Derived, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "level\tareas\toverlaps\toverlap m²\tgaps filled\tgap m²\tslivers\tsliver m²\tuncovered m²\tnew grids\tsplit\tbad codes\t")
	for _, l := range geo.Levels {
		r := rep.Levels[string(l)]
		if r == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%d\t%.0f\t%d\t%.0f\t%.0f\t%d\t%d\t%d\t\n", l, r.Areas, r.Overlaps, r.OverlapM2,
			r.Gaps, r.GapM2, r.Slivers, r.SliverM2, r.UncoveredM2, r.NewGrids, r.SplitSources, r.BadCodes)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ngrid codes: %d kept from the active generation, %d from the source, %d new\n", rep.Codes["kept"], rep.Codes["source"], rep.Codes["new"])
	if len(rep.Lineage) > 0 {
		fmt.Fprintf(w, "lineage: %d kept, %d reshaped, %d split, %d merged, %d retired, %d new\n", rep.Lineage["kept"], rep.Lineage["reshaped"],
			rep.Lineage["split"], rep.Lineage["merged"], rep.Lineage["retired"], rep.Lineage["new"])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(tw, "department\tgrids\tone to one\twithin one\tsplit\toutside m²\t")
	depts := make([]string, 0, len(rep.Crosswalk))
	for d := range rep.Crosswalk {
		depts = append(depts, d)
	}
	sort.Strings(depts)
	for _, d := range depts {
		s := rep.Crosswalk[d]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.0f\t\n", d, s.Grids, s.OneToOne, s.Within, s.Split, s.OutsideM2)
	}
	tw.Flush()
	review := map[string]int{}
	for _, it := range rep.Review {
		review[it.Kind]++
	}
	if len(review) > 0 {
		kinds := make([]string, 0, len(review))
		for k, n := range review {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "\nto review: %s (details with --json or GET /api/v1/generations/%d/report)\n", strings.Join(kinds, ", "), rep.Generation)
	}
}

func runCheck(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	gen := fs.Int("gen", 0, "generation to check (default: the active one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	vs, err := db.Check(ctx, *gen, geo.CheckParams{})
	if err != nil {
		return err
	}
	for _, v := range vs {
		fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%.4f\t%s\n", v.Rule, v.Level, v.Code, v.Other, v.Amount, v.Detail)
	}
	if len(vs) > 0 {
		return geo.Errorf(geo.EINVALID, "%d violations", len(vs))
	}
	fmt.Fprintln(stdout, "ok: no overlaps, gaps, nesting or code violations")
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
