// Package routing answers "which grid, and which community, street and
// district, is this point in" from memory, in about a microsecond, for the
// active generation and, on demand, for others.
//
// A Snapshot is one generation's grids in a geo/pointindex index plus the
// names and parents of every area; the chain of a point is derived from
// its grid's parents, so the levels always nest. A Router holds the active
// generation's snapshot behind an atomic pointer: a lookup loads the
// pointer and never touches the database; Refresh builds the snapshot of a
// newly activated generation aside and swaps it in, so lookups during a
// rebuild still see the old generation, complete. Who calls Refresh, and
// when, is the wiring's business (cmd/gridd: on a LISTEN notification, at
// every reconnection of the listener and every 30 s).
//
// In front of the exact index sits a raster of small cells over the
// coverage (see raster.go): most points fall in a cell that no border
// comes near, whose answer was settled once at build time by the exact
// index itself, so one array read answers them; only points in cells a
// border crosses ask pointindex. The answers are the index's, always.
//
// Snapshots of other generations (?gen=N) are built on first use and
// cached, the few most recently used only: retired generations are
// immutable, so a cached snapshot never goes stale.
//
// The package is pure Go: it loads areas through the small Source
// interface, which the PostGIS adapter implements.
package routing

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/geo/pointindex"
	"github.com/paulmach/orb"
)

// Source loads what a snapshot is built from.
type Source interface {
	// ActiveGeneration returns the active generation's id, or an ENOTFOUND
	// error when there is none.
	ActiveGeneration(ctx context.Context) (int, error)
	// IndexAreas returns every area of a generation with its code, name,
	// level and parent; grids and districts with their geometry (the
	// other levels' geometry is not needed). ENOTFOUND for no such
	// generation.
	IndexAreas(ctx context.Context, gen int) ([]geo.Area, error)
}

// Config tunes the routing rule. Zero values take the defaults.
type Config struct {
	// ToleranceM: a point outside the coverage goes to the nearest grid
	// within this many metres (flagged). Default 100.
	ToleranceM float64
	// DistrictRadiusM: beyond the tolerance, a point goes to the unassigned
	// queue of the nearest district within this many metres. Default 5000.
	DistrictRadiusM float64
	// CachedGenerations bounds the snapshots kept for generations other
	// than the active one. Default 2.
	CachedGenerations int
}

// MaxToleranceM bounds the tolerance a caller may ask for.
const MaxToleranceM = 5000

func (c *Config) defaults() {
	if c.ToleranceM == 0 {
		c.ToleranceM = 100
	}
	if c.DistrictRadiusM == 0 {
		c.DistrictRadiusM = 5000
	}
	if c.CachedGenerations == 0 {
		c.CachedGenerations = 2
	}
}

// Snapshot is one generation, ready to locate points. It is immutable and
// safe for any number of concurrent readers.
type Snapshot struct {
	gen        int
	grids      *pointindex.Index
	districtIx *pointindex.Index
	areas      map[string]area
	// Every grid's and district's chain, built once: a lookup copies one
	// (the AreaRefs are shared and must not be modified) and allocates
	// nothing. gridNum maps a grid code to its number in chains.
	chains    []geo.Chain
	gridNum   map[string]uint32
	districts map[string]geo.Chain
	raster    *raster // nil when it would not pay
	builtAt   time.Time
	buildTime time.Duration
}

type area struct {
	name, parent string
}

// Build indexes a generation's areas (as Source.IndexAreas returns them).
func Build(gen int, areas []geo.Area) (*Snapshot, error) {
	start := time.Now()
	s := &Snapshot{gen: gen, areas: make(map[string]area, len(areas))}
	var grids, districts []pointindex.Item
	for _, a := range areas {
		parent := a.ParentCode
		if parent == "" {
			parent = geo.ParentCode(a.Code)
		}
		s.areas[a.Code] = area{name: a.Name, parent: parent}
		switch a.Level {
		case geo.Grid:
			grids = append(grids, pointindex.Item{Key: a.Code, Geometry: a.Geometry})
		case geo.District:
			districts = append(districts, pointindex.Item{Key: a.Code, Geometry: a.Geometry})
		}
	}
	var err error
	if s.grids, err = pointindex.Build(grids); err != nil {
		return nil, err
	}
	if s.districtIx, err = pointindex.Build(districts); err != nil {
		return nil, err
	}
	slices.SortFunc(grids, func(a, b pointindex.Item) int { return strings.Compare(a.Key, b.Key) })
	s.chains = make([]geo.Chain, len(grids))
	s.gridNum = make(map[string]uint32, len(grids))
	polys := make([]orb.MultiPolygon, len(grids))
	for i, g := range grids {
		s.chains[i] = s.chain(g.Key)
		s.gridNum[g.Key] = uint32(i)
		polys[i] = g.Geometry
	}
	s.districts = map[string]geo.Chain{}
	for _, d := range districts {
		s.districts[d.Key] = s.chain(d.Key)
	}
	s.raster = buildRaster(polys, func(p orb.Point) int {
		if code, ok := s.grids.Locate(p); ok {
			return int(s.gridNum[code])
		}
		return -1
	})
	s.builtAt = time.Now()
	s.buildTime = s.builtAt.Sub(start)
	return s, nil
}

