package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// SummonsStore keeps the departments' summons on cases (吹哨报到).
type SummonsStore interface {
	Departments(ctx context.Context) ([]geo.Department, error)
	Summon(ctx context.Context, id int64, req geo.SummonsRequest) ([]geo.Summons, error)
	Summons(ctx context.Context, id int64) (geo.Summons, error)
	SummonsList(ctx context.Context, f geo.SummonsFilter) ([]geo.Summons, error)
	TransitionSummons(ctx context.Context, id int64, req geo.SummonsTransitionRequest) (geo.Summons, error)
	SummonsMetrics(ctx context.Context, q geo.MetricsQuery) ([]geo.DeptMetrics, error)
	Person(ctx context.Context, id int64) (geo.Person, error)
}

// summonsRoutes registers the 吹哨报到 API.
func (s *Server) summonsRoutes(api *mux.Router) {
	if s.deps.Incidents == nil || s.deps.Summons == nil {
		return
	}
	api.HandleFunc("/departments", s.handleDepartments).Methods(http.MethodGet)
	api.HandleFunc("/incidents/{id:[0-9]+}/summons", s.handleSummon).Methods(http.MethodPost)
	api.HandleFunc("/incidents/{id:[0-9]+}/summons", s.handleCaseSummons).Methods(http.MethodGet)
	api.HandleFunc("/summons", s.handleSummonsQueue).Methods(http.MethodGet)
	api.HandleFunc("/summons/metrics", s.handleSummonsMetrics).Methods(http.MethodGet)
	api.HandleFunc("/summons/{id:[0-9]+}", s.handleSummons).Methods(http.MethodGet)
	api.HandleFunc("/summons/{id:[0-9]+}/transitions", s.handleSummonsTransition).Methods(http.MethodPost)
}

func (s *Server) handleDepartments(w http.ResponseWriter, r *http.Request) {
	ds, err := s.deps.Summons.Departments(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"departments": ds})
}

// summonsActorOf is who the caller is to summons sm: the centre for
// admins and dispatchers; for a worker, the person it is assigned to
// and/or a supervisor of its department (the one it was escalated to, or
// anyone holding dept_supervisor in that department); the development
// token acts in the role it names.
func (s *Server) summonsActorOf(r *http.Request, me *geo.Person, sm geo.Summons) (geo.SummonsActor, error) {
	c, err := requireCaller(r)
	if err != nil {
		return geo.SummonsActor{}, err
	}
	who := geo.SummonsActor{Role: c.role}
	p, _ := principalOf(r)
	switch {
	case p.Kind == "dev":
		who.Assignee = sm.Assignee != nil && c.role == sm.Assignee.Role
		who.Supervisor = c.role == geo.RoleDeptSupervisor
	case me != nil:
		if sm.Assignee != nil && sm.Assignee.ID == p.PersonID {
			who.Assignee, who.Role = true, sm.Assignee.Role
		}
		sup := sm.Supervisor != nil && sm.Supervisor.ID == p.PersonID
		for _, rs := range me.Responsibilities {
			sup = sup || (rs.Role == geo.RoleDeptSupervisor && me.Dept == sm.Dept)
		}
		if sup {
			who.Supervisor = true
			if !who.Assignee {
				who.Role = geo.RoleDeptSupervisor
			}
		}
	}
	return who, nil
}

// callerPerson is the person a worker acts as, read once per request
// (nil for other callers): their department and responsibilities decide
// which summons they see and what they may do.
func (s *Server) callerPerson(r *http.Request) (*geo.Person, error) {
	p, ok := principalOf(r)
	if !ok || p.Role != geo.AccessWorker || p.PersonID == 0 || p.Kind == "dev" {
		return nil, nil
	}
	person, err := s.deps.Summons.Person(r.Context(), p.PersonID)
	if err != nil {
		return nil, err
	}
	return &person, nil
}

// scopedSummons reads the summons of the path and checks the caller may
// see it: its case in their scope and, for a worker, theirs or their
// department's.
func (s *Server) scopedSummons(w http.ResponseWriter, r *http.Request) (geo.Summons, *geo.Person, bool) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return geo.Summons{}, nil, false
	}
	me, err := s.callerPerson(r)
	var sm geo.Summons
	if err == nil {
		sm, err = s.deps.Summons.Summons(r.Context(), id)
	}
	if err == nil {
		err = summonsVisible(r, me, sm)
	}
	if err != nil {
		writeError(w, r, err)
		return geo.Summons{}, nil, false
	}
	return sm, me, true
}

func summonsVisible(r *http.Request, me *geo.Person, sm geo.Summons) error {
	p, ok := principalOf(r)
	if !ok {
		return nil
	}
	if !geo.InScope(p.Scope, sm.GridCode) && sm.GridCode != "" {
		return geo.Errorf(geo.EFORBIDDEN, "summons %d lies outside your scope %s", sm.ID, p.Scope)
	}
	if p.Role != geo.AccessWorker {
		return nil
	}
	if me != nil && ((sm.Assignee != nil && sm.Assignee.ID == me.ID) || (me.Dept != "" && me.Dept == sm.Dept)) {
		return nil
	}
	return geo.Errorf(geo.EFORBIDDEN, "summons %d is neither yours nor your department's", sm.ID)
}

// withAllowed sets the actions the caller (me: their person, when a
// worker) may take on each summons.
func (s *Server) withAllowed(r *http.Request, me *geo.Person, list ...geo.Summons) []geo.Summons {
	for i := range list {
		if who, err := s.summonsActorOf(r, me, list[i]); err == nil {
			list[i].AllowedActions = geo.SummonsNextActions(list[i].State, who)
		}
	}
	return list
}

