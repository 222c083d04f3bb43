package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/jobs"
	"github.com/gridd/gridd/postgis"
	"github.com/gridd/gridd/routing"
	"github.com/gridd/gridd/web"
)

// caseworkOptions tune the routing and the background work of serve.
type caseworkOptions struct {
	toleranceM     float64
	schedulerEvery time.Duration
	onGeneration   func()             // called when any process activated a generation
	webhookTargets geo.WebhookTargets // addresses webhook deliveries may connect to
}

// startCasework loads the active generation's point index and starts what
// keeps the incident workflow going on this replica: a LISTEN connection
// that swaps the index when any replica activates a generation and feeds
// the SSE hub with every replica's incident events, the deadline
// scheduler and webhook delivery. All stop when ctx ends.
//
// Replicas learn of activations by LISTEN/NOTIFY (a trigger on
// generations notifies gridd_generation at commit), so the index follows
// within milliseconds. Notifications sent while the listening connection
// is down are lost, so the router also refreshes on every (re)connection
// and, as a cheap poll, after 30 s without notifications: one indexed
// query that only rebuilds when the active generation changed.
func startCasework(ctx context.Context, db *postgis.DB, opts caseworkOptions) (*routing.Router, *web.EventHub) {
	router := routing.New(routing.Config{ToleranceM: opts.toleranceM}, db)
	if _, err := router.Refresh(ctx); err != nil {
		slog.Error("load the point index; locating waits for the database", "err", err)
	}
	hub := web.NewEventHub()
	kick := make(chan struct{}, 1)
	refresh := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
			changed, err := router.Refresh(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				slog.Error("refresh the point index", "err", err)
			case changed:
				s := router.Active()
				slog.Info("point index swapped", "generation", s.Generation(), "grids", s.Grids(), "build", s.BuildTime())
			}
		}
	}()
	go db.Listen(ctx, []string{postgis.ChannelGeneration, postgis.ChannelIncident}, postgis.ListenHandler{
		Connected: func(context.Context) { refresh() },
		Idle:      func(context.Context) { refresh() },
		Notify: func(channel, payload string) {
			switch channel {
			case postgis.ChannelGeneration:
				refresh()
				if opts.onGeneration != nil {
					opts.onGeneration()
				}
				if gen, err := strconv.Atoi(payload); err == nil {
					hub.PublishGeneration(gen)
				}
			case postgis.ChannelIncident:
				var e geo.IncidentEvent
				if err := json.Unmarshal([]byte(payload), &e); err != nil {
					slog.Error("bad incident notification", "payload", payload, "err", err)
					return
				}
				hub.Publish(e)
			}
		},
	})
	every := opts.schedulerEvery
	if every == 0 {
		every = 30 * time.Second
	}
	go jobs.RunScheduler(ctx, db, every, slog.Default())
	go (&jobs.Webhooks{Store: db, Targets: opts.webhookTargets}).Run(ctx)
	return router, hub
}

// runAssign locates every point of a CSV file in memory and writes it out
// with its chain.
func runAssign(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("assign", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	in := fs.String("in", "", "CSV file of points with lon and lat columns (and any others, kept) (required)")
	out := fs.String("out", "", "CSV file to write: the input columns and the chain (required)")
	srs := fs.String("srs", "wgs84", "datum of the coordinates: wgs84 (cgcs2000), gcj02 or bd09")
	tol := fs.Float64("tolerance", 100, "metres: a point outside the coverage goes to the nearest grid within this")
	gen := fs.Int("gen", 0, "generation to locate in (0: the active one)")
	lonField := fs.String("lon-field", "", "longitude column (default: lon/lng/longitude/x/经度)")
	latField := fs.String("lat-field", "", "latitude column (default: lat/latitude/y/纬度)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || *out == "" || fs.NArg() > 0 {
		return geo.Errorf(geo.EINVALID, "assign takes --in points.csv --out out.csv")
	}
	datum, err := geo.ParseDatum(*srs)
	if err != nil {
		return err
	}
	if *tol < 0 || *tol > routing.MaxToleranceM {
		return geo.Errorf(geo.EINVALID, "--tolerance %g: use 0 to %d metres", *tol, routing.MaxToleranceM)
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	router := routing.New(routing.Config{ToleranceM: *tol}, db)
	if _, err := router.Refresh(ctx); err != nil {
		return err
	}
	snap, err := router.Snapshot(ctx, *gen)
	if err != nil {
		return err
	}
	loaded := time.Since(start)

	f, err := os.Open(*in)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot read %s", *in)
	}
	defer f.Close()
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".gridd-assign-*.csv")
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write next to %s", *out)
	}
	defer os.Remove(tmp.Name())
	locStart := time.Now()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	st, err := snap.LocateCSV(f, bw, routing.BatchOptions{
		Columns: func(header []string) (int, int, error) {
			lon, lat := findColumn(header, *lonField, "lon", "lng", "longitude", "x", "经度"), findColumn(header, *latField, "lat", "latitude", "y", "纬度")
			if lon < 0 || lat < 0 {
				return 0, 0, geo.Errorf(geo.EINVALID, "%s: no longitude or latitude column in %v: name them lon and lat, or use --lon-field and --lat-field", *in, header)
			}
			return lon, lat, nil
		},
		Datum: datum, ToleranceM: *tol, DistrictM: router.Config().DistrictRadiusM, Name: *in,
	})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = geo.WrapError(geo.EINVALID, cerr, "write %s", *out)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return geo.WrapError(geo.EINVALID, err, "write %s", *out)
	}
	took := time.Since(locStart)
	fmt.Fprintf(stdout, "assigned %d points in generation %d: %d inside, %d nearest grid within %g m, %d to a district's queue, %d outside (index loaded in %.2fs, read, located and written at %.0f points/s, %.2fs in all)\n",
		st.Points, snap.Generation(), st.Matches[geo.MatchInside], st.Matches[geo.MatchNearest], *tol, st.Matches[geo.MatchDistrict], st.Matches[geo.MatchNone],
		loaded.Seconds(), float64(st.Points)/took.Seconds(), time.Since(start).Seconds())
	return nil
}

