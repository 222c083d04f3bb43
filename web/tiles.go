package web

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
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

// handleTile answers GET /tiles/{layer}/{z}/{x}/{y}.mvt[?gen=].
func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	level, ok := tileLevels[v["layer"]]
	if !ok {
		writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no tile layer %q: use districts, streets, communities or grids", v["layer"]))
		return
	}
	z, x, y, err := tileCoords(v["z"], v["x"], v["y"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	gen, err := genParam(r.URL.Query().Get("gen"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	tile, err := s.deps.Tiles.AreaTile(r.Context(), gen, level, z, x, y)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(tile) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
	w.Header().Set("Content-Length", strconv.Itoa(len(tile)))
	w.Write(tile)
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
