package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// warnShare is the share of a time limit after which a case is
// "approaching" its deadline.
const warnShare = 0.8

// incidentSelect reads cases with their category, department and people.
const incidentSelect = `
SELECT i.id, i.category_code, c.name, i.state, i.version, i.lon, i.lat, i.srs, coalesce(i.generation, 0), i.match, i.distance_m, i.chain,
       i.address, i.description, i.reporter_name, i.reporter_phone, i.source, i.attachments, i.dept_code, d.name,
       i.assignee_id, coalesce(pa.name, ''), coalesce(pa.phone, ''), i.assignee_role, i.assignee_level, i.assignee_code, i.assign_reason,
       i.supervisor_id, coalesce(ps.name, ''), coalesce(ps.phone, ''), i.supervisor_level, i.supervisor_code,
       i.limit_value, i.limit_unit, i.warn_at, i.deadline_at, i.alert, i.escalations, i.rework_count, i.extension_hours,
       i.created_at, i.updated_at, i.handled_at, i.closed_at, i.token::text, c.verify, i.request_hash
FROM incidents i
JOIN categories c ON c.code = i.category_code
JOIN departments d ON d.code = i.dept_code
LEFT JOIN people pa ON pa.id = i.assignee_id
LEFT JOIN people ps ON ps.id = i.supervisor_id`

// incidentRow is a scanned case and what the workflow needs besides.
type incidentRow struct {
	geo.Incident
	verify      bool
	requestHash string
}

func (r *incidentRow) facts() geo.CaseFacts {
	c := geo.CaseFacts{State: r.State, VerifyRequired: r.verify}
	if r.Assignee != nil {
		c.AssigneeRole = r.Assignee.Role
	}
	return c
}

func scanIncident(row pgx.Row) (*incidentRow, error) {
	var r incidentRow
	in := &r.Incident
	var chain []byte
	var aID, sID *int64
	var aName, aPhone, aRole, aLevel, aCode, sName, sPhone, sLevel, sCode string
	var srs string
	err := row.Scan(&in.ID, &in.Category, &in.CategoryName, &in.State, &in.Version, &in.Lon, &in.Lat, &srs, &in.Location.Generation,
		&in.Location.Match, &in.Location.DistanceM, &chain,
		&in.Address, &in.Description, &in.Reporter.Name, &in.Reporter.Phone, &in.Source, &in.Attachments, &in.Dept, &in.DeptName,
		&aID, &aName, &aPhone, &aRole, &aLevel, &aCode, &in.AssignReason,
		&sID, &sName, &sPhone, &sLevel, &sCode,
		&in.Limit.Value, &in.Limit.Unit, &in.WarnAt, &in.DeadlineAt, &in.Alert, &in.Escalations, &in.ReworkCount, &in.ExtensionH,
		&in.CreatedAt, &in.UpdatedAt, &in.HandledAt, &in.ClosedAt, &in.Token, &r.verify, &r.requestHash)
	if err != nil {
		return nil, err
	}
	in.SRS = geo.Datum(srs)
	if len(chain) > 0 {
		gen := in.Location.Generation
		if err := json.Unmarshal(chain, &in.Location.Chain); err != nil {
			return nil, fmt.Errorf("incident %d chain: %w", in.ID, err)
		}
		in.Location.Generation = gen
	}
	if aID != nil {
		in.Assignee = &geo.Assignee{PersonRef: geo.PersonRef{ID: *aID, Name: aName, Phone: aPhone}, Role: geo.Role(aRole), Level: geo.Level(aLevel), Code: aCode}
	}
	if sID != nil {
		in.Supervisor = &geo.Assignee{PersonRef: geo.PersonRef{ID: *sID, Name: sName, Phone: sPhone}, Role: geo.SupervisorOf(geo.Level(sLevel)), Level: geo.Level(sLevel), Code: sCode}
	}
	if in.Attachments == nil {
		in.Attachments = []string{}
	}
	in.NextActions = geo.NextActions(r.facts())
	return &r, nil
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func getIncident(ctx context.Context, q querier, where string, args ...any) (*incidentRow, error) {
	r, err := scanIncident(q.QueryRow(ctx, incidentSelect+" "+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, geo.Errorf(geo.ENOTFOUND, "no such incident")
	}
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "read incident")
	}
	return r, nil
}

