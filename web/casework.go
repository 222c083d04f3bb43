package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// IncidentStore keeps cases and their history.
type IncidentStore interface {
	CreateIncident(ctx context.Context, n geo.NewIncident) (geo.Incident, bool, error)
	Incident(ctx context.Context, id int64) (geo.Incident, error)
	IncidentByToken(ctx context.Context, token string) (geo.Incident, error)
	Incidents(ctx context.Context, f geo.IncidentFilter) ([]geo.Incident, error)
	IncidentEvents(ctx context.Context, id int64) ([]geo.IncidentEvent, error)
	Transition(ctx context.Context, id int64, req geo.TransitionRequest) (geo.Incident, error)
	EventsSince(ctx context.Context, after int64, limit int) ([]geo.IncidentEvent, error)
	Metrics(ctx context.Context, q geo.MetricsQuery) ([]geo.Metrics, error)
}

// CaseworkStore keeps who is responsible for what (定人定岗定责), the
// category catalogue, the working calendar and webhook subscriptions.
type CaseworkStore interface {
	People(ctx context.Context, area string) ([]geo.Person, error)
	Person(ctx context.Context, id int64) (geo.Person, error)
	SavePerson(ctx context.Context, p geo.Person) (geo.Person, error)
	ResponsibilityReview(ctx context.Context, gen int) ([]geo.ResponsibilityReview, error)
	Categories(ctx context.Context, all bool) ([]geo.Category, error)
	Category(ctx context.Context, code string) (geo.Category, error)
	SaveCategories(ctx context.Context, cs []geo.Category) (int, error)
	Calendar(ctx context.Context) (geo.Calendar, error)
	SaveCalendar(ctx context.Context, c geo.Calendar) error
	CreateWebhook(ctx context.Context, h geo.Webhook) (geo.Webhook, error)
	Webhooks(ctx context.Context) ([]geo.Webhook, error)
	DeleteWebhook(ctx context.Context, id int64) error
}

// caseworkRoutes registers the incident workflow under /api/v1.
func (s *Server) caseworkRoutes(api *mux.Router) {
	api.HandleFunc("/locate:batch", s.handleLocateBatch).Methods(http.MethodPost)
	if s.deps.Incidents == nil || s.deps.Casework == nil {
		return
	}
	api.HandleFunc("/incidents", s.handleCreateIncident).Methods(http.MethodPost)
	api.HandleFunc("/incidents", s.handleIncidents).Methods(http.MethodGet)
	api.HandleFunc("/incidents/{id:[0-9]+}", s.handleIncident).Methods(http.MethodGet)
	api.HandleFunc("/incidents/{id:[0-9]+}/events", s.handleIncidentEvents).Methods(http.MethodGet)
	api.HandleFunc("/incidents/{id:[0-9]+}/transitions", s.handleTransition).Methods(http.MethodPost)
	api.HandleFunc("/events", s.handleEvents).Methods(http.MethodGet)
	api.HandleFunc("/metrics", s.handleMetrics).Methods(http.MethodGet)
	api.HandleFunc("/people", s.handlePeople).Methods(http.MethodGet)
	api.HandleFunc("/people", s.handleSavePerson).Methods(http.MethodPost)
	api.HandleFunc("/people/{id:[0-9]+}", s.handlePerson).Methods(http.MethodGet)
	api.HandleFunc("/people/{id:[0-9]+}", s.handleSavePerson).Methods(http.MethodPut)
	api.HandleFunc("/responsibilities/review", s.handleReview).Methods(http.MethodGet)
	api.HandleFunc("/categories", s.handleCategories).Methods(http.MethodGet)
	api.HandleFunc("/categories/{code}", s.handleCategory).Methods(http.MethodGet)
	api.HandleFunc("/categories/{code}", s.handlePutCategory).Methods(http.MethodPut)
	api.HandleFunc("/calendar", s.handleCalendar).Methods(http.MethodGet)
	api.HandleFunc("/calendar", s.handlePutCalendar).Methods(http.MethodPut)
	api.HandleFunc("/webhooks", s.handleWebhooks).Methods(http.MethodGet)
	api.HandleFunc("/webhooks", s.handleCreateWebhook).Methods(http.MethodPost)
	api.HandleFunc("/webhooks/{id:[0-9]+}", s.handleDeleteWebhook).Methods(http.MethodDelete)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id <= 0 {
		return 0, geo.Errorf(geo.EINVALID, "%q is not an id", mux.Vars(r)["id"])
	}
	return id, nil
}