// Generation is the snapshot's generation.
func (s *Snapshot) Generation() int { return s.gen }

// Grids is the number of grids indexed.
func (s *Snapshot) Grids() int { return s.grids.Len() }

// BuildTime is how long Build took (without loading).
func (s *Snapshot) BuildTime() time.Duration { return s.buildTime }

// Locate applies the routing rule to a WGS84 point: the grid covering it
// (on a shared border or vertex, the smallest code: pointindex's tie
// rule, the same as PostGIS ST_Covers with ORDER BY code); else the
// nearest grid within tolM metres, flagged MatchNearest; else the nearest
// district within districtM metres, MatchDistrict, with no grid; else
// MatchNone.
func (s *Snapshot) Locate(p orb.Point, tolM, districtM float64) geo.Location {
	covered := true
	if s.raster != nil {
		switch v := s.raster.at(p[0], p[1]); {
		case v >= cellBase:
			return geo.Location{Chain: s.chains[v-cellBase], Match: geo.MatchInside}
		case v == cellNone:
			covered = false
		}
	}
	if covered {
		if code, ok := s.grids.Locate(p); ok {
			return geo.Location{Chain: s.chains[s.gridNum[code]], Match: geo.MatchInside}
		}
	}
	// With no tolerance there is nothing to search: a point on a border
	// was found above.
	if tolM > 0 {
		if code, d, ok := s.grids.Nearest(p, tolM); ok {
			return geo.Location{Chain: s.chains[s.gridNum[code]], Match: geo.MatchNearest, DistanceM: d}
		}
	}
	if districtM > 0 {
		if code, d, ok := s.districtIx.Nearest(p, districtM); ok {
			return geo.Location{Chain: s.districts[code], Match: geo.MatchDistrict, DistanceM: d}
		}
	}
	return geo.Location{Chain: geo.Chain{Generation: s.gen}, Match: geo.MatchNone}
}

// RasterPure is the share of the raster's cells answered without the
// exact index (0 without a raster).
func (s *Snapshot) RasterPure() float64 { return s.raster.pure() }

// chain builds the chain of code up through the parents.
func (s *Snapshot) chain(code string) geo.Chain {
	c := geo.Chain{Generation: s.gen}
	s.fill(&c, code)
	return c
}

// fill sets the chain from code up through the parents.
func (s *Snapshot) fill(c *geo.Chain, code string) {
	for code != "" {
		a, ok := s.areas[code]
		if !ok {
			a.parent = geo.ParentCode(code)
		}
		ref := &geo.AreaRef{Code: code, Name: a.name}
		l, err := geo.LevelOfCode(code)
		if err != nil {
			return
		}
		switch l {
		case geo.Grid:
			c.Grid = ref
		case geo.Community:
			c.Community = ref
		case geo.Street:
			c.Street = ref
		case geo.District:
			c.District = ref
		}
		if a.parent == code {
			return
		}
		code = a.parent
	}
}

// Name returns the name of an area of the snapshot.
func (s *Snapshot) Name(code string) string { return s.areas[code].name }

// Router holds the active generation's snapshot and a small cache of
// others.
type Router struct {
	cfg    Config
	src    Source
	active atomic.Pointer[Snapshot]

	refreshMu sync.Mutex // one Refresh at a time

	cacheMu sync.Mutex
	cache   map[int]*cacheEntry
	lru     []int // generations in cache, least recently used first
}

type cacheEntry struct {
	ready chan struct{} // closed when snap or err is set
	snap  *Snapshot
	err   error
}

// New returns a Router with no snapshot yet: call Refresh.
func New(cfg Config, src Source) *Router {
	cfg.defaults()
	return &Router{cfg: cfg, src: src, cache: map[int]*cacheEntry{}}
}

// Config returns the router's configuration with defaults filled in.
func (r *Router) Config() Config { return r.cfg }

// Active returns the active generation's snapshot, nil before the first
// successful Refresh or when no generation is active.
func (r *Router) Active() *Snapshot { return r.active.Load() }

