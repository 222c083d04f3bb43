package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// summonsSelect reads summons with their department, people and case.
const summonsSelect = `
SELECT s.id, s.incident_id, s.dept_code, d.name, s.state, s.version, s.task, s.answer,
       s.assignee_id, coalesce(pa.name, ''), coalesce(pa.phone, ''), s.assignee_role, s.assignee_level, s.assignee_code, s.assign_reason,
       s.supervisor_id, coalesce(ps.name, ''), coalesce(ps.phone, ''), s.supervisor_level, s.supervisor_code,
       s.limit_value, s.limit_unit, s.warn_at, s.deadline_at, s.alert, s.escalations, s.rework_count, s.extension_hours,
       s.summoned_by, s.created_at, s.updated_at, s.accepted_at, s.handled_at,
       coalesce(s.handled_at, now()) > s.deadline_at AND s.state <> 'cancelled',
       i.state, i.category_code, c.name, i.grid_code, i.address
FROM summons s
JOIN departments d ON d.code = s.dept_code
JOIN incidents i ON i.id = s.incident_id
JOIN categories c ON c.code = i.category_code
LEFT JOIN people pa ON pa.id = s.assignee_id
LEFT JOIN people ps ON ps.id = s.supervisor_id`

func scanSummons(row pgx.Row) (geo.Summons, error) {
	var s geo.Summons
	var aID, sID *int64
	var aName, aPhone, aRole, aLevel, aCode, sName, sPhone, sLevel, sCode string
	err := row.Scan(&s.ID, &s.IncidentID, &s.Dept, &s.DeptName, &s.State, &s.Version, &s.Task, &s.Answer,
		&aID, &aName, &aPhone, &aRole, &aLevel, &aCode, &s.AssignReason,
		&sID, &sName, &sPhone, &sLevel, &sCode,
		&s.Limit.Value, &s.Limit.Unit, &s.WarnAt, &s.DeadlineAt, &s.Alert, &s.Escalations, &s.ReworkCount, &s.ExtensionH,
		&s.SummonedBy, &s.CreatedAt, &s.UpdatedAt, &s.AcceptedAt, &s.HandledAt, &s.Late,
		&s.CaseState, &s.Category, &s.CategoryName, &s.GridCode, &s.Address)
	if err != nil {
		return s, err
	}
	if aID != nil {
		s.Assignee = &geo.Assignee{PersonRef: geo.PersonRef{ID: *aID, Name: aName, Phone: aPhone}, Role: geo.Role(aRole),
			Level: geo.Level(aLevel), Code: aCode}
	}
	if sID != nil {
		s.Supervisor = &geo.Assignee{PersonRef: geo.PersonRef{ID: *sID, Name: sName, Phone: sPhone}, Role: geo.RoleDeptSupervisor,
			Level: geo.Level(sLevel), Code: sCode}
	}
	s.NextActions = geo.SummonsNextActions(s.State, geo.SummonsActor{Role: geo.RoleOperator, Assignee: true, Supervisor: true})
	return s, nil
}

func getSummons(ctx context.Context, q querier, id int64, lock bool) (geo.Summons, error) {
	sql := summonsSelect + ` WHERE s.id = $1`
	if lock {
		sql += ` FOR UPDATE OF s`
	}
	s, err := scanSummons(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, geo.Errorf(geo.ENOTFOUND, "no summons %d", id)
	}
	if err != nil {
		return s, geo.WrapError(geo.EUNAVAILABLE, err, "read summons %d", id)
	}
	return s, nil
}

// Summons returns one summons.
func (db *DB) Summons(ctx context.Context, id int64) (geo.Summons, error) {
	return getSummons(ctx, db.Pool, id, false)
}

// SummonsList lists summons: a department's queue, a person's, a case's.
// Open ones first, the nearest deadline first; then the most recent.
func (db *DB) SummonsList(ctx context.Context, f geo.SummonsFilter) ([]geo.Summons, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 1000
	}
	states := make([]string, 0, len(f.States))
	for _, s := range f.States {
		states = append(states, string(s))
	}
	rows, err := db.Pool.Query(ctx, summonsSelect+`
		WHERE ($1 = '' OR s.dept_code = $1) AND ($2 = '' OR i.grid_code LIKE $2 || '%' OR i.district_code LIKE $2 || '%')
		  AND (cardinality($3::text[]) = 0 OR s.state = ANY ($3)) AND ($4 = 0 OR s.assignee_id = $4) AND ($5 = 0 OR s.incident_id = $5)
		ORDER BY s.state IN ('handled', 'cancelled'), CASE WHEN s.state IN ('handled', 'cancelled') THEN NULL ELSE s.deadline_at END,
		         s.id DESC
		LIMIT $6`, f.Dept, f.Area, states, f.AssigneeID, f.IncidentID, f.Limit)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list summons")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Summons, error) { return scanSummons(r) })
}

