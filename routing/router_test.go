package routing_test

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gridd/gridd/demo"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
	"github.com/gridd/gridd/routing"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// loadDemo fills db with the demo city and activates its first generation.
func loadDemo(t *testing.T, db *postgis.DB) int {
	t.Helper()
	ctx := context.Background()
	city, err := demo.Ningbo(demo.DefaultDistrict)
	if err != nil {
		t.Fatal(err)
	}
	in := postgis.DemoInput{District: city.District, BoundaryGeoJSON: city.BoundaryGeoJSON, Seed: demo.DefaultSeed, UrbanCentre: city.UrbanCentre}
	in.Divisions = append(append(in.Divisions, city.Streets...), city.Communities...)
	if err := db.GenerateDemo(ctx, in); err != nil {
		t.Fatal(err)
	}
	rep, err := db.Merge(ctx, geo.MergeParams{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Activate(ctx, rep.Generation); err != nil {
		t.Fatal(err)
	}
	return rep.Generation
}

// probe is a test point with what PostGIS says about it.
type probe struct {
	id       int
	lon, lat float64
	want     string  // the grid: smallest code among those covering it, or the nearest
	dist     float64 // metres to the nearest grid (outside points)
	aux      float64 // how many grids cover it, or metres to the district
}

// withPoints copies pts into a temporary table pts(id, geom) on one
// connection and runs query there, scanning rows of (id, code, dist, aux).
func withPoints(t *testing.T, db *postgis.DB, pts []orb.Point, query string, args ...any) map[int]probe {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS pts; CREATE TEMP TABLE pts (id int PRIMARY KEY, lon float8, lat float8, geom geometry(Point, 4326))`); err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, len(pts))
	for i, p := range pts {
		rows[i] = []any{i, p[0], p[1]}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"pts"}, []string{"id", "lon", "lat"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE pts SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326); CREATE INDEX ON pts USING gist (geom); ANALYZE pts`); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Query(ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]probe{}
	for res.Next() {
		var p probe
		if err := res.Scan(&p.id, &p.want, &p.dist, &p.aux); err != nil {
			t.Fatal(err)
		}
		p.lon, p.lat = pts[p.id][0], pts[p.id][1]
		out[p.id] = p
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// coversSQL is the set-based reference: for every point, the smallest code
// among the grids that ST_Covers it (” when none) and how many do. The
// grids drive the join so that PostGIS prepares each grid's geometry once
// for all the points in it.
const coversSQL = `
WITH hits AS (
    SELECT p.id, min(a.code) AS code, count(*) AS n
    FROM areas a JOIN pts p ON ST_Covers(a.geom, p.geom)
    WHERE a.generation = $1 AND a.level = 'grid'
    GROUP BY p.id)
SELECT p.id, coalesce(h.code, ''), 0::float8, coalesce(h.n, 0)::float8
FROM pts p LEFT JOIN hits h USING (id)`

func TestDemoCity(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	gen := loadDemo(t, db)
	r := routing.New(routing.Config{}, db)
	if changed, err := r.Refresh(ctx); err != nil || !changed {
		t.Fatalf("first refresh: changed %v, %v", changed, err)
	}
	snap := r.Active()
	if snap == nil || snap.Generation() != gen || snap.Grids() < 1000 {
		t.Fatalf("active snapshot %+v", snap)
	}
	var ext orb.Bound
	var minX, minY, maxX, maxY float64
	if err := db.Pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM areas WHERE generation = $1) x`, gen).
		Scan(&minX, &minY, &maxX, &maxY); err != nil {
		t.Fatal(err)
	}
	ext = orb.Bound{Min: orb.Point{minX, minY}, Max: orb.Point{maxX, maxY}}

	t.Run("100k random points agree with ST_Covers", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 1))
		pts := make([]orb.Point, 100000)
		for i := range pts {
			pts[i] = orb.Point{ext.Min[0] + rng.Float64()*(ext.Max[0]-ext.Min[0]), ext.Min[1] + rng.Float64()*(ext.Max[1]-ext.Min[1])}
		}
		want := withPoints(t, db, pts, coversSQL, gen)
		inside, bad := 0, 0
		for i, p := range pts {
			loc := snap.Locate(p, 0, 0)
			got := ""
			if loc.Match == geo.MatchInside {
				got = loc.Grid.Code
				inside++
			}
			if got != want[i].want {
				if bad++; bad <= 10 {
					t.Errorf("point %.12f,%.12f: index says %q, ST_Covers %q", p[0], p[1], got, want[i].want)
				}
			}
		}
		if bad > 0 {
			t.Fatalf("%d of %d points disagree", bad, len(pts))
		}
		if inside < len(pts)/3 {
			t.Fatalf("only %d of %d random points inside the coverage: the test is not testing much", inside, len(pts))
		}
		t.Logf("%d points, %d inside, all agree with ST_Covers", len(pts), inside)
	})

	t.Run("grid vertices get exactly one grid, the smallest code", func(t *testing.T) {
		rows, err := db.Pool.Query(ctx, `SELECT DISTINCT ST_X(d.geom), ST_Y(d.geom)
			FROM areas a, ST_DumpPoints(a.geom) d WHERE a.generation = $1 AND a.level = 'grid'`, gen)
		if err != nil {
			t.Fatal(err)
		}
		pts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orb.Point, error) {
			var p orb.Point
			return p, r.Scan(&p[0], &p[1])
		})
		if err != nil {
			t.Fatal(err)
		}
		want := withPoints(t, db, pts, coversSQL, gen)
		shared, bad := 0, 0
		for i, p := range pts {
			w := want[i]
			if w.aux == 0 {
				t.Fatalf("vertex %v: ST_Covers finds no grid", p)
			}
			if w.aux > 1 {
				shared++
			}
			loc := snap.Locate(p, 0, 0)
			if loc.Match != geo.MatchInside || loc.Grid.Code != w.want {
				if bad++; bad <= 10 {
					t.Errorf("vertex %.12f,%.12f (%g grids): %s %+v, want %s", p[0], p[1], w.aux, loc.Match, loc.Grid, w.want)
				}
			}
			// The chain nests: derived from the grid's parents.
			if loc.Grid != nil && (loc.Community == nil || loc.Street == nil || loc.District == nil ||
				geo.ParentCode(loc.Grid.Code) != loc.Community.Code || geo.ParentCode(loc.Community.Code) != loc.Street.Code ||
				loc.Community.Name == "" || loc.District.Code != demo.DefaultDistrict) {
				t.Fatalf("vertex %v: chain %+v does not nest", p, loc.Chain)
			}
		}
		if shared < len(pts)/2 {
			t.Fatalf("only %d of %d vertices are shared by several grids", shared, len(pts))
		}
		t.Logf("%d vertices, %d shared by two or more grids: each got exactly one, the smallest code", len(pts), shared)
	})

	t.Run("outside points follow the tolerance rule", func(t *testing.T) {
		// Points in rings around the district: up to 300 m out, and from
		// 300 m to 8 km out.
		rows, err := db.Pool.Query(ctx, `
			WITH d AS (SELECT ST_Union(geom) g FROM areas WHERE generation = $1 AND level = 'district'),
			ring AS (
			    SELECT ST_Difference(ST_Buffer(g::geography, 300)::geometry, g) near,
			           ST_Difference(ST_Buffer(g::geography, 8000)::geometry, ST_Buffer(g::geography, 300)::geometry) far FROM d)
			SELECT ST_X(p.geom), ST_Y(p.geom) FROM ring, ST_Dump(ST_GeneratePoints(near, 1500, 7)) p
			UNION ALL
			SELECT ST_X(p.geom), ST_Y(p.geom) FROM ring, ST_Dump(ST_GeneratePoints(far, 500, 8)) p`, gen)
		if err != nil {
			t.Fatal(err)
		}
		pts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orb.Point, error) {
			var p orb.Point
			return p, r.Scan(&p[0], &p[1])
		})
		if err != nil {
			t.Fatal(err)
		}
		// PostGIS: the nearest grid by geodesic distance (ties: the
		// smallest code) among the dozen nearest in degrees, and the
		// distance to the district.
		want := withPoints(t, db, pts, `
			SELECT p.id, n.code, n.d, (SELECT min(ST_Distance(a.geom::geography, p.geom::geography)) FROM areas a
			                           WHERE a.generation = $1 AND a.level = 'district')
			FROM pts p CROSS JOIN LATERAL (
			    SELECT code, d FROM (
			        SELECT a.code, ST_Distance(a.geom::geography, p.geom::geography) d FROM areas a
			        WHERE a.generation = $1 AND a.level = 'grid' ORDER BY a.geom <-> p.geom LIMIT 12) k
			    ORDER BY d, code LIMIT 1) n`, gen)
		counts := map[string]int{}
		bad := 0
		for i, p := range pts {
			w := want[i]
			loc := snap.Locate(p, 100, 5000)
			counts[loc.Match]++
			ok := true
			switch {
			case w.dist < 99.5:
				ok = loc.Match == geo.MatchNearest && loc.Grid.Code == w.want && math.Abs(loc.DistanceM-w.dist) < 0.5
			case w.dist > 100.5 && w.aux < 4990:
				ok = loc.Match == geo.MatchDistrict && loc.Grid == nil && loc.District.Code == demo.DefaultDistrict && math.Abs(loc.DistanceM-w.aux) < 5
			case w.dist > 100.5 && w.aux > 5010:
				ok = loc.Match == geo.MatchNone && loc.District == nil
			}
			if !ok {
				if bad++; bad <= 10 {
					t.Errorf("point %.9f,%.9f %.2f m from grid %s, %.1f m from the district: %s %+v at %.2f m",
						p[0], p[1], w.dist, w.want, w.aux, loc.Match, loc.Grid, loc.DistanceM)
				}
			}
		}
		if bad > 0 {
			t.Fatalf("%d of %d outside points break the rule", bad, len(pts))
		}
		if counts[geo.MatchNearest] < 200 || counts[geo.MatchDistrict] < 100 || counts[geo.MatchNone] < 50 {
			t.Fatalf("outside points %v: every case of the rule should be exercised", counts)
		}
		t.Logf("%d outside points: %v", len(pts), counts)
	})

	// Last: it activates another generation. A new activation is picked
	// up by Refresh, lookups meanwhile see a complete generation, and the
	// retired one stays queryable.
	t.Run("swap on activation", func(t *testing.T) {
		// A second generation: a copy of the first (a merge would take
		// as long as the demo).
		var second int
		if err := db.Pool.QueryRow(ctx, `WITH g AS (INSERT INTO generations (note) VALUES ('copy') RETURNING id),
			a AS (INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
			      SELECT g.id, level, code, name, parent_code, households, population, geom FROM areas, g WHERE generation = $1)
			SELECT id FROM g`, gen).Scan(&second); err != nil {
			t.Fatal(err)
		}
		rep := struct{ Generation int }{second}
		if changed, err := r.Refresh(ctx); err != nil || changed {
			t.Fatalf("refresh with a new draft: changed %v, %v", changed, err)
		}
		p := orb.Point{121.55, 29.80}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				loc, err := r.Locate(ctx, p, 0, -1)
				if err != nil || loc.Grid == nil || (loc.Generation != gen && loc.Generation != rep.Generation) {
					t.Errorf("lookup during the swap: %+v %v", loc, err)
					return
				}
			}
		}()
		if err := db.Activate(ctx, rep.Generation); err != nil {
			t.Fatal(err)
		}
		if changed, err := r.Refresh(ctx); err != nil || !changed {
			t.Fatalf("refresh after activation: changed %v, %v", changed, err)
		}
		close(stop)
		wg.Wait()
		if g := r.Active().Generation(); g != rep.Generation {
			t.Fatalf("active snapshot is generation %d, want %d", g, rep.Generation)
		}
		old, err := r.Locate(ctx, p, gen, -1)
		if err != nil || old.Generation != gen || old.Grid == nil {
			t.Fatalf("locate in the retired generation: %+v %v", old, err)
		}
		if _, err := r.Locate(ctx, p, 99, -1); geo.ErrorCode(err) != geo.ENOTFOUND {
			t.Fatalf("locate in generation 99: %v", err)
		}
		if _, err := r.Locate(ctx, p, 0, routing.MaxToleranceM+1); geo.ErrorCode(err) != geo.EINVALID {
			t.Fatalf("a huge tolerance: %v", err)
		}
	})
}