// Refresh makes the router serve the generation that is active in the
// database, building its snapshot if it changed, and reports whether it
// did. Lookups go on meanwhile against the previous snapshot, which then
// moves to the cache (it is a retired generation now, still asked for
// with ?gen=).
func (r *Router) Refresh(ctx context.Context) (bool, error) {
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	id, err := r.src.ActiveGeneration(ctx)
	if geo.ErrorCode(err) == geo.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cur := r.active.Load()
	if cur != nil && cur.gen == id {
		return false, nil
	}
	snap, err := r.cached(ctx, id)
	if err != nil {
		return false, err
	}
	r.active.Store(snap)
	r.cacheMu.Lock()
	r.drop(id) // the active one is held by the pointer, not the cache
	if cur != nil {
		e := &cacheEntry{ready: make(chan struct{}), snap: cur}
		close(e.ready)
		r.put(cur.gen, e)
	}
	r.cacheMu.Unlock()
	return true, nil
}

// Snapshot returns the snapshot of generation gen, 0 meaning the active
// one.
func (r *Router) Snapshot(ctx context.Context, gen int) (*Snapshot, error) {
	cur := r.active.Load()
	if gen == 0 || (cur != nil && cur.gen == gen) {
		if cur == nil {
			return nil, geo.Errorf(geo.ENOTFOUND, "no active generation yet: run 'gridd merge' and 'gridd activate', or 'gridd demo'")
		}
		return cur, nil
	}
	return r.cached(ctx, gen)
}

// cached returns gen's snapshot from the cache, loading it once however
// many ask at the same time.
func (r *Router) cached(ctx context.Context, gen int) (*Snapshot, error) {
	r.cacheMu.Lock()
	e, ok := r.cache[gen]
	if !ok {
		e = &cacheEntry{ready: make(chan struct{})}
		r.put(gen, e)
	} else {
		r.touch(gen)
	}
	r.cacheMu.Unlock()
	if !ok {
		// The load outlives the request that started it: others may be
		// waiting for it.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		e.snap, e.err = r.load(lctx, gen)
		cancel()
		close(e.ready)
		if e.err != nil {
			r.cacheMu.Lock()
			if r.cache[gen] == e {
				r.drop(gen)
			}
			r.cacheMu.Unlock()
		}
	}
	select {
	case <-e.ready:
		return e.snap, e.err
	case <-ctx.Done():
		return nil, geo.WrapError(geo.EUNAVAILABLE, ctx.Err(), "generation %d is still being loaded", gen)
	}
}

func (r *Router) load(ctx context.Context, gen int) (*Snapshot, error) {
	areas, err := r.src.IndexAreas(ctx, gen)
	if err != nil {
		return nil, err
	}
	return Build(gen, areas)
}

// put adds an entry, evicting the least recently used finished ones
// beyond the bound. Call with cacheMu held.
func (r *Router) put(gen int, e *cacheEntry) {
	r.drop(gen)
	r.cache[gen] = e
	r.lru = append(r.lru, gen)
	for i := 0; len(r.cache) > r.cfg.CachedGenerations && i < len(r.lru); {
		g := r.lru[i]
		select {
		case <-r.cache[g].ready:
			r.drop(g)
		default:
			i++ // still loading: someone waits for it
		}
	}
}

func (r *Router) touch(gen int) {
	if i := slices.Index(r.lru, gen); i >= 0 {
		r.lru = append(slices.Delete(r.lru, i, i+1), gen)
	}
}

func (r *Router) drop(gen int) {
	delete(r.cache, gen)
	if i := slices.Index(r.lru, gen); i >= 0 {
		r.lru = slices.Delete(r.lru, i, i+1)
	}
}

// tolerance turns a caller's tolerance into metres: negative means the
// default; more than MaxToleranceM is refused.
func (r *Router) tolerance(tolM float64) (float64, error) {
	if tolM < 0 {
		return r.cfg.ToleranceM, nil
	}
	if !(tolM <= MaxToleranceM) {
		return 0, geo.Errorf(geo.EINVALID, "tolerance %g m: use 0 to %d m (default %g)", tolM, MaxToleranceM, r.cfg.ToleranceM)
	}
	return tolM, nil
}

// Locate applies the routing rule to one WGS84 point in generation gen
// (0: active). tolM < 0 takes the configured tolerance.
func (r *Router) Locate(ctx context.Context, p orb.Point, gen int, tolM float64) (geo.Location, error) {
	tol, err := r.tolerance(tolM)
	if err != nil {
		return geo.Location{}, err
	}
	s, err := r.Snapshot(ctx, gen)
	if err != nil {
		return geo.Location{}, err
	}
	return s.Locate(p, tol, r.cfg.DistrictRadiusM), nil
}

// LocateMany locates points against one snapshot, so a batch is answered
// from one generation even if another is activated meanwhile.
func (r *Router) LocateMany(ctx context.Context, pts []orb.Point, gen int, tolM float64) ([]geo.Location, error) {
	tol, err := r.tolerance(tolM)
	if err != nil {
		return nil, err
	}
	s, err := r.Snapshot(ctx, gen)
	if err != nil {
		return nil, err
	}
	out := make([]geo.Location, len(pts))
	for i, p := range pts {
		out[i] = s.Locate(p, tol, r.cfg.DistrictRadiusM)
	}
	return out, nil
}
