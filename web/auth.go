package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// AuthStore checks credentials and keeps the audit log.
type AuthStore interface {
	// Login checks a password and opens a session; it returns the
	// session id to send as a cookie.
	Login(ctx context.Context, login, password string, ttl time.Duration, remote string) (string, geo.Principal, error)
	SessionPrincipal(ctx context.Context, sid string) (geo.Principal, error)
	Logout(ctx context.Context, sid string) error
	TokenPrincipal(ctx context.Context, secret string) (geo.Principal, error)
	AppendAudit(ctx context.Context, e geo.AuditEntry) error
	Audit(ctx context.Context, q geo.AuditQuery) ([]geo.AuditEntry, error)
}

// sessionCookie is the console's session cookie.
const sessionCookie = "gridd_session"

// defaultSessionTTL is how long a console session lasts (a long shift).
const defaultSessionTTL = 12 * time.Hour

// Roles of the access table.
const (
	admin      = geo.AccessAdmin
	gis        = geo.AccessGIS
	dispatcher = geo.AccessDispatcher
	worker     = geo.AccessWorker
	viewer     = geo.AccessViewer
	reporter   = geo.AccessReporter
)

// access is who may use one route.
type access struct {
	roles    []geo.AccessRole
	public   bool   // no credentials needed
	geodata  bool   // geography (tiles, OGC): public with Config.PublicTiles
	metrics  bool   // /metrics: public with Config.Metrics = MetricsPublic
	unscoped bool   // only principals with the unlimited scope ('')
	action   string // the audit log's name for a change ("" for reads)
}

func allow(action string, roles ...geo.AccessRole) access {
	return access{roles: roles, action: action}
}

var (
	everyone    = []geo.AccessRole{admin, gis, dispatcher, worker, viewer, reporter}
	readers     = []geo.AccessRole{admin, gis, dispatcher, worker, viewer}
	staff       = []geo.AccessRole{admin, gis, dispatcher, viewer}
	caseReaders = []geo.AccessRole{admin, dispatcher, worker, viewer}
)