// Incident returns one case.
func (db *DB) Incident(ctx context.Context, id int64) (geo.Incident, error) {
	r, err := getIncident(ctx, db.Pool, "WHERE i.id = $1", id)
	if err != nil {
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			return geo.Incident{}, geo.Errorf(geo.ENOTFOUND, "no incident %d", id)
		}
		return geo.Incident{}, err
	}
	return r.Incident, nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IncidentByToken returns the case created with an Open311 token.
func (db *DB) IncidentByToken(ctx context.Context, token string) (geo.Incident, error) {
	if !uuidPattern.MatchString(token) {
		return geo.Incident{}, geo.Errorf(geo.ENOTFOUND, "no request with token %q", token)
	}
	r, err := getIncident(ctx, db.Pool, "WHERE i.token = $1::uuid", token)
	if err != nil {
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			return geo.Incident{}, geo.Errorf(geo.ENOTFOUND, "no request with token %q", token)
		}
		return geo.Incident{}, err
	}
	return r.Incident, nil
}

// areaColumns maps a code's level to the incidents column that holds it:
// the allowlist for the only identifier built into incident queries.
var areaColumns = map[geo.Level]string{
	geo.District: "i.district_code", geo.Street: "i.street_code", geo.Community: "i.community_code", geo.Grid: "i.grid_code",
}

// Incidents lists cases, newest first.
func (db *DB) Incidents(ctx context.Context, f geo.IncidentFilter) ([]geo.Incident, error) {
	where := "WHERE ($1::text[] IS NULL OR i.state = ANY ($1)) AND ($2 = '' OR i.category_code = $2) AND ($3::bigint[] IS NULL OR i.id = ANY ($3))" +
		" AND ($4::timestamptz IS NULL OR i.created_at >= $4) AND ($5::timestamptz IS NULL OR i.created_at < $5) AND ($6 = 0 OR i.id < $6)"
	args := []any{nil, f.Category, nil, nil, nil, f.AfterID}
	if len(f.States) > 0 {
		s := make([]string, len(f.States))
		for i, st := range f.States {
			s[i] = string(st)
		}
		args[0] = s
	}
	if len(f.IDs) > 0 {
		args[2] = f.IDs
	}
	if !f.From.IsZero() {
		args[3] = f.From
	}
	if !f.To.IsZero() {
		args[4] = f.To
	}
	if f.Area != "" {
		l, err := geo.LevelOfCode(f.Area)
		if err != nil {
			return nil, err
		}
		where += " AND " + areaColumns[l] + " = $7"
		args = append(args, f.Area)
	}
	if f.AssigneeID != 0 {
		args = append(args, f.AssigneeID)
		where += fmt.Sprintf(" AND i.assignee_id = $%d", len(args))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := db.Pool.Query(ctx, incidentSelect+" "+where+fmt.Sprintf(" ORDER BY i.id DESC LIMIT %d", f.Limit), args...)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list incidents")
	}
	defer rows.Close()
	out := []geo.Incident{}
	for rows.Next() {
		r, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r.Incident)
	}
	if err := rows.Err(); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list incidents")
	}
	return out, nil
}

const eventColumns = `id, incident_id, action, from_state, to_state, version, actor, role, note, at, coalesce(summons_id, 0), summons_state`

func scanEvents(rows pgx.Rows) ([]geo.IncidentEvent, error) {
	out := []geo.IncidentEvent{}
	defer rows.Close()
	for rows.Next() {
		var e geo.IncidentEvent
		if err := rows.Scan(&e.ID, &e.IncidentID, &e.Action, &e.FromState, &e.ToState, &e.Version, &e.Actor, &e.Role, &e.Note, &e.At,
			&e.SummonsID, &e.SummonsState); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "read incident events")
	}
	return out, nil
}

