package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// The load benchmark, registered with the others: "load".
var _ = func() bool {
	extraBenchmarks = append(extraBenchmarks, benchmark{"load", benchLoad})
	return true
}()

// The load run's defaults: a fixed 500 incidents/s for 60 s, with the
// console's reads alongside (vector tiles at 50/s, single-point locate
// at 100/s).
const (
	loadIncidentRate = 500
	loadTileRate     = 50
	loadLocateRate   = 100
	loadDuration     = 60 * time.Second
)

// loadStream is one kind of request sent at a fixed rate.
type loadStream struct {
	name string
	rate int
	send func(i int) (int64, error) // the incident's id for a POST, 0 otherwise
	// results
	lat  []time.Duration // of the answered ones
	ids  []int64
	errs []error
}

// benchLoad runs 'gridd serve' as benchIncidents does (demo city, a
// durable PostgreSQL, people in every grid, --rate-limit 0 because one
// integration sends all reports) and, after the same warm-up, sends three
// open-loop streams at once for 60 s: POST /api/v1/incidents at 500/s
// from the hotline's token, and from a viewer's token vector tiles of the
// coverage at 50/s (random tiles of zooms 12–14 over the city: cut at
// first, then cached, as when operators browse) and GET /api/v1/locate
// of random points in the city's extent at 100/s. Each request leaves at
// its scheduled time and its latency counts from then. It prints each
// stream's throughput, p50, p99, max and errors, then checks that every
// incident answered 201 is in the database; an error or a lost incident
// fails the run. GRIDD_LOAD_DURATION (e.g. 10s) and GRIDD_LOAD_RATE (the
// incident rate) shorten or change it for a quick try; the figures in
// docs/benchmarks.md use the defaults.
func benchLoad(ctx context.Context, e *env) error {
	dur, rate := loadDuration, loadIncidentRate
	if v, err := time.ParseDuration(os.Getenv("GRIDD_LOAD_DURATION")); err == nil && v > 0 {
		dur = v
	}
	if v, err := strconv.Atoi(os.Getenv("GRIDD_LOAD_RATE")); err == nil && v > 0 {
		rate = v
	}
	is, err := startIncidentServer(ctx, e)
	if err != nil {
		return err
	}
	defer is.close()

	// get fetches path as the viewer; any status but the proper answers
	// listed is an error.
	get := func(path string, proper ...int) error {
		req, _ := http.NewRequest(http.MethodGet, is.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+is.viewer)
		resp, err := is.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if !slices.Contains(proper, resp.StatusCode) {
			return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
		}
		return nil
	}
	randomPoint := func(rng *rand.Rand) orb.Point {
		return orb.Point{is.ext.Min[0] + rng.Float64()*(is.ext.Max[0]-is.ext.Min[0]), is.ext.Min[1] + rng.Float64()*(is.ext.Max[1]-is.ext.Min[1])}
	}
	// Each stream draws from its own generator, seeded by the request's
	// index, so runs send the same requests.
	// The tiles operators look at: zooms 12–14 over the city, a few
	// hundred, requested at random — first cut, then from the cache.
	var tileSet []maptile.Tile
	for z := maptile.Zoom(12); z <= 14; z++ {
		lo, hi := maptile.At(orb.Point{is.ext.Min[0], is.ext.Max[1]}, z), maptile.At(orb.Point{is.ext.Max[0], is.ext.Min[1]}, z)
		for x := lo.X; x <= hi.X; x++ {
			for y := lo.Y; y <= hi.Y; y++ {
				tileSet = append(tileSet, maptile.New(x, y, z))
			}
		}
	}
	tilePath := func(i int) string {
		t := tileSet[rand.New(rand.NewPCG(uint64(i), 7)).IntN(len(tileSet))]
		return fmt.Sprintf("/tiles/grids/%d/%d/%d.mvt", t.Z, t.X, t.Y)
	}
	locatePath := func(i int) string {
		p := randomPoint(rand.New(rand.NewPCG(uint64(i), 11)))
		return fmt.Sprintf("/api/v1/locate?lon=%.7f&lat=%.7f", p[0], p[1])
	}
	streams := []*loadStream{
		{name: "POST /api/v1/incidents", rate: rate, send: func(i int) (int64, error) {
			id, _, err := is.post(i, "load-"+strconv.Itoa(i))
			return id, err
		}},
		// An empty tile is a 204.
		{name: "GET /tiles/grids/z/x/y.mvt", rate: loadTileRate, send: func(i int) (int64, error) {
			return 0, get(tilePath(i), http.StatusOK, http.StatusNoContent)
		}},
		// A point outside the coverage and its tolerance is a 404.
		{name: "GET /api/v1/locate", rate: loadLocateRate, send: func(i int) (int64, error) {
			return 0, get(locatePath(i), http.StatusOK, http.StatusNotFound)
		}},
	}

	// The first tile request starts gridd's pre-warming of zooms 0–10;
	// a server that has been up a while has done it.
	// It may wait for the tile geometry to be prepared: a patient client.
	req, _ := http.NewRequest(http.MethodGet, is.base+"/tiles/grids/10/857/423.mvt", nil)
	req.Header.Set("Authorization", "Bearer "+is.viewer)
	if resp, err := (&http.Client{Timeout: 3 * time.Minute}).Do(req); err != nil {
		return fmt.Errorf("first tile: %w", err)
	} else {
		resp.Body.Close()
	}
	select {
	case <-is.prewarmed:
	case <-time.After(3 * time.Minute):
		return fmt.Errorf("gridd did not pre-warm its tiles within 3 minutes")
	}
	// Warm-up as benchIncidents does: open the connections, then let
	// PostgreSQL's statistics see a table that has rows.
	for i := 0; i < 50; i++ {
		if _, _, err := is.post(i, "warm-"+strconv.Itoa(i)); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	runStreams(streams, 3*time.Second, 1<<30)
	if _, err := is.conn.Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	for _, s := range streams {
		s.lat, s.ids, s.errs = nil, nil, nil
	}

	took := runStreams(streams, dur, 0)

	var fsync, sync string
	is.conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &sync)
	fmt.Printf("load: three open-loop streams at once for %s on loopback (gridd serve --rate-limit 0; PostgreSQL fsync=%s, synchronous_commit=%s)\n", dur, fsync, sync)
	fmt.Printf("%-28s %7s %8s %8s %7s %9s %9s %9s %9s\n", "", "rate", "sent", "ok", "errors", "achieved", "p50", "p99", "max")
	var acked []int64
	var firstErr error
	totalErrs, shed := 0, 0
	for _, s := range streams {
		var ok []time.Duration
		errs := 0
		for i := range s.lat {
			if s.errs[i] != nil {
				errs++
				if strings.Contains(s.errs[i].Error(), "HTTP 503") {
					shed++ // turned away by --max-inflight (or the database down)
				}
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", s.name, s.errs[i])
				}
				continue
			}
			ok = append(ok, s.lat[i])
			if s.ids[i] != 0 {
				acked = append(acked, s.ids[i])
			}
		}
		totalErrs += errs
		slices.Sort(ok)
		q := func(p float64) float64 {
			if len(ok) == 0 {
				return 0
			}
			return msf(ok[min(len(ok)-1, int(p*float64(len(ok))))])
		}
		fmt.Printf("%-28s %5d/s %8d %8d %7d %7.0f/s %6.1f ms %6.1f ms %6.1f ms\n", s.name, s.rate, len(s.lat), len(ok), errs,
			float64(len(ok))/took.Seconds(), q(0.5), q(0.99), q(1))
	}
	var stored int
	if err := is.conn.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE id = ANY ($1)`, acked).Scan(&stored); err != nil {
		return err
	}
	fmt.Printf("acknowledged incidents in the database: %d of %d; errors: %d (%d of them 503)\n", stored, len(acked), totalErrs, shed)
	if stored != len(acked) {
		return fmt.Errorf("%d acknowledged incidents are not in the database", len(acked)-stored)
	}
	if firstErr != nil {
		return fmt.Errorf("%d requests failed, e.g. %v", totalErrs, firstErr)
	}
	return nil
}

// runStreams sends every stream at its rate for dur, open loop, and
// waits for the answers; it returns the time from the first send to the
// last answer. Request i is sent as offset+i (the warm-up's keys must not
// collide with the run's).
func runStreams(streams []*loadStream, dur time.Duration, offset int) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	for _, s := range streams {
		n := int(float64(s.rate) * dur.Seconds())
		s.lat, s.ids, s.errs = make([]time.Duration, n), make([]int64, n), make([]error, n)
		interval := time.Second / time.Duration(s.rate)
		wg.Add(1)
		go func(s *loadStream) {
			defer wg.Done()
			var inner sync.WaitGroup
			for i := 0; i < n; i++ {
				due := start.Add(time.Duration(i) * interval)
				time.Sleep(time.Until(due))
				inner.Add(1)
				go func(i int) {
					defer inner.Done()
					id, err := s.send(offset + i)
					s.lat[i], s.ids[i], s.errs[i] = time.Since(due), id, err
				}(i)
			}
			inner.Wait()
		}(s)
	}
	wg.Wait()
	return time.Since(start)
}
