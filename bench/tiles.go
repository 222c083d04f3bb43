package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
	"github.com/gridd/gridd/tiles"
	"github.com/gridd/gridd/web"
)

// The tiles benchmark, registered with the others.
var _ = func() bool {
	extraBenchmarks = append(extraBenchmarks, benchmark{"tiles", benchTiles})
	return true
}()

// tileCity is a city the tiles benchmark serves: the demo district as
// merged, copied into a city of several districts, or with its grids cut
// into smaller ones.
type tileCity struct {
	name       string
	districts  int // > 1: the demo district copied side by side this many times (replicateCitySQL)
	splitGrids int // > 0: each grid cut into this many (splitGridsSQL)
}

// tileCities: the demo district (1,393 grids over 832 km², a real
// district's density); a generated city of 14 such districts (19,502
// grids over 11,600 km², about Ningbo's size and grid count); and a
// stress city with the same number of grids packed into the one district
// (0.04 km² grids everywhere, denser than any real district), which
// finds the worst case of tile size.
var tileCities = []tileCity{
	{name: "demo city"},
	{name: "generated city", districts: 14},
	{name: "stress city", splitGrids: 14},
}

// replicateCitySQL makes the generated city: a new generation holding
// $3 copies of the demo's district ($2) with every level, laid out five
// to a row with a margin between them, each with its own district code
// (3302 + 50, 51, …; the rest of every code kept), so that the city has
// the demo's real density and shapes at a city's scale. $1 the new
// generation.
const replicateCitySQL = `
WITH ext AS (SELECT ST_XMax(e) - ST_XMin(e) AS w, ST_YMax(e) - ST_YMin(e) AS h
             FROM (SELECT ST_Extent(geom) AS e FROM areas WHERE generation = $2 AND level = 'district') x)
INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom, area_m2)
SELECT $1, a.level, '3302' || (50 + i) || substr(a.code, 7), a.name,
       CASE WHEN length(a.parent_code) >= 6 THEN '3302' || (50 + i) || substr(a.parent_code, 7) ELSE a.parent_code END,
       a.households, a.population, ST_Translate(a.geom, (i % 5) * ext.w * 1.05, -(i / 5) * ext.h * 1.05), a.area_m2
FROM areas a, ext, generate_series(0, $3 - 1) i
WHERE a.generation = $2`

// splitGridsSQL makes the generated city: a new generation with the demo
// city's districts, streets and communities, and each of its grids cut
// into $3 Voronoi cells (seeded, so the same every run), numbered within
// their community: about 20,000 grids of a quarter of a square kilometre,
// the density of a city centre over a whole district. $1 new generation,
// $2 the demo's generation.
const splitGridsSQL = `
INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom, area_m2)
SELECT $1, level, code, name, parent_code, households, population, geom, area_m2 FROM areas WHERE generation = $2 AND level <> 'grid';
INSERT INTO areas (generation, level, code, name, parent_code, geom)
SELECT $1, 'grid', g.parent_code || lpad((row_number() OVER (PARTITION BY g.parent_code ORDER BY g.code, c.i))::text, 3, '0'),
       g.name || '·' || c.i, g.parent_code, c.cell
FROM areas g, LATERAL (
    SELECT (d).path[1] AS i, ST_Multi(ST_CollectionExtract(ST_Intersection((d).geom, g.geom), 3)) AS cell
    FROM ST_Dump(ST_VoronoiPolygons(ST_GeneratePoints(g.geom, $3, 7), 0, g.geom)) d
) c
WHERE g.generation = $2 AND g.level = 'grid' AND NOT ST_IsEmpty(c.cell)`

// tileLevelLayers are the layers whose cold latency and size are measured.
var tileLevelLayers = []string{"districts", "streets", "communities", "grids"}