// IncidentEvents returns a case's history, oldest first.
func (db *DB) IncidentEvents(ctx context.Context, id int64) ([]geo.IncidentEvent, error) {
	if _, err := db.Incident(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, `SELECT `+eventColumns+` FROM incident_events WHERE incident_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "read incident events")
	}
	return scanEvents(rows)
}

// EventsSince returns up to limit events with an id above after, oldest
// first: what an SSE client missed.
func (db *DB) EventsSince(ctx context.Context, after int64, limit int) ([]geo.IncidentEvent, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+eventColumns+` FROM incident_events WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "read incident events")
	}
	return scanEvents(rows)
}

// candidatesSQL lists the people holding one of some roles at some codes,
// with their open cases (kept in person_load by a trigger, migration 0008)
// and duty windows. %s is the role condition.
const candidatesSQL = `
SELECT p.id, p.name, p.phone, a.role, a.area_code, a.post,
       coalesce((SELECT l.open_cases FROM person_load l WHERE l.person_id = p.id), 0),
       coalesce(array_agg(w.weekday ORDER BY w.weekday, w.start_min) FILTER (WHERE w.person_id IS NOT NULL), '{}'),
       coalesce(array_agg(w.start_min ORDER BY w.weekday, w.start_min) FILTER (WHERE w.person_id IS NOT NULL), '{}'),
       coalesce(array_agg(w.end_min ORDER BY w.weekday, w.start_min) FILTER (WHERE w.person_id IS NOT NULL), '{}')
FROM assignments a
JOIN people p ON p.id = a.person_id AND p.active
LEFT JOIN duty_windows w ON w.person_id = p.id
WHERE a.area_code = ANY ($1) AND %s
GROUP BY p.id, a.role, a.area_code, a.post`

var (
	candidatesByRolesSQL    = fmt.Sprintf(candidatesSQL, "a.role = ANY ($2)")
	candidatesByCategorySQL = fmt.Sprintf(candidatesSQL, "a.role = (SELECT role FROM categories WHERE code = $2)")
)

func scanCandidates(rows pgx.Rows) ([]geo.Candidate, error) {
	defer rows.Close()
	var out []geo.Candidate
	for rows.Next() {
		var c geo.Candidate
		var wd, st, en []int32
		if err := rows.Scan(&c.PersonID, &c.Name, &c.Phone, &c.Role, &c.Code, &c.Post, &c.OpenCases, &wd, &st, &en); err != nil {
			return nil, err
		}
		for i := range wd {
			c.Duty = append(c.Duty, geo.WeeklyWindow{Weekday: int(wd[i]), Start: geo.ClockTime(st[i]), End: geo.ClockTime(en[i])})
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// calendarSQL reads the working calendar: hours, the holidays from a week
// before $1 on, and the length of a working day.
const calendarSQL = `
SELECT coalesce((SELECT array_agg(weekday ORDER BY weekday, start_min) FROM work_hours), '{}'),
       coalesce((SELECT array_agg(start_min ORDER BY weekday, start_min) FROM work_hours), '{}'),
       coalesce((SELECT array_agg(end_min ORDER BY weekday, start_min) FROM work_hours), '{}'),
       coalesce((SELECT array_agg(day::text ORDER BY day) FROM holidays WHERE day >= $1::date - 7), '{}'),
       coalesce((SELECT array_agg(kind ORDER BY day) FROM holidays WHERE day >= $1::date - 7), '{}'),
       coalesce((SELECT array_agg(name ORDER BY day) FROM holidays WHERE day >= $1::date - 7), '{}'),
       (SELECT day_minutes FROM calendar_settings)`

func scanCalendar(row pgx.Row) (*geo.Calendar, error) {
	var wd, st, en []int32
	var days, kinds, names []string
	var c geo.Calendar
	if err := row.Scan(&wd, &st, &en, &days, &kinds, &names, &c.DayMinutes); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "read the working calendar")
	}
	for i := range wd {
		c.Hours = append(c.Hours, geo.WeeklyWindow{Weekday: int(wd[i]), Start: geo.ClockTime(st[i]), End: geo.ClockTime(en[i])})
	}
	for i := range days {
		c.Holidays = append(c.Holidays, geo.Holiday{Day: days[i], Kind: kinds[i], Name: names[i]})
	}
	if err := c.Validate(); err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "the stored working calendar is unusable: fix it with PUT /api/v1/calendar")
	}
	return &c, nil
}

