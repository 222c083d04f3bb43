package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridd/gridd/internal/pgtest"
)

// TestMergeWorkflow runs the GIS staff's path through the CLI and the API:
// merge a draft, read its report, check it, activate it, export it.
func TestMergeWorkflow(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	mustGridd(t, "demo", "--db", dbURL, "--seed", "5", "--register=false")

	out := mustGridd(t, "merge", "--db", dbURL, "--note", "second")
	for _, want := range []string{"generation 2", "zongzhi", "chengguan", "grid codes:", "lineage:", "gridd activate 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("merge output lacks %q:\n%s", want, out)
		}
	}
	out = mustGridd(t, "check", "--db", dbURL, "--gen", "2")
	if !strings.Contains(out, "ok:") {
		t.Errorf("check said %q", out)
	}

	base := serve(t, dbURL)
	// A merge over the API; bad parameters are a 400 and make nothing.
	resp, err := http.Post(base+"/api/v1/merges", "application/json", strings.NewReader(`{"sliver_area_m2": -5}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad merge params: %d", resp.StatusCode)
	}
	resp, err = http.Post(base+"/api/v1/merges", "application/json", strings.NewReader(`{"note": "api", "bogus": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown field: %d", resp.StatusCode)
	}
	resp, err = http.Post(base+"/api/v1/merges", "application/json", strings.NewReader(`{"note": "api"}`))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Generation int
		Lineage    map[string]int
	}
	json.NewDecoder(resp.Body).Decode(&rep)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || rep.Generation != 3 || rep.Lineage["kept"] == 0 {
		t.Fatalf("API merge: %d %+v", resp.StatusCode, rep)
	}
	var gens struct {
		Generations []struct {
			ID    int
			State string
		}
	}
	getJSON(t, base+"/api/v1/generations", http.StatusOK, &gens)
	if len(gens.Generations) != 3 || gens.Generations[2].State != "active" || gens.Generations[0].State != "draft" {
		t.Errorf("generations %+v", gens)
	}
	resp, err = http.Post(base+"/api/v1/generations/3/activate", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("activate: %d", resp.StatusCode)
	}
	var chk struct {
		OK bool
	}
	getJSON(t, base+"/api/v1/generations/active/check", http.StatusOK, &chk)
	if !chk.OK {
		t.Error("the active generation fails its check")
	}
	// The previous generation stays queryable.
	var chain struct{ Generation int }
	getJSON(t, base+"/api/v1/locate?lon=121.55&lat=29.80&gen=1", http.StatusOK, &chain)
	if chain.Generation != 1 {
		t.Errorf("locate in generation 1 answered from %d", chain.Generation)
	}

	// Export over the API and the CLI agree on the grids.
	resp, err = http.Get(base + "/api/v1/generations/active/export?level=grid&format=csv")
	if err != nil {
		t.Fatal(err)
	}
	apiRows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(apiRows) < 100 || apiRows[0][0] != "code" {
		t.Fatalf("CSV export: %v, %d rows", err, len(apiRows))
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "grids.geojson")
	mustGridd(t, "export", "--db", dbURL, "--level", "grid", file)
	b, _ := os.ReadFile(file)
	var fc struct {
		Features []struct {
			Properties struct{ Code, Parent string }
		}
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatalf("exported GeoJSON: %v", err)
	}
	if len(fc.Features) != len(apiRows)-1 {
		t.Errorf("GeoJSON has %d grids, CSV %d", len(fc.Features), len(apiRows)-1)
	}
	for _, f := range fc.Features {
		if len(f.Properties.Code) != 15 || !strings.HasPrefix(f.Properties.Code, f.Properties.Parent) {
			t.Errorf("exported grid %+v", f.Properties)
			break
		}
	}
	cw := filepath.Join(dir, "cg.csv")
	mustGridd(t, "export", "--db", dbURL, "--crosswalk", "--dept", "chengguan", cw)
	b, _ = os.ReadFile(cw)
	rows, _ := csv.NewReader(bytes.NewReader(b)).ReadAll()
	ctx := context.Background()
	conn := connect(t, dbURL)
	var n int
	conn.QueryRow(ctx, `SELECT count(*) FROM crosswalk WHERE generation = 3 AND dept_code = 'chengguan'`).Scan(&n)
	if len(rows)-1 != n || n == 0 {
		t.Errorf("crosswalk CSV has %d rows, database %d", len(rows)-1, n)
	}
	if _, err := gridd(t, "export", "--db", dbURL, "--crosswalk", "--dept", "nobody", filepath.Join(dir, "x.csv")); err == nil || !strings.Contains(err.Error(), "unknown department") {
		t.Errorf("crosswalk of an unknown department: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); !os.IsNotExist(err) {
		t.Error("a failed export left a file behind")
	}
}
