package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// AreaStore answers the console's area search and area panel.
type AreaStore interface {
	SearchAreas(ctx context.Context, q geo.AreaQuery) ([]geo.AreaHit, error)
	Area(ctx context.Context, code string) (geo.AreaDetail, error)
}

// IncidentTiles cuts vector tiles of cases for the console's map.
type IncidentTiles interface {
	IncidentTile(ctx context.Context, f geo.IncidentFilter, z, x, y int) ([]byte, error)
}

// Bounds of GET /api/v1/areas.
const (
	defaultAreaHits = 20
	maxAreaHits     = 200
)

// areaRoutes registers the area search and panel under /api/v1.
func (s *Server) areaRoutes(api *mux.Router) {
	if s.deps.Areas == nil {
		return
	}
	api.HandleFunc("/areas", s.handleSearchAreas).Methods(http.MethodGet)
	api.HandleFunc("/areas/{code:[0-9]+}", s.handleArea).Methods(http.MethodGet)
}

// incidentTileRoute registers /tiles/incidents/{z}/{x}/{y}.mvt; it must
// come before /tiles/{layer}/… so that it wins.
func (s *Server) incidentTileRoute(r *mux.Router) {
	if s.deps.IncidentTiles == nil {
		return
	}
	r.HandleFunc("/tiles/incidents/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.mvt", s.handleIncidentTile).Methods(http.MethodGet)
}

// handleSearchAreas answers GET /api/v1/areas?q=CODE-PREFIX-OR-NAME[&limit=]:
// areas of the active generation in the caller's scope, code matches
// first.
func (s *Server) handleSearchAreas(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aq := geo.AreaQuery{Q: strings.TrimSpace(q.Get("q")), Limit: defaultAreaHits}
	if aq.Q == "" || utf8.RuneCountInString(aq.Q) > 50 {
		writeError(w, r, geo.Errorf(geo.EINVALID, "q=%q: give 1 to 50 characters, the start of a code (3302) or part of a name (街道)", aq.Q))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAreaHits {
			writeError(w, r, geo.Errorf(geo.EINVALID, "limit=%q: give 1 to %d", v, maxAreaHits))
			return
		}
		aq.Limit = n
	}
	if p, ok := principalOf(r); ok {
		aq.Scope = p.Scope
	}
	hits, err := s.deps.Areas.SearchAreas(r.Context(), aq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"areas": hits})
}

// handleArea answers GET /api/v1/areas/{code}: the area panel. Phone
// numbers are masked for roles that may not see personal data.
func (s *Server) handleArea(w http.ResponseWriter, r *http.Request) {
	code := mux.Vars(r)["code"]
	if _, err := geo.LevelOfCode(code); err != nil {
		writeError(w, r, err)
		return
	}
	p, ok := principalOf(r)
	if ok && !geo.InScope(p.Scope, code) {
		writeError(w, r, geo.Errorf(geo.EFORBIDDEN, "area %s is outside your scope %s", code, p.Scope))
		return
	}
	d, err := s.deps.Areas.Area(r.Context(), code)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !ok || !p.Role.SeesPersonalData() {
		for i := range d.People {
			d.People[i].Phone = geo.MaskPhone(d.People[i].Phone)
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// handleIncidentTile answers GET /tiles/incidents/{z}/{x}/{y}.mvt
// [?state=a,b][&category=][&area=]: the caller's cases (in scope; a
// worker's own) as points, never cached (cases change by the second).
func (s *Server) handleIncidentTile(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	z, x, y, err := tileCoords(v["z"], v["x"], v["y"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	f, err := incidentFilterParams(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := narrowIncidentFilter(r, &f); err != nil {
		writeError(w, r, err)
		return
	}
	tile, err := s.deps.IncidentTiles.IncidentTile(r.Context(), f, z, x, y)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if len(tile) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
	w.Header().Set("Content-Length", strconv.Itoa(len(tile)))
	w.Write(tile)
}

// callerActions are the case's next actions the caller may take, in the
// case role they act in (see callerOf; a worker's depends on the case).
func callerActions(r *http.Request, inc geo.Incident) []geo.Action {
	c, err := callerOf(r)
	if err != nil {
		return []geo.Action{}
	}
	if p, ok := principalOf(r); ok && p.Role == geo.AccessWorker {
		c.role = workerRole(p, inc)
	}
	return geo.ActionsFor(inc, c.role)
}
