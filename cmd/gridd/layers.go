package main

import (
	"context"
	"encoding/csv"
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
)

func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	var req geo.ImportRequest
	fs.StringVar(&req.Kind, "kind", "layer", "what the file holds: layer (boundaries of a level) or buildings (楼栋 points or footprints)")
	levelName := fs.String("level", "", "level of the layer: district, street, community or grid (required for a layer)")
	fs.StringVar(&req.Dept, "dept", "", "department code of a departmental layer (zongzhi, chengguan, gongan, dangjian, shichang, yingji)")
	fs.StringVar(&req.Name, "name", "", "layer name (default: the file name)")
	fs.StringVar(&req.CodeField, "code-field", "", "attribute holding the code (default: guessed)")
	fs.StringVar(&req.NameField, "name-field", "", "attribute holding the name (default: guessed)")
	fs.StringVar(&req.ParentField, "parent-field", "", "attribute holding the parent area's code (default: guessed)")
	fs.StringVar(&req.HouseholdsField, "households-field", "", "attribute holding the household count (default: guessed)")
	fs.StringVar(&req.PopulationField, "population-field", "", "attribute holding the population (default: guessed)")
	fs.StringVar(&req.AddressField, "address-field", "", "buildings: attribute holding the address 门牌 (default: guessed)")
	fs.StringVar(&req.FloorsField, "floors-field", "", "buildings: attribute holding the floors 层数 (default: guessed)")
	fs.StringVar(&req.UseField, "use-field", "", "buildings: attribute holding the use 用途 (default: guessed)")
	fs.StringVar(&req.SRS, "srs", "", "coordinate system of the file: EPSG:nnnn (e.g. EPSG:4490, EPSG:4549), gcj02 or bd09 (default: from the file, else EPSG:4326)")
	fs.StringVar(&req.Encoding, "encoding", "", "attribute text encoding of .dbf/.csv: utf-8, gbk, gb18030, big5 (default: .cpg, the DBF driver byte, else detected)")
	fs.StringVar(&req.Attribution, "attribution", "", "who made the layer, as maps of generations merged from it credit it (one line, e.g. \"网格: 北仑区综治中心\")")
	fs.StringVar(&req.Table, "table", "", "GeoPackage table, or shapefile in a zip or folder, to read")
	fs.BoolVar(&req.DryRun, "dry-run", false, "read, check and repair, print the report, write nothing")
	fs.BoolVar(&req.AllowOutside, "allow-outside", false, "accept a layer that reaches outside China")
	fs.BoolVar(&req.SkipBad, "skip-bad", false, "import the polygons of a layer that also holds points or lines")
	reportFile := fs.String("report", "", "write the per-feature issues to this file (.csv or .geojson)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return geo.Errorf(geo.EINVALID, "import takes one file: gridd import --level grid --dept zongzhi FILE, or gridd import --kind buildings FILE")
	}
	if req.Kind != geo.KindBuildings {
		level, err := geo.ParseLevel(*levelName)
		if err != nil {
			return err
		}
		req.Level = level
	}
	path := fs.Arg(0)
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := newImportService(ctx, db.DB, 1)
	progress, done := progressPrinter(path)
	rep, err := svc.Import(ctx, path, req, progress)
	done()
	if err != nil {
		return err
	}
	if rep.Buildings != nil {
		printBuildingReport(stdout, path, rep)
	} else {
		printImportReport(stdout, path, rep)
	}
	if *reportFile != "" {
		if err := writeIssues(*reportFile, rep.Issues); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "per-feature issues written to %s\n", *reportFile)
	}
	return nil
}

// progressPrinter shows a live count on a terminal and a plain line every
// 100,000 features otherwise (logs, CI); done ends the live line.
func progressPrinter(path string) (progress func(int), done func()) {
	fi, err := os.Stderr.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	start := time.Now()
	last, shown := 0, false
	progress = func(n int) {
		switch {
		case tty:
			fmt.Fprintf(os.Stderr, "\r%s: %d features read (%.1fs)", filepath.Base(path), n, time.Since(start).Seconds())
			shown = true
		case n-last >= 100000:
			fmt.Fprintf(os.Stderr, "%s: %d features read (%.1fs)\n", filepath.Base(path), n, time.Since(start).Seconds())
			last = n
		}
	}
	done = func() {
		if shown {
			fmt.Fprintln(os.Stderr)
		}
	}
	return progress, done
}