// policy is the one table of who may do what: "METHOD route template" →
// access. A route missing here is refused to everyone but admins (and
// TestEveryRouteHasAPolicy fails). Scope rules beyond "unscoped" live
// with the data they filter: incidents (scopedIncident, narrowed lists),
// events (eventFilter), metrics.
var policy = map[string]access{
	"GET /healthz":              {public: true},
	"HEAD /healthz":             {public: true},
	"* /":                       {public: true}, // the console's static files
	"POST /api/v1/login":        {public: true},
	"GET /api/v1/openapi.json":  {public: true},                                          // the API's own description
	"GET /metrics":              {roles: []geo.AccessRole{admin, viewer}, metrics: true}, // Prometheus; see Config.Metrics
	"POST /api/v1/logout":       allow("", everyone...),
	"GET /api/v1/me":            allow("", everyone...),
	"GET /api/v1/audit":         allow("", admin),
	"GET /api/v1/locate":        allow("", everyone...), // read-only geography: unscoped
	"POST /api/v1/locate:batch": allow("", everyone...),

	"GET /api/v1/generations":                 allow("", readers...),
	"POST /api/v1/merges":                     {roles: []geo.AccessRole{admin, gis}, unscoped: true, action: "generation.merge"},
	"GET /api/v1/generations/{gen}/report":    allow("", staff...),
	"POST /api/v1/generations/{gen}/activate": {roles: []geo.AccessRole{admin, gis}, unscoped: true, action: "generation.activate"},
	// Activations that move many households need approval (分级审批): the
	// store checks who may decide and writes the audit entries.
	"POST /api/v1/generations/{gen:[0-9]+}/activation-requests": {roles: []geo.AccessRole{admin, gis}, unscoped: true, action: "generation.activation_request"},
	"GET /api/v1/activation-requests":                           allow("", admin, gis),
	"POST /api/v1/activation-requests/{id:[0-9]+}/decision":     {roles: []geo.AccessRole{admin}, unscoped: true, action: "generation.activation_decide"},
	"GET /api/v1/generations/{gen}/check":                       allow("", staff...),
	"GET /api/v1/generations/{gen}/export":                      {roles: []geo.AccessRole{admin, gis}, unscoped: true},
	"GET /api/v1/generations/{gen}/pieces":                      allow("", staff...),
	"GET /api/v1/generations/{gen}/compare":                     allow("", staff...),
	"GET /api/v1/generations/{gen}/disputes":                    allow("", staff...),
	"GET /api/v1/disputes/{id:[0-9]+}":                          allow("", staff...),
	"POST /api/v1/disputes/{id:[0-9]+}/resolution":              {roles: []geo.AccessRole{admin, gis}, unscoped: true, action: "dispute.resolve"},
	"POST /api/v1/layers":                                       {roles: []geo.AccessRole{admin, gis}, unscoped: true, action: "layer.upload"},
	"GET /api/v1/jobs/{id}":                                     allow("", admin, gis),

	"POST /api/v1/incidents":                         allow("incident.create", admin, dispatcher, worker, reporter),
	"GET /api/v1/incidents":                          allow("", caseReaders...),
	"GET /api/v1/incidents/{id:[0-9]+}":              allow("", caseReaders...),
	"GET /api/v1/incidents/{id:[0-9]+}/events":       allow("", caseReaders...),
	"POST /api/v1/incidents/{id:[0-9]+}/transitions": allow("incident.transition", admin, dispatcher, worker),
	"GET /api/v1/events":                             allow("", caseReaders...),
	"GET /api/v1/incidents/{id:[0-9]+}/duplicates":   allow("", caseReaders...),                  // scoped in the handler
	"POST /api/v1/incidents/{id:[0-9]+}/merge-into":  allow("incident.merge", admin, dispatcher), // both cases in scope
	// 群众签单: the link is made by the centre or the reporting channel (in
	// scope); the verdict needs no account, its token or link is the
	// credential and names one case.
	"POST /api/v1/incidents/{id:[0-9]+}/verdict-link": allow("incident.verdict_link", admin, dispatcher, reporter),
	"GET /api/v1/incidents/{id:[0-9]+}/verdict":       allow("", caseReaders...),
	"POST /api/v1/verdicts":                           {public: true},
	"GET /verdict/{link}":                             {public: true},
	"POST /verdict/{link}":                            {public: true},
	// 吹哨报到: the centre (or a supervisor of the case's area, a worker)
	// summons; the departments' people act on their summons (checked with
	// the summons: theirs, or their department's).
	"GET /api/v1/departments":                      allow("", everyone...),
	"POST /api/v1/incidents/{id:[0-9]+}/summons":   allow("incident.summon", admin, dispatcher, worker),
	"GET /api/v1/incidents/{id:[0-9]+}/summons":    allow("", caseReaders...),
	"GET /api/v1/summons":                          allow("", caseReaders...), // narrowed in the handler
	"GET /api/v1/summons/metrics":                  allow("", admin, dispatcher, viewer),
	"GET /api/v1/summons/{id:[0-9]+}":              allow("", caseReaders...),
	"POST /api/v1/summons/{id:[0-9]+}/transitions": allow("summons.transition", admin, dispatcher, worker),
	"GET /api/v1/metrics":                          allow("", admin, dispatcher, viewer),
	"GET /api/v1/people":                           allow("", staff...),
	"POST /api/v1/people":                          {roles: []geo.AccessRole{admin, dispatcher}, unscoped: true, action: "person.create"},
	"GET /api/v1/people/{id:[0-9]+}":               allow("", staff...),
	"PUT /api/v1/people/{id:[0-9]+}":               {roles: []geo.AccessRole{admin, dispatcher}, unscoped: true, action: "person.update"},
	"GET /api/v1/responsibilities/review":          allow("", staff...),
	"GET /api/v1/categories":                       allow("", everyone...),
	"GET /api/v1/categories/{code}":                allow("", everyone...),
	"PUT /api/v1/categories/{code}":                {roles: []geo.AccessRole{admin, dispatcher}, unscoped: true, action: "category.save"},
	"GET /api/v1/calendar":                         allow("", everyone...),
	"PUT /api/v1/calendar":                         {roles: []geo.AccessRole{admin, dispatcher}, unscoped: true, action: "calendar.save"},
	"GET /api/v1/webhooks":                         allow("", admin),
	"POST /api/v1/webhooks":                        allow("webhook.create", admin),
	"DELETE /api/v1/webhooks/{id:[0-9]+}":          allow("webhook.delete", admin),

	// The register (实有人口): listings are masked and narrowed to the
	// caller's scope; reveals, deletions and exports check scope in the
	// store and write their audit entries there.
	"GET /api/v1/register":                               allow("", readers...),
	"GET /api/v1/households":                             allow("", caseReaders...),
	"POST /api/v1/residents/search":                      allow("resident.search", admin, dispatcher, worker),
	"POST /api/v1/residents/{id:[0-9]+}/reveal":          allow("resident.reveal", admin, dispatcher, worker),
	"DELETE /api/v1/residents/{id:[0-9]+}":               allow("resident.delete", admin),
	"GET /api/v1/register/exports":                       allow("", admin, dispatcher),
	"POST /api/v1/register/exports":                      allow("register.export_request", admin, dispatcher),
	"POST /api/v1/register/exports/{id:[0-9]+}/decision": allow("register.export_decide", admin),
	"POST /api/v1/register/exports/{id:[0-9]+}/file":     allow("register.export_download", admin, dispatcher),

	// The operator console: area search and panel, incident tiles.
	"GET /api/v1/areas":                                         allow("", readers...), // scoped in the handler
	"GET /api/v1/areas/{code:[0-9]+}":                           allow("", readers...),
	"GET /api/v1/buildings":                                     allow("", readers...),     // scoped in the handler
	"GET /api/v1/buildings/{id}":                                allow("", readers...),     // scoped in the handler
	"GET /tiles/incidents/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.mvt": allow("", caseReaders...), // scoped like GET /incidents

	"GET /tiles/{layer}/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.mvt":     {roles: readers, geodata: true},
	"GET /tiles/dept/{dept}/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.mvt": {roles: readers, geodata: true},
	"GET /tiles/style.json":                 {roles: readers, geodata: true},
	"GET /tiles/{layer}.json":               {roles: readers, geodata: true},
	"GET /tiles/dept/{dept}.json":           {roles: readers, geodata: true},
	"GET /ogc":                              {roles: readers, geodata: true},
	"GET /ogc/":                             {roles: readers, geodata: true},
	"GET /ogc/api":                          {roles: readers, geodata: true},
	"GET /ogc/conformance":                  {roles: readers, geodata: true},
	"GET /ogc/collections":                  {roles: readers, geodata: true},
	"GET /ogc/collections/{id}":             {roles: readers, geodata: true},
	"GET /ogc/collections/{id}/items":       {roles: readers, geodata: true},
	"GET /ogc/collections/{id}/items/{fid}": {roles: readers, geodata: true},

	// Open311: the service catalogue is public; requests are read by
	// district-wide integrations (unscoped) and created with an api_key.
	"GET /open311/v2/services.{format:json|xml}":        {public: true},
	"GET /open311/v2/services/{code}.{format:json|xml}": {public: true},
	"GET /open311/v2/requests.{format:json|xml}":        {roles: caseReaders, unscoped: true},
	"POST /open311/v2/requests.{format:json|xml}":       allow("incident.create", admin, dispatcher, worker, reporter),
	"GET /open311/v2/requests/{id}.{format:json|xml}":   {roles: caseReaders, unscoped: true},
	"GET /open311/v2/tokens/{token}.{format:json|xml}":  {roles: caseReaders, unscoped: true},
}

