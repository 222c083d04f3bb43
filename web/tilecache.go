package web

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/tiles"
)

// Tile serving defaults.
const (
	defaultTileCacheBytes = 256 << 20
	// catalogTTL bounds how long this server may keep serving the previous
	// generation as "active" after another process (the CLI, a replica)
	// activated a new one. Activation through this server's API is seen
	// at once.
	catalogTTL = 2 * time.Second
	// prewarmMaxZoom and prewarmMaxTiles bound the background pre-warming
	// of a newly active generation's low zooms.
	prewarmMaxZoom  = 10
	prewarmMaxTiles = 4000
)

// tileService resolves tile requests to cache keys without a database
// round trip (from a catalog refreshed every catalogTTL), serves them from
// the cache and pre-warms the low zooms of each newly active generation.
type tileService struct {
	src    TileSource
	cache  *tiles.Cache
	logger *slog.Logger

	snap    atomic.Pointer[catalogSnap]
	refresh sync.Mutex // one catalog refresh at a time

	bg        context.Context // the server's lifetime, for background work
	stop      context.CancelFunc
	warmed    sync.Map // generation → struct{}: pre-warm started
	warmWG    sync.WaitGroup
	noPrewarm bool
}

// catalogSnap is a catalog with lookup maps and the time it was read.
type catalogSnap struct {
	geo.TileCatalog
	at    time.Time
	gens  map[int]bool
	depts map[string]geo.DeptLayer
}

func newTileService(src TileSource, cfg Config, logger *slog.Logger) *tileService {
	budget := cfg.TileCacheBytes
	if budget == 0 {
		budget = defaultTileCacheBytes
	}
	if budget < 0 {
		budget = 0
	}
	bg, stop := context.WithCancel(context.Background())
	return &tileService{src: src, cache: tiles.New(tiles.Config{MaxBytes: budget, Dir: cfg.TileCacheDir}), logger: logger, bg: bg, stop: stop,
		noPrewarm: cfg.NoTilePrewarm}
}

// close stops pre-warming and waits for it to end.
func (ts *tileService) close() {
	ts.stop()
	ts.warmWG.Wait()
}

// catalog returns a catalog no older than catalogTTL (or fresh when force
// is set), reading it from the database when needed. A newly active
// generation starts its pre-warming.
func (ts *tileService) catalog(ctx context.Context, force bool) (*catalogSnap, error) {
	cur := ts.snap.Load()
	if cur != nil && !force && time.Since(cur.at) < catalogTTL {
		return cur, nil
	}
	if cur != nil && !force {
		// Stale: one request refreshes, the others go on with what is
		// there rather than queue behind the database.
		if !ts.refresh.TryLock() {
			return cur, nil
		}
	} else {
		ts.refresh.Lock()
	}
	defer ts.refresh.Unlock()
	if now := ts.snap.Load(); now != cur && now != nil && !force {
		return now, nil
	}
	c, err := ts.src.TileCatalog(ctx)
	if err != nil {
		if cur != nil && !force {
			return cur, nil // keep serving through a database hiccup
		}
		return nil, err
	}
	snap := &catalogSnap{TileCatalog: c, at: time.Now(), gens: map[int]bool{}, depts: map[string]geo.DeptLayer{}}
	for _, g := range c.Generations {
		snap.gens[g] = true
	}
	for _, d := range c.Depts {
		snap.depts[d.Dept] = d
	}
	ts.snap.Store(snap)
	if c.Active != 0 {
		ts.prewarm(c.Active)
	}
	return snap, nil
}

// expire makes the next request read the catalog again: another process
// activated a generation (postgis' LISTEN tells cmd/gridd, which calls
// Server.GenerationChanged), so the TTL need not run out first.
func (ts *tileService) expire() {
	if cur := ts.snap.Load(); cur != nil {
		stale := *cur
		stale.at = time.Time{}
		ts.snap.CompareAndSwap(cur, &stale)
	}
}

// tileRequest is a resolved tile request.
type tileRequest struct {
	query    geo.TileQuery
	key      tiles.Key
	explicit bool // a generation named by ?gen=: its tiles never change
}