// handleSummon answers POST /api/v1/incidents/{id}/summons: the centre
// (or a supervisor of the case's area) summons departments.
func (s *Server) handleSummon(w http.ResponseWriter, r *http.Request) {
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
	inc, err := s.deps.Incidents.Incident(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, _ := principalOf(r)
	if !geo.InScope(p.Scope, incidentCode(inc.Location)) {
		writeError(w, r, geo.Errorf(geo.EFORBIDDEN, "incident %d lies outside your scope %s", inc.ID, p.Scope))
		return
	}
	var req geo.SummonsRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Version == 0 {
		req.Version = inc.Version
	}
	req.Actor, req.Role, req.PersonID = c.actor, c.role, p.PersonID
	if p.Role == geo.AccessWorker {
		req.Role = geo.RoleCommunitySupervisor // the store checks the person supervises the case's area
	}
	noteAudit(r, "incident:"+strconv.FormatInt(id, 10), inc)
	req.Audit = inTxAudit(r, http.StatusCreated)
	out, err := s.deps.Summons.Summon(r.Context(), id, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.Audit != nil {
		auditStored(r)
	}
	me, _ := s.callerPerson(r)
	writeJSON(w, http.StatusCreated, map[string]any{"summons": s.withAllowed(r, me, out...)})
}

// handleCaseSummons answers GET /api/v1/incidents/{id}/summons: every
// summons of a case, for its drawer.
func (s *Server) handleCaseSummons(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.scopedCase(w, r)
	if !ok {
		return
	}
	me, err := s.callerPerson(r)
	var out []geo.Summons
	if err == nil {
		out, err = s.deps.Summons.SummonsList(r.Context(), geo.SummonsFilter{IncidentID: inc.ID})
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"summons": s.withAllowed(r, me, out...)})
}

// handleSummonsQueue answers GET /api/v1/summons?dept=&area=&state=open|done|all&assignee=:
// a department's queue. A worker sees their department's summons in
// their scope (or, without a department, their own).
func (s *Server) handleSummonsQueue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := geo.SummonsFilter{Dept: q.Get("dept"), Area: q.Get("area")}
	switch q.Get("state") {
	case "", "open":
		f.States = geo.SummonsOpenStates
	case "done":
		f.States = []geo.SummonsState{geo.SummonsHandled, geo.SummonsCancelled}
	case "all":
	default:
		writeError(w, r, geo.Errorf(geo.EINVALID, "state=%q: use open, done or all", q.Get("state")))
		return
	}
	if a := q.Get("assignee"); a != "" {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			writeError(w, r, geo.Errorf(geo.EINVALID, "assignee=%q: give a person id", a))
			return
		}
		f.AssigneeID = id
	}
	me, err := s.callerPerson(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if p, ok := principalOf(r); ok {
		if f.Area, err = geo.NarrowArea(p.Scope, f.Area); err != nil {
			writeError(w, r, err)
			return
		}
		if p.Role == geo.AccessWorker {
			dept := ""
			if me != nil {
				dept = me.Dept
			}
			switch {
			case dept != "" && (f.Dept == "" || f.Dept == dept):
				f.Dept = dept
			case dept != "":
				writeError(w, r, geo.Errorf(geo.EFORBIDDEN, "you see %s's summons, not %s's", dept, f.Dept))
				return
			default:
				f.AssigneeID = p.PersonID
				if p.PersonID == 0 {
					f.AssigneeID = -1
				}
			}
		}
	}
	out, err := s.deps.Summons.SummonsList(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"summons": s.withAllowed(r, me, out...)})
}

func (s *Server) handleSummons(w http.ResponseWriter, r *http.Request) {
	sm, me, ok := s.scopedSummons(w, r)
	if !ok {
		return
	}
	w.Header().Set("ETag", etag(sm.Version))
	writeJSON(w, http.StatusOK, s.withAllowed(r, me, sm)[0])
}

// handleSummonsTransition answers POST /api/v1/summons/{id}/transitions.
func (s *Server) handleSummonsTransition(w http.ResponseWriter, r *http.Request) {
	sm, me, ok := s.scopedSummons(w, r)
	if !ok {
		return
	}
	who, err := s.summonsActorOf(r, me, sm)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, _ := callerOf(r)
	var req geo.SummonsTransitionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Version, err = ifMatchVersion(r, req.Version); err != nil {
		writeError(w, r, err)
		return
	}
	req.Actor, req.Who = c.actor, who
	noteAudit(r, "summons:"+strconv.FormatInt(sm.ID, 10), sm)
	if req.Audit = inTxAudit(r, http.StatusOK); req.Audit != nil {
		req.Audit.Before, _ = json.Marshal(sm)
	}
	out, err := s.deps.Summons.TransitionSummons(r.Context(), sm.ID, req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if req.Audit != nil {
		auditStored(r)
	}
	w.Header().Set("ETag", etag(out.Version))
	writeJSON(w, http.StatusOK, s.withAllowed(r, me, out)[0])
}

// handleSummonsMetrics answers GET /api/v1/summons/metrics?area=&from=&to=:
// each department's response and on-time figures.
func (s *Server) handleSummonsMetrics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := geo.MetricsQuery{Area: q.Get("area")}
	err := metricsScope(r, &m)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ms, err := s.deps.Summons.SummonsMetrics(r.Context(), m)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"area": m.Area, "from": m.From, "to": m.To, "departments": ms})
}
