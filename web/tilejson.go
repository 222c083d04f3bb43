package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// tileMaxZoom is the deepest zoom TileJSON and the style advertise: from
// zoom 16 on tiles carry the merged geometry itself, so clients overzoom
// them rather than fetch more.
const tileMaxZoom = 16

// areaFields are the attributes of the level layers, for vector_layers.
// (Counts such as open incidents join here when they exist.)
var areaFields = map[string]string{
	"code": "String: the area's code (also the feature id, as a number)", "name": "String (grids from zoom 10, communities from 9, as households; names below that are in the labels layer)", "level": "String: district, street, community or grid",
	"parent": "String: the parent area's code", "households": "Number: households, when known (grids from zoom 10, communities from 9)",
	"households_source": "String: where households comes from: data (counted from buildings) or attribute (a department's)",
}

var labelFields = map[string]string{
	"code": "String", "name": "String", "level": "String: district, street, community or grid", "parent": "String",
}

var deptFields = map[string]string{
	"code": "String: the department's own code", "name": "String", "dept": "String: department code",
	"version": "Number: version of the imported layer", "households": "Number, when known",
}

// layerInfo describes one tile layer for TileJSON and the style.
type layerInfo struct {
	name, path, description string // MVT layer name, URL path under /tiles/, what it is
	fields                  map[string]string
	minZoom                 int
	bounds                  orb.Bound
	attribution             string // who made the data, as imported
}

// tileLayers lists the layers of a generation (0: active) and the
// departmental layers, with their extents.
func (s *Server) tileLayers(r *http.Request, gen int) ([]layerInfo, int, error) {
	if s.tiles == nil {
		return nil, 0, geo.Errorf(geo.EUNAVAILABLE, "this server has no tile source")
	}
	snap, err := s.tiles.catalog(r.Context(), false)
	if err != nil {
		return nil, 0, err
	}
	if gen == 0 {
		if gen = snap.Active; gen == 0 {
			return nil, 0, geo.Errorf(geo.ENOTFOUND, "no active generation yet: run 'gridd merge' and 'gridd activate', or 'gridd demo'")
		}
	} else if !snap.gens[gen] {
		if snap, err = s.tiles.catalog(r.Context(), true); err != nil {
			return nil, 0, err
		}
		if !snap.gens[gen] {
			return nil, 0, geo.Errorf(geo.ENOTFOUND, "no generation %d", gen)
		}
	}
	b, err := s.deps.Tiles.Bounds(r.Context(), gen, 0)
	if err != nil {
		return nil, 0, err
	}
	attrib := withGridd(snap.Attribution[gen])
	var out []layerInfo
	for _, l := range geo.Levels {
		out = append(out, layerInfo{name: l.Plural(), path: l.Plural(), description: "the " + string(l) + " level of generation " + strconv.Itoa(gen), fields: areaFields, bounds: b, attribution: attrib})
	}
	out = append(out, layerInfo{name: geo.LabelsLayer, path: geo.LabelsLayer, description: "one label point per area, inside it; each level from its own zoom (district 8, street 10, community 12, grid 14)",
		fields: labelFields, minZoom: geo.LabelMinZoom(geo.District), bounds: b, attribution: attrib})
	for _, d := range snap.Depts {
		db, err := s.deps.Tiles.Bounds(r.Context(), 0, d.LayerID)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, layerInfo{name: "dept_" + d.Dept, path: geo.DeptLayerPrefix + d.Dept,
			description: d.DeptName + " grids as imported, version " + strconv.Itoa(d.Version), fields: deptFields, bounds: db, attribution: withGridd(d.Attribution)})
	}
	return out, gen, nil
}

// baseURL is the server's address as the client sees it, behind a proxy
// too (X-Forwarded-Proto, X-Forwarded-Host).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = strings.TrimSpace(strings.Split(h, ",")[0])
	}
	return scheme + "://" + host
}