// benchTiles serves the demo city and a generated city of about 20,000
// grids (splitGridsSQL) and prints, per city:
// cold-tile latency of gridd (prepared geometry, cache off) next to a plain
// per-request ST_AsMVT query like pg_tileserv's (postgis.AreaTile, same
// data, same database, same HTTP stack), warm cached tiles per second on
// loopback, and the largest tile at z0–z10.
func benchTiles(ctx context.Context, e *env) error {
	fmt.Printf("%-15s %7s %9s | %-22s %-22s | %12s | %-24s %-16s\n", "city", "grids", "prepare",
		"cold p50/p95 gridd", "cold p50/p95 ST_AsMVT", "warm tiles/s", "largest z0-10 gridd", "ST_AsMVT")
	for i, c := range tileCities {
		if err := benchTileCity(ctx, e, i, c); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}

func benchTileCity(ctx context.Context, e *env, i int, c tileCity) error {
	dbURL, err := e.newDatabase(ctx, "bench_tiles_"+strconv.Itoa(i))
	if err != nil {
		return err
	}
	if _, err := timed(e.gridd, "demo", "--db", dbURL); err != nil {
		return err
	}
	db, err := postgis.Open(ctx, postgis.Config{URL: dbURL})
	if err != nil {
		return err
	}
	defer db.Close()
	gen, err := db.ActiveGeneration(ctx)
	if err != nil {
		return err
	}
	if c.splitGrids > 0 || c.districts > 1 {
		var next int
		if err := db.Pool.QueryRow(ctx, `INSERT INTO generations (note) VALUES ('bench: generated city') RETURNING id`).Scan(&next); err != nil {
			return err
		}
		if c.districts > 1 {
			if _, err := db.Pool.Exec(ctx, replicateCitySQL, next, gen, c.districts); err != nil {
				return fmt.Errorf("copy the district: %w", err)
			}
		} else {
			admin, grids, _ := strings.Cut(splitGridsSQL, ";\n")
			if _, err := db.Pool.Exec(ctx, admin, next, gen); err != nil {
				return fmt.Errorf("copy admin levels: %w", err)
			}
			if _, err := db.Pool.Exec(ctx, grids, next, gen, c.splitGrids); err != nil {
				return fmt.Errorf("split grids: %w", err)
			}
		}
		if err := db.Activate(ctx, next); err != nil {
			return err
		}
		gen = next
	}
	var grids int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM areas WHERE generation = $1 AND level = 'grid'`, gen).Scan(&grids); err != nil {
		return err
	}
	start := time.Now()
	if err := db.PrepareTiles(ctx, gen, geo.DatumWGS84); err != nil {
		return err
	}
	prepare := time.Since(start)
	b, err := db.Bounds(ctx, gen, 0)
	if err != nil {
		return err
	}
	// The sample: every tile over the city at z0–z12, every third at z13
	// and every ninth at z14, in each level layer.
	all, err := tiles.Cover(b.Min[0], b.Min[1], b.Max[0], b.Max[1], 0, 14, 100000)
	if err != nil {
		return err
	}
	var sample []string
	perZoom := map[int]int{}
	for _, t := range all {
		perZoom[t.Z]++
		if (t.Z == 13 && perZoom[t.Z]%3 != 0) || (t.Z == 14 && perZoom[t.Z]%9 != 0) {
			continue
		}
		for _, l := range tileLevelLayers {
			sample = append(sample, fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", l, t.Z, t.X, t.Y))
		}
	}

	cold, stopCold, err := startTileServer(ctx, db, web.Config{TileCacheBytes: -1, NoTilePrewarm: true})
	if err != nil {
		return err
	}
	defer stopCold()
	base, stopBase, err := startBaseline(ctx, db, gen)
	if err != nil {
		return err
	}
	defer stopBase()
	// Both once over the sample first, so neither pays for a cold
	// database cache; then timed, alternating tile by tile.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4}}
	for _, p := range sample {
		fetchSize(client, cold+p, false)
		fetchSize(client, base+p, false)
	}
	var tg, tb []time.Duration
	for _, p := range sample {
		t0 := time.Now()
		if _, err := fetchSize(client, cold+p, true); err != nil {
			return err
		}
		tg = append(tg, time.Since(t0))
		t0 = time.Now()
		if _, err := fetchSize(client, base+p, true); err != nil {
			return err
		}
		tb = append(tb, time.Since(t0))
	}

	warm, stopWarm, err := startTileServer(ctx, db, web.Config{NoTilePrewarm: true})
	if err != nil {
		return err
	}
	defer stopWarm()
	for _, p := range sample {
		if _, err := fetchSize(client, warm+p, true); err != nil {
			return err
		}
	}
	rate, err := loadTest(warm[len("http://"):], sample, 32, 5*time.Second)
	if err != nil {
		return err
	}

	// The largest tile at z0–z10, in every layer (raw MVT and gzip), and
	// the per-request query's largest for the level layers.
	low, err := tiles.Cover(b.Min[0], b.Min[1], b.Max[0], b.Max[1], 0, 10, 100000)
	if err != nil {
		return err
	}
	var maxRaw, maxGz, maxBase int
	var maxAt string
	for _, t := range low {
		for _, l := range append(tileLevelLayers, "labels") {
			p := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", l, t.Z, t.X, t.Y)
			raw, err := fetchSize(client, warm+p, false)
			if err != nil {
				return err
			}
			gz, err := fetchSize(client, warm+p, true)
			if err != nil {
				return err
			}
			if raw > maxRaw {
				maxRaw, maxGz, maxAt = raw, gz, p
			}
			if l != "labels" {
				braw, err := fetchSize(client, base+p, false)
				if err != nil {
					return err
				}
				maxBase = max(maxBase, braw)
			}
		}
	}
	fmt.Printf("%-15s %7d %8.1fs | %9s / %-10s %9s / %-10s | %12.0f | %6.0f KB (%.0f KB gz) %-7s %6.0f KB\n",
		c.name, grids, prepare.Seconds(), ms(pct(tg, 50)), ms(pct(tg, 95)), ms(pct(tb, 50)), ms(pct(tb, 95)), rate,
		float64(maxRaw)/1024, float64(maxGz)/1024, "", float64(maxBase)/1024)
	fmt.Printf("%-15s (%d tile requests z0–z14 per server; largest gridd tile %s)\n", "", len(sample), maxAt)
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100]
}

// fetchSize GETs a tile and returns the size of the body as sent.
func fetchSize(c *http.Client, url string, gzip bool) (int, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return int(n), err
}

// startTileServer serves gridd's HTTP handler on a loopback port.
func startTileServer(ctx context.Context, db *postgis.DB, cfg web.Config) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	cfg.PublicTiles = true // the coverage's tiles need no account; the bench has none
	srv := web.NewServer(cfg, web.Deps{Tiles: db, Features: db, Health: db, Generations: db, Locator: db, Auth: db})
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(sctx, l); close(done) }()
	return "http://" + l.Addr().String(), func() { cancel(); <-done }, nil
}

// startBaseline serves the pg_tileserv way: one ST_AsMVT query straight
// on the areas table per request, nothing prepared, nothing cached.
func startBaseline(ctx context.Context, db *postgis.DB, gen int) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	levels := map[string]geo.Level{}
	for _, lv := range geo.Levels {
		levels[lv.Plural()] = lv
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var layer string
		var z, x, y int
		if _, err := fmt.Sscanf(r.URL.Path, "/tiles/%s", &layer); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		parts := bytes.Split([]byte(r.URL.Path), []byte("/"))
		if len(parts) != 6 {
			http.NotFound(w, r)
			return
		}
		z, _ = strconv.Atoi(string(parts[3]))
		x, _ = strconv.Atoi(string(parts[4]))
		y, _ = strconv.Atoi(string(bytes.TrimSuffix(parts[5], []byte(".mvt"))))
		lv, ok := levels[string(parts[2])]
		if !ok {
			http.NotFound(w, r)
			return
		}
		tile, err := db.AreaTile(r.Context(), gen, lv, z, x, y)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if len(tile) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
		w.Write(tile)
	})
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	return "http://" + l.Addr().String(), func() { srv.Shutdown(context.Background()) }, nil
}

// loadTest requests the paths round-robin over conns keep-alive
// connections for d (HTTP/1.1, gzip accepted, one request in flight per
// connection, as a map client does) and returns responses per second.
// The client is a few lines over raw TCP so that it costs the server's
// two cores as little as it can.
func loadTest(addr string, paths []string, conns int, d time.Duration) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			err := func() error {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					return err
				}
				defer conn.Close()
				r := bufio.NewReaderSize(conn, 64<<10)
				reqs := make([][]byte, len(paths))
				for i, p := range paths {
					reqs[i] = []byte("GET " + p + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept-Encoding: gzip\r\n\r\n")
				}
				for i := c; time.Now().Before(deadline); i++ {
					if _, err := conn.Write(reqs[i%len(reqs)]); err != nil {
						return err
					}
					if err := readResponse(r); err != nil {
						return err
					}
					done.Add(1)
				}
				return nil
			}()
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(c)
	}
	start := time.Now()
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), firstErr
}

// readResponse reads one HTTP/1.1 response with a Content-Length (or none,
// for 204) and discards it.
func readResponse(r *bufio.Reader) error {
	status, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(status) < 12 || (string(status[9:12]) != "200" && string(status[9:12]) != "204") {
		return errors.New("unexpected status: " + string(status))
	}
	length := 0
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 16 && bytes.EqualFold(line[:15], []byte("Content-Length:")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(line[15:])))
		}
	}
	_, err = r.Discard(length)
	return err
}
