package web

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// OGC API – Features, Part 1 (Core, GeoJSON), read-only, at /ogc: one
// collection per level of the active generation and one per departmental
// grid layer (its latest version), so that GIS desktops (QGIS's OAPIF
// provider) add the unified grid as a vector layer with no export step.
// QGIS reads the landing page's service-desc (an OpenAPI 3.0 document, for
// the limit's default and maximum) and data links, then collections,
// then pages of items?limit=&bbox= following the next links.

const (
	ogcDefaultLimit = 100
	ogcMaxLimit     = 10000
	ogcCRS84        = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	mimeGeoJSON     = "application/geo+json"
	mimeJSON        = "application/json"
	mimeOpenAPI     = "application/vnd.oai.openapi+json;version=3.0"
)

var ogcConformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
}

func (s *Server) ogcRoutes(r *mux.Router) {
	r.HandleFunc("", s.handleOGCLanding).Methods(http.MethodGet)
	r.HandleFunc("/", s.handleOGCLanding).Methods(http.MethodGet)
	r.HandleFunc("/api", s.handleOGCAPI).Methods(http.MethodGet)
	r.HandleFunc("/conformance", s.handleOGCConformance).Methods(http.MethodGet)
	r.HandleFunc("/collections", s.handleOGCCollections).Methods(http.MethodGet)
	r.HandleFunc("/collections/{id}", s.handleOGCCollection).Methods(http.MethodGet)
	r.HandleFunc("/collections/{id}/items", s.handleOGCItems).Methods(http.MethodGet)
	r.HandleFunc("/collections/{id}/items/{fid}", s.handleOGCItem).Methods(http.MethodGet)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no OGC API endpoint %s: start at /ogc/", r.URL.Path))
	})
}

type ogcLink struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// ogcCheckFormat refuses f= values other than JSON ones: there is no HTML.
func ogcCheckFormat(r *http.Request) error {
	switch f := r.URL.Query().Get("f"); f {
	case "", "json", "geojson", "application/json", mimeGeoJSON:
		return nil
	default:
		return geo.Errorf(geo.EINVALID, "f=%s: only f=json (GeoJSON) is served", f)
	}
}

func (s *Server) handleOGCLanding(w http.ResponseWriter, r *http.Request) {
	if err := ogcCheckFormat(r); err != nil {
		writeError(w, r, err)
		return
	}
	b := baseURL(r) + "/ogc"
	writeJSON(w, http.StatusOK, map[string]any{
		"title":       "gridd",
		"description": "The unified grid coverage (多网合一) of the active generation and the departments' grid layers, as OGC API – Features.",
		"links": []ogcLink{
			{b + "/", "self", mimeJSON, "this document"},
			{b + "/api", "service-desc", mimeOpenAPI, "the API definition"},
			{b + "/conformance", "conformance", mimeJSON, "conformance classes"},
			{b + "/collections", "data", mimeJSON, "the collections"},
		},
	})
}

func (s *Server) handleOGCConformance(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"conformsTo": ogcConformance})
}

// ogcCollection is one collection: a level of a generation or a
// departmental layer version.
type ogcCollection struct {
	id, title, description string
	level                  geo.Level
	gen                    int
	layerID                int64
	buildings              bool // the buildings, with their grids in gen
}

// ogcCollections lists the collections: the levels of the active
// generation, then each department's latest grid layer as dept-{code}.
func (s *Server) ogcCollections(r *http.Request) ([]ogcCollection, error) {
	if s.tiles == nil {
		return nil, geo.Errorf(geo.EUNAVAILABLE, "this server has no feature source")
	}
	snap, err := s.tiles.catalog(r.Context(), false)
	if err != nil {
		return nil, err
	}
	var out []ogcCollection
	if snap.Active != 0 {
		for _, l := range geo.Levels {
			out = append(out, ogcCollection{id: l.Plural(), title: l.Plural() + " of generation " + strconv.Itoa(snap.Active),
				description: "the " + string(l) + " level of the active generation of the unified coverage", level: l, gen: snap.Active})
		}
	}
	if snap.Active != 0 && snap.BuildingSet != 0 {
		out = append(out, ogcCollection{id: "buildings", title: "buildings (楼栋), grids of generation " + strconv.Itoa(snap.Active),
			description: "the buildings with their households, residents and grid in the active generation", gen: snap.Active, buildings: true})
	}
	for _, d := range snap.Depts {
		out = append(out, ogcCollection{id: "dept-" + d.Dept, title: d.DeptName + " (" + d.Dept + ") grids, version " + strconv.Itoa(d.Version),
			description: "the department's grid layer as imported, latest version", layerID: d.LayerID})
	}
	return out, nil
}