// Departments lists the departments with the role that takes their summons.
func (db *DB) Departments(ctx context.Context) ([]geo.Department, error) {
	rows, err := db.Pool.Query(ctx, `SELECT code, name, summons_role FROM departments ORDER BY code`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list departments")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Department, error) {
		var d geo.Department
		err := r.Scan(&d.Code, &d.Name, &d.SummonsRole)
		return d, err
	})
}

// deptCandidatesSQL lists a department's people holding role $2 at the
// codes $1 ($3 the department), like candidatesSQL.
var deptCandidatesSQL = fmt.Sprintf(candidatesSQL, "a.role = $2 AND p.dept_code = $3")

// insertSummonsEventSQL records an event about a summons in its case's
// history, with the case's state and version as they are.
const insertSummonsEventSQL = `
INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at, summons_id, summons_state)
SELECT i.id, $2, i.state, i.state, i.version, $3, $4, $5, $6, $7, $8 FROM incidents i WHERE i.id = $1`

// Summon blows the whistle on case id (吹哨): one summons per department
// named, each routed to the department's person responsible for the
// case's place (the department's summons role, grid → district, A post
// first, like a case) with its own deadline in working time, recorded in
// the case's history, all in one transaction. The caller is the centre's
// operator or, for a worker, a supervisor of an area on the case's chain
// (req.PersonID). A department with an open summons on the case already
// is ECONFLICT; nothing is stored on any error.
func (db *DB) Summon(ctx context.Context, id int64, req geo.SummonsRequest) ([]geo.Summons, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	r, err := getIncident(ctx, tx, "WHERE i.id = $1 FOR UPDATE OF i", id)
	if err != nil {
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			return nil, geo.Errorf(geo.ENOTFOUND, "no incident %d", id)
		}
		return nil, err
	}
	in := r.Incident
	if in.Version != req.Version {
		return nil, geo.Errorf(geo.ECONFLICT, "incident %d is at version %d, not %d: reload it and try again", id, in.Version, req.Version)
	}
	if !slices.Contains(geo.SummonableStates, in.State) {
		return nil, geo.Errorf(geo.ECONFLICT, "incident %d is %s: departments are summoned on a registered case that is not yet closed", id, in.State)
	}
	if req.Role != geo.RoleOperator {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM assignments WHERE person_id = $1 AND area_code = ANY ($2)
			AND role IN ('community_supervisor', 'street_supervisor', 'district_supervisor'))`, req.PersonID, in.Location.Codes()).Scan(&ok); err != nil {
			return nil, geo.WrapError(geo.EUNAVAILABLE, err, "check the caller's responsibilities")
		}
		if !ok {
			return nil, geo.Errorf(geo.EFORBIDDEN, "only the centre's operator or a supervisor of the case's community, street or district may summon departments")
		}
	}
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	cal, err := scanCalendar(tx.QueryRow(ctx, calendarSQL, now.In(geo.ChinaTime).Format(time.DateOnly)))
	if err != nil {
		return nil, err
	}
	warn, deadline, err := cal.Deadline(now, *req.Limit, warnShare)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, dept := range req.Depts {
		var name, role string
		err := tx.QueryRow(ctx, `SELECT name, summons_role FROM departments WHERE code = $1`, dept).Scan(&name, &role)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, geo.Errorf(geo.EINVALID, "unknown department %q: GET /api/v1/departments lists them", dept)
		}
		if err != nil {
			return nil, geo.WrapError(geo.EUNAVAILABLE, err, "read department %s", dept)
		}
		rows, err := tx.Query(ctx, deptCandidatesSQL, in.Location.Codes(), role, dept)
		if err != nil {
			return nil, geo.WrapError(geo.EUNAVAILABLE, err, "find %s's person responsible", dept)
		}
		cands, err := scanCandidates(rows)
		if err != nil {
			return nil, geo.WrapError(geo.EUNAVAILABLE, err, "find %s's person responsible", dept)
		}
		a, reason := geo.ChooseAssignee(in.Location.Chain, geo.Role(role), cands, now)
		var aID *int64
		var aRole, aLevel, aCode string
		if a != nil {
			aID, aRole, aLevel, aCode = &a.ID, string(a.Role), string(a.Level), a.Code
		}
		var sid int64
		err = tx.QueryRow(ctx, `INSERT INTO summons (incident_id, dept_code, task, assignee_id, assignee_role, assignee_level, assignee_code,
			assign_reason, limit_value, limit_unit, warn_at, deadline_at, summoned_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id`,
			id, dept, req.Task, aID, aRole, aLevel, aCode, reason, req.Limit.Value, req.Limit.Unit, warn, deadline, req.Actor, now).Scan(&sid)
		if err != nil {
			if geo.ErrorCode(constraintError(err, "")) == geo.ECONFLICT {
				return nil, geo.Errorf(geo.ECONFLICT, "%s (%s) has an open summons on incident %d already: follow that one", name, dept, id)
			}
			return nil, constraintError(err, "summons of "+dept)
		}
		note := fmt.Sprintf("%s: %s (%s)", name, req.Task, reason)
		if _, err := tx.Exec(ctx, insertSummonsEventSQL, id, string(geo.ActSummon), req.Actor, string(req.Role), note, now, sid,
			string(geo.SummonsDispatched)); err != nil {
			return nil, geo.WrapError(geo.EUNAVAILABLE, err, "record the summons")
		}
		ids = append(ids, sid)
	}
	out := make([]geo.Summons, 0, len(ids))
	for _, sid := range ids {
		s, err := getSummons(ctx, tx, sid, false)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if req.Audit != nil {
		e := *req.Audit
		e.Target, e.After = "incident:"+strconv.FormatInt(id, 10), mustJSON(out)
		if err := writeAudit(ctx, tx, &e); err != nil {
			return nil, err
		}
	}
	return out, commit(ctx, tx, "summon departments")
}

// TransitionSummons applies one action to a summons at the version the
// caller saw and records it in the case's history, in one transaction.
// Who may act is the caller's business to state (req.Who) and the state
// machine's to judge (geo.SummonsTransition).
func (db *DB) TransitionSummons(ctx context.Context, id int64, req geo.SummonsTransitionRequest) (geo.Summons, error) {
	if err := req.Validate(); err != nil {
		return geo.Summons{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.Summons{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	s, err := getSummons(ctx, tx, id, true)
	if err != nil {
		return s, err
	}
	if s.Version != req.Version {
		return s, geo.Errorf(geo.ECONFLICT, "summons %d is at version %d, not %d: someone changed it; reload it and try again", id, s.Version, req.Version)
	}
	to, err := geo.SummonsTransition(s.State, req.Action, req.Who)
	if err != nil {
		return s, err
	}
	if !s.CaseState.Open() && req.Action != geo.SumCancel {
		return s, geo.Errorf(geo.ECONFLICT, "incident %d is %s: its summons can only be cancelled", s.IncidentID, s.CaseState)
	}
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return s, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	a, reason := s.Assignee, s.AssignReason
	accepted, handled := s.AcceptedAt, s.HandledAt
	answer, rework, extH := s.Answer, s.ReworkCount, s.ExtensionH
	warn, deadline, alert := s.WarnAt, s.DeadlineAt, s.Alert
	switch req.Action {
	case geo.SumAccept:
		accepted = &now
	case geo.SumHandle:
		handled, answer = &now, req.Note
	case geo.SumRework:
		rework++
		handled, accepted = nil, nil
	case geo.SumRequestExtension:
		extH = req.ExtendHours
	case geo.SumRejectExtension:
		extH = 0
	case geo.SumApproveExtension:
		cal, err := scanCalendar(tx.QueryRow(ctx, calendarSQL, deadline.In(geo.ChinaTime).Format(time.DateOnly)))
		if err != nil {
			return s, err
		}
		ext := time.Duration(extH * float64(time.Hour))
		if deadline, err = cal.Extend(deadline, ext); err != nil {
			return s, err
		}
		if warn, err = cal.Extend(warn, ext); err != nil {
			return s, err
		}
		extH, alert = 0, ""
	case geo.SumRedispatch:
		if a, reason, err = redispatchSummons(ctx, tx, s, req.AssigneeID, req.Actor, now); err != nil {
			return s, err
		}
		accepted = nil
	}
	var aID *int64
	var aRole, aLevel, aCode string
	if a != nil {
		aID, aRole, aLevel, aCode = &a.ID, string(a.Role), string(a.Level), a.Code
	}
	tag, err := tx.Exec(ctx, `UPDATE summons SET state = $2, version = version + 1, updated_at = $3, assignee_id = $4, assignee_role = $5,
		assignee_level = $6, assignee_code = $7, assign_reason = $8, accepted_at = $9, handled_at = $10, answer = $11, rework_count = $12,
		extension_hours = $13, warn_at = $14, deadline_at = $15, alert = $16 WHERE id = $1 AND version = $17`,
		id, string(to), now, aID, aRole, aLevel, aCode, reason, accepted, handled, answer, rework, extH, warn, deadline, alert, req.Version)
	if err != nil {
		return s, geo.WrapError(geo.EUNAVAILABLE, err, "update summons %d", id)
	}
	if tag.RowsAffected() != 1 {
		return s, geo.Errorf(geo.ECONFLICT, "summons %d changed meanwhile: reload it and try again", id)
	}
	note := s.DeptName
	if strings.TrimSpace(req.Note) != "" {
		note += ": " + req.Note
	}
	if req.Action == geo.SumRedispatch {
		note += " (" + reason + ")"
	}
	if _, err := tx.Exec(ctx, insertSummonsEventSQL, s.IncidentID, string(geo.SummonsEvent(req.Action)), req.Actor,
		string(req.Who.Role), note, now, id, string(to)); err != nil {
		return s, geo.WrapError(geo.EUNAVAILABLE, err, "record the summons action")
	}
	out, err := getSummons(ctx, tx, id, false)
	if err != nil {
		return out, err
	}
	if req.Audit != nil {
		e := *req.Audit
		e.Target, e.After = "summons:"+strconv.FormatInt(id, 10), mustJSON(out)
		if err := writeAudit(ctx, tx, &e); err != nil {
			return out, err
		}
	}
	return out, commit(ctx, tx, "summons action")
}

// redispatchSummons finds the summons' new assignee: person pid, who must
// be an active member of its department, or (pid 0) the department's
// person responsible now.
func redispatchSummons(ctx context.Context, tx pgx.Tx, s geo.Summons, pid int64, actor string, now time.Time) (*geo.Assignee, string, error) {
	var role string
	var chainJSON []byte
	if err := tx.QueryRow(ctx, `SELECT d.summons_role, i.chain FROM departments d, incidents i WHERE d.code = $1 AND i.id = $2`,
		s.Dept, s.IncidentID).Scan(&role, &chainJSON); err != nil {
		return nil, "", geo.WrapError(geo.EUNAVAILABLE, err, "read summons %d", s.ID)
	}
	chain, err := decodeChain(chainJSON)
	if err != nil {
		return nil, "", err
	}
	if pid != 0 {
		var a geo.Assignee
		var code *string
		err := tx.QueryRow(ctx, `SELECT p.id, p.name, p.phone,
			(SELECT a.area_code FROM assignments a WHERE a.person_id = p.id AND a.role = $3 ORDER BY a.area_code = ANY ($4) DESC, a.area_code LIMIT 1)
			FROM people p WHERE p.id = $1 AND p.active AND p.dept_code = $2`, pid, s.Dept, role, chain.Codes()).Scan(&a.ID, &a.Name, &a.Phone, &code)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, "", geo.Errorf(geo.EINVALID, "assignee %d is not an active person of %s (%s): GET /api/v1/people lists them", pid, s.DeptName, s.Dept)
		}
		if err != nil {
			return nil, "", geo.WrapError(geo.EUNAVAILABLE, err, "read person %d", pid)
		}
		a.Role = geo.Role(role)
		if code != nil {
			a.Code = *code
			a.Level, _ = geo.LevelOfCode(*code)
		}
		return &a, fmt.Sprintf("redispatched by %s to %s %s", actor, a.Role.Label(), a.Name), nil
	}
	rows, err := tx.Query(ctx, deptCandidatesSQL, chain.Codes(), role, s.Dept)
	if err != nil {
		return nil, "", geo.WrapError(geo.EUNAVAILABLE, err, "find %s's person responsible", s.Dept)
	}
	cands, err := scanCandidates(rows)
	if err != nil {
		return nil, "", geo.WrapError(geo.EUNAVAILABLE, err, "find %s's person responsible", s.Dept)
	}
	a, reason := geo.ChooseAssignee(chain, geo.Role(role), cands, now)
	if a == nil {
		return nil, "", geo.Errorf(geo.EINVALID, "nobody of %s is responsible here (%s): give assignee_id", s.Dept, reason)
	}
	return a, reason, nil
}

// openSummonsError is ECONFLICT naming a case's open summons when action
// a must wait for them (geo.SummonsBlocks), nil otherwise.
func openSummonsError(ctx context.Context, tx pgx.Tx, id int64, a geo.Action) error {
	if !geo.SummonsBlocks(a) {
		return nil
	}
	var open []string
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(d.name || ' #' || s.id || ' ' || s.state ORDER BY s.id), '{}')
		FROM summons s JOIN departments d ON d.code = s.dept_code
		WHERE s.incident_id = $1 AND s.state NOT IN ('handled', 'cancelled')`, id).Scan(&open); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "read the summons of incident %d", id)
	}
	if len(open) == 0 {
		return nil
	}
	return geo.Errorf(geo.ECONFLICT, "incident %d cannot %s while %d summons are open (%s): the departments report back first, or the centre cancels them",
		id, a, len(open), strings.Join(open, ", "))
}

