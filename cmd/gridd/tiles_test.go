package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

// yinzhouCentre is a point in the demo city's urban core.
var yinzhouCentre = orb.Point{121.56, 29.82}

// fetch GETs a URL with headers and returns the response and its body.
func fetch(t *testing.T, u string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// A transport of its own: the default one would ask for gzip and
	// decompress behind the test's back.
	resp, err := devAuth.wrap(&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func tilePath(layer string, tile maptile.Tile) string {
	return fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", layer, tile.Z, tile.X, tile.Y)
}

// TestTilesAndOGC serves the demo city and checks the tile endpoints
// (cache, ETag, gzip, invalidation by generation, layers, datum),
// TileJSON, style.json and OGC API – Features.
func TestTilesAndOGC(t *testing.T) {
	dbURL := demoDatabaseURL(t)
	base := serve(t, dbURL)
	ctx := context.Background()
	conn := connect(t, dbURL)
	z12 := maptile.At(yinzhouCentre, 12)

	t.Run("TileCacheETagGzip", func(t *testing.T) {
		u := base + tilePath("grids", maptile.At(yinzhouCentre, 13))
		resp, gz := fetch(t, u, "Accept-Encoding", "gzip")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" ||
			resp.Header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=60" {
			t.Errorf("active generation: Cache-Control %q", cc)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(zr)
		etag := resp.Header.Get("ETag")
		// Again: a hit, same ETag.
		resp2, _ := fetch(t, u, "Accept-Encoding", "gzip")
		if resp2.Header.Get("X-Tile-Cache") != "memory" || resp2.Header.Get("ETag") != etag {
			t.Errorf("second request: cache %q, etag %q vs %q", resp2.Header.Get("X-Tile-Cache"), resp2.Header.Get("ETag"), etag)
		}
		// Without gzip: the same tile, uncompressed, under its own ETag.
		resp3, plain := fetch(t, u)
		if resp3.Header.Get("Content-Encoding") != "" || !bytes.Equal(plain, raw) || resp3.Header.Get("ETag") == etag || resp3.Header.Get("ETag") == "" {
			t.Errorf("identity: encoding %q, same bytes %v, etag %q", resp3.Header.Get("Content-Encoding"), bytes.Equal(plain, raw), resp3.Header.Get("ETag"))
		}
		// If-None-Match with either ETag: 304 and no body.
		for _, tag := range []string{etag, resp3.Header.Get("ETag"), `"nope", ` + etag} {
			resp, body := fetch(t, u, "Accept-Encoding", "gzip", "If-None-Match", tag)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("If-None-Match %s: %d, %d bytes", tag, resp.StatusCode, len(body))
			}
		}
		if resp, _ := fetch(t, u, "If-None-Match", `"other"`); resp.StatusCode != http.StatusOK {
			t.Errorf("If-None-Match other: %d", resp.StatusCode)
		}
		// A named generation changes only with the building set, which the
		// demo has: revalidated like the active one.
		resp4, _ := fetch(t, u+"?gen=1", "Accept-Encoding", "gzip")
		if cc := resp4.Header.Get("Cache-Control"); cc != "public, max-age=60" || resp4.Header.Get("ETag") != etag {
			t.Errorf("?gen=1: Cache-Control %q, etag %q", cc, resp4.Header.Get("ETag"))
		}
		// Empty and out of range.
		for _, tt := range []struct {
			path   string
			status int
		}{
			{"/tiles/grids/3/0/0.mvt", http.StatusNoContent},
			{"/tiles/grids/3/0/0.mvt", http.StatusNoContent},
			{"/tiles/grids/3/8/0.mvt", http.StatusBadRequest},
			{"/tiles/grids/23/0/0.mvt", http.StatusBadRequest},
			{"/tiles/nope/3/0/0.mvt", http.StatusNotFound},
			{"/tiles/dept/nobody/3/0/0.mvt", http.StatusNotFound},
			{"/tiles/grids/3/0/0.mvt?gen=99", http.StatusNotFound},
			{"/tiles/grids/3/0/0.mvt?datum=bd09", http.StatusBadRequest},
			{"/tiles/grids/3/0/0.mvt?datum=mars", http.StatusBadRequest},
		} {
			if resp, _ := fetch(t, base+tt.path); resp.StatusCode != tt.status {
				t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.status)
			}
		}
	})

	t.Run("TileLayers", func(t *testing.T) {
		for _, tt := range []struct {
			layer, mvtLayer string
			zoom            maptile.Zoom
			query           string
		}{
			{"districts", "districts", 8, ""},
			{"streets", "streets", 10, ""},
			{"communities", "communities", 12, ""},
			{"grids", "grids", 14, "?datum=gcj02"},
			{"labels", "labels", 14, ""},
			{"dept/chengguan", "dept_chengguan", 13, ""},
		} {
			resp, data := fetch(t, base+tilePath(tt.layer, maptile.At(yinzhouCentre, tt.zoom))+tt.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d: %s", tt.layer, resp.StatusCode, data)
			}
			layers, err := mvt.Unmarshal(data)
			if err != nil {
				t.Fatalf("%s: %v", tt.layer, err)
			}
			if len(layers) != 1 || layers[0].Name != tt.mvtLayer || len(layers[0].Features) == 0 {
				t.Fatalf("%s: layers %v", tt.layer, layers)
			}
			for _, f := range layers[0].Features {
				if f.ID == nil || f.Properties["code"] == "" || f.Properties["name"] == nil {
					t.Errorf("%s feature %v: %v", tt.layer, f.ID, f.Properties)
					break
				}
			}
		}
	})

	t.Run("TileInvalidationByGeneration", func(t *testing.T) {
		// A second generation, a copy of the first, activated over the API:
		// the active generation's tiles are cut afresh, named ones stay.
		if _, err := conn.Exec(ctx, `
			INSERT INTO generations (id, note) VALUES (2, 'copy');
			SELECT setval('generations_id_seq', 2);
			INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom, review, area_m2)
			SELECT 2, level, code, name || '·2', parent_code, households, population, geom, review, area_m2 FROM areas WHERE generation = 1`); err != nil {
			t.Fatal(err)
		}
		u := base + tilePath("grids", z12)
		fetch(t, u)
		if resp, _ := fetch(t, u); resp.Header.Get("X-Tile-Cache") != "memory" {
			t.Fatalf("before: %q", resp.Header.Get("X-Tile-Cache"))
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/generations/2/activate", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("activate: %d", resp.StatusCode)
		}
		resp, data := fetch(t, u)
		if resp.Header.Get("X-Tile-Cache") != "loaded" {
			t.Errorf("after activation: %q, want a fresh tile", resp.Header.Get("X-Tile-Cache"))
		}
		layers, err := mvt.Unmarshal(data)
		if err != nil || len(layers) == 0 || !strings.HasSuffix(layers[0].Features[0].Properties["name"].(string), "·2") {
			t.Fatalf("after activation the tile is not generation 2's: %v", err)
		}
		if resp, _ := fetch(t, u+"?gen=1"); resp.StatusCode != http.StatusOK {
			t.Errorf("?gen=1 after activation: %d", resp.StatusCode)
		}
	})

	t.Run("TileJSON", func(t *testing.T) {
		for _, layer := range []string{"grids", "labels", "dept/zongzhi"} {
			var tj struct {
				TileJSON     string     `json:"tilejson"`
				Tiles        []string   `json:"tiles"`
				MinZoom      int        `json:"minzoom"`
				MaxZoom      int        `json:"maxzoom"`
				Bounds       [4]float64 `json:"bounds"`
				Center       [3]float64 `json:"center"`
				VectorLayers []struct {
					ID     string            `json:"id"`
					Fields map[string]string `json:"fields"`
				} `json:"vector_layers"`
			}
			getJSON(t, base+"/tiles/"+layer+".json", http.StatusOK, &tj)
			b := orb.Bound{Min: orb.Point{tj.Bounds[0], tj.Bounds[1]}, Max: orb.Point{tj.Bounds[2], tj.Bounds[3]}}
			if tj.TileJSON != "3.0.0" || len(tj.Tiles) != 1 || !strings.HasPrefix(tj.Tiles[0], base+"/tiles/"+layer+"/{z}/{x}/{y}.mvt") ||
				!b.Contains(yinzhouCentre) || !b.Contains(orb.Point{tj.Center[0], tj.Center[1]}) || tj.MaxZoom < 14 ||
				len(tj.VectorLayers) != 1 || tj.VectorLayers[0].Fields["code"] == "" {
				t.Errorf("%s TileJSON %+v", layer, tj)
			}
		}
		// Behind a TLS proxy, with a generation and a datum.
		resp, body := fetch(t, base+"/tiles/grids.json?gen=1&datum=gcj02", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "grid.example.cn")
		var tj struct{ Tiles []string }
		json.Unmarshal(body, &tj)
		if resp.StatusCode != http.StatusOK || len(tj.Tiles) != 1 || tj.Tiles[0] != "https://grid.example.cn/tiles/grids/{z}/{x}/{y}.mvt?datum=gcj02&gen=1" {
			t.Errorf("proxied TileJSON: %d %s", resp.StatusCode, body)
		}
		if resp, _ := fetch(t, base+"/tiles/nope.json"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("unknown layer TileJSON: %d", resp.StatusCode)
		}
	})

	t.Run("StyleJSON", func(t *testing.T) {
		var style struct {
			Version int `json:"version"`
			Sources map[string]struct {
				Type  string   `json:"type"`
				Tiles []string `json:"tiles"`
			} `json:"sources"`
			Layers []struct {
				ID          string `json:"id"`
				Type        string `json:"type"`
				Source      string `json:"source"`
				SourceLayer string `json:"source-layer"`
			} `json:"layers"`
			Glyphs string `json:"glyphs"`
		}
		getJSON(t, base+"/tiles/style.json", http.StatusOK, &style)
		if style.Version != 8 || style.Glyphs != "" {
			t.Fatalf("style %+v", style)
		}
		ids := map[string]bool{}
		for _, l := range style.Layers {
			ids[l.ID] = true
			if l.Type == "background" {
				continue
			}
			src, ok := style.Sources[l.Source]
			if !ok {
				t.Errorf("layer %s: no source %q", l.ID, l.Source)
				continue
			}
			if l.SourceLayer != l.Source {
				t.Errorf("layer %s: source-layer %q is not in source %q", l.ID, l.SourceLayer, l.Source)
			}
			if src.Type != "vector" || len(src.Tiles) != 1 || !strings.HasPrefix(src.Tiles[0], base+"/tiles/") {
				t.Errorf("source %s: %+v", l.Source, src)
			}
		}
		for _, id := range []string{"background", "grids-fill", "communities-fill", "grids-line", "communities-line", "streets-line", "districts-line", "grids-selected", "dept-zongzhi-line"} {
			if !ids[id] {
				t.Errorf("style lacks layer %s", id)
			}
		}
		// Every source's tiles answer at the centre.
		for name, src := range style.Sources {
			tile := maptile.At(yinzhouCentre, 14)
			u := strings.NewReplacer("{z}", "14", "{x}", fmt.Sprint(tile.X), "{y}", fmt.Sprint(tile.Y)).Replace(src.Tiles[0])
			if resp, _ := fetch(t, u); resp.StatusCode != http.StatusOK {
				t.Errorf("source %s tile %s: %d", name, u, resp.StatusCode)
			}
		}
	})

	t.Run("OGCLandingConformanceAPI", func(t *testing.T) {
		var landing struct {
			Links []struct{ Href, Rel, Type string }
		}
		getJSON(t, base+"/ogc/", http.StatusOK, &landing)
		rels := map[string]string{}
		for _, l := range landing.Links {
			rels[l.Rel] = l.Href
			// QGIS needs these exact types to find the API and the data.
			if (l.Rel == "service-desc" && l.Type != "application/vnd.oai.openapi+json;version=3.0") || (l.Rel == "data" && l.Type != "application/json") {
				t.Errorf("link %+v", l)
			}
		}
		for _, rel := range []string{"self", "service-desc", "conformance", "data"} {
			if rels[rel] == "" {
				t.Errorf("landing page lacks rel=%s", rel)
			}
		}
		var conf struct{ ConformsTo []string }
		getJSON(t, rels["conformance"], http.StatusOK, &conf)
		if !strings.Contains(strings.Join(conf.ConformsTo, " "), "ogcapi-features-1/1.0/conf/core") || !strings.Contains(strings.Join(conf.ConformsTo, " "), "conf/geojson") {
			t.Errorf("conformance %v", conf.ConformsTo)
		}
		resp, body := fetch(t, rels["service-desc"])
		var api struct {
			Components struct {
				Parameters map[string]struct {
					Schema struct{ Maximum, Default int }
				}
			}
			Paths map[string]any
		}
		if err := json.Unmarshal(body, &api); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("api: %d %v", resp.StatusCode, err)
		}
		if lim := api.Components.Parameters["limit"].Schema; lim.Maximum != 10000 || lim.Default != 100 || api.Paths["/collections/{collectionId}/items"] == nil {
			t.Errorf("api limit %+v, paths %v", lim, api.Paths)
		}
	})

	t.Run("OGCCollectionsAndItems", func(t *testing.T) {
		var cols struct {
			Collections []struct {
				ID     string
				Extent struct{ Spatial struct{ Bbox [][4]float64 } }
				Links  []struct{ Href, Rel, Type string }
			}
		}
		getJSON(t, base+"/ogc/collections", http.StatusOK, &cols)
		ids := map[string]string{}
		for _, c := range cols.Collections {
			for _, l := range c.Links {
				if l.Rel == "items" && l.Type == "application/geo+json" {
					ids[c.ID] = l.Href
				}
			}
		}
		for _, id := range []string{"districts", "streets", "communities", "grids", "dept-zongzhi", "dept-chengguan", "dept-dangjian"} {
			if ids[id] == "" {
				t.Errorf("no collection %s with an items link: %v", id, ids)
			}
		}
		var one map[string]any
		getJSON(t, base+"/ogc/collections/grids", http.StatusOK, &one)

		// Page through the grids in a box the way QGIS does, following next.
		box := "121.54,29.80,121.58,29.84"
		var want int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM areas WHERE generation = 2 AND level = 'grid'
			AND ST_Intersects(geom, ST_MakeEnvelope(121.54, 29.80, 121.58, 29.84, 4326))`).Scan(&want); err != nil {
			t.Fatal(err)
		}
		next := ids["grids"] + "?limit=7&bbox=" + box
		seen := map[string]bool{}
		pages := 0
		for next != "" && pages < 100 {
			resp, body := fetch(t, next)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/geo+json" {
				t.Fatalf("GET %s: %d %s", next, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			var fc struct {
				Type           string
				NumberMatched  int
				NumberReturned int
				Features       []struct {
					ID         string
					Properties map[string]any
					Geometry   struct{ Type string }
				}
				Links []struct{ Href, Rel string }
			}
			if err := json.Unmarshal(body, &fc); err != nil {
				t.Fatal(err)
			}
			if fc.Type != "FeatureCollection" || fc.NumberMatched != want || fc.NumberReturned != len(fc.Features) || len(fc.Features) > 7 {
				t.Fatalf("page %d: matched %d (want %d), returned %d", pages, fc.NumberMatched, want, fc.NumberReturned)
			}
			for _, f := range fc.Features {
				if seen[f.ID] || f.Properties["code"] != f.ID || f.Geometry.Type != "MultiPolygon" {
					t.Errorf("feature %s: repeated %v, %v", f.ID, seen[f.ID], f.Properties)
				}
				seen[f.ID] = true
			}
			next = ""
			for _, l := range fc.Links {
				if l.Rel == "next" {
					next = l.Href
				}
			}
			pages++
		}
		if len(seen) != want || want < 10 {
			t.Errorf("paged through %d grids in %d pages, want %d", len(seen), pages, want)
		}

		// properties= selects; one item by its code; a departmental item.
		var fc struct {
			Features []struct {
				ID         string
				Properties map[string]any
			}
		}
		getGeoJSON(t, base+"/ogc/collections/communities/items?limit=3&properties=code,name", http.StatusOK, &fc)
		if len(fc.Features) != 3 || len(fc.Features[0].Properties) != 2 || fc.Features[0].Properties["name"] == "" {
			t.Errorf("properties=code,name: %+v", fc.Features)
		}
		var code string
		for c := range seen {
			code = c
			break
		}
		var item struct {
			ID         string
			Properties map[string]any
		}
		getGeoJSON(t, base+"/ogc/collections/grids/items/"+code, http.StatusOK, &item)
		if item.ID != code || item.Properties["level"] != "grid" {
			t.Errorf("item %s: %+v", code, item)
		}
		getGeoJSON(t, base+"/ogc/collections/dept-zongzhi/items/1", http.StatusOK, &item)
		if item.ID != "1" || item.Properties["dept"] != "zongzhi" {
			t.Errorf("dept item: %+v", item)
		}
		for _, tt := range []struct {
			path   string
			status int
		}{
			{"/ogc/collections/grids/items/999", http.StatusNotFound},
			{"/ogc/collections/nope/items", http.StatusNotFound},
			{"/ogc/collections/grids/items?limit=0", http.StatusBadRequest},
			{"/ogc/collections/grids/items?limit=x", http.StatusBadRequest},
			{"/ogc/collections/grids/items?bbox=1,2,3", http.StatusBadRequest},
			{"/ogc/collections/grids/items?bbox=" + url.QueryEscape("3,2,1,4"), http.StatusBadRequest},
			{"/ogc/collections/grids/items?f=html", http.StatusBadRequest},
			{"/ogc/collections/grids/items?limit=20000&bbox=" + box, http.StatusOK},
		} {
			if resp, body := fetch(t, base+tt.path); resp.StatusCode != tt.status {
				t.Errorf("GET %s: %d, want %d: %s", tt.path, resp.StatusCode, tt.status, body)
			}
		}
	})
}

func getGeoJSON(t *testing.T, u string, wantStatus int, v any) {
	t.Helper()
	resp, body := fetch(t, u)
	if resp.StatusCode != wantStatus || resp.Header.Get("Content-Type") != "application/geo+json" {
		t.Fatalf("GET %s: %d %s: %s", u, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}