// findColumn returns the index of the column named want, or else of the
// first of the usual names, ignoring case; -1 when there is none.
func findColumn(header []string, want string, names ...string) int {
	if want != "" {
		names = []string{want}
	}
	for _, n := range names {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), n) {
				return i
			}
		}
	}
	return -1
}

// categoryColumns are the columns of a category file, in order.
var categoryColumns = []string{"code", "name", "kind", "class", "dept", "role", "limit", "unit", "verify", "active"}

// runCategories lists the catalogue or loads a file into it.
func runCategories(ctx context.Context, args []string, stdout io.Writer) error {
	usage := geo.Errorf(geo.EINVALID, "use 'gridd categories list [--csv] [--all]' or 'gridd categories load FILE.csv'")
	if len(args) == 0 {
		return usage
	}
	fs := flag.NewFlagSet("categories "+args[0], flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	asCSV := fs.Bool("csv", false, "list: print CSV in the format load reads")
	all := fs.Bool("all", false, "list: include inactive categories")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "list":
		if fs.NArg() != 0 {
			return usage
		}
		db, err := dbf.open(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		cs, err := db.Categories(ctx, *all)
		if err != nil {
			return err
		}
		if *asCSV {
			w := csv.NewWriter(stdout)
			w.Write(categoryColumns)
			for _, c := range cs {
				w.Write([]string{c.Code, c.Name, c.Kind, c.Class, c.Dept, string(c.Role), strconv.Itoa(c.Limit.Value), c.Limit.Unit,
					strconv.FormatBool(c.Verify), strconv.FormatBool(c.Active)})
			}
			w.Flush()
			return w.Error()
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CODE\tNAME\tCLASS\tDEPT\tROLE\tLIMIT\tVERIFY")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%v\n", c.Code, c.Name, c.Class, c.DeptName, c.Role.Label(), c.Limit, c.Verify)
		}
		return tw.Flush()
	case "load":
		if fs.NArg() != 1 {
			return usage
		}
		cs, err := readCategories(fs.Arg(0))
		if err != nil {
			return err
		}
		db, err := dbf.open(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		created, err := db.SaveCategories(ctx, cs)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "loaded %d categories from %s: %d new, %d replaced\n", len(cs), fs.Arg(0), created, len(cs)-created)
		return nil
	}
	return usage
}

// readCategories reads a category CSV (the columns of categoryColumns,
// active optional), accepting the Chinese words for kinds, units and
// yes/no.
func readCategories(path string) ([]geo.Category, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	defer f.Close()
	r := csv.NewReader(f)
	rows, err := r.ReadAll()
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "%s is not CSV", path)
	}
	if len(rows) < 2 {
		return nil, geo.Errorf(geo.EINVALID, "%s has no categories: give a header (%s) and one row per category", path, strings.Join(categoryColumns, ","))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, c := range categoryColumns[:9] {
		if _, ok := col[c]; !ok {
			return nil, geo.Errorf(geo.EINVALID, "%s has no %q column: the header must name %s", path, c, strings.Join(categoryColumns, ","))
		}
	}
	words := map[string]string{"事件": geo.KindEvent, "部件": geo.KindComponent, "工作时": geo.UnitWorkHours, "工作日": geo.UnitWorkDays, "小时": geo.UnitClockHours}
	yes := func(s string) (bool, error) {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "yes", "1", "是", "y":
			return true, nil
		case "false", "no", "0", "否", "n":
			return false, nil
		}
		return false, fmt.Errorf("%q is not yes or no", s)
	}
	var out []geo.Category
	for n, row := range rows[1:] {
		line := n + 2
		get := func(c string) string {
			if i, ok := col[c]; ok && i < len(row) {
				s := strings.TrimSpace(row[i])
				if w, ok := words[s]; ok {
					return w
				}
				return s
			}
			return ""
		}
		c := geo.Category{Code: get("code"), Name: get("name"), Kind: get("kind"), Class: get("class"), Dept: get("dept"),
			Role: geo.Role(get("role")), Limit: geo.TimeLimit{Unit: get("unit")}, Active: true}
		if c.Limit.Value, err = strconv.Atoi(get("limit")); err != nil {
			return nil, geo.Errorf(geo.EINVALID, "%s line %d: limit %q is not a whole number", path, line, get("limit"))
		}
		if c.Verify, err = yes(get("verify")); err != nil {
			return nil, geo.Errorf(geo.EINVALID, "%s line %d: verify %v", path, line, err)
		}
		if a := get("active"); a != "" {
			if c.Active, err = yes(a); err != nil {
				return nil, geo.Errorf(geo.EINVALID, "%s line %d: active %v", path, line, err)
			}
		}
		if err := c.Validate(); err != nil {
			return nil, geo.Errorf(geo.EINVALID, "%s line %d: %s", path, line, geo.ErrorMessage(err))
		}
		out = append(out, c)
	}
	return out, nil
}