// insertIncidentSQL stores a case and its first event in one statement;
// a retry with an Idempotency-Key already stored inserts nothing.
const insertIncidentSQL = `
WITH ins AS (
    INSERT INTO incidents (category_code, lon, lat, srs, generation, match, distance_m, grid_code, community_code, street_code,
        district_code, chain, address, description, reporter_name, reporter_phone, source, attachments, dept_code,
        assignee_id, assignee_role, assignee_level, assignee_code, assign_reason, limit_value, limit_unit, warn_at, deadline_at,
        created_at, updated_at, idempotency_key, request_hash)
    VALUES ($1, $2, $3, $4, nullif($5, 0), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $29, $30, $31)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, token, state, version),
ev AS (
    INSERT INTO incident_events (incident_id, action, to_state, version, actor, role, note, at)
    SELECT id, 'report', state, version, $32, $33, $34, $29 FROM ins),
au AS (
    INSERT INTO audit_log (actor_kind, actor_id, actor_name, credential, action, target, after, remote, status, at)
    SELECT $35, nullif($36, 0), $37, $38, $39, 'incident:' || id,
           jsonb_build_object('id', id, 'state', state, 'version', version) || $40::jsonb, $41, $42, $29
    FROM ins WHERE $35::text IS NOT NULL)
SELECT id, token::text FROM ins`

