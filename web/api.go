package web

import (
	"math"
	"net/http"
	"strconv"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// handleLocate answers GET /api/v1/locate?lon=&lat=[&gen=][&srs=][&tolerance_m=].
func (s *Server) handleLocate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lon, err := floatParam(q.Get("lon"), "lon", -180, 180)
	if err != nil {
		writeError(w, r, err)
		return
	}
	lat, err := floatParam(q.Get("lat"), "lat", -90, 90)
	if err != nil {
		writeError(w, r, err)
		return
	}
	gen, err := genParam(q.Get("gen"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if s.deps.Routing != nil {
		s.routeLocate(w, r, lon, lat, gen)
		return
	}
	chain, err := s.deps.Locator.Locate(r.Context(), orb.Point{lon, lat}, gen)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, chain)
}

func floatParam(s, name string, min, max float64) (float64, error) {
	if s == "" {
		return 0, geo.Errorf(geo.EINVALID, "missing %s: give it in decimal degrees, e.g. %s=%g", name, name, (min+max)/2)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, geo.Errorf(geo.EINVALID, "%s=%q is not a number of degrees", name, s)
	}
	if v < min || v > max {
		return 0, geo.Errorf(geo.EINVALID, "%s=%g is out of range [%g, %g]", name, v, min, max)
	}
	return v, nil
}

// genParam parses ?gen=; empty means the active generation (0).
func genParam(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return 0, geo.Errorf(geo.EINVALID, "gen=%q is not a generation number", s)
	}
	return v, nil
}