// tileQuery is the query string tile URLs carry: the generation when one
// was asked for, and the datum.
func tileQuery(r *http.Request) (string, int, error) {
	q := r.URL.Query()
	gen, err := genParam(q.Get("gen"))
	if err != nil {
		return "", 0, err
	}
	datum, err := tileDatum(q.Get("datum"))
	if err != nil {
		return "", 0, err
	}
	v := url.Values{}
	if gen != 0 {
		v.Set("gen", strconv.Itoa(gen))
	}
	if datum != geo.DatumWGS84 {
		v.Set("datum", string(datum))
	}
	if len(v) == 0 {
		return "", gen, nil
	}
	return "?" + v.Encode(), gen, nil
}

// tileJSON is a TileJSON 3.0.0 document.
type tileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description"`
	Attribution  string        `json:"attribution"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"`
	Center       [3]float64    `json:"center"`
	VectorLayers []vectorLayer `json:"vector_layers"`
}

type vectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

// tileAttribution credits the server; the data's makers come before it.
const tileAttribution = "gridd"

// withGridd is the attribution line of data credited to a (empty: none
// given on import).
func withGridd(a string) string {
	if a == "" {
		return tileAttribution
	}
	return a + " · " + tileAttribution
}

func (l layerInfo) tileJSON(base, query string) tileJSON {
	b := l.bounds
	return tileJSON{
		TileJSON: "3.0.0", Name: l.name, Description: l.description, Attribution: l.attribution, Scheme: "xyz",
		Tiles:   []string{base + "/tiles/" + l.path + "/{z}/{x}/{y}.mvt" + query},
		MinZoom: 0, MaxZoom: tileMaxZoom,
		Bounds:       [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		Center:       [3]float64{b.Center()[0], b.Center()[1], 10},
		VectorLayers: []vectorLayer{{ID: l.name, Description: l.description, MinZoom: l.minZoom, MaxZoom: tileMaxZoom, Fields: l.fields}},
	}
}

// handleTileJSON answers GET /tiles/{layer}.json and /tiles/dept/{dept}.json.
func (s *Server) handleTileJSON(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	path := v["layer"]
	if d := v["dept"]; d != "" {
		path = geo.DeptLayerPrefix + d
	}
	query, gen, err := tileQuery(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	layers, _, err := s.tileLayers(r, gen)
	if err != nil {
		writeError(w, r, err)
		return
	}
	for _, l := range layers {
		if l.path == path {
			w.Header().Set("Cache-Control", cacheControlActive)
			writeJSON(w, http.StatusOK, l.tileJSON(baseURL(r), query))
			return
		}
	}
	writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no tile layer %q: use districts, streets, communities, grids, labels or dept/CODE", path))
}

// levelStyle is how a level is drawn.
type levelStyle struct {
	line    string
	width   float64
	minZoom int
}

var levelStyles = map[geo.Level]levelStyle{
	geo.Grid:      {"#2b7bb9", 0.6, geo.DetailMinZoom(geo.Grid)},
	geo.Community: {"#5a5a8f", 1.2, geo.DetailMinZoom(geo.Community)},
	geo.Street:    {"#b8442e", 2.2, 0},
	geo.District:  {"#222222", 3.2, 0},
}

// deptColours tell the departmental layers apart; they start hidden.
var deptColours = []string{"#d9480f", "#2f9e44", "#ae3ec9", "#1971c2", "#f08c00", "#0c8599"}

// handleStyle answers GET /tiles/style.json[?gen=][&datum=]: a MapLibre
// style of every layer with no glyphs, sprites or internet sources.
// Layer ids: background, grids-fill, communities-fill, {level}-line,
// grids-selected, dept-{code}-line (hidden). Labels are a source only: text
// needs glyphs, which the style leaves to the client.
func (s *Server) handleStyle(w http.ResponseWriter, r *http.Request) {
	bm := s.cfg.Basemap
	if bm != nil && bm.Datum == geo.DatumGCJ02 && r.URL.Query().Get("datum") == "" {
		// The grids must sit on a GCJ-02 basemap's streets: shift them too.
		r = r.Clone(r.Context())
		q := r.URL.Query()
		q.Set("datum", string(geo.DatumGCJ02))
		r.URL.RawQuery = q.Encode()
	}
	query, gen, err := tileQuery(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	layers, gen, err := s.tileLayers(r, gen)
	if err != nil {
		writeError(w, r, err)
		return
	}
	base := baseURL(r)
	sources := map[string]any{}
	for _, l := range layers {
		tj := l.tileJSON(base, query)
		sources[l.name] = map[string]any{"type": "vector", "tiles": tj.Tiles, "minzoom": 0, "maxzoom": tileMaxZoom, "bounds": tj.Bounds, "attribution": tj.Attribution}
	}
	style := []map[string]any{{"id": "background", "type": "background", "paint": map[string]any{"background-color": "#eef1f4"}}}
	if bm != nil {
		src := bm.styleSource()
		if strings.HasPrefix(bm.URL, "/") {
			src["tiles"] = []string{base + bm.URL}
		}
		sources["basemap"] = src
		style = append(style, map[string]any{"id": "basemap", "type": "raster", "source": "basemap"})
	}
	// Grids get one of seven pale colours by code, so neighbours stand apart.
	style = append(style, map[string]any{
		"id": "grids-fill", "type": "fill", "source": "grids", "source-layer": "grids", "minzoom": 10,
		"paint": map[string]any{
			"fill-color": []any{"match", []any{"%", []any{"to-number", []any{"get", "code"}}, 7},
				0, "#cfe3f3", 1, "#d8efd3", 2, "#f6e3c7", 3, "#e6d7f0", 4, "#f4d3d3", 5, "#d3f0ee", "#ecebd0"},
			"fill-opacity": []any{"case", []any{"boolean", []any{"feature-state", "selected"}, false}, 0.95, 0.7},
		},
	}, map[string]any{
		"id": "communities-fill", "type": "fill", "source": "communities", "source-layer": "communities", "maxzoom": 10,
		"paint": map[string]any{
			"fill-color": []any{"match", []any{"%", []any{"to-number", []any{"get", "code"}}, 5},
				0, "#dbe7f1", 1, "#e2eedc", 2, "#f2e8d8", 3, "#e9e1f0", "#ecebd8"},
			"fill-opacity": 0.8,
		},
	})
	for _, lv := range []geo.Level{geo.Grid, geo.Community, geo.Street, geo.District} {
		st := levelStyles[lv]
		style = append(style, map[string]any{
			"id": lv.Plural() + "-line", "type": "line", "source": lv.Plural(), "source-layer": lv.Plural(), "minzoom": st.minZoom,
			"paint": map[string]any{"line-color": st.line, "line-width": st.width},
		})
	}
	i := 0
	for _, l := range layers {
		dept, ok := strings.CutPrefix(l.path, geo.DeptLayerPrefix)
		if !ok {
			continue
		}
		style = append(style, map[string]any{
			"id": "dept-" + dept + "-line", "type": "line", "source": l.name, "source-layer": l.name, "minzoom": 10,
			"layout": map[string]any{"visibility": "none"},
			"paint":  map[string]any{"line-color": deptColours[i%len(deptColours)], "line-width": 1.5, "line-dasharray": []any{2, 1}},
		})
		i++
	}
	style = append(style, map[string]any{
		"id": "grids-selected", "type": "line", "source": "grids", "source-layer": "grids",
		"filter": []any{"==", []any{"get", "code"}, ""},
		"paint":  map[string]any{"line-color": "#e0301e", "line-width": 3},
	})
	c := layers[0].bounds.Center()
	w.Header().Set("Cache-Control", cacheControlActive)
	writeJSON(w, http.StatusOK, map[string]any{
		"version": 8, "name": "gridd generation " + strconv.Itoa(gen),
		"center": []float64{c[0], c[1]}, "zoom": 10,
		"sources": sources, "layers": style,
		// The datum the tiles are in, so clients convert clicked points
		// back (locate's srs=gcj02) when it is not WGS84. (The level
		// sources' bounds are the generation's extent, which clients fit.)
		"metadata": map[string]any{"gridd:datum": styleDatum(query)},
	})
}

// styleDatum is the datum of the tile URLs' query (tileQuery's output).
func styleDatum(query string) string {
	if strings.Contains(query, "datum="+string(geo.DatumGCJ02)) {
		return string(geo.DatumGCJ02)
	}
	return string(geo.DatumWGS84)
}