// CreateIncident stores a report as a case routed to the person
// responsible (see geo.ChooseAssignee), with its deadline from the
// category's time limit in the working calendar, and records the first
// event with it (and n.Audit, when set) in one statement, committed before
// it returns. With an
// Idempotency-Key already stored it returns that case and replayed=true
// (or ECONFLICT when the request differs); nothing new is written.
func (db *DB) CreateIncident(ctx context.Context, n geo.NewIncident) (inc geo.Incident, replayed bool, err error) {
	if err := n.Validate(); err != nil {
		return inc, false, err
	}
	// Two round trips in all, which is what a case costs on loopback:
	// one batch reads the category, the calendar and the candidates (in
	// one snapshot), one statement stores the case and its first event,
	// atomically and committed on its own. A retry with a stored key finds
	// it in that statement (ON CONFLICT), not in an extra query first.
	b := &pgx.Batch{}
	b.Queue(`SELECT now(), c.name, c.dept_code, d.name, c.role, c.limit_value, c.limit_unit, c.verify, c.active
		FROM categories c JOIN departments d ON d.code = c.dept_code WHERE c.code = $1`, n.Category)
	b.Queue(calendarSQL, time.Now().In(geo.ChinaTime).Format(time.DateOnly))
	b.Queue(candidatesByCategorySQL, n.Location.Codes(), n.Category)
	br := db.Pool.SendBatch(ctx, b)
	var now time.Time
	var cat geo.Category
	var role string
	err = br.QueryRow().Scan(&now, &cat.Name, &cat.Dept, &cat.DeptName, &role, &cat.Limit.Value, &cat.Limit.Unit, &cat.Verify, &cat.Active)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !cat.Active) {
		br.Close()
		// A retry of a case whose category has gone since is still a retry.
		if n.IdempotencyKey != "" {
			if prev, err := db.replay(ctx, n); err == nil {
				return prev, true, nil
			}
		}
		return inc, false, geo.Errorf(geo.EINVALID, "unknown or inactive category %q: GET /api/v1/categories lists them", n.Category)
	}
	if err != nil {
		br.Close()
		return inc, false, geo.WrapError(geo.EUNAVAILABLE, err, "read category")
	}
	cal, err := scanCalendar(br.QueryRow())
	if err != nil {
		br.Close()
		return inc, false, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return inc, false, geo.WrapError(geo.EUNAVAILABLE, err, "find who is responsible")
	}
	cands, err := scanCandidates(rows)
	if err != nil {
		br.Close()
		return inc, false, geo.WrapError(geo.EUNAVAILABLE, err, "find who is responsible")
	}
	if err := br.Close(); err != nil {
		return inc, false, geo.WrapError(geo.EUNAVAILABLE, err, "find who is responsible")
	}

	assignee, reason := geo.ChooseAssignee(n.Location.Chain, geo.Role(role), cands, now)
	warn, deadline, err := cal.Deadline(now, cat.Limit, warnShare)
	if err != nil {
		return inc, false, err
	}
	chain, _ := json.Marshal(n.Location.Chain)
	code := func(r *geo.AreaRef) string {
		if r == nil {
			return ""
		}
		return r.Code
	}
	var aID *int64
	var aRole, aLevel, aCode string
	if assignee != nil {
		aID, aRole, aLevel, aCode = &assignee.ID, string(assignee.Role), string(assignee.Level), assignee.Code
	}
	var key *string
	if n.IdempotencyKey != "" {
		key = &n.IdempotencyKey
	}
	if n.Attachments == nil {
		n.Attachments = []string{}
	}
	l := n.Location
	au := incidentAudit(n, cat.Dept, assignee, deadline)
	var token string
	err = db.Pool.QueryRow(ctx, insertIncidentSQL, n.Category, n.Lon, n.Lat, string(n.SRS), l.Generation, l.Match, l.DistanceM,
		code(l.Grid), code(l.Community), code(l.Street), code(l.District), chain, n.Address, n.Description,
		n.Reporter.Name, n.Reporter.Phone, n.Source, n.Attachments, cat.Dept,
		aID, aRole, aLevel, aCode, reason, cat.Limit.Value, cat.Limit.Unit, warn, deadline, now, key, n.RequestHash,
		n.Actor, string(n.Role), "", au.kind, au.id, au.name, au.credential, au.action, au.after, au.remote, au.status).Scan(&inc.ID, &token)
	if errors.Is(err, pgx.ErrNoRows) {
		// The key is stored already: a retry, or another request with the
		// same key that won the race (ON CONFLICT waited for it).
		prev, err := db.replay(ctx, n)
		return prev, err == nil, err
	}
	if err != nil {
		return inc, false, geo.WrapError(geo.EUNAVAILABLE, err, "store incident")
	}
	inc = geo.Incident{
		ID: inc.ID, Category: n.Category, CategoryName: cat.Name, State: geo.StateReported, Version: 1,
		Lon: n.Lon, Lat: n.Lat, SRS: n.SRS, Location: n.Location, Address: n.Address, Description: n.Description,
		Reporter: n.Reporter, Source: n.Source, Attachments: n.Attachments, Dept: cat.Dept, DeptName: cat.DeptName,
		Assignee: assignee, AssignReason: reason, Limit: cat.Limit, WarnAt: warn, DeadlineAt: deadline,
		CreatedAt: now, UpdatedAt: now, Token: token,
	}
	if assignee != nil {
		inc.Assignee.Post = ""
	}
	inc.NextActions = geo.NextActions(geo.CaseFacts{State: geo.StateReported, VerifyRequired: cat.Verify})
	return inc, false, nil
}

// auditParams are the audit-log columns insertIncidentSQL writes; kind
// nil writes none.
type auditParams struct {
	kind                             *string
	id                               int64
	name, credential, action, remote string
	after                            []byte
	status                           int
}

// incidentAudit is what the audit entry of a new case records beyond its
// id, state and version: where, what, to whom and until when.
func incidentAudit(n geo.NewIncident, dept string, assignee *geo.Assignee, deadline time.Time) auditParams {
	if n.Audit == nil {
		return auditParams{after: []byte("{}")}
	}
	e := n.Audit
	kind := e.ActorKind
	if kind == "" {
		kind = "system"
	}
	after := map[string]any{"category": n.Category, "grid": n.Location.Grid, "lon": n.Lon, "lat": n.Lat,
		"source": n.Source, "dept": dept, "deadline_at": deadline}
	if assignee != nil {
		after["assignee_id"] = assignee.ID
	}
	b, _ := json.Marshal(after)
	return auditParams{kind: &kind, id: e.ActorID, name: e.ActorName, credential: e.Credential, action: e.Action,
		remote: e.Remote, status: e.Status, after: b}
}