// resolve turns a layer, a generation (0: active) and a datum into the
// query and its cache key.
func (ts *tileService) resolve(ctx context.Context, layer string, gen int, datum geo.Datum, z, x, y int) (tileRequest, error) {
	snap, err := ts.catalog(ctx, false)
	if err != nil {
		return tileRequest{}, err
	}
	req := tileRequest{query: geo.TileQuery{Layer: layer, Z: z, X: x, Y: y, Datum: datum}, explicit: gen != 0}
	variant := ""
	if datum != geo.DatumWGS84 {
		variant = string(datum)
	}
	if dept, ok := strings.CutPrefix(layer, geo.DeptLayerPrefix); ok {
		d, ok := snap.depts[dept]
		if !ok {
			if snap, err = ts.catalog(ctx, true); err != nil {
				return tileRequest{}, err
			}
			if d, ok = snap.depts[dept]; !ok {
				return tileRequest{}, geo.Errorf(geo.ENOTFOUND, "department %q has no grid layer: import one with 'gridd import --level grid --dept %s FILE'", dept, dept)
			}
		}
		req.query.LayerID, req.explicit = d.LayerID, false
		req.key = tiles.Key{Source: "d" + strconv.FormatInt(d.LayerID, 10), Layer: "dept_" + dept, Z: z, X: x, Y: y, Variant: variant}
		return req, nil
	}
	switch {
	case gen == 0 && snap.Active == 0:
		return tileRequest{}, geo.Errorf(geo.ENOTFOUND, "no active generation yet: run 'gridd merge' and 'gridd activate', or 'gridd demo'")
	case gen == 0:
		gen = snap.Active
	case !snap.gens[gen]:
		if snap, err = ts.catalog(ctx, true); err != nil {
			return tileRequest{}, err
		}
		if !snap.gens[gen] {
			return tileRequest{}, geo.Errorf(geo.ENOTFOUND, "no generation %d", gen)
		}
	}
	req.query.Generation = gen
	source := "g" + strconv.Itoa(gen)
	if snap.BuildingSet != 0 {
		// The households tiles carry are counted from buildings: a new
		// building set changes them, even in an explicit generation.
		source += "b" + strconv.FormatInt(snap.BuildingSet, 10)
		req.explicit = false // nor are they immutable for clients
	}
	req.key = tiles.Key{Source: source, Layer: layer, Z: z, X: x, Y: y, Variant: variant}
	return req, nil
}

// get returns the cached tile, cutting it on a miss, and where it came
// from.
func (ts *tileService) get(ctx context.Context, req tileRequest) (*tiles.Tile, tiles.Origin, error) {
	return ts.cache.Get(ctx, req.key, func(ctx context.Context) ([]byte, error) {
		return ts.src.Tile(ctx, req.query)
	})
}

// prewarm cuts the tiles of zooms 0..prewarmMaxZoom over a generation's
// extent, for every level and the labels, in the background, once per
// generation and server. It runs one tile at a time so that it never
// takes more than one database connection from live requests.
func (ts *tileService) prewarm(gen int) {
	if _, done := ts.warmed.LoadOrStore(gen, struct{}{}); done || ts.noPrewarm {
		return
	}
	ts.warmWG.Add(1)
	go func() {
		defer ts.warmWG.Done()
		start := time.Now()
		ctx := ts.bg
		b, err := ts.src.Bounds(ctx, gen, 0)
		if err != nil {
			ts.logger.Warn("tile pre-warm: no extent", "generation", gen, "err", err)
			return
		}
		cover, err := tiles.Cover(b.Min[0], b.Min[1], b.Max[0], b.Max[1], 0, prewarmMaxZoom, prewarmMaxTiles)
		if err != nil {
			ts.logger.Warn("tile pre-warm: extent too large, warming the zooms that fit", "generation", gen, "err", err)
		}
		n := 0
		for _, t := range cover {
			for _, layer := range warmLayers {
				if layer == geo.LabelsLayer && t.Z < geo.LabelMinZoom(geo.District) {
					continue
				}
				if ctx.Err() != nil {
					return
				}
				req, err := ts.resolve(ctx, layer, gen, geo.DatumWGS84, t.Z, t.X, t.Y)
				if err == nil {
					_, _, err = ts.get(ctx, req)
				}
				if err != nil {
					if ctx.Err() == nil {
						ts.logger.Warn("tile pre-warm stopped", "generation", gen, "err", err)
					}
					return
				}
				n++
			}
		}
		ts.logger.Info("tiles pre-warmed", "generation", gen, "tiles", n, "max_zoom", prewarmMaxZoom, "seconds", fmt.Sprintf("%.1f", time.Since(start).Seconds()))
	}()
}

// warmLayers are the layers pre-warmed at activation.
var warmLayers = []string{geo.District.Plural(), geo.Street.Plural(), geo.Community.Plural(), geo.Grid.Plural(), geo.LabelsLayer}
