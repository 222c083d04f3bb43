package web

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// RegisterStore is the register of households and residents (实有人口):
// masked listings, reveals with a reason, and 分级审批 of unmasked
// exports. Every method that shows personal data writes its own audit
// entry in its transaction (the middleware would otherwise keep the
// response, with the data, as the entry's "after").
type RegisterStore interface {
	Status(ctx context.Context) (geo.RegisterStatus, error)
	Households(ctx context.Context, q geo.HouseholdQuery) (geo.HouseholdPage, error)
	Reveal(ctx context.Context, id int64, p geo.Principal, reason string, audit *geo.AuditEntry) (geo.Resident, error)
	Find(ctx context.Context, idNumber, scope string) (geo.Resident, error)
	Delete(ctx context.Context, id int64, scope string, audit *geo.AuditEntry) error
	RequestExport(ctx context.Context, p geo.Principal, area, reason string, audit *geo.AuditEntry) (geo.RegisterExport, error)
	Exports(ctx context.Context, p geo.Principal) ([]geo.RegisterExport, error)
	DecideExport(ctx context.Context, id int64, p geo.Principal, approve bool, note string, ttl time.Duration, audit *geo.AuditEntry) (geo.RegisterExport, error)
	Export(ctx context.Context, id int64, p geo.Principal, w io.Writer, audit *geo.AuditEntry) (int, error)
}

// Bounds of GET /api/v1/households.
const (
	defaultHouseholdPage = 50
	maxHouseholdPage     = 500
	// DefaultExportApproval is how long an approved export may wait for
	// its download.
	DefaultExportApproval = 24 * time.Hour
)

// registerRoutes registers the register's API.
func (s *Server) registerRoutes(api *mux.Router) {
	if s.deps.Register == nil {
		return
	}
	api.HandleFunc("/register", s.handleRegisterStatus).Methods(http.MethodGet)
	api.HandleFunc("/households", s.handleHouseholds).Methods(http.MethodGet)
	api.HandleFunc("/residents/search", s.handleFindResident).Methods(http.MethodPost)
	api.HandleFunc("/residents/{id:[0-9]+}/reveal", s.handleReveal).Methods(http.MethodPost)
	api.HandleFunc("/residents/{id:[0-9]+}", s.handleDeleteResident).Methods(http.MethodDelete)
	api.HandleFunc("/register/exports", s.handleExports).Methods(http.MethodGet)
	api.HandleFunc("/register/exports", s.handleRequestExport).Methods(http.MethodPost)
	api.HandleFunc("/register/exports/{id:[0-9]+}/decision", s.handleDecideExport).Methods(http.MethodPost)
	api.HandleFunc("/register/exports/{id:[0-9]+}/file", s.handleExportFile).Methods(http.MethodPost)
}

// requirePrincipal returns the request's principal; the policy has
// already refused requests without one on these routes.
func requirePrincipal(r *http.Request) (geo.Principal, error) {
	p, ok := principalOf(r)
	if !ok {
		return p, geo.Errorf(geo.EUNAUTHORIZED, "log in (POST /api/v1/login) or send Authorization: Bearer TOKEN")
	}
	return p, nil
}