// policyKey names a matched route in the policy table.
func policyKey(r *http.Request) string {
	route := mux.CurrentRoute(r)
	if route == nil {
		return ""
	}
	tpl, err := route.GetPathTemplate()
	if err != nil {
		return ""
	}
	if ms, err := route.GetMethods(); err != nil || len(ms) == 0 {
		return "* " + tpl
	}
	return r.Method + " " + tpl
}

type principalKey struct{}

// principalOf returns who is making the request (set by authenticate).
func principalOf(r *http.Request) (geo.Principal, bool) {
	return principalFrom(r.Context())
}

func principalFrom(ctx context.Context) (geo.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(geo.Principal)
	return p, ok
}

// authState is the server's memory of failed logins.
type authState struct {
	mu    sync.Mutex
	fails map[string]*failures
}

// failures counts failed logins of one login from one address.
type failures struct {
	n     int
	since time.Time
}

// Login throttling: each failure costs the caller a growing delay, and
// maxFailures within failWindow lock that login from that address until
// the window ends.
const (
	maxFailures = 5
	failWindow  = 15 * time.Minute
	failDelay   = 250 * time.Millisecond
)

func newAuthState() *authState { return &authState{fails: map[string]*failures{}} }

func (a *authState) locked(key string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	f := a.fails[key]
	return f != nil && f.n >= maxFailures && now.Sub(f.since) < failWindow
}