// maxToleranceM bounds how far outside the coverage a report may be
// routed to the nearest grid.
const maxToleranceM = 10000

// incidentRequest is the body of POST /api/v1/incidents.
type incidentRequest struct {
	Category    string       `json:"category"`
	Lon         *float64     `json:"lon"`
	Lat         *float64     `json:"lat"`
	SRS         string       `json:"srs,omitempty"`
	Address     string       `json:"address,omitempty"`
	Description string       `json:"description,omitempty"`
	Reporter    geo.Reporter `json:"reporter"`
	Source      string       `json:"source,omitempty"`
	Attachments []string     `json:"attachments,omitempty"`
	ToleranceM  *float64     `json:"tolerance_m,omitempty"`
}

// newIncident turns a report into what the store takes: the point in
// WGS84, located from memory by the routing rule.
func (s *Server) newIncident(ctx context.Context, in incidentRequest, key string, c caller) (geo.NewIncident, error) {
	n := geo.NewIncident{Category: in.Category, Address: in.Address, Description: in.Description, Reporter: in.Reporter,
		Source: in.Source, Attachments: in.Attachments, IdempotencyKey: key, Actor: c.actor, Role: c.role}
	if n.Actor == "" {
		n.Actor = "anonymous"
	}
	if in.Lon == nil || in.Lat == nil {
		return n, geo.Errorf(geo.EINVALID, "give the incident's lon and lat (decimal degrees; srs says in which datum)")
	}
	if err := checkLonLat(*in.Lon, *in.Lat, "the incident's location"); err != nil {
		return n, err
	}
	n.SRS = geo.DatumWGS84
	if in.SRS != "" {
		d, err := geo.ParseDatum(in.SRS)
		if err != nil {
			return n, err
		}
		n.SRS = d
	}
	n.Lon, n.Lat = geo.ToWGS84(n.SRS, *in.Lon, *in.Lat)
	tol := -1.0
	if in.ToleranceM != nil {
		if tol = *in.ToleranceM; tol < 0 || tol > maxToleranceM {
			return n, geo.Errorf(geo.EINVALID, "tolerance_m %g: give metres from 0 to %d, or leave it out for the server's", tol, maxToleranceM)
		}
	}
	// A retry must hash like the first try: the body as decoded, re-encoded.
	b, _ := json.Marshal(in)
	h := sha256.Sum256(b)
	n.RequestHash = hex.EncodeToString(h[:])
	n.Location = geo.Location{Match: geo.MatchNone}
	if s.deps.Routing != nil {
		loc, err := s.deps.Routing.Locate(ctx, orb.Point{n.Lon, n.Lat}, 0, tol)
		switch {
		case geo.ErrorCode(err) == geo.ENOTFOUND:
			// No active generation: the case waits in the centre's queue.
		case err != nil:
			return n, err
		default:
			n.Location = loc
		}
	}
	if p, ok := principalFrom(ctx); ok && !geo.InScope(p.Scope, incidentCode(n.Location)) {
		return n, geo.Errorf(geo.EFORBIDDEN, "the incident's location is outside your scope %s", p.Scope)
	}
	return n, nil
}

