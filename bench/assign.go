package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
	"github.com/gridd/gridd/routing"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
)

// The batch-location benchmark (issue 16 §3): 'gridd assign', the whole
// process from CSV in to CSV out, next to the two PostGIS joins that
// answer the same question on points already loaded and GiST-indexed
// (query time only), in one run.
var _ = func() bool {
	extraBenchmarks = append(extraBenchmarks, benchmark{"assign", benchAssign})
	return true
}()

const assignPoints = 1000000

func benchAssign(ctx context.Context, e *env) error {
	url, err := routingDemoDB(ctx, e)
	if err != nil {
		return err
	}
	db, err := postgis.Open(ctx, postgis.Config{URL: url})
	if err != nil {
		return err
	}
	defer db.Close()
	gen, err := db.ActiveGeneration(ctx)
	if err != nil {
		return err
	}
	areas, err := db.IndexAreas(ctx, 0)
	if err != nil {
		return err
	}
	snap, err := routing.Build(gen, areas)
	if err != nil {
		return err
	}
	var ext orb.Bound
	if err := db.Pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM areas WHERE generation = $1 AND level = 'district') x`, gen).
		Scan(&ext.Min[0], &ext.Min[1], &ext.Max[0], &ext.Max[1]); err != nil {
		return err
	}
	// Points drawn in the extent, sorted by what the index says: inside
	// the coverage, or outside it (near a grid, in a district's reach, or
	// nowhere). Coordinates with 7 decimals, as GPS exports write them.
	rng := rand.New(rand.NewPCG(16, 3))
	var inside, outside []orb.Point
	for len(inside) < assignPoints || len(outside) < assignPoints {
		p := orb.Point{ext.Min[0] + rng.Float64()*(ext.Max[0]-ext.Min[0]), ext.Min[1] + rng.Float64()*(ext.Max[1]-ext.Min[1])}
		p[0], _ = strconv.ParseFloat(strconv.FormatFloat(p[0], 'f', 7, 64), 64)
		p[1], _ = strconv.ParseFloat(strconv.FormatFloat(p[1], 'f', 7, 64), 64)
		if snap.Locate(p, 0, 0).Match == geo.MatchInside {
			if len(inside) < assignPoints {
				inside = append(inside, p)
			}
		} else if len(outside) < assignPoints {
			outside = append(outside, p)
		}
	}
	write := func(name string, pts []orb.Point) (string, error) {
		path := filepath.Join(e.work, name)
		f, err := os.Create(path)
		if err != nil {
			return "", err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		w.WriteString("id,lon,lat\n")
		var b []byte
		for i, p := range pts {
			b = strconv.AppendInt(b[:0], int64(i), 10)
			b = append(b, ',')
			b = strconv.AppendFloat(b, p[0], 'f', 7, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, p[1], 'f', 7, 64)
			b = append(b, '\n')
			w.Write(b)
		}
		if err := w.Flush(); err != nil {
			return "", err
		}
		return path, f.Close()
	}
	inCSV, err := write("inside.csv", inside)
	if err != nil {
		return err
	}
	outCSV, err := write("outside.csv", outside)
	if err != nil {
		return err
	}
	assign := func(in string) (time.Duration, error) {
		var best time.Duration
		for i := 0; i < 3; i++ {
			d, err := timed(e.gridd, "assign", "--db", url, "--in", in, "--out", filepath.Join(e.work, "out.csv"))
			if err != nil {
				return 0, err
			}
			if best == 0 || d < best {
				best = d
			}
		}
		return best, nil
	}
	gIn, err := assign(inCSV)
	if err != nil {
		return err
	}
	gOut, err := assign(outCSV)
	if err != nil {
		return err
	}

	// PostGIS: the inside points in an indexed table; each join timed
	// alone, best of two.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows := make([][]any, len(inside))
	for i, p := range inside {
		rows[i] = []any{i, p[0], p[1]}
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE raw (id int, lon float8, lat float8)`); err != nil {
		return err
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"raw"}, []string{"id", "lon", "lat"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE pts AS SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom FROM raw;
		CREATE INDEX ON pts USING gist (geom); ANALYZE pts`); err != nil {
		return err
	}
	join := func(pred string) (time.Duration, int, error) {
		q := `SELECT count(*) FROM (SELECT p.id, min(a.code) FROM areas a JOIN pts p ON ` + pred + `(a.geom, p.geom)
			WHERE a.generation = $1 AND a.level = 'grid' GROUP BY p.id) x`
		var best time.Duration
		var n int
		for i := 0; i < 2; i++ {
			start := time.Now()
			if err := conn.QueryRow(ctx, q, gen).Scan(&n); err != nil {
				return 0, 0, err
			}
			if d := time.Since(start); best == 0 || d < best {
				best = d
			}
		}
		return best, n, nil
	}
	covers, nc, err := join("ST_Covers")
	if err != nil {
		return err
	}
	inter, ni, err := join("ST_Intersects")
	if err != nil {
		return err
	}
	if nc != len(inside) || ni != len(inside) {
		return fmt.Errorf("the joins located %d and %d of %d inside points", nc, ni, len(inside))
	}
	fmt.Printf("%d points inside the demo city's coverage (%d grids), %d outside it, generation %d\n", len(inside), snap.Grids(), len(outside), gen)
	fmt.Printf("%-62s %10s %12s\n", "", "time", "points/s")
	row := func(name string, d time.Duration) {
		fmt.Printf("%-62s %8.0f ms %12.0f\n", name, msf(d), float64(assignPoints)/d.Seconds())
	}
	row("gridd assign, inside (whole process: CSV in, index, CSV out)", gIn)
	row("gridd assign, outside (nearest grid ≤ 100 m, district queue)", gOut)
	row("PostGIS ST_Covers join, inside (GiST, query only)", covers)
	row("PostGIS ST_Intersects join, inside (GiST, query only)", inter)
	fmt.Printf("gridd vs ST_Covers %.1f× (goal ≥ 20×), vs ST_Intersects %.1f× (goal ≥ 5×); outside/inside %.2f× (goal ≤ 3×)\n",
		covers.Seconds()/gIn.Seconds(), inter.Seconds()/gIn.Seconds(), gOut.Seconds()/gIn.Seconds())
	return nil
}