// replay returns the case stored under n's Idempotency-Key: ENOTFOUND when
// there is none, ECONFLICT when it was created by a different request.
func (db *DB) replay(ctx context.Context, n geo.NewIncident) (geo.Incident, error) {
	r, err := getIncident(ctx, db.Pool, "WHERE i.idempotency_key = $1", n.IdempotencyKey)
	if err != nil {
		return geo.Incident{}, err
	}
	if r.requestHash != n.RequestHash {
		return geo.Incident{}, geo.Errorf(geo.ECONFLICT, "Idempotency-Key %q was used for a different request (incident %d): use a new key for a new report", n.IdempotencyKey, r.ID)
	}
	return r.Incident, nil
}

// updateIncidentSQL writes a transition's effects and bumps the version.
const updateIncidentSQL = `
UPDATE incidents SET state = $2, version = version + 1, updated_at = $3,
    assignee_id = $4, assignee_role = $5, assignee_level = $6, assignee_code = $7, assign_reason = $8,
    handled_at = $9, closed_at = $10, rework_count = $11, extension_hours = $12, warn_at = $13, deadline_at = $14, alert = $15
WHERE id = $1 AND version = $16`

// Transition applies one action of the state machine to a case at the
// version the caller saw, records it with who, when and the note (and
// req.Audit in the same transaction), and returns the case as it is now. A stale version or an action the state
// does not allow is ECONFLICT; the wrong role is EFORBIDDEN; the database
// is left as it was on any error.
func (db *DB) Transition(ctx context.Context, id int64, req geo.TransitionRequest) (geo.Incident, error) {
	if err := req.Validate(); err != nil {
		return geo.Incident{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	r, err := getIncident(ctx, tx, "WHERE i.id = $1 FOR UPDATE OF i", id)
	if err != nil {
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			return geo.Incident{}, geo.Errorf(geo.ENOTFOUND, "no incident %d", id)
		}
		return geo.Incident{}, err
	}
	if req.IdempotencyKey != "" {
		// The case's row lock orders retries of one key: a second finds
		// the first's event and answers the case as it is now.
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incident_events WHERE incident_id = $1 AND idempotency_key = $2)`,
			id, req.IdempotencyKey).Scan(&done); err != nil {
			return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "read incident %d", id)
		}
		if done {
			return r.Incident, nil
		}
	}
	if r.Version != req.Version {
		return geo.Incident{}, geo.Errorf(geo.ECONFLICT, "incident %d is at version %d, not %d: someone changed it; reload it and try again", id, r.Version, req.Version)
	}
	to, err := geo.Transition(r.facts(), req.Action, req.Role)
	if err != nil {
		return geo.Incident{}, err
	}
	if err := openSummonsError(ctx, tx, id, req.Action); err != nil {
		return geo.Incident{}, err
	}
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	in := r.Incident
	a := in.Assignee
	reason := in.AssignReason
	handled, closed := in.HandledAt, in.ClosedAt
	rework, extH := in.ReworkCount, in.ExtensionH
	warn, deadline, alert := in.WarnAt, in.DeadlineAt, in.Alert
	switch req.Action {
	case geo.ActDispatch, geo.ActResume:
		if req.AssigneeID != 0 {
			if a, reason, err = pickPerson(ctx, tx, req.AssigneeID, in, req.Actor); err != nil {
				return geo.Incident{}, err
			}
		} else if a == nil {
			// Nobody was responsible at report time; maybe someone is now.
			rows, err := tx.Query(ctx, candidatesByCategorySQL, in.Location.Codes(), in.Category)
			if err != nil {
				return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "find who is responsible")
			}
			cands, err := scanCandidates(rows)
			if err != nil {
				return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "find who is responsible")
			}
			var need geo.Role
			if err := tx.QueryRow(ctx, `SELECT role FROM categories WHERE code = $1`, in.Category).Scan(&need); err != nil {
				return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "read category")
			}
			if a, reason = geo.ChooseAssignee(in.Location.Chain, need, cands, now); a == nil {
				return geo.Incident{}, geo.Errorf(geo.EINVALID, "nobody is responsible for incident %d (%s): give assignee_id", id, reason)
			}
		}
	case geo.ActHandle:
		handled = &now
	case geo.ActRework:
		rework++
		handled = nil
	case geo.ActClose, geo.ActCancel:
		closed = &now
	case geo.ActRequestExtension:
		extH = req.ExtendHours
	case geo.ActApproveExtension:
		cal, err := scanCalendar(tx.QueryRow(ctx, calendarSQL, deadline.In(geo.ChinaTime).Format(time.DateOnly)))
		if err != nil {
			return geo.Incident{}, err
		}
		ext := time.Duration(extH * float64(time.Hour))
		if deadline, err = cal.Extend(deadline, ext); err != nil {
			return geo.Incident{}, err
		}
		if warn, err = cal.Extend(warn, ext); err != nil {
			return geo.Incident{}, err
		}
		extH, alert = 0, ""
	case geo.ActRejectExtension:
		extH = 0
	}
	var aID *int64
	var aRole, aLevel, aCode string
	if a != nil {
		aID, aRole, aLevel, aCode = &a.ID, string(a.Role), string(a.Level), a.Code
	}
	tag, err := tx.Exec(ctx, updateIncidentSQL, id, string(to), now, aID, aRole, aLevel, aCode, reason,
		handled, closed, rework, extH, warn, deadline, alert, req.Version)
	if err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "update incident %d", id)
	}
	if tag.RowsAffected() != 1 {
		return geo.Incident{}, geo.Errorf(geo.ECONFLICT, "incident %d changed meanwhile: reload it and try again", id)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, nullif($10, ''))`, id, string(req.Action), string(in.State), string(to), req.Version+1,
		req.Actor, string(req.Role), req.Note, now, req.IdempotencyKey); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "record the transition")
	}
	out, err := getIncident(ctx, tx, "WHERE i.id = $1", id)
	if err != nil {
		return geo.Incident{}, err
	}
	if req.Audit != nil {
		e := *req.Audit
		e.Target, e.After = "incident:"+strconv.FormatInt(id, 10), mustJSON(out.Incident)
		if err := writeAudit(ctx, tx, &e); err != nil {
			return geo.Incident{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "commit the transition")
	}
	return out.Incident, nil
}

