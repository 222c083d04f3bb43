package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// ActivationStore activates generations for a principal under the
// approval rule (分级审批) and keeps the requests for approval.
type ActivationStore interface {
	ActivateAs(ctx context.Context, gen int, gate geo.ActivationGate) (geo.ActivationResult, error)
	RequestActivation(ctx context.Context, gen int, p geo.Principal, reason string, audit *geo.AuditEntry) (geo.ActivationRequest, error)
	ActivationRequests(ctx context.Context, p geo.Principal) ([]geo.ActivationRequest, error)
	DecideActivation(ctx context.Context, id int64, p geo.Principal, approve bool, note string, ttl time.Duration, audit *geo.AuditEntry) (geo.ActivationRequest, error)
}

// activationRoutes registers the requests for an activation's approval.
func (s *Server) activationRoutes(api *mux.Router) {
	api.HandleFunc("/generations/{gen:[0-9]+}/activation-requests", s.handleRequestActivation).Methods(http.MethodPost)
	api.HandleFunc("/activation-requests", s.handleActivationRequests).Methods(http.MethodGet)
	api.HandleFunc("/activation-requests/{id:[0-9]+}/decision", s.handleDecideActivation).Methods(http.MethodPost)
}

// handleActivate answers POST /api/v1/generations/{gen}/activate.
func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	gen, err := pathGen(r)
	if err != nil || gen == 0 {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give a generation number"))
		return
	}
	res, err := s.deps.Generations.ActivateAs(r.Context(), gen, geo.ActivationGate{Principal: p, MaxHouseholds: s.cfg.ActivationApprovalHouseholds})
	if err != nil {
		writeError(w, r, err)
		return
	}
	if s.tiles != nil {
		// Serve the new generation's tiles at once and pre-warm them; a
		// failed refresh only delays that by the catalog's lifetime.
		s.tiles.catalog(r.Context(), true)
	}
	if s.deps.Routing != nil {
		// Locate in the new generation as soon as this answer is out;
		// other replicas hear of it from the database (LISTEN).
		if _, err := s.deps.Routing.Refresh(r.Context()); err != nil {
			s.deps.Logger.Error("refresh the point index after activation", "generation", gen, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// handleRequestActivation answers POST
// /api/v1/generations/{gen}/activation-requests {"reason"}.
func (s *Server) handleRequestActivation(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	gen, err := pathGen(r)
	if err != nil || gen == 0 {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give a generation number"))
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	a, err := s.deps.Generations.RequestActivation(r.Context(), gen, p, body.Reason, inTxAudit(r, http.StatusCreated))
	if err != nil {
		writeError(w, r, err)
		return
	}
	auditStored(r)
	writeJSON(w, http.StatusCreated, a)
}

// handleActivationRequests answers GET /api/v1/activation-requests: the
// caller's own requests and those they may decide.
func (s *Server) handleActivationRequests(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	as, err := s.deps.Generations.ActivationRequests(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"requests": as, "max_households": s.cfg.ActivationApprovalHouseholds})
}

// handleDecideActivation answers POST
// /api/v1/activation-requests/{id}/decision {"approve", "note"}.
func (s *Server) handleDecideActivation(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := readDecision(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a, err := s.deps.Generations.DecideActivation(r.Context(), id, p, d.approve, d.note, s.approvalTTL(), inTxAudit(r, http.StatusOK))
	if err != nil {
		writeError(w, r, err)
		return
	}
	auditStored(r)
	writeJSON(w, http.StatusOK, a)
}