func printImportReport(w io.Writer, path string, rep geo.ImportReport) {
	switch {
	case rep.Unchanged:
		fmt.Fprintf(w, "%s is identical to version %d of this layer (layer %d): nothing imported\n", path, rep.Version, rep.LayerID)
		return
	case rep.DryRun:
		fmt.Fprintf(w, "dry run of %s: nothing written\n", path)
	default:
		fmt.Fprintf(w, "imported %s as layer %d, version %d\n", path, rep.LayerID, rep.Version)
	}
	printSourceLines(w, rep)
	fmt.Fprintf(w, "  %d features read, %d stored, %d repaired, %d dropped, %d skipped\n", rep.Read, rep.Features, rep.Repaired, rep.Dropped, rep.Skipped)
	fmt.Fprintf(w, "  extent lon %.6f…%.6f, lat %.6f…%.6f; total area %.2f km²; %.1fs\n", rep.Extent[0], rep.Extent[2], rep.Extent[1], rep.Extent[3], rep.AreaM2/1e6, rep.Seconds)
	for i, it := range rep.Issues {
		if i == 10 {
			fmt.Fprintf(w, "  … %d more issues (--report FILE lists them all)\n", len(rep.Issues)-10)
			break
		}
		fmt.Fprintf(w, "  feature %d %s %s: %s: %s", it.FID, it.Code, it.Name, it.Kind, it.Detail)
		if it.Kind == "repaired" {
			fmt.Fprintf(w, " (area %.1f → %.1f m²)", it.AreaBeforeM2, it.AreaAfterM2)
		}
		fmt.Fprintln(w)
	}
}

// printSourceLines prints how a file was read: its format, coordinate
// system and encoding, and which of its attributes feed which field.
func printSourceLines(w io.Writer, rep geo.ImportReport) {
	keys := make([]string, 0, len(rep.Mapping))
	for k, v := range rep.Mapping {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		keys = []string{"none"} // never an empty list
	}
	fmt.Fprintf(w, "  format %s, coordinate system %s, encoding %s\n", rep.Format, rep.SRS, rep.Encoding)
	fmt.Fprintf(w, "  fields mapped: %s", strings.Join(keys, ", "))
	if len(rep.Guessed) > 0 {
		fmt.Fprintf(w, " (guessed: %s)", strings.Join(rep.Guessed, ", "))
	}
	fmt.Fprintln(w)
}

// writeIssues writes the per-feature issues as CSV or, for .geojson/.json,
// as GeoJSON with each feature's geometry.
func writeIssues(path string, issues []geo.FeatureIssue) error {
	f, err := os.Create(path)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write the report %s", path)
	}
	defer f.Close()
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".geojson" || ext == ".json" {
		io.WriteString(f, `{"type":"FeatureCollection","features":[`)
		for i, it := range issues {
			props, _ := json.Marshal(it)
			g := it.GeoJSON
			if g == "" {
				g = "null"
			}
			if i > 0 {
				io.WriteString(f, ",")
			}
			fmt.Fprintf(f, "\n{\"type\":\"Feature\",\"properties\":%s,\"geometry\":%s}", props, g)
		}
		_, err = io.WriteString(f, "\n]}\n")
		return err
	}
	cw := csv.NewWriter(f)
	cw.Write([]string{"fid", "code", "name", "kind", "detail", "area_before_m2", "area_after_m2"})
	for _, it := range issues {
		cw.Write([]string{strconv.Itoa(it.FID), it.Code, it.Name, it.Kind, it.Detail,
			strconv.FormatFloat(it.AreaBeforeM2, 'f', 2, 64), strconv.FormatFloat(it.AreaAfterM2, 'f', 2, 64)})
	}
	cw.Flush()
	return cw.Error()
}