func (s *Server) ogcCollectionByID(r *http.Request, id string) (ogcCollection, error) {
	cs, err := s.ogcCollections(r)
	if err != nil {
		return ogcCollection{}, err
	}
	for _, c := range cs {
		if c.id == id {
			return c, nil
		}
	}
	return ogcCollection{}, geo.Errorf(geo.ENOTFOUND, "no collection %q: /ogc/collections lists them", id)
}

func (s *Server) ogcCollectionJSON(r *http.Request, c ogcCollection) (map[string]any, error) {
	b, err := s.deps.Tiles.Bounds(r.Context(), c.gen, c.layerID)
	if err != nil && geo.ErrorCode(err) != geo.ENOTFOUND {
		return nil, err
	}
	base := baseURL(r) + "/ogc/collections/" + url.PathEscape(c.id)
	return map[string]any{
		"id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
		"crs":    []string{ogcCRS84},
		"extent": map[string]any{"spatial": map[string]any{"bbox": [][4]float64{{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}, "crs": ogcCRS84}},
		"links": []ogcLink{
			{base, "self", mimeJSON, c.title},
			{base + "/items", "items", mimeGeoJSON, "the features"},
		},
	}, nil
}

func (s *Server) handleOGCCollections(w http.ResponseWriter, r *http.Request) {
	if err := ogcCheckFormat(r); err != nil {
		writeError(w, r, err)
		return
	}
	cs, err := s.ogcCollections(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	list := []map[string]any{}
	for _, c := range cs {
		j, err := s.ogcCollectionJSON(r, c)
		if err != nil {
			writeError(w, r, err)
			return
		}
		list = append(list, j)
	}
	b := baseURL(r) + "/ogc/collections"
	writeJSON(w, http.StatusOK, map[string]any{"collections": list, "links": []ogcLink{{b, "self", mimeJSON, "collections"}}})
}

func (s *Server) handleOGCCollection(w http.ResponseWriter, r *http.Request) {
	if err := ogcCheckFormat(r); err != nil {
		writeError(w, r, err)
		return
	}
	c, err := s.ogcCollectionByID(r, mux.Vars(r)["id"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	j, err := s.ogcCollectionJSON(r, c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// ogcParams reads the items parameters: limit (1..10,000, default 100),
// offset, bbox (CRS84 lon/lat) and properties.
func ogcParams(q url.Values) (limit, offset int, bbox *orb.Bound, props []string, err error) {
	limit = ogcDefaultLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 {
			return 0, 0, nil, nil, geo.Errorf(geo.EINVALID, "limit=%q: give a whole number from 1 to %d", s, ogcMaxLimit)
		}
		// The standard lets a server lower a limit over its maximum.
		limit = min(limit, ogcMaxLimit)
	}
	if s := q.Get("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, nil, nil, geo.Errorf(geo.EINVALID, "offset=%q: give a whole number from 0", s)
		}
	}
	if s := q.Get("bbox"); s != "" {
		parts := strings.Split(s, ",")
		var v []float64
		for _, p := range parts {
			f, perr := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				v = nil
				break
			}
			v = append(v, f)
		}
		if len(v) == 6 { // 3D box: drop the heights
			v = []float64{v[0], v[1], v[3], v[4]}
		}
		if len(v) != 4 || v[0] > v[2] || v[1] > v[3] {
			return 0, 0, nil, nil, geo.Errorf(geo.EINVALID, "bbox=%q: give minlon,minlat,maxlon,maxlat in degrees (CRS84)", s)
		}
		if bc := q.Get("bbox-crs"); bc != "" && bc != ogcCRS84 {
			return 0, 0, nil, nil, geo.Errorf(geo.EINVALID, "bbox-crs=%s: only %s is supported", bc, ogcCRS84)
		}
		bbox = &orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}
	}
	if s, ok := q["properties"]; ok {
		props = []string{}
		for _, p := range strings.Split(strings.Join(s, ","), ",") {
			if p = strings.TrimSpace(p); p != "" {
				props = append(props, p)
			}
		}
	}
	return limit, offset, bbox, props, nil
}

func (s *Server) handleOGCItems(w http.ResponseWriter, r *http.Request) {
	if err := ogcCheckFormat(r); err != nil {
		writeError(w, r, err)
		return
	}
	c, err := s.ogcCollectionByID(r, mux.Vars(r)["id"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	limit, offset, bbox, props, err := ogcParams(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := s.deps.Features.Features(r.Context(), geo.FeatureQuery{Level: c.level, Generation: c.gen, LayerID: c.layerID, Buildings: c.buildings,
		BBox: bbox, Limit: limit, Offset: offset, Properties: props})
	if err != nil {
		writeError(w, r, err)
		return
	}
	base := baseURL(r) + "/ogc/collections/" + url.PathEscape(c.id) + "/items"
	pageURL := func(off int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("limit", strconv.Itoa(limit))
		v.Set("offset", strconv.Itoa(off))
		v.Del("f")
		return base + "?" + v.Encode()
	}
	links := []ogcLink{{pageURL(offset), "self", mimeGeoJSON, "this page"}}
	if offset+len(page.Features) < page.Matched {
		links = append(links, ogcLink{pageURL(offset + len(page.Features)), "next", mimeGeoJSON, "next page"})
	}
	if offset > 0 {
		links = append(links, ogcLink{pageURL(max(0, offset-limit)), "prev", mimeGeoJSON, "previous page"})
	}
	feats := page.Features
	if feats == nil {
		feats = []json.RawMessage{}
	}
	writeGeoJSON(w, http.StatusOK, map[string]any{
		"type": "FeatureCollection", "features": feats,
		"numberMatched": page.Matched, "numberReturned": len(page.Features),
		"timeStamp": time.Now().UTC().Format(time.RFC3339), "links": links,
	})
}

func (s *Server) handleOGCItem(w http.ResponseWriter, r *http.Request) {
	if err := ogcCheckFormat(r); err != nil {
		writeError(w, r, err)
		return
	}
	v := mux.Vars(r)
	c, err := s.ogcCollectionByID(r, v["id"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	page, err := s.deps.Features.Features(r.Context(), geo.FeatureQuery{Level: c.level, Generation: c.gen, LayerID: c.layerID, Buildings: c.buildings, ID: v["fid"], Limit: 1})
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(page.Features) == 0 {
		writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no feature %q in collection %s", v["fid"], c.id))
		return
	}
	var f map[string]any
	if err := json.Unmarshal(page.Features[0], &f); err != nil {
		writeError(w, r, err)
		return
	}
	base := baseURL(r) + "/ogc/collections/" + url.PathEscape(c.id)
	f["links"] = []ogcLink{{base + "/items/" + url.PathEscape(v["fid"]), "self", mimeGeoJSON, ""}, {base, "collection", mimeJSON, c.title}}
	writeGeoJSON(w, http.StatusOK, f)
}

// handleOGCAPI answers the OpenAPI 3.0 definition: the paths and the
// limit parameter (QGIS reads its default and maximum from here).
func (s *Server) handleOGCAPI(w http.ResponseWriter, r *http.Request) {
	param := func(name, in, desc string, schema map[string]any) map[string]any {
		return map[string]any{"name": name, "in": in, "description": desc, "required": in == "path", "style": map[bool]string{true: "simple", false: "form"}[in == "path"], "explode": false, "schema": schema}
	}
	ok := func(desc, mime string) map[string]any {
		return map[string]any{"200": map[string]any{"description": desc, "content": map[string]any{mime: map[string]any{}}}}
	}
	get := func(summary string, params []any, desc, mime string) map[string]any {
		return map[string]any{"get": map[string]any{"summary": summary, "parameters": params, "responses": ok(desc, mime)}}
	}
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/parameters/" + name} }
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "gridd OGC API – Features", "version": "1.0.0", "description": "The unified grid coverage and the departments' grid layers."},
		"servers": []map[string]any{{"url": baseURL(r) + "/ogc"}},
		"paths": map[string]any{
			"/":                                 get("landing page", []any{}, "links", mimeJSON),
			"/conformance":                      get("conformance classes", []any{}, "conformsTo", mimeJSON),
			"/collections":                      get("the collections", []any{}, "collections", mimeJSON),
			"/collections/{collectionId}":       get("one collection", []any{ref("collectionId")}, "collection", mimeJSON),
			"/collections/{collectionId}/items": get("features", []any{ref("collectionId"), ref("limit"), ref("offset"), ref("bbox"), ref("properties")}, "features", mimeGeoJSON),
			"/collections/{collectionId}/items/{featureId}": get("one feature", []any{ref("collectionId"), ref("featureId")}, "feature", mimeGeoJSON),
		},
		"components": map[string]any{"parameters": map[string]any{
			"collectionId": param("collectionId", "path", "districts, streets, communities, grids or dept-CODE", map[string]any{"type": "string"}),
			"featureId":    param("featureId", "path", "an area's code, or a departmental feature's number", map[string]any{"type": "string"}),
			"limit":        param("limit", "query", "features per page", map[string]any{"type": "integer", "minimum": 1, "maximum": ogcMaxLimit, "default": ogcDefaultLimit}),
			"offset":       param("offset", "query", "features to skip", map[string]any{"type": "integer", "minimum": 0, "default": 0}),
			"bbox":         param("bbox", "query", "minlon,minlat,maxlon,maxlat (CRS84)", map[string]any{"type": "array", "minItems": 4, "maxItems": 6, "items": map[string]any{"type": "number"}}),
			"properties":   param("properties", "query", "comma-separated property names to return", map[string]any{"type": "array", "items": map[string]any{"type": "string"}}),
		}},
	}
	w.Header().Set("Content-Type", mimeOpenAPI)
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(doc)
}

func writeGeoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mimeGeoJSON)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
