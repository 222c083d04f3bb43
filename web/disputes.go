package web

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// DisputeStore keeps the disputed pieces between admin areas (插花地) that
// merges record, and GIS staff's decisions on them.
type DisputeStore interface {
	Disputes(ctx context.Context, f geo.DisputeFilter) ([]geo.Dispute, error)
	Dispute(ctx context.Context, id int64) (geo.Dispute, error)
	ResolveDispute(ctx context.Context, id int64, res geo.DisputeResolution, by string) (geo.Dispute, error)
}

// disputeRoutes registers the disputes' API.
func (s *Server) disputeRoutes(api *mux.Router) {
	if s.deps.Disputes == nil {
		return
	}
	api.HandleFunc("/generations/{gen}/disputes", s.handleDisputes).Methods(http.MethodGet)
	api.HandleFunc("/disputes/{id:[0-9]+}", s.handleDispute).Methods(http.MethodGet)
	api.HandleFunc("/disputes/{id:[0-9]+}/resolution", s.handleResolveDispute).Methods(http.MethodPost)
}

// disputeStates are the states a list may ask for.
var disputeStates = map[string]bool{"": true, "unresolved": true, geo.DisputeOpen: true, geo.DisputeConfirmed: true,
	geo.DisputeReassigned: true, geo.DisputeTransferred: true, geo.DisputeTransferPending: true}

// handleDisputes answers GET /api/v1/generations/{gen}/disputes?level=&state=.
func (s *Server) handleDisputes(w http.ResponseWriter, r *http.Request) {
	gen, err := pathGen(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := geo.DisputeFilter{Generation: gen, Level: q.Get("level"), State: q.Get("state")}
	if f.Level != "" && f.Level != string(geo.District) && f.Level != string(geo.Street) && f.Level != string(geo.Community) {
		writeError(w, r, geo.Errorf(geo.EINVALID, "level %q has no disputes: use district, street or community", f.Level))
		return
	}
	if !disputeStates[f.State] {
		writeError(w, r, geo.Errorf(geo.EINVALID, "unknown state %q: use unresolved, open, confirmed, reassigned, transferred or transfer_pending", f.State))
		return
	}
	ds, err := s.deps.Disputes.Disputes(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"disputes": ds})
}

func (s *Server) handleDispute(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := s.deps.Disputes.Dispute(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// handleResolveDispute answers POST /api/v1/disputes/{id}/resolution:
// GIS staff confirm, reassign or transfer the piece.
func (s *Server) handleResolveDispute(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := requireCaller(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var res geo.DisputeResolution
	if err := decodeJSON(w, r, &res); err != nil {
		writeError(w, r, err)
		return
	}
	d, err := s.deps.Disputes.ResolveDispute(r.Context(), id, res, c.actor)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