func runMerge(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("merge", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	var p geo.MergeParams
	base := fs.String("base", "zongzhi", "departments whose grid layer provides the grid shapes, in priority order (comma-separated)")
	fs.StringVar(&p.Strategy, "strategy", "base", "base: grid shapes from the base department; overlay: the common refinement of every department's grids")
	fs.Float64Var(&p.SliverArea, "sliver-area", 0, "pieces smaller than this many m² are slivers (default 1000)")
	fs.Float64Var(&p.SliverWidth, "sliver-width", 0, "pieces thinner than this mean width in m are slivers (default 20)")
	fs.Float64Var(&p.GapNewArea, "gap-new-area", 0, "uncovered community area from this many m² becomes a new grid (default 50000)")
	fs.Float64Var(&p.MatchShare, "match-share", 0, "a grid keeps an active grid's code when they overlap by this share of both (default 0.5)")
	fs.IntVar(&p.HouseholdBound, "household-bound", 0, "the most households of a grid (older form of --grid-households)")
	var sf sizeFlags
	sf.register(fs)
	fs.BoolVar(&p.Rebalance, "rebalance", false, "split grids above the size rule along the gaps between their buildings and join those below it to a neighbour (needs buildings)")
	fs.StringVar(&p.Note, "note", "", "a note to keep with the generation")
	asJSON := fs.Bool("json", false, "print the generation number and the full report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p.Base = strings.Split(*base, ",")
	var err error
	if p.GridHouseholds, p.CommunityHouseholds, err = sf.rules(); err != nil {
		return err
	}
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
	if b := rep.Buildings; b != nil {
		fmt.Fprintf(w, "\nbuildings: %d in a grid, %d outside every grid; moving grid vs the active generation: %d buildings, %d households\n",
			b.Assigned, b.Outside, b.Moving, b.MovingHouseholds)
	}
	if d := rep.Disputes; d != nil {
		fmt.Fprintf(w, "\ndisputes between areas (插花地): %d, %d open, %d settled by a standing decision; 'gridd disputes --gen %d --state open' lists the open ones\n",
			d.Total, d.Open, d.Kept, rep.Generation)
	}
	var sizeItems []geo.ReviewItem
	for _, it := range rep.Review {
		if strings.HasPrefix(it.Kind, "households_") {
			sizeItems = append(sizeItems, it)
		}
	}
	printSizes(w, rep.Sizes, sizeItems, 10)
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
	requireResolved := fs.Bool("require-resolved", false, "fail too while a dispute between areas is open or a decision on one is not merged yet")
	var sf sizeFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	grid, community, err := sf.rules()
	if err != nil {
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
	if *requireResolved {
		ds, err := db.Disputes(ctx, geo.DisputeFilter{Generation: *gen, State: "unresolved"})
		if err != nil {
			return err
		}
		if len(ds) > 0 {
			printDisputes(stdout, ds)
			return geo.Errorf(geo.EINVALID, "%d disputes between areas are unresolved: settle them with 'gridd disputes resolve ID confirm|reassign|transfer' (or in the console), then merge again where the list says so", len(ds))
		}
		fmt.Fprintln(stdout, "ok: every dispute between areas is settled")
	}
	items, sizes, err := db.SizeReview(ctx, *gen, grid, community)
	if err != nil {
		return err
	}
	printSizes(stdout, sizes, items, 20) // out-of-range sizes are for review, not violations
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
	// The operator at the machine answers to nobody in the application:
	// the zero gate, no approval asked (the API asks for one).
	res, err := db.ActivateAs(ctx, gen, geo.ActivationGate{})
	if err != nil {
		return err
	}
	if res.MovingBuildings > 0 {
		fmt.Fprintf(stdout, "generation %d is active: %d households in %d buildings moved to another grid\n", gen, res.MovingHouseholds, res.MovingBuildings)
		return nil
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