// fail records a failure and returns how many there were in the window.
func (a *authState) fail(key string, now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.fails) > 100_000 {
		for k, f := range a.fails {
			if now.Sub(f.since) >= failWindow {
				delete(a.fails, k)
			}
		}
	}
	f := a.fails[key]
	if f == nil || now.Sub(f.since) >= failWindow {
		f = &failures{since: now}
		a.fails[key] = f
	}
	f.n++
	return f.n
}

func (a *authState) succeed(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.fails, key)
}

// remoteAddr is the caller's address as the server saw it. Forwarded
// headers are not trusted: anyone can send them.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate is the middleware of every matched route: it finds the
// route's access rule, establishes the principal, checks the role and
// the scope rule, and records changes in the audit log.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := policyKey(r)
		rule, known := policy[key]
		if !known {
			rule = access{roles: []geo.AccessRole{admin}, action: "unlisted"}
		}
		fail := func(err error) { writeError(w, r, err) }
		p, via, err := s.principal(r)
		hasCreds := via != credNone
		if hasCreds && err != nil && !rule.public {
			fail(err)
			return
		}
		if rule.public || (rule.geodata && s.cfg.PublicTiles) || (rule.metrics && s.cfg.Metrics == MetricsPublic) {
			if hasCreds && err == nil {
				r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			}
			next.ServeHTTP(w, r)
			return
		}
		if !hasCreds {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gridd"`)
			fail(geo.Errorf(geo.EUNAUTHORIZED, "log in (POST /api/v1/login) or send Authorization: Bearer TOKEN ('gridd token create' makes one)"))
			return
		}
		if via == credCookie {
			if err := sameOrigin(r); err != nil { // origin.go: no cross-site changes with the console's cookie
				fail(err)
				return
			}
		}
		if !roleIn(p.Role, rule.roles) {
			fail(geo.Errorf(geo.EFORBIDDEN, "a %s may not %s %s", p.Role, r.Method, r.URL.Path))
			return
		}
		if rule.unscoped && p.Scope != "" {
			fail(geo.Errorf(geo.EFORBIDDEN, "%s %s needs an account of unlimited scope; yours is limited to %s", r.Method, r.URL.Path, p.Scope))
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		if rule.action == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		note := &auditNote{principal: p, action: rule.action}
		ctx = context.WithValue(ctx, auditKey{}, note)
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if rec.status >= 400 || note.stored {
			return
		}
		s.audit(r, p, rule.action, note, rec)
	})
}

func roleIn(r geo.AccessRole, rs []geo.AccessRole) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// credential is which of a request's credentials principal used.
type credential int

const (
	credNone   credential = iota // none at all
	credToken                    // a bearer token or Open311's api_key
	credCookie                   // the console's session cookie: same-origin changes only
	credUnread                   // the server cannot read credentials (no AuthStore)
)