// handleCreateIncident answers POST /api/v1/incidents: 201 with the case,
// its chain, assignee and deadline, stored and committed. An
// Idempotency-Key header makes retries return the same case.
func (s *Server) handleCreateIncident(w http.ResponseWriter, r *http.Request) {
	c, err := callerOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var in incidentRequest
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	n, err := s.newIncident(r.Context(), in, r.Header.Get("Idempotency-Key"), c)
	if err != nil {
		writeError(w, r, err)
		return
	}
	n.Audit = inTxAudit(r, http.StatusCreated)
	inc, replayed, err := s.deps.Incidents.CreateIncident(r.Context(), n)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else if n.Audit != nil {
		auditStored(r) // with the case, in its transaction
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10))
	w.Header().Set("ETag", etag(inc.Version))
	noteAudit(r, "incident:"+strconv.FormatInt(inc.ID, 10), nil)
	writeJSON(w, http.StatusCreated, maskIncident(r, inc))
}

// incidentFilterParams reads what the incident list and the incident tiles
// both filter by: area (a code), category and state (known states,
// separated by commas).
func incidentFilterParams(q url.Values) (geo.IncidentFilter, error) {
	f := geo.IncidentFilter{Area: q.Get("area"), Category: q.Get("category")}
	if f.Area != "" {
		if _, err := geo.LevelOfCode(f.Area); err != nil {
			return f, err
		}
	}
	if st := q.Get("state"); st != "" {
		for _, x := range strings.Split(st, ",") {
			state := geo.State(strings.TrimSpace(x))
			if !slices.Contains(geo.States, state) {
				return f, geo.Errorf(geo.EINVALID, "state=%q: give states from %v, separated by commas", x, geo.States)
			}
			f.States = append(f.States, state)
		}
	}
	return f, nil
}

func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

func (s *Server) handleIncident(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.scopedCase(w, r)
	if !ok {
		return
	}
	w.Header().Set("ETag", etag(inc.Version))
	writeJSON(w, http.StatusOK, maskIncident(r, inc))
}

// scopedCase reads the case of the path, answering the error itself when
// it is missing or outside the caller's scope.
func (s *Server) scopedCase(w http.ResponseWriter, r *http.Request) (geo.Incident, bool) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return geo.Incident{}, false
	}
	inc, err := s.deps.Incidents.Incident(r.Context(), id)
	if err == nil {
		err = scopedIncident(r, inc)
	}
	if err != nil {
		writeError(w, r, err)
		return geo.Incident{}, false
	}
	return inc, true
}

func (s *Server) handleIncidentEvents(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.scopedCase(w, r)
	if !ok {
		return
	}
	evs, err := s.deps.Incidents.IncidentEvents(r.Context(), inc.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
}

// timeParam reads an RFC 3339 time or a day (YYYY-MM-DD, China time).
func timeParam(s, name string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, geo.ChinaTime); err == nil {
		return t, nil
	}
	return time.Time{}, geo.Errorf(geo.EINVALID, "%s=%q: give a day (2026-03-01) or an RFC 3339 time (2026-03-01T08:00:00+08:00)", name, s)
}

