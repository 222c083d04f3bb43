package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

func TestMain(m *testing.M) {
	http.DefaultClient.Transport = devAuth
	// One register key for every test's commands, given as the key
	// itself: no key file in the source tree (the default is register.key
	// in --data, "var" here).
	key, err := geo.NewRegisterKey()
	if err != nil {
		panic(err)
	}
	os.Setenv("GRIDD_REGISTER_KEY", key)
	pgtest.Main(m)
}

// devAuth sends each test server's development token (serve --dev-token)
// with every request of http.DefaultClient (http.Get, http.Post, …) that
// has no Authorization header of its own; an empty one (noAuth) is
// removed and the request goes without credentials.
var devAuth = &testAuth{tokens: map[string]string{}}

// noAuth are headers that make a request go without credentials.
var noAuth = map[string]string{"Authorization": ""}

type testAuth struct {
	mu     sync.Mutex
	tokens map[string]string // host:port → token
}

func (a *testAuth) set(host, token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[host] = token
}

// wrap returns a transport that sends the development token over rt.
func (a *testAuth) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) { return rt.RoundTrip(a.authorize(req)) })
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func (a *testAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	return http.DefaultTransport.RoundTrip(a.authorize(req))
}

// authorize adds the token of the request's server unless the request
// has an Authorization header; an empty one is removed.
func (a *testAuth) authorize(req *http.Request) *http.Request {
	a.mu.Lock()
	tok := a.tokens[req.URL.Host]
	a.mu.Unlock()
	if v, set := req.Header["Authorization"]; !set && tok != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if set && len(v) == 1 && v[0] == "" {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	return req
}

// gridd runs the CLI in-process and returns what it printed.
func gridd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, io.Discard)
	return out.String(), err
}

// demoDatabaseURL returns a fresh database holding the demo city ('gridd
// demo', default seed, without its people: the tests bring their own): a copy of one loaded once per test server, so that
// the many tests on the demo city do not each generate it again.
func demoDatabaseURL(t *testing.T) string {
	t.Helper()
	return pgtest.NewFilledDatabaseURL(t, "demo", func(url string) error {
		return run(context.Background(), []string{"demo", "--db", url, "--people=false", "--register=false"}, io.Discard, io.Discard)
	})
}