// principal reads the request's credentials: a bearer token (the
// development token, or an API token), the session cookie, or Open311's
// api_key, and says which it used (credNone: there are none at all).
func (s *Server) principal(r *http.Request) (p geo.Principal, via credential, err error) {
	if s.deps.Auth == nil {
		return p, credUnread, geo.Errorf(geo.EUNAVAILABLE, "authentication is not configured on this server")
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		tok = strings.TrimSpace(tok)
		if !ok || tok == "" {
			return p, credToken, geo.Errorf(geo.EUNAUTHORIZED, "Authorization: use 'Bearer TOKEN'")
		}
		return s.tokenPrincipal(r.Context(), tok)
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		p, err := s.deps.Auth.SessionPrincipal(r.Context(), c.Value)
		return p, credCookie, err
	}
	if strings.HasPrefix(r.URL.Path, "/open311/") {
		key := r.URL.Query().Get("api_key")
		if key == "" && r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(nil, r.Body, maxJSONBody)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
				r.ParseMultipartForm(maxJSONBody)
			} else {
				r.ParseForm()
			}
			key = r.PostFormValue("api_key")
		}
		if key != "" {
			return s.tokenPrincipal(r.Context(), key)
		}
	}
	return p, credNone, nil
}

func (s *Server) tokenPrincipal(ctx context.Context, tok string) (geo.Principal, credential, error) {
	if s.cfg.DevToken != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.DevToken)) == 1 {
		return geo.Principal{Kind: "dev", Name: "dev", Role: admin, Credential: "dev-token"}, credToken, nil
	}
	p, err := s.deps.Auth.TokenPrincipal(ctx, tok)
	return p, credToken, err
}

// auditKey carries an *auditNote through a change's request.
type auditKey struct{}

// auditNote is what a handler adds to its audit entry: the target and
// the state before the change, when it knows them.
type auditNote struct {
	target string
	before any
	// For a handler whose store writes the entry in the change's own
	// transaction (inTxAudit): who and what, and whether it was stored.
	principal geo.Principal
	action    string
	stored    bool
}

// inTxAudit returns the audit entry of a change for its store to write in
// the change's own transaction, so that a crash cannot keep the change and
// lose the entry; nil outside an audited request. After the store wrote
// it, the handler calls auditStored and the middleware writes nothing.
func inTxAudit(r *http.Request, status int) *geo.AuditEntry {
	n, ok := r.Context().Value(auditKey{}).(*auditNote)
	if !ok {
		return nil
	}
	p := n.principal
	return &geo.AuditEntry{ActorKind: p.Kind, ActorID: p.ID, ActorName: p.Actor(), Credential: p.Credential,
		Action: n.action, Remote: remoteAddr(r), Status: status}
}

// auditStored tells the middleware the store wrote the request's entry.
func auditStored(r *http.Request) {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		n.stored = true
	}
}

// noteAudit lets a handler name the target and the state before.
func noteAudit(r *http.Request, target string, before any) {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		n.target, n.before = target, before
	}
}

// maxAuditBody is how much of a response the audit log keeps as "after".
const maxAuditBody = 64 << 10

// recorder keeps the status and the start of a response.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  int
	body   bytes.Buffer
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if room := maxAuditBody + 1 - rec.body.Len(); room > 0 {
		rec.body.Write(b[:min(len(b), room)])
	}
	rec.wrote += len(b)
	return rec.ResponseWriter.Write(b)
}

func (rec *recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// audit writes the entry of a change that succeeded. The change is
// committed by then: a failure to write the entry is logged loudly.
func (s *Server) audit(r *http.Request, p geo.Principal, action string, note *auditNote, rec *recorder) {
	e := geo.AuditEntry{ActorKind: p.Kind, ActorID: p.ID, ActorName: p.Actor(), Credential: p.Credential,
		Action: action, Target: note.target, Remote: remoteAddr(r), Status: rec.status}
	if e.Target == "" {
		e.Target = r.URL.Path
	}
	if note.before != nil {
		e.Before, _ = json.Marshal(note.before)
	}
	switch {
	case rec.body.Len() > maxAuditBody || !json.Valid(rec.body.Bytes()):
		e.After, _ = json.Marshal(map[string]any{"bytes": rec.wrote, "content_type": rec.Header().Get("Content-Type")})
	default:
		e.After = bytes.Clone(rec.body.Bytes())
	}
	// The request may be over (client gone): the entry is still written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.deps.Auth.AppendAudit(ctx, e); err != nil {
		s.deps.Logger.Error("AUDIT LOG WRITE FAILED", "action", action, "target", e.Target, "actor", e.ActorName, "err", err)
	}
}

