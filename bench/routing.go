package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridd/gridd/postgis"
	"github.com/gridd/gridd/routing"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
)

// The routing benchmarks, registered with the others: "locate" (batch
// point location, the in-memory index next to a PostGIS ST_Covers join)
// and "incidents" (POST /api/v1/incidents latency at a fixed rate).
var _ = func() bool {
	extraBenchmarks = append(extraBenchmarks, benchmark{"locate", benchLocate}, benchmark{"incidents", benchIncidents})
	return true
}()

// routingDemo is the demo city both routing benchmarks use, loaded once.
var routingDemo struct {
	once sync.Once
	url  string
	err  error
}

func routingDemoDB(ctx context.Context, e *env) (string, error) {
	routingDemo.once.Do(func() {
		routingDemo.url, routingDemo.err = e.newDatabase(ctx, "bench_routing")
		if routingDemo.err == nil {
			_, routingDemo.err = timed(e.gridd, "demo", "--db", routingDemo.url)
		}
	})
	return routingDemo.url, routingDemo.err
}

// locatePoints is how many random points the locate benchmark uses.
const locatePoints = 1000000

// benchLocate locates 1,000,000 random points in the demo city's extent
// (about 60 % inside the coverage) with the in-memory index, on one core
// and on all, and with the set-based PostGIS join that answers the same
// question (ST_Covers, smallest code on shared borders), driven by the
// grids so PostGIS prepares each grid's geometry once. It checks that the
// answers agree.
func benchLocate(ctx context.Context, e *env) error {
	url, err := routingDemoDB(ctx, e)
	if err != nil {
		return err
	}
	db, err := postgis.Open(ctx, postgis.Config{URL: url})
	if err != nil {
		return err
	}
	defer db.Close()
	t0 := time.Now()
	areas, err := db.IndexAreas(ctx, 0)
	if err != nil {
		return err
	}
	loadT := time.Since(t0)
	snap, err := routing.Build(0, areas)
	if err != nil {
		return err
	}
	gen, err := db.ActiveGeneration(ctx)
	if err != nil {
		return err
	}
	var ext orb.Bound
	if err := db.Pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM areas WHERE generation = $1 AND level = 'district') x`, gen).
		Scan(&ext.Min[0], &ext.Min[1], &ext.Max[0], &ext.Max[1]); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pts := make([]orb.Point, locatePoints)
	for i := range pts {
		pts[i] = orb.Point{ext.Min[0] + rng.Float64()*(ext.Max[0]-ext.Min[0]), ext.Min[1] + rng.Float64()*(ext.Max[1]-ext.Min[1])}
	}

	// The index: one core, then all cores, best of three; each answer is
	// the grid's code, as PostGIS returns it.
	got := make([]string, len(pts))
	one := bestOf(3, func() time.Duration {
		start := time.Now()
		for i, p := range pts {
			got[i] = ""
			if l := snap.Locate(p, 0, 0); l.Grid != nil {
				got[i] = l.Grid.Code
			}
		}
		return time.Since(start)
	})
	cores := runtime.GOMAXPROCS(0)
	all := bestOf(3, func() time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		chunk := (len(pts) + cores - 1) / cores
		for c := 0; c < cores; c++ {
			wg.Add(1)
			go func(lo, hi int) {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					got[i] = ""
					if l := snap.Locate(pts[i], 0, 0); l.Grid != nil {
						got[i] = l.Grid.Code
					}
				}
			}(c*chunk, min((c+1)*chunk, len(pts)))
		}
		wg.Wait()
		return time.Since(start)
	})

	// PostGIS: the same points in a table, the join timed alone.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE raw (id int, lon float8, lat float8)`); err != nil {
		return err
	}
	rows := make([][]any, len(pts))
	for i, p := range pts {
		rows[i] = []any{i, p[0], p[1]}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"raw"}, []string{"id", "lon", "lat"}, pgx.CopyFromRows(rows)); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE pts AS SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom FROM raw;
		CREATE INDEX ON pts USING gist (geom); ANALYZE pts`); err != nil {
		return err
	}
	const joinSQL = `SELECT p.id, min(a.code) FROM areas a JOIN pts p ON ST_Covers(a.geom, p.geom)
		WHERE a.generation = $1 AND a.level = 'grid' GROUP BY p.id`
	var want map[int32]string
	pg := bestOf(3, func() time.Duration {
		start := time.Now()
		rs, err := conn.Query(ctx, joinSQL, gen)
		if err != nil {
			panic(err)
		}
		want = map[int32]string{}
		for rs.Next() {
			var id int32
			var code string
			rs.Scan(&id, &code)
			want[id] = code
		}
		if rs.Err() != nil {
			panic(rs.Err())
		}
		return time.Since(start)
	})
	disagree := 0
	for i, g := range got {
		if want[int32(i)] != g {
			disagree++
		}
	}
	rate := func(d time.Duration) float64 { return float64(len(pts)) / d.Seconds() }
	fmt.Printf("%d random points in the demo city's extent (%d grids, %d inside the coverage), generation %d\n", len(pts), snap.Grids(), len(want), gen)
	fmt.Printf("%-44s %14s %12s\n", "", "points/s", "1M points")
	fmt.Printf("%-44s %14.0f %10.0f ms\n", "gridd index, 1 core", rate(one), msf(one))
	fmt.Printf("%-44s %14.0f %10.0f ms\n", fmt.Sprintf("gridd index, %d cores", cores), rate(all), msf(all))
	fmt.Printf("%-44s %14.0f %10.0f ms\n", "PostGIS ST_Covers join (GiST, prepared)", rate(pg), msf(pg))
	fmt.Printf("speed-up: %.0f× on 1 core, %.0f× on %d cores (goal ≥ 50×); answers that differ: %d; index load %.0f ms, build %.0f ms\n",
		rate(one)/rate(pg), rate(all)/rate(pg), cores, disagree, msf(loadT), msf(snap.BuildTime()))
	if disagree > 0 {
		return fmt.Errorf("the index and PostGIS disagree on %d points", disagree)
	}
	return nil
}

func bestOf(n int, f func() time.Duration) time.Duration {
	var best time.Duration
	for i := 0; i < n; i++ {
		if d := f(); best == 0 || d < best {
			best = d
		}
	}
	return best
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Incident load: a fixed arrival rate, open loop.
const (
	incidentRate     = 500 // requests per second
	incidentDuration = 20 * time.Second
)

// incidentServer is a 'gridd serve' on the demo city in a durable
// PostgreSQL, with people to route to, and an integration's token.
type incidentServer struct {
	base   string
	url    string // the database
	conn   *pgx.Conn
	pts    []orb.Point // a point inside each grid
	ext    orb.Bound   // the city's extent
	client *http.Client
	viewer string // a viewer's API token
	post   func(i int, key string) (int64, time.Duration, error)
	close  func()
	// prewarmed is closed when gridd has cut the low zooms' tiles, which
	// it starts at the first tile request.
	prewarmed <-chan struct{}
}

// startIncidentServer prepares what the incident benchmarks share.
func startIncidentServer(ctx context.Context, e *env) (srvOut *incidentServer, errOut error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if errOut != nil {
			closeAll()
		}
	}()

	// A durable server: the throwaway one 'make bench' runs has fsync off,
	// and an acknowledged incident must be on disk.
	dir, err := os.MkdirTemp("", "gridd-bench-durable-")
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the postgres user must be able to enter it when we are root
	pg, err := postgis.StartEmbedded(ctx, postgis.EmbeddedConfig{DataDir: dir})
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { pg.Stop() })
	url := pg.URL()
	if _, err := timed(e.gridd, "demo", "--db", url); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { conn.Close(ctx) })
	// People: one 城管 (A岗) and one full-time grid worker per grid.
	if _, err := conn.Exec(ctx, `
		WITH g AS (SELECT code FROM areas WHERE generation = (SELECT id FROM generations WHERE state = 'active') AND level = 'grid'),
		p AS (INSERT INTO people (name, dept_code) SELECT '城管' || code, 'chengguan' FROM g RETURNING id, substr(name, 3) AS code),
		q AS (INSERT INTO people (name, dept_code) SELECT '网格员' || code, 'zongzhi' FROM g RETURNING id, substr(name, 4) AS code),
		a AS (INSERT INTO assignments (person_id, area_code, role) SELECT id, code, 'chengguan' FROM p)
		INSERT INTO assignments (person_id, area_code, role) SELECT id, code, 'full_time' FROM q`); err != nil {
		return nil, fmt.Errorf("seed people: %w", err)
	}
	var pts []orb.Point
	rs, err := conn.Query(ctx, `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM areas
		WHERE generation = (SELECT id FROM generations WHERE state = 'active') AND level = 'grid') x`)
	if err != nil {
		return nil, err
	}
	for rs.Next() {
		var p orb.Point
		rs.Scan(&p[0], &p[1])
		pts = append(pts, p)
	}
	if rs.Err() != nil {
		return nil, rs.Err()
	}

	// What a server that has been running a while has done: checkpointed
	// the demo load, so its flushing does not land in the run.
	if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
		return nil, err
	}

	// The load comes from an integration, as a 12345 hotline's would: an
	// API token with the reporter role.
	out, err := exec.Command(e.gridd, "token", "create", "--db", url, "--name", "bench-hotline", "--role", "reporter").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("gridd token create: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("gridd token create said %q", out)
	}
	token := strings.TrimSpace(lines[1])
	// The console's reads (tiles, locate) come with a viewer's token.
	out, err = exec.Command(e.gridd, "token", "create", "--db", url, "--name", "bench-console", "--role", "viewer").CombinedOutput()
	if lines = strings.Split(strings.TrimSpace(string(out)), "\n"); err != nil || len(lines) < 2 {
		return nil, fmt.Errorf("gridd token create: %v: %s", err, out)
	}
	viewer := strings.TrimSpace(lines[1])

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	// One integration sends the whole load: no per-token rate limit.
	srv := exec.Command(e.gridd, "serve", "--db", url, "--addr", addr, "--rate-limit", "0")
	// Its log goes to ours; the line saying the low zooms' tiles are
	// cut is noted, so that a benchmark of tiles can start after it.
	stderr, err := srv.StderrPipe()
	if err != nil {
		return nil, err
	}
	srv.Stdout = io.Discard
	prewarmed := make(chan struct{})
	if err := srv.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			fmt.Fprintln(os.Stderr, sc.Text())
			if !seen && strings.Contains(sc.Text(), "tiles pre-warmed") {
				seen = true
				close(prewarmed)
			}
		}
	}()
	closers = append(closers, func() {
		srv.Process.Signal(os.Interrupt) // a clean shutdown
		srv.Wait()
	})
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxIdleConns: 2000}}
	for i := 0; ; i++ {
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			return nil, fmt.Errorf("gridd serve did not come up on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	categories := []string{"E0102", "E0103", "E0201", "E0503", "E0601", "C0101"}
	post := func(i int, key string) (int64, time.Duration, error) {
		p := pts[i%len(pts)]
		body, _ := json.Marshal(map[string]any{"category": categories[i%len(categories)], "lon": p[0], "lat": p[1],
			"description": "bench " + key, "source": "app", "reporter": map[string]string{"name": "bench"}})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/incidents", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		var inc struct{ ID int64 }
		err = json.NewDecoder(resp.Body).Decode(&inc)
		if resp.StatusCode != http.StatusCreated || err != nil {
			return 0, 0, fmt.Errorf("HTTP %d %v", resp.StatusCode, err)
		}
		return inc.ID, time.Since(start), nil
	}
	var ext orb.Bound
	if err := conn.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM areas
		WHERE generation = (SELECT id FROM generations WHERE state = 'active') AND level = 'district') x`).
		Scan(&ext.Min[0], &ext.Min[1], &ext.Max[0], &ext.Max[1]); err != nil {
		return nil, err
	}
	return &incidentServer{base: base, url: url, conn: conn, pts: pts, ext: ext, client: client, viewer: viewer, post: post, close: closeAll, prewarmed: prewarmed}, nil
}