// connect opens a connection to a test database, closed when the test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustGridd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := gridd(t, args...)
	if err != nil {
		t.Fatalf("gridd %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts 'gridd serve' on a free port and returns its base URL.
func serve(t *testing.T, dbURL string, extra ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	devToken := rand.Text()
	devAuth.set(addr, devToken)
	args := append([]string{"serve", "--db", dbURL, "--addr", addr, "--dev-token", devToken}, extra...)
	go func() { done <- run(ctx, args, io.Discard, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + addr
	for i := 0; i < 100; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return base
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("server did not come up")
	return ""
}

func getJSON(t *testing.T, url string, wantStatus int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %s", url, resp.StatusCode, wantStatus, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

func TestDemoServeLocateTiles(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	out := mustGridd(t, "demo", "--db", dbURL, "--seed", "11")
	if !strings.Contains(out, "generation 1 active") || !regexp.MustCompile(`demo register \(synthetic\): [1-9][0-9]{4,} households, [1-9][0-9]{5,} residents`).MatchString(out) {
		t.Fatalf("demo said %q", out)
	}
	if _, err := gridd(t, "demo", "--db", dbURL); err == nil || !strings.Contains(err.Error(), "empty database") {
		t.Fatalf("second demo: err %v, want a refusal", err)
	}
	ctx := context.Background()
	conn := connect(t, dbURL)
	base := serve(t, dbURL)

	var health map[string]string
	getJSON(t, base+"/healthz", http.StatusOK, &health)

	// Points inside: the point on surface of a few grids, checked against
	// what PostGIS says covers them.
	rows, err := conn.Query(ctx, `SELECT code, ST_X(p), ST_Y(p) FROM (
		SELECT code, ST_PointOnSurface(geom) AS p FROM areas WHERE generation = 1 AND level = 'grid' ORDER BY code LIMIT 25) s`)
	if err != nil {
		t.Fatal(err)
	}
	type probe struct {
		code     string
		lon, lat float64
	}
	probes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (probe, error) {
		var p probe
		return p, r.Scan(&p.code, &p.lon, &p.lat)
	})
	if err != nil || len(probes) != 25 {
		t.Fatalf("probes: %v (%d)", err, len(probes))
	}
	for _, p := range probes {
		var chain struct {
			Generation                        int
			District, Street, Community, Grid *struct{ Code, Name string }
		}
		getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.9f&lat=%.9f", base, p.lon, p.lat), http.StatusOK, &chain)
		var want string
		if err := conn.QueryRow(ctx, `SELECT min(code) FROM areas WHERE generation = 1 AND level = 'grid'
			AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))`, p.lon, p.lat).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if chain.Grid == nil || chain.Grid.Code != want {
			t.Errorf("locate %v: grid %+v, want %s", p, chain.Grid, want)
			continue
		}
		if chain.District == nil || chain.District.Code != "330212" || chain.Street == nil || chain.Community == nil {
			t.Errorf("locate %v: incomplete chain %+v", p, chain)
			continue
		}
		if !strings.HasPrefix(chain.Community.Code, chain.Street.Code) || len(chain.Community.Code) != 12 || len(chain.Street.Code) != 9 {
			t.Errorf("locate %v: chain codes do not nest: %s %s", p, chain.Street.Code, chain.Community.Code)
		}
	}

	// Outside the coverage and bad input: JSON errors.
	for _, tt := range []struct {
		query  string
		status int
		code   string
	}{
		{"lon=116.39&lat=39.9", http.StatusNotFound, "not_found"},
		{"lon=121.5", http.StatusBadRequest, "invalid"},
		{"lon=abc&lat=29.8", http.StatusBadRequest, "invalid"},
		{"lon=NaN&lat=29.8", http.StatusBadRequest, "invalid"},
		{"lon=200&lat=29.8", http.StatusBadRequest, "invalid"},
		{"lon=121.5&lat=29.8&gen=99", http.StatusNotFound, "not_found"},
		{"lon=121.5&lat=29.8&gen=-1", http.StatusBadRequest, "invalid"},
	} {
		var e apiError
		getJSON(t, base+"/api/v1/locate?"+tt.query, tt.status, &e)
		if e.Error.Code != tt.code || e.Error.Message == "" {
			t.Errorf("locate?%s: error %+v, want code %s", tt.query, e, tt.code)
		}
	}

	// A tile at z12 over the first probe, decoded: ids are the codes, and
	// the codes are exactly the grids PostGIS finds in the tile.
	tile := maptile.At([2]float64{probes[0].lon, probes[0].lat}, 12)
	resp, err := http.Get(fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", base, tile.Z, tile.X, tile.Y))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" {
		t.Fatalf("tile: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatalf("decode tile: %v", err)
	}
	if len(layers) != 1 || layers[0].Name != "grids" {
		t.Fatalf("tile layers: %v", layers)
	}
	got := map[string]bool{}
	for _, f := range layers[0].Features {
		code, _ := f.Properties["code"].(string)
		if id, ok := f.ID.(float64); !ok || strconv.FormatFloat(id, 'f', 0, 64) != code {
			t.Errorf("feature id %v != code %q", f.ID, code)
		}
		if f.Properties["name"] == "" || f.Properties["level"] != "grid" {
			t.Errorf("feature %s attributes %v", code, f.Properties)
		}
		got[code] = true
	}
	// Grids with more than a sliver in the tile (a sliver narrower than a
	// pixel closes in the tile's snapping).
	rows, err = conn.Query(ctx, `SELECT code FROM areas WHERE generation = 1 AND level = 'grid'
		AND ST_Area(ST_Intersection(ST_Transform(geom, 3857), ST_TileEnvelope($1, $2, $3))) > 1000`, int(tile.Z), int(tile.X), int(tile.Y))
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !got[probes[0].code] {
		t.Errorf("tile lacks grid %s", probes[0].code)
	}
	for _, c := range want {
		if !got[c] {
			t.Errorf("tile lacks grid %s that PostGIS finds in it", c)
		}
	}
	if len(got) > len(want)+len(want)/5+2 {
		t.Errorf("tile has %d grids, PostGIS finds %d in it", len(got), len(want))
	}

	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/tiles/grids/3/0/0.mvt", http.StatusNoContent},
		{"/tiles/grids/3/8/0.mvt", http.StatusBadRequest},
		{"/tiles/grids/23/0/0.mvt", http.StatusBadRequest},
		{"/tiles/nope/3/0/0.mvt", http.StatusNotFound},
		{"/tiles/districts/0/0/0.mvt", http.StatusOK},
		{"/", http.StatusOK},
		{"/app.js", http.StatusOK},
	} {
		resp, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
	}
}

func TestImportLayer(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	out := mustGridd(t, "import", "--db", dbURL, "--level", "grid", "--dept", "zongzhi", "testdata/three-grids.geojson")
	for _, want := range []string{"code=WGBM", "name=WGMC", "households=HS", "version 1", "3 stored, 1 repaired", "feature 3 330212001001003"} {
		if !strings.Contains(out, want) {
			t.Errorf("import said %q, want %q in it", out, want)
		}
	}
	out = mustGridd(t, "import", "--db", dbURL, "--level", "grid", "--dept", "zongzhi", "testdata/three-grids.geojson")
	if !strings.Contains(out, "nothing imported") {
		t.Errorf("re-import said %q", out)
	}
	ctx := context.Background()
	conn := connect(t, dbURL)
	var n, hh int
	var name string
	var area float64
	if err := conn.QueryRow(ctx, `SELECT count(*), sum(households), min(name), sum(ST_Area(geom::geography)) FROM source_features`).Scan(&n, &hh, &name, &area); err != nil {
		t.Fatal(err)
	}
	if n != 3 || hh != 730 || name != "测试第1网格" {
		t.Errorf("stored %d features, %d households, first name %q", n, hh, name)
	}
	// Two 0.01° squares at 29.8°N (965 m × 1109 m) and the bow tie, whose
	// two triangles repaired add up to a third.
	if area < 3*1.07e6*0.99 || area > 3*1.07e6*1.01 {
		t.Errorf("total area %.0f m²", area)
	}

	before := countLayers(t, conn)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--level", "grid", "--dept", "zongzhi", "testdata/truncated.geojson"}, "truncated"},
		{[]string{"--level", "grid", "--dept", "zongzhi", "testdata/points.geojson"}, "not polygons"},
		{[]string{"--level", "grid", "--dept", "nobody", "testdata/three-grids.geojson"}, "unknown department"},
		{[]string{"--level", "block", "testdata/three-grids.geojson"}, "unknown level"},
		{[]string{"--level", "grid", "--code-field", "BM", "testdata/three-grids.geojson"}, "not a field"},
		{[]string{"--level", "grid", "testdata/missing.geojson"}, "missing.geojson"},
	} {
		_, err := gridd(t, append([]string{"import", "--db", dbURL}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("import %v: error %v, want one line with %q", tt.args, err, tt.want)
		}
	}
	if after := countLayers(t, conn); after != before {
		t.Errorf("failed imports changed the layers: %d -> %d", before, after)
	}
}

func countLayers(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM source_layers) + (SELECT count(*) FROM source_features)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCLIErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dbURL := pgtest.NewDatabaseURL(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--db", "postgres://%zz", "--addr", freeAddr(t)}, "bad --db URL"},
		{[]string{"serve", "--db", dbURL, "--addr", busy.Addr().String()}, "cannot listen on"},
		{[]string{"activate", "--db", dbURL, "42"}, "no generation 42"},
		{[]string{"activate", "--db", dbURL, "x"}, "not a generation number"},
		{[]string{"merge", "--db", dbURL}, "has a grid layer"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		_, err := gridd(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("gridd %v: error %v, want one line with %q", tt.args, err, tt.want)
		}
	}
}