// authRoutes registers login, logout, me and the audit log.
func (s *Server) authRoutes(api *mux.Router) {
	api.HandleFunc("/login", s.handleLogin).Methods(http.MethodPost)
	api.HandleFunc("/logout", s.handleLogout).Methods(http.MethodPost)
	api.HandleFunc("/me", s.handleMe).Methods(http.MethodGet)
	api.HandleFunc("/audit", s.handleAudit).Methods(http.MethodGet)
}

// handleLogin answers POST /api/v1/login {"login", "password"}: 200 with
// the principal and the session cookie, 401 when wrong, 429 while locked.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.deps.Auth == nil {
		writeError(w, r, geo.Errorf(geo.EUNAVAILABLE, "authentication is not configured on this server"))
		return
	}
	var in struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	if in.Login == "" || in.Password == "" || len(in.Login) > 64 || len(in.Password) > 200 {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give login and password"))
		return
	}
	remote := remoteAddr(r)
	key := strings.ToLower(in.Login) + "|" + remote
	now := time.Now()
	if s.auth.locked(key, now) {
		writeError(w, r, geo.Errorf(geo.ETOOMANY, "too many failed logins for %s from this address: wait %d minutes or ask an admin ('gridd user passwd')", in.Login, int(failWindow/time.Minute)))
		return
	}
	ttl := s.cfg.SessionTTL
	if ttl <= 0 {
		ttl = defaultSessionTTL
	}
	sid, p, err := s.deps.Auth.Login(r.Context(), in.Login, in.Password, ttl, remote)
	if err != nil {
		if geo.ErrorCode(err) == geo.EUNAUTHORIZED {
			n := s.auth.fail(key, now)
			s.deps.Auth.AppendAudit(context.WithoutCancel(r.Context()), geo.AuditEntry{ActorKind: "system", ActorName: in.Login,
				Action: "session.login_failed", Target: "user:" + in.Login, Remote: remote, Status: http.StatusUnauthorized})
			select { // a growing delay: guessing gets slow
			case <-time.After(time.Duration(min(n, 8)) * failDelay):
			case <-r.Context().Done():
			}
		}
		writeError(w, r, err)
		return
	}
	s.auth.succeed(key)
	s.deps.Auth.AppendAudit(r.Context(), geo.AuditEntry{ActorKind: p.Kind, ActorID: p.ID, ActorName: p.Actor(), Credential: p.Credential,
		Action: "session.login", Target: "user:" + p.Name, Remote: remote, Status: http.StatusOK})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"), MaxAge: int(ttl / time.Second)})
	writeJSON(w, http.StatusOK, p)
}

// handleLogout answers POST /api/v1/logout: the session ends (a token
// stays valid: revoke it instead).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.deps.Auth.Logout(r.Context(), c.Value); err != nil {
			writeError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// handleMe answers GET /api/v1/me: who the caller is.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	writeJSON(w, http.StatusOK, p)
}