// pickPerson makes person id the assignee of in: they must be active; the
// role is the one they hold that the case needs, else their first
// handling role.
func pickPerson(ctx context.Context, tx pgx.Tx, id int64, in geo.Incident, actor string) (*geo.Assignee, string, error) {
	var a geo.Assignee
	var role, code *string
	err := tx.QueryRow(ctx, `
		SELECT p.id, p.name, p.phone, r.role, r.area_code
		FROM people p
		LEFT JOIN LATERAL (
		    SELECT a.role, a.area_code FROM assignments a
		    WHERE a.person_id = p.id AND a.role IN ('grid_chief', 'full_time', 'part_time', 'police', 'chengguan', 'market')
		    ORDER BY a.role = (SELECT role FROM categories WHERE code = $2) DESC, a.area_code = ANY ($3) DESC, a.role, a.area_code LIMIT 1) r ON true
		WHERE p.id = $1 AND p.active`, id, in.Category, in.Location.Codes()).Scan(&a.ID, &a.Name, &a.Phone, &role, &code)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", geo.Errorf(geo.EINVALID, "assignee %d is not an active person: GET /api/v1/people lists them", id)
	}
	if err != nil {
		return nil, "", geo.WrapError(geo.EUNAVAILABLE, err, "read person %d", id)
	}
	if role == nil {
		return nil, "", geo.Errorf(geo.EINVALID, "person %d (%s) holds no handling role: give them one first", id, a.Name)
	}
	a.Role, a.Code = geo.Role(*role), *code
	if l, err := geo.LevelOfCode(*code); err == nil {
		a.Level = l
	}
	return &a, fmt.Sprintf("dispatched by %s to %s %s (%s %s)", actor, a.Role.Label(), a.Name, a.Level, a.Code), nil
}