// summonsMetricsSQL gives each department's figures for the summons made
// in [$2, $3) on cases under area $1 ("" for all), as of $4.
const summonsMetricsSQL = `
SELECT d.code, d.name,
       count(s.id),
       count(s.id) FILTER (WHERE s.state NOT IN ('handled', 'cancelled')),
       count(s.id) FILTER (WHERE s.state NOT IN ('handled', 'cancelled') AND s.deadline_at <= $4),
       count(s.id) FILTER (WHERE s.state = 'handled'),
       count(s.id) FILTER (WHERE s.state = 'handled' AND s.handled_at <= s.deadline_at),
       count(s.id) FILTER (WHERE s.state = 'returned' OR EXISTS (SELECT 1 FROM incident_events e
                           WHERE e.summons_id = s.id AND e.action = 'summons_return')),
       count(s.id) FILTER (WHERE s.escalations > 0),
       coalesce(avg(extract(epoch FROM s.accepted_at - s.created_at) / 3600) FILTER (WHERE s.accepted_at IS NOT NULL), 0),
       coalesce(avg(extract(epoch FROM s.handled_at - s.created_at) / 3600) FILTER (WHERE s.state = 'handled'), 0)
FROM departments d
LEFT JOIN (summons s JOIN incidents i ON i.id = s.incident_id AND ($1 = '' OR i.grid_code LIKE $1 || '%' OR i.district_code LIKE $1 || '%'))
       ON s.dept_code = d.code AND s.created_at >= $2 AND s.created_at < $3
GROUP BY d.code, d.name ORDER BY d.code`

// SummonsMetrics returns every department's 吹哨报到 figures over a
// period: summoned, open, overdue, handled, on time, returned, escalated,
// and the mean hours to report (签收) and to finish.
func (db *DB) SummonsMetrics(ctx context.Context, q geo.MetricsQuery) ([]geo.DeptMetrics, error) {
	if q.Now.IsZero() {
		q.Now = time.Now()
	}
	rows, err := db.Pool.Query(ctx, summonsMetricsSQL, q.Area, q.From, q.To, q.Now)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "summons metrics")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.DeptMetrics, error) {
		var m geo.DeptMetrics
		err := r.Scan(&m.Dept, &m.DeptName, &m.Summoned, &m.Open, &m.Overdue, &m.Handled, &m.OnTime, &m.Returned, &m.Escalated,
			&m.ResponseHours, &m.HandleHours)
		if m.Handled > 0 {
			m.OnTimeRate = float64(m.OnTime) / float64(m.Handled)
		}
		return m, err
	})
}
