package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/tiles"
)

// maxZoom is the deepest zoom served: grids are a few hundred metres, so
// z20 is already far more than anyone needs.
const maxZoom = 22

// tileLevels maps tile layer names to levels.
var tileLevels = map[string]geo.Level{
	geo.District.Plural():  geo.District,
	geo.Street.Plural():    geo.Street,
	geo.Community.Plural(): geo.Community,
	geo.Grid.Plural():      geo.Grid,
}

// Cache lifetimes: a generation named by ?gen= never changes; the active
// generation and departmental layers change on activation or import, and
// clients revalidate cheaply with If-None-Match.
const (
	cacheControlFixed  = "public, max-age=604800, immutable"
	cacheControlActive = "public, max-age=60"
)

// handleTile answers GET /tiles/{layer}/{z}/{x}/{y}.mvt and
// /tiles/dept/{dept}/{z}/{x}/{y}.mvt [?gen=][&datum=gcj02].
func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	layer := v["layer"]
	if dept := v["dept"]; dept != "" {
		layer = geo.DeptLayerPrefix + dept
	} else if _, ok := tileLevels[layer]; !ok && layer != geo.LabelsLayer {
		writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no tile layer %q: use districts, streets, communities, grids, labels or dept/CODE", layer))
		return
	}
	z, x, y, err := tileCoords(v["z"], v["x"], v["y"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	gen, err := genParam(q.Get("gen"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	datum, err := tileDatum(q.Get("datum"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	req, err := s.tiles.resolve(r.Context(), layer, gen, datum, z, x, y)
	if err != nil {
		writeError(w, r, err)
		return
	}
	t, origin, err := s.tiles.get(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	// Where the tile came from, for operators and tests: memory (a hit),
	// disk or loaded.
	w.Header().Set("X-Tile-Cache", string(origin))
	writeTile(w, r, t, req.explicit)
}

// tileDatum reads ?datum=: WGS84 (the default) or GCJ-02.
func tileDatum(s string) (geo.Datum, error) {
	if s == "" {
		return geo.DatumWGS84, nil
	}
	d, err := geo.ParseDatum(s)
	if err != nil {
		return "", err
	}
	if d != geo.DatumWGS84 && d != geo.DatumGCJ02 {
		return "", geo.Errorf(geo.EINVALID, "tiles come in datum wgs84 or gcj02, not %s", d)
	}
	return d, nil
}

// writeTile answers with a cached tile: 204 when empty, 304 when the
// client has it (If-None-Match), the stored gzip body when the client
// accepts gzip, else the body decompressed.
func writeTile(w http.ResponseWriter, r *http.Request, t *tiles.Tile, fixed bool) {
	h := w.Header()
	if fixed {
		h.Set("Cache-Control", cacheControlFixed)
	} else {
		h.Set("Cache-Control", cacheControlActive)
	}
	if t.Empty() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Vary", "Accept-Encoding")
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	// The two encodings are two representations, so two strong ETags; a
	// client holding either revalidates.
	etag := t.ETag
	if gz {
		etag = etag[:len(etag)-1] + `-gz"`
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, t.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/vnd.mapbox-vector-tile")
	if gz {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(t.Gzip)))
		w.Write(t.Gzip)
		return
	}
	raw, err := t.Raw()
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(raw)))
	w.Write(raw)
}

// etagMatch reports whether an If-None-Match list names the tile in
// either encoding.
func etagMatch(header, etag string) bool {
	base := strings.Trim(etag, `"`)
	for _, tok := range strings.Split(header, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "*" {
			return true
		}
		tok = strings.TrimPrefix(tok, "W/")
		tok = strings.TrimSuffix(strings.Trim(tok, `"`), "-gz")
		if tok == base {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip unless refused with q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") || strings.TrimSpace(name) == "*" {
			params = strings.ReplaceAll(params, " ", "")
			return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
		}
	}
	return false
}

func tileCoords(zs, xs, ys string) (z, x, y int, err error) {
	z, errz := strconv.Atoi(zs)
	x, errx := strconv.Atoi(xs)
	y, erry := strconv.Atoi(ys)
	if errz != nil || errx != nil || erry != nil || z < 0 || z > maxZoom {
		return 0, 0, 0, geo.Errorf(geo.EINVALID, "tile %s/%s/%s: zoom must be 0..%d", zs, xs, ys, maxZoom)
	}
	n := 1 << z
	if x < 0 || x >= n || y < 0 || y >= n {
		return 0, 0, 0, geo.Errorf(geo.EINVALID, "tile %d/%d/%d: x and y must be 0..%d at zoom %d", z, x, y, n-1, z)
	}
	return z, x, y, nil
}