// handleIncidents answers GET /api/v1/incidents?state=&area=&category=&from=&to=&after=&limit=.
func (s *Server) handleIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := incidentFilterParams(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if f.From, err = timeParam(q.Get("from"), "from"); err != nil {
		writeError(w, r, err)
		return
	}
	if f.To, err = timeParam(q.Get("to"), "to"); err != nil {
		writeError(w, r, err)
		return
	}
	if v := q.Get("after"); v != "" {
		if f.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil {
			writeError(w, r, geo.Errorf(geo.EINVALID, "after=%q is not an incident id", v))
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 1000 {
			writeError(w, r, geo.Errorf(geo.EINVALID, "limit=%q: give 1 to 1000", v))
			return
		}
	}
	if err := narrowIncidentFilter(r, &f); err != nil {
		writeError(w, r, err)
		return
	}
	incs, err := s.deps.Incidents.Incidents(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": maskIncidents(r, incs)})
}

// transitionBody is the body of POST /api/v1/incidents/{id}/transitions.
type transitionBody struct {
	Action      geo.Action `json:"action"`
	Version     int        `json:"version,omitempty"`
	Note        string     `json:"note,omitempty"`
	AssigneeID  int64      `json:"assignee_id,omitempty"`
	ExtendHours float64    `json:"extend_hours,omitempty"`
}

// ifMatchVersion is the version a change is made at: the body's, or the
// If-Match header's (the ETag the caller read); both given must agree.
func ifMatchVersion(r *http.Request, body int) (int, error) {
	m := r.Header.Get("If-Match")
	if m == "" {
		return body, nil
	}
	v, err := strconv.Atoi(strings.Trim(strings.TrimPrefix(m, "W/"), `"`))
	if err != nil {
		return 0, geo.Errorf(geo.EINVALID, "If-Match %q: give the version as its ETag, e.g. \"3\"", m)
	}
	if body != 0 && body != v {
		return 0, geo.Errorf(geo.EINVALID, "If-Match says version %d, the body %d", v, body)
	}
	return v, nil
}

// handleTransition answers POST /api/v1/incidents/{id}/transitions: one
// action at the version the caller saw (the version field, or If-Match).
func (s *Server) handleTransition(w http.ResponseWriter, r *http.Request) {
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
	before, err := s.deps.Incidents.Incident(r.Context(), id)
	if err == nil {
		err = scopedIncident(r, before)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if p, _ := principalOf(r); p.Role == geo.AccessWorker {
		c.role = workerRole(p, before)
	}
	noteAudit(r, "incident:"+strconv.FormatInt(id, 10), before)
	var b transitionBody
	if err := decodeJSON(w, r, &b); err != nil {
		writeError(w, r, err)
		return
	}
	if b.Version, err = ifMatchVersion(r, b.Version); err != nil {
		writeError(w, r, err)
		return
	}
	req := geo.TransitionRequest{Action: b.Action, Version: b.Version, Note: b.Note, AssigneeID: b.AssigneeID,
		ExtendHours: b.ExtendHours, Actor: c.actor, Role: c.role, IdempotencyKey: r.Header.Get("Idempotency-Key"), Audit: inTxAudit(r, http.StatusOK)}
	if req.Audit != nil {
		req.Audit.Before, _ = json.Marshal(before)
	}
	inc, err := s.deps.Incidents.Transition(r.Context(), id, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.Audit != nil {
		auditStored(r) // with the transition, in its transaction
	}
	w.Header().Set("ETag", etag(inc.Version))
	writeJSON(w, http.StatusOK, maskIncident(r, inc))
}

// metricsScope narrows m's area to the caller's scope and reads its
// period from the query (from, to; default the 30 days before now).
func metricsScope(r *http.Request, m *geo.MetricsQuery) error {
	var err error
	if p, ok := principalOf(r); ok {
		if m.Area, err = geo.NarrowArea(p.Scope, m.Area); err != nil {
			return err
		}
	}
	q := r.URL.Query()
	if m.From, err = timeParam(q.Get("from"), "from"); err != nil {
		return err
	}
	if m.To, err = timeParam(q.Get("to"), "to"); err != nil {
		return err
	}
	if m.To.IsZero() {
		m.To = time.Now()
	}
	if m.From.IsZero() {
		m.From = m.To.AddDate(0, 0, -30)
	}
	return nil
}

// handleMetrics answers GET /api/v1/metrics?area=CODE[&from=&to=&by=level].
// The period defaults to the last 30 days.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := geo.MetricsQuery{Area: q.Get("area")}
	if m.Area == "" {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give area=CODE: a district, street, community or grid code"))
		return
	}
	err := metricsScope(r, &m)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if by := q.Get("by"); by != "" {
		if m.By, err = geo.ParseLevel(by); err != nil {
			writeError(w, r, err)
			return
		}
	}
	ms, err := s.deps.Incidents.Metrics(r.Context(), m)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"area": m.Area, "from": m.From, "to": m.To, "metrics": ms})
}

func (s *Server) handlePeople(w http.ResponseWriter, r *http.Request) {
	area := r.URL.Query().Get("area")
	if area != "" {
		if _, err := geo.LevelOfCode(area); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if p, ok := principalOf(r); ok {
		var err error
		if area, err = geo.NarrowArea(p.Scope, area); err != nil {
			writeError(w, r, err)
			return
		}
	}
	ps, err := s.deps.Casework.People(r.Context(), area)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"people": ps})
}