// handleAudit answers GET /api/v1/audit?from=&to=&actor=&action=&limit=
// (admins only), newest first.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aq := geo.AuditQuery{Actor: q.Get("actor"), Action: q.Get("action"), Limit: 100}
	var err error
	if aq.From, err = timeParam(q.Get("from"), "from"); err != nil {
		writeError(w, r, err)
		return
	}
	if aq.To, err = timeParam(q.Get("to"), "to"); err != nil {
		writeError(w, r, err)
		return
	}
	if v := q.Get("limit"); v != "" {
		if aq.Limit, err = strconv.Atoi(v); err != nil || aq.Limit < 1 || aq.Limit > 1000 {
			writeError(w, r, geo.Errorf(geo.EINVALID, "limit=%q: give 1 to 1000", v))
			return
		}
	}
	es, err := s.deps.Auth.Audit(r.Context(), aq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if es == nil {
		es = []geo.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
}

// incidentCode is the deepest area code of a case's location ("" when it
// lies outside every grid).
func incidentCode(loc geo.Location) string {
	if cs := loc.Codes(); len(cs) > 0 {
		return cs[0]
	}
	return ""
}

// scopedIncident refuses a case outside the caller's scope, and, to a
// worker, a case not assigned to their person.
func scopedIncident(r *http.Request, inc geo.Incident) error {
	p, ok := principalOf(r)
	if !ok {
		return nil
	}
	if !geo.InScope(p.Scope, incidentCode(inc.Location)) {
		return geo.Errorf(geo.EFORBIDDEN, "incident %d lies outside your scope %s", inc.ID, p.Scope)
	}
	if p.Role == worker && !assignedTo(p, inc) {
		return geo.Errorf(geo.EFORBIDDEN, "incident %d is not assigned to you", inc.ID)
	}
	return nil
}

func assignedTo(p geo.Principal, inc geo.Incident) bool {
	return p.PersonID != 0 && ((inc.Assignee != nil && inc.Assignee.ID == p.PersonID) || (inc.Supervisor != nil && inc.Supervisor.ID == p.PersonID))
}

// workerRole is the role a worker acts in on a case: the assignment's
// (or the escalation supervisor's) role of their person.
func workerRole(p geo.Principal, inc geo.Incident) geo.Role {
	switch {
	case p.PersonID == 0:
	case inc.Assignee != nil && inc.Assignee.ID == p.PersonID:
		return inc.Assignee.Role
	case inc.Supervisor != nil && inc.Supervisor.ID == p.PersonID:
		return inc.Supervisor.Role
	}
	return ""
}

// narrowIncidentFilter limits a list to the caller's scope (and a
// worker's to their own cases).
func narrowIncidentFilter(r *http.Request, f *geo.IncidentFilter) error {
	p, ok := principalOf(r)
	if !ok {
		return nil
	}
	area, err := geo.NarrowArea(p.Scope, f.Area)
	if err != nil {
		return err
	}
	f.Area = area
	if p.Role == worker {
		if p.PersonID == 0 {
			return geo.Errorf(geo.EFORBIDDEN, "this worker account is not linked to a person: an admin links it (gridd user add --person ID)")
		}
		f.AssigneeID = p.PersonID
	}
	return nil
}

// maskIncident hides the reporter's name and phone from roles that may
// not see personal data, and says which actions the caller may take.
func maskIncident(r *http.Request, inc geo.Incident) geo.Incident {
	inc.AllowedActions = callerActions(r, inc)
	if p, ok := principalOf(r); ok && p.Role.SeesPersonalData() {
		return inc
	}
	inc.Reporter = geo.Reporter{Name: geo.MaskName(inc.Reporter.Name), Phone: geo.MaskPhone(inc.Reporter.Phone)}
	return inc
}

func maskIncidents(r *http.Request, incs []geo.Incident) []geo.Incident {
	out := make([]geo.Incident, len(incs))
	for i, inc := range incs {
		out[i] = maskIncident(r, inc)
	}
	return out
}

// eventFilter returns which events a stream's subscriber may see: all
// for unlimited scopes, else those of cases in scope (a worker: assigned
// to them). A case's location never changes, so codes are remembered;
// assignments do, so a worker's are looked up each time.
func (s *Server) eventFilter(r *http.Request) func(geo.IncidentEvent) bool {
	p, ok := principalOf(r)
	if !ok || (p.Scope == "" && p.Role != worker) {
		return func(geo.IncidentEvent) bool { return true }
	}
	codes := map[int64]string{}
	return func(e geo.IncidentEvent) bool {
		code, known := codes[e.IncidentID]
		if known && p.Role != worker {
			return geo.InScope(p.Scope, code)
		}
		inc, err := s.deps.Incidents.Incident(r.Context(), e.IncidentID)
		if err != nil {
			return false
		}
		if len(codes) > 10_000 {
			clear(codes)
		}
		codes[e.IncidentID] = incidentCode(inc.Location)
		return scopedIncident(r, inc) == nil
	}
}