// benchIncidents runs 'gridd serve' on the demo city, in a PostgreSQL with
// fsync on (as 'gridd serve --data' runs it), with a 城管 and a full-time
// grid worker in every grid, and sends POST /api/v1/incidents as an
// integration would (an API token with the reporter role, an
// Idempotency-Key per request) at a fixed 500 requests/s for 20 s from an
// open-loop generator: each request leaves at its scheduled time whether
// or not earlier ones have been answered, and its latency counts from that
// time, so a stall shows in the figures instead of slowing the generator
// down. 3 s of the same load go first, unmeasured, to open every
// connection, and then the tables are analyzed, as autovacuum does on a
// live server. Afterwards every acknowledged (201) incident must be in the
// database. GRIDD_BENCH_RATE and GRIDD_BENCH_DURATION change the load,
// for exploring.
func benchIncidents(ctx context.Context, e *env) error {
	is, err := startIncidentServer(ctx, e)
	if err != nil {
		return err
	}
	defer is.close()
	conn, post := is.conn, is.post
	// Warm up: a few sequential requests, then 3 s of the same load, not
	// measured, so that the client's and the server's connections (and
	// PostgreSQL's backends, with their caches and prepared statements)
	// are all open: the figures are the steady state of a running server.
	for i := 0; i < 50; i++ {
		if _, _, err := post(i, "warm-"+strconv.Itoa(i)); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	rate, dur := incidentRate, incidentDuration
	if v, err := strconv.Atoi(os.Getenv("GRIDD_BENCH_RATE")); err == nil && v > 0 {
		rate = v // for exploring; the figures in docs/benchmarks.md use the defaults
	}
	if v, err := time.ParseDuration(os.Getenv("GRIDD_BENCH_DURATION")); err == nil && v > 0 {
		dur = v
	}
	n := int(float64(rate) * dur.Seconds())
	lat := make([]time.Duration, n)
	ids := make([]int64, n)
	errs := make([]error, n)
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	warm := int(3 * rate)
	start := time.Now()
	for i := 0; i < warm; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			post(i, "warm-load-"+strconv.Itoa(i))
		}(i)
	}
	wg.Wait()
	// A live server's autovacuum has analyzed its tables within a minute;
	// until then PostgreSQL plans for an empty incidents table, e.g. the
	// foreign-key check of every incident event scans the whole table.
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	start = time.Now()
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			id, _, err := post(i, "bench-"+strconv.Itoa(i))
			lat[i], ids[i], errs[i] = time.Since(due), id, err
		}(i, due)
	}
	wg.Wait()
	took := time.Since(start)
	var ok []time.Duration
	var acked []int64
	failed := 0
	for i := range lat {
		if errs[i] != nil {
			failed++
			continue
		}
		ok = append(ok, lat[i])
		acked = append(acked, ids[i])
	}
	slices.Sort(ok)
	var stored int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE id = ANY ($1)`, acked).Scan(&stored); err != nil {
		return err
	}
	var routed int
	conn.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE id = ANY ($1) AND assignee_id IS NOT NULL`, acked).Scan(&routed)
	q := func(p float64) float64 {
		if len(ok) == 0 {
			return 0
		}
		return msf(ok[min(len(ok)-1, int(p*float64(len(ok))))])
	}
	var fsync, sync string
	conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &sync)
	fmt.Printf("POST /api/v1/incidents, open loop at %d requests/s for %s on loopback (gridd serve; PostgreSQL fsync=%s, synchronous_commit=%s)\n",
		rate, dur, fsync, sync)
	fmt.Printf("%-10s %8s %8s %8s %8s %8s %10s %10s\n", "", "sent", "201", "p50", "p90", "p99", "max", "achieved")
	fmt.Printf("%-10s %8d %8d %6.1f ms %6.1f ms %6.1f ms %8.1f ms %7.0f/s\n", "gridd", n, len(ok), q(0.50), q(0.90), q(0.99), q(1), float64(n)/took.Seconds())
	fmt.Printf("goal: p99 < 10 ms; acknowledged incidents in the database: %d of %d (%d routed to a person); errors: %d\n", stored, len(acked), routed, failed)
	if stored != len(acked) {
		return fmt.Errorf("%d acknowledged incidents are not in the database", len(acked)-stored)
	}
	if failed > 0 {
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("%d requests failed, e.g. %v", failed, err)
			}
		}
	}
	return nil
}
