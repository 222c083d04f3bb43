package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestConsoleCity opens the console on the second city (北仑区, imported
// from files, see secondcity_test.go) in headless Chromium: after login the
// operator's map is on 北仑 (its center inside the generation's bounds, all
// of them in view), its
// first screen shows 北仑's grids, and the attribution control credits the
// city's imported layers, not the demo's sources. Screenshot:
// var/screenshots/console-city.png.
func TestConsoleCity(t *testing.T) {
	dbURL := secondCityDatabaseURL(t)
	base := serve(t, dbURL)
	pw := shownOnce.FindStringSubmatch(mustGridd(t, "user", "add", "--db", dbURL, "--login", "beilun", "--role", "viewer"))
	if pw == nil {
		t.Fatal("gridd user add printed no password")
	}
	// When the browser asks, a new version of the district layer with a
	// new attribution is imported, merged and activated from the CLI, as a
	// GIS staffer would beside the running server.
	conn := connect(t, dbURL)
	const newAttribution = "区界: 北仑区自然资源局 (测试, 第二版)"
	districtFile := filepath.Join(t.TempDir(), "district-v2.geojson")
	if err := os.WriteFile(districtFile, []byte(activeDistrictGeoJSON(t, conn)), 0o644); err != nil {
		t.Fatal(err)
	}
	var activated atomic.Int64
	cli := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := func() error {
			if _, err := runGridd("import", "--db", dbURL, "--level", "district", "--attribution", newAttribution, districtFile); err != nil {
				return err
			}
			if _, err := runGridd("merge", "--db", dbURL, "--base", "zongzhi"); err != nil {
				return err
			}
			var gen int
			if err := conn.QueryRow(context.Background(), `SELECT max(id) FROM generations`).Scan(&gen); err != nil {
				return err
			}
			activated.Store(int64(gen))
			_, err := runGridd("activate", "--db", dbURL, strconv.Itoa(gen))
			return err
		}()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	defer cli.Close()
	shot := screenshotPath(t, "console-city.png")
	out := runConsoleScript(t, "city.mjs", base, shot, "GRIDD_LOGIN=beilun", "GRIDD_PASSWORD="+pw[1],
		"GRIDD_ACTIVATE_URL="+cli.URL, "GRIDD_NEW_ATTRIBUTION="+newAttribution)
	var res struct {
		Center           [2]float64
		Zoom             float64
		View             [2][2]float64 // south-west, north-east
		Rendered         int
		Codes            []string
		Attribution      string
		AttributionAfter string
		StyleAfter       string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("browser test output %q: %v", out, err)
	}
	t.Logf("browser saw: %s", out)

	var minX, minY, maxX, maxY float64
	if err := conn.QueryRow(context.Background(), `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT ST_Extent(geom) e FROM areas WHERE generation = 1) x`).
		Scan(&minX, &minY, &maxX, &maxY); err != nil {
		t.Fatal(err)
	}
	if c := res.Center; c[0] < minX || c[0] > maxX || c[1] < minY || c[1] > maxY {
		t.Errorf("the map opened at %v, outside the active generation's bounds [%g %g %g %g]", c, minX, minY, maxX, maxY)
	}
	// Framed on the whole city, not just somewhere in it.
	if v := res.View; v[0][0] > minX || v[0][1] > minY || v[1][0] < maxX || v[1][1] < maxY {
		t.Errorf("the map shows %v, not all of the active generation's bounds [%g %g %g %g]", v, minX, minY, maxX, maxY)
	}
	if res.Rendered == 0 || len(res.Codes) == 0 {
		t.Errorf("the first screen shows no grids: %+v", res)
	}
	for _, c := range res.Codes {
		if len(c) != 15 || !strings.HasPrefix(c, secondCity) {
			t.Errorf("rendered grid %q is not one of %s's", c, secondCity)
		}
	}
	for _, want := range secondCityAttributions() {
		if !strings.Contains(res.Attribution, want) {
			t.Errorf("attribution %q lacks %q", res.Attribution, want)
		}
	}
	if strings.Contains(res.Attribution, "echarts") || strings.Contains(res.Attribution, "国家统计局") {
		t.Errorf("attribution %q credits the demo's sources", res.Attribution)
	}
	// The activation from the CLI reached the open console over the event
	// stream: the map shows the new generation, credited with the new layer.
	if gen := activated.Load(); res.StyleAfter != "gridd generation "+strconv.FormatInt(gen, 10) || !strings.Contains(res.AttributionAfter, newAttribution) {
		t.Errorf("after generation %d was activated from the CLI the map shows %q credited %q, want it credited %q", gen, res.StyleAfter, res.AttributionAfter, newAttribution)
	}
}
