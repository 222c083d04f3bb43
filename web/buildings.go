package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// BuildingSource answers the buildings (楼栋) of an area and one
// building, as GeoJSON features with their grid.
type BuildingSource interface {
	BuildingsIn(ctx context.Context, q geo.BuildingQuery) (geo.FeaturePage, error)
	Building(ctx context.Context, generation int, id string) ([]byte, error)
}

// Bounds of GET /api/v1/buildings.
const (
	defaultBuildingPage = 100
	maxBuildingPage     = 1000
)

// buildingRoutes registers the buildings under /api/v1.
func (s *Server) buildingRoutes(api *mux.Router) {
	if s.deps.Buildings == nil {
		return
	}
	api.HandleFunc("/buildings", s.handleBuildings).Methods(http.MethodGet)
	api.HandleFunc("/buildings/{id}", s.handleBuilding).Methods(http.MethodGet)
}

// handleBuildings answers GET /api/v1/buildings?area=CODE[&q=TEXT][&gen=][&limit=][&offset=]:
// a GeoJSON FeatureCollection of a page of the area's buildings (within
// the caller's scope), those whose address, name or id holds q when it is
// given (the console's search by address), numberMatched telling how many
// there are.
func (s *Server) handleBuildings(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	area := q.Get("area")
	if area != "" {
		if _, err := geo.LevelOfCode(area); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if p, ok := principalOf(r); ok {
		narrowed, err := geo.NarrowArea(p.Scope, area)
		if err != nil {
			writeError(w, r, err)
			return
		}
		area = narrowed
	}
	gen, err := genParam(r.URL.Query().Get("gen"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	limit, offset, err := pageParams(q, defaultBuildingPage, maxBuildingPage)
	if err != nil {
		writeError(w, r, err)
		return
	}
	text := strings.TrimSpace(q.Get("q"))
	if n := utf8.RuneCountInString(text); n > geo.MaxBuildingSearch {
		writeError(w, r, geo.Errorf(geo.EINVALID, "q has %d characters: search with at most %d, a part of the address such as 中山东路12号", n, geo.MaxBuildingSearch))
		return
	}
	page, err := s.deps.Buildings.BuildingsIn(r.Context(), geo.BuildingQuery{Generation: gen, Area: area, Text: text, Offset: offset, Limit: limit})
	if err != nil {
		writeError(w, r, err)
		return
	}
	if page.Features == nil {
		page.Features = []json.RawMessage{}
	}
	w.Header().Set("Content-Type", mimeGeoJSON)
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(map[string]any{"type": "FeatureCollection", "area": area, "q": text, "numberMatched": page.Matched,
		"numberReturned": len(page.Features), "offset": offset, "features": page.Features})
}

// handleBuilding answers GET /api/v1/buildings/{id}[?gen=]: one building
// as a GeoJSON feature with its grid, if that grid is in the caller's
// scope.
func (s *Server) handleBuilding(w http.ResponseWriter, r *http.Request) {
	gen, err := genParam(r.URL.Query().Get("gen"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	id := mux.Vars(r)["id"]
	f, err := s.deps.Buildings.Building(r.Context(), gen, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if p, ok := principalOf(r); ok && p.Scope != "" {
		var v struct {
			Properties struct {
				Grid string `json:"grid"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(f, &v); err != nil {
			writeError(w, r, fmt.Errorf("building %s: %w", id, err))
			return
		}
		if !geo.InScope(p.Scope, v.Properties.Grid) {
			writeError(w, r, geo.Errorf(geo.EFORBIDDEN, "building %s is outside your scope %s", id, p.Scope))
			return
		}
	}
	w.Header().Set("Content-Type", mimeGeoJSON)
	w.Write(f)
}

// pageParams reads ?limit= (1 to max, default def) and ?offset= of a paged
// listing.
func pageParams(q url.Values, def, max int) (limit, offset int, err error) {
	limit = def
	for _, p := range []struct {
		key      string
		dst      *int
		min, max int
	}{{"limit", &limit, 1, max}, {"offset", &offset, 0, 1 << 30}} {
		if v := q.Get(p.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < p.min || n > p.max {
				return 0, 0, geo.Errorf(geo.EINVALID, "%s=%q: give %d to %d", p.key, v, p.min, p.max)
			}
			*p.dst = n
		}
	}
	return limit, offset, nil
}
