package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
	"github.com/gridd/gridd/web"
)

func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dbf := dbFlags{serve: true}
	dbf.register(fs)
	addr := fs.String("addr", envOr("GRIDD_ADDR", ":8080"), "HTTP listen address ($GRIDD_ADDR)")
	withDemo := fs.Bool("demo", false, "load the demo city first when the database has no generation yet")
	seed := fs.Int("seed", 0, "demo seed (with --demo; 0: the default)")
	maxUploadMB := fs.Int64("max-upload-mb", 512, "largest layer file accepted over HTTP, in MiB")
	uploadDir := fs.String("upload-dir", "", "where uploaded layer files wait while imported (default: the system's temp dir)")
	tileCacheMB := fs.Int64("tile-cache-mb", 256, "memory for cached vector tiles, in MiB (0: no memory cache)")
	tileCacheDir := fs.String("tile-cache-dir", "", "directory for a disk cache of vector tiles (default: none)")
	tolerance := fs.Float64("locate-tolerance", 100, "metres: a point outside the coverage goes to the nearest grid within this (flagged)")
	publicTiles := fs.Bool("public-tiles", false, "serve the coverage's tiles and OGC features without credentials (never incidents)")
	rateLimit := fs.Float64("rate-limit", web.DefaultRateLimit, "requests/s allowed per API token, console session or anonymous address; more answer 429 (0: no limit)")
	rateBurst := fs.Int("rate-burst", web.DefaultRateBurst, "requests a caller may send at once above --rate-limit")
	basemapURL := fs.String("basemap-url", envOr("GRIDD_BASEMAP_URL", ""), "XYZ raster tiles under the grids, e.g. http://tiles.example.gov.cn/{z}/{x}/{y}.png ($GRIDD_BASEMAP_URL; default: no basemap)")
	basemapDatum := fs.String("basemap-datum", envOr("GRIDD_BASEMAP_DATUM", ""), "the basemap's datum: wgs84, cgcs2000 or gcj02 (grid tiles are then shifted to match) ($GRIDD_BASEMAP_DATUM)")
	basemapAttribution := fs.String("basemap-attribution", envOr("GRIDD_BASEMAP_ATTRIBUTION", ""), "the basemap's attribution, shown on the map ($GRIDD_BASEMAP_ATTRIBUTION)")
	reqTimeout := fs.Duration("request-timeout", web.DefaultRequestTimeout, "deadline of each request but event streams, uploads, exports, merges, checks and activations; past it the answer is 503 (0: none)")
	maxInFlight := fs.Int("max-inflight", web.DefaultMaxInFlight, "requests served at once (event streams, uploads and exports aside); more answer 503 at once (0: no cap)")
	dbRead := fs.String("db-read", envOr("DATABASE_READ_URL", ""), "a streaming standby of --db for the heavy reads: tiles, OGC features, exports, case metrics ($DATABASE_READ_URL; default: all reads on --db)")
	readLag := fs.Duration("db-read-max-lag", 5*time.Second, "send reads back to --db while the standby is further behind than this")
	schedEvery := fs.Duration("scheduler-every", 30*time.Second, "how often this replica runs the deadline scheduler (replicas share the work; each case is escalated once)")
	metrics := fs.String("metrics", "", "who may read Prometheus /metrics: '' (admins and viewers, by session or token), 'public' (anyone; for a scraper in a closed network) or 'off'")
	var webhookAllow stringList
	fs.Var(&webhookAllow, "webhook-allow", "CIDR (or address) webhooks may reach although it is internal: loopback, private, link-local, metadata… are refused otherwise; repeat or comma-separate, e.g. 10.20.0.0/16")
	dupWithin := fs.String("duplicate-within", "50m", "a new report this near an open case of its category is flagged as a possible duplicate (e.g. 50m, 0.1km)")
	dupDays := fs.Int("duplicate-days", geo.DefaultDuplicateDays, "… when that case was reported at most this many days before")
	verdictWithin := fs.Duration("verdict-within", geo.DefaultVerdictWithin, "how long after 结案 the reporter may give a verdict (群众签单), e.g. 168h")
	activationApproval := fs.Int("activation-approval", geo.DefaultActivationApprovalHouseholds, "households an activation over the API may move between grids before it needs an admin's approval (分级审批; 0: never)")
	exportApproval := fs.Duration("export-approval", web.DefaultExportApproval, "how long an approved export of the unmasked register waits for its download (分级审批)")
	var kf registerKeyFlags
	kf.register(fs)
	devToken := fs.String("dev-token", "", "FOR TESTS ONLY: a bearer token that is an admin and may act as anyone (X-Gridd-Actor/X-Gridd-Role)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	basemap, err := web.ParseBasemap(*basemapURL, *basemapDatum, *basemapAttribution)
	if err != nil {
		return err
	}
	if *activationApproval < 0 {
		return geo.Errorf(geo.EINVALID, "--activation-approval %d: give a number of households, 0 or more (0: activations never need approval)", *activationApproval)
	}
	if *schedEvery < 100*time.Millisecond {
		return geo.Errorf(geo.EINVALID, "--scheduler-every %s: give at least 100ms", *schedEvery)
	}
	if m := *metrics; m != web.MetricsAuth && m != web.MetricsPublic && m != web.MetricsOff {
		return geo.Errorf(geo.EINVALID, "--metrics %q: give '' (admins and viewers), 'public' or 'off'", m)
	}
	hookTargets, err := geo.ParseWebhookAllow(webhookAllow)
	if err != nil {
		return err
	}
	dupRule, err := duplicateRule(*dupWithin, *dupDays)
	if err != nil {
		return err
	}
	verdictRule := geo.VerdictPolicy{Within: *verdictWithin}
	if err := verdictRule.Validate(); err != nil {
		return geo.WrapError(geo.EINVALID, err, "--verdict-within")
	}
	if *devToken != "" && len(*devToken) < 20 {
		return geo.Errorf(geo.EINVALID, "--dev-token is for tests: give it at least 20 random characters")
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
	if *dbRead != "" {
		if err := db.AttachReader(ctx, postgis.ReadConfig{URL: *dbRead, MaxLag: *readLag}); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "heavy reads: the standby", postgis.Redacted(*dbRead), "while it is current, else the primary")
	}
	registerKey, err := kf.load(dbf.dataDir, false, stdout)
	if err != nil {
		return err
	}
	if *withDemo {
		if _, err := db.ActiveGeneration(ctx); geo.ErrorCode(err) == geo.ENOTFOUND {
			fmt.Fprintln(stdout, "empty database: loading the demo city")
			if registerKey == nil {
				if registerKey, err = kf.load(dbf.dataDir, true, stdout); err != nil {
					return err
				}
			}
			if err := loadDemo(ctx, db, demoOptions{seed: *seed, people: true, historyDays: defaultHistoryDays, registerKey: registerKey}, stdout); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	if err := db.SetDuplicatePolicy(ctx, dupRule); err != nil {
		return err
	}
	if err := db.SetVerdictPolicy(ctx, verdictRule); err != nil {
		return err
	}
	if err := ensureFirstAdmin(ctx, db.DB, stdout); err != nil {
		return err
	}
	imports := newImportService(ctx, db.DB, 2)
	tileCacheBytes := *tileCacheMB << 20
	if tileCacheBytes == 0 {
		tileCacheBytes = -1 // web.Config: negative is none, 0 the default
	}
	cwCtx, cwCancel := context.WithCancel(ctx)
	defer cwCancel()
	var served atomic.Pointer[web.Server] // set below: the LISTEN loop starts first
	router, hub := startCasework(cwCtx, db.DB, caseworkOptions{toleranceM: *tolerance, schedulerEvery: *schedEvery, webhookTargets: hookTargets, onGeneration: func() {
		if s := served.Load(); s != nil {
			s.GenerationChanged()
		}
	}})
	srv = web.NewServer(web.Config{Addr: *addr, ExportApproval: *exportApproval, ActivationApprovalHouseholds: *activationApproval, UploadDir: *uploadDir, MaxUploadBytes: *maxUploadMB << 20, TileCacheBytes: tileCacheBytes, TileCacheDir: *tileCacheDir,
		PublicTiles: *publicTiles, DevToken: *devToken, RateLimit: *rateLimit, RateBurst: *rateBurst, RequestTimeout: *reqTimeout, MaxInFlight: *maxInFlight, Basemap: basemap, Metrics: *metrics, WebhookTargets: hookTargets},
		web.Deps{Locator: db, Tiles: db, Features: db, Health: db, Generations: db, Exports: fileExporter{db: db.DB}, Importer: imports,
			Routing: router, Incidents: db, Casework: db, Duplicates: db, Verdicts: db, Summons: db, Disputes: db, Register: postgis.Register{DB: db.DB, Key: registerKey}, Events: hub, Auth: db,
			Areas: db, Buildings: db, IncidentTiles: db, Ops: db})
	served.Store(srv)
	fmt.Fprintf(stdout, "gridd serving on http://%s\n", displayAddr(l.Addr().String()))
	if basemap != nil {
		fmt.Fprintf(stdout, "basemap: %s\n", basemap)
	}
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

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// duplicateRule reads --duplicate-within and --duplicate-days.
func duplicateRule(within string, days int) (geo.DuplicatePolicy, error) {
	m, err := geo.ParseDistance(within)
	if err != nil {
		return geo.DuplicatePolicy{}, geo.WrapError(geo.EINVALID, err, "--duplicate-within")
	}
	p := geo.DuplicatePolicy{WithinM: m, Days: days}
	if err := p.Validate(); err != nil {
		return p, geo.WrapError(geo.EINVALID, err, "--duplicate-within/--duplicate-days")
	}
	return p, nil
}