// handleRegisterStatus answers GET /api/v1/register: counts and the tag
// catalogue.
func (s *Server) handleRegisterStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.deps.Register.Status(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// handleHouseholds answers GET /api/v1/households?area=&tag=&gen=&limit=&offset=:
// the households of an area within the caller's scope, masked.
func (s *Server) handleHouseholds(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	hq := geo.HouseholdQuery{Area: q.Get("area"), Tag: q.Get("tag")}
	if hq.Area != "" {
		if _, err := geo.LevelOfCode(hq.Area); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if hq.Area, err = geo.NarrowArea(p.Scope, hq.Area); err != nil {
		writeError(w, r, err)
		return
	}
	if hq.Generation, err = genParam(q.Get("gen")); err != nil {
		writeError(w, r, err)
		return
	}
	if hq.Limit, hq.Offset, err = pageParams(q, defaultHouseholdPage, maxHouseholdPage); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := s.deps.Register.Households(r.Context(), hq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"area": hq.Area, "tag": hq.Tag, "matched": page.Matched, "offset": hq.Offset, "households": page.Households})
}

// handleFindResident answers POST /api/v1/residents/search {"id_number"}:
// the resident with that ID number, masked, within scope. A POST so that
// the number never stands in a URL (and in access logs).
func (s *Server) handleFindResident(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var body struct {
		IDNumber string `json:"id_number"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	if err := geo.ValidateIDNumber(body.IDNumber, time.Now()); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.deps.Register.Find(r.Context(), body.IDNumber, p.Scope)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handleReveal answers POST /api/v1/residents/{id}/reveal {"reason"}: one
// resident unmasked, for a role and scope that cover it; audited.
func (s *Server) handleReveal(w http.ResponseWriter, r *http.Request) {
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
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.deps.Register.Reveal(r.Context(), id, p, body.Reason, inTxAudit(r, http.StatusOK))
	if err != nil {
		writeError(w, r, err)
		return
	}
	auditStored(r)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, res)
}

// handleDeleteResident answers DELETE /api/v1/residents/{id} (admins):
// the personal data goes, the audit trail stays.
func (s *Server) handleDeleteResident(w http.ResponseWriter, r *http.Request) {
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
	if err := s.deps.Register.Delete(r.Context(), id, p.Scope, inTxAudit(r, http.StatusNoContent)); err != nil {
		writeError(w, r, err)
		return
	}
	auditStored(r)
	w.WriteHeader(http.StatusNoContent)
}

// handleExports answers GET /api/v1/register/exports: the requests the
// caller made or may decide.
func (s *Server) handleExports(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	es, err := s.deps.Register.Exports(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"exports": es})
}

// handleRequestExport answers POST /api/v1/register/exports {"area", "reason"}.
func (s *Server) handleRequestExport(w http.ResponseWriter, r *http.Request) {
	p, err := requirePrincipal(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var body struct {
		Area   string `json:"area"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	e, err := s.deps.Register.RequestExport(r.Context(), p, body.Area, body.Reason, inTxAudit(r, http.StatusCreated))
	if err != nil {
		writeError(w, r, err)
		return
	}
	auditStored(r)
	writeJSON(w, http.StatusCreated, e)
}

// handleDecideExport answers POST /api/v1/register/exports/{id}/decision
// {"approve": true|false, "note"}: an admin above the requester decides.
func (s *Server) handleDecideExport(w http.ResponseWriter, r *http.Request) {
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
	e, err := s.deps.Register.DecideExport(r.Context(), id, p, d.approve, d.note, s.approvalTTL(), inTxAudit(r, http.StatusOK))
	if err != nil {
		writeError(w, r, err)
		return
	}
	auditStored(r)
	writeJSON(w, http.StatusOK, e)
}

// handleExportFile answers POST /api/v1/register/exports/{id}/file: the
// approved export as CSV, once, to its requester.
func (s *Server) handleExportFile(w http.ResponseWriter, r *http.Request) {
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
	// The store checks before it writes: until the first row, an error
	// is still a JSON error with its status.
	lw := &lazyCSV{w: w, name: "register-export-" + strconv.FormatInt(id, 10) + ".csv"}
	if _, err := s.deps.Register.Export(r.Context(), id, p, lw, inTxAudit(r, http.StatusOK)); err != nil {
		if !lw.started {
			writeError(w, r, err)
		} else {
			s.deps.Logger.Error("register export broke off", "export", id, "err", geo.ErrorMessage(err))
		}
		return
	}
	auditStored(r)
	if !lw.started {
		lw.start()
	}
}

// lazyCSV sends a CSV attachment's headers with its first bytes.
type lazyCSV struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (l *lazyCSV) start() {
	l.started = true
	h := l.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+l.name+`"`)
	h.Set("Cache-Control", "no-store")
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyCSV) Write(b []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(b)
}
