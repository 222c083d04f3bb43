package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// Router locates points from memory (routing.Router): the grid covering a
// point, else the nearest within a tolerance, else the district's queue.
type Router interface {
	// Locate answers for one WGS84 point in generation gen (0: the
	// active one); tolM < 0 takes the configured tolerance.
	Locate(ctx context.Context, p orb.Point, gen int, tolM float64) (geo.Location, error)
	// LocateMany answers for many points against one generation.
	LocateMany(ctx context.Context, pts []orb.Point, gen int, tolM float64) ([]geo.Location, error)
	// Refresh makes the router serve the generation active in the
	// database (after an activation through this server).
	Refresh(ctx context.Context) (bool, error)
}

// maxBatchPoints bounds POST /api/v1/locate:batch.
const maxBatchPoints = 10000

// routeParams reads the datum (?srs=, default WGS84) and the tolerance
// (?tolerance_m=, default: the server's) of a location request.
func routeParams(q url.Values) (geo.Datum, float64, error) {
	d := geo.DatumWGS84
	if s := q.Get("srs"); s != "" {
		var err error
		if d, err = geo.ParseDatum(s); err != nil {
			return "", 0, err
		}
	}
	tol := -1.0
	if s := q.Get("tolerance_m"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || v < 0 {
			return "", 0, geo.Errorf(geo.EINVALID, "tolerance_m=%q: give metres, 0 or more", s)
		}
		tol = v
	}
	return d, tol, nil
}

// checkLonLat refuses coordinates outside the range of degrees.
func checkLonLat(lon, lat float64, where string) error {
	if math.IsNaN(lon) || math.IsNaN(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
		return geo.Errorf(geo.EINVALID, "%s: lon %g, lat %g are not degrees (lon -180..180, lat -90..90)", where, lon, lat)
	}
	return nil
}

// noGrid explains why a located point has no grid.
func noGrid(loc geo.Location, lon, lat float64) error {
	if loc.Match == geo.MatchDistrict {
		return geo.Errorf(geo.ENOTFOUND, "no grid of generation %d within the tolerance of %.6f,%.6f: %.0f m from district %s, whose unassigned queue takes incidents there",
			loc.Generation, lon, lat, loc.DistanceM, loc.District.Code)
	}
	return geo.Errorf(geo.ENOTFOUND, "no area of generation %d covers %.6f,%.6f, nor any district near it", loc.Generation, lon, lat)
}

// batchPoint is one point of a batch; id is echoed back as given.
type batchPoint struct {
	ID  json.RawMessage `json:"id,omitempty"`
	Lon *float64        `json:"lon"`
	Lat *float64        `json:"lat"`
}

// batchResult is the answer for one point: its WGS84 coordinates, how it
// matched, and the chain.
type batchResult struct {
	ID  json.RawMessage `json:"id,omitempty"`
	Lon float64         `json:"lon"`
	Lat float64         `json:"lat"`
	geo.Location
}

// handleLocateBatch answers POST /api/v1/locate:batch[?srs=&gen=&tolerance_m=]
// with a JSON array of {id?, lon, lat}: every point against one snapshot.
func (s *Server) handleLocateBatch(w http.ResponseWriter, r *http.Request) {
	if s.deps.Routing == nil {
		writeError(w, r, geo.Errorf(geo.EUNAVAILABLE, "point location is not configured on this server"))
		return
	}
	q := r.URL.Query()
	datum, tol, err := routeParams(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	gen, err := genParam(q.Get("gen"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	var in []batchPoint
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if len(in) > maxBatchPoints {
		writeError(w, r, geo.Errorf(geo.ETOOLARGE, "%d points: send at most %d per batch", len(in), maxBatchPoints))
		return
	}
	pts := make([]orb.Point, len(in))
	for i, p := range in {
		if p.Lon == nil || p.Lat == nil {
			writeError(w, r, geo.Errorf(geo.EINVALID, "point %d has no lon or lat", i))
			return
		}
		if err := checkLonLat(*p.Lon, *p.Lat, fmt.Sprintf("point %d", i)); err != nil {
			writeError(w, r, err)
			return
		}
		lon, lat := geo.ToWGS84(datum, *p.Lon, *p.Lat)
		pts[i] = orb.Point{lon, lat}
	}
	locs, err := s.deps.Routing.LocateMany(r.Context(), pts, gen, tol)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]batchResult, len(locs))
	g := 0
	for i, l := range locs {
		out[i] = batchResult{ID: in[i].ID, Lon: pts[i][0], Lat: pts[i][1], Location: l}
		g = l.Generation
	}
	writeJSON(w, http.StatusOK, map[string]any{"generation": g, "results": out})
}

// routeLocate answers /locate from the in-memory index: the chain of the
// grid covering the point (in the datum ?srs= names), or of the nearest
// grid within the tolerance, flagged "match": "nearest"; 404 otherwise,
// naming the district whose unassigned queue would take an incident there.
func (s *Server) routeLocate(w http.ResponseWriter, r *http.Request, lon, lat float64, gen int) {
	datum, tol, err := routeParams(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	x, y := geo.ToWGS84(datum, lon, lat)
	loc, err := s.deps.Routing.Locate(r.Context(), orb.Point{x, y}, gen, tol)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if loc.Grid == nil {
		writeError(w, r, noGrid(loc, lon, lat))
		return
	}
	writeJSON(w, http.StatusOK, loc)
}