func (s *Server) handlePerson(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := s.deps.Casework.Person(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// handleSavePerson answers POST /api/v1/people (create) and PUT
// /api/v1/people/{id} (replace, responsibilities and duty included).
func (s *Server) handleSavePerson(w http.ResponseWriter, r *http.Request) {
	if _, err := requireOperator(r); err != nil {
		writeError(w, r, err)
		return
	}
	var p geo.Person
	p.Active = true
	if err := decodeJSON(w, r, &p); err != nil {
		writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	p.ID = 0
	if r.Method == http.MethodPut {
		id, err := pathID(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		p.ID, status = id, http.StatusOK
	}
	out, err := s.deps.Casework.SavePerson(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, status, out)
}

// handleReview answers GET /api/v1/responsibilities/review[?gen=]: the
// responsibilities that could not follow a generation's codes.
func (s *Server) handleReview(w http.ResponseWriter, r *http.Request) {
	gen, err := genParam(r.URL.Query().Get("gen"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, err := s.deps.Casework.ResponsibilityReview(r.Context(), gen)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"review": items})
}

func (s *Server) handleCategories(w http.ResponseWriter, r *http.Request) {
	cs, err := s.deps.Casework.Categories(r.Context(), r.URL.Query().Get("all") == "true")
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"categories": cs})
}

func (s *Server) handleCategory(w http.ResponseWriter, r *http.Request) {
	c, err := s.deps.Casework.Category(r.Context(), mux.Vars(r)["code"])
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// handlePutCategory answers PUT /api/v1/categories/{code}: create or
// replace one category.
func (s *Server) handlePutCategory(w http.ResponseWriter, r *http.Request) {
	if _, err := requireOperator(r); err != nil {
		writeError(w, r, err)
		return
	}
	c := geo.Category{Active: true}
	if err := decodeJSON(w, r, &c); err != nil {
		writeError(w, r, err)
		return
	}
	code := mux.Vars(r)["code"]
	if c.Code != "" && c.Code != code {
		writeError(w, r, geo.Errorf(geo.EINVALID, "the body's code %q is not the URL's %q", c.Code, code))
		return
	}
	c.Code, c.DeptName = code, ""
	created, err := s.deps.Casework.SaveCategories(r.Context(), []geo.Category{c})
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := s.deps.Casework.Category(r.Context(), code)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, map[bool]int{true: http.StatusCreated, false: http.StatusOK}[created == 1], out)
}

func (s *Server) handleCalendar(w http.ResponseWriter, r *http.Request) {
	c, err := s.deps.Casework.Calendar(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// handlePutCalendar answers PUT /api/v1/calendar: replace the working
// hours and holidays.
func (s *Server) handlePutCalendar(w http.ResponseWriter, r *http.Request) {
	if _, err := requireOperator(r); err != nil {
		writeError(w, r, err)
		return
	}
	var c geo.Calendar
	if err := decodeJSON(w, r, &c); err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.deps.Casework.SaveCalendar(r.Context(), c); err != nil {
		writeError(w, r, err)
		return
	}
	s.handleCalendar(w, r)
}

func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	hs, err := s.deps.Casework.Webhooks(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": hs})
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	if _, err := requireOperator(r); err != nil {
		writeError(w, r, err)
		return
	}
	var h geo.Webhook
	if err := decodeJSON(w, r, &h); err != nil {
		writeError(w, r, err)
		return
	}
	// Checked again at each delivery, after DNS: this only turns away
	// what is plainly internal while the admin is there to read why.
	if err := s.cfg.WebhookTargets.CheckURL(h.URL); err != nil {
		writeError(w, r, err)
		return
	}
	out, err := s.deps.Casework.CreateWebhook(r.Context(), h)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	if _, err := requireOperator(r); err != nil {
		writeError(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := s.deps.Casework.DeleteWebhook(r.Context(), id); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
