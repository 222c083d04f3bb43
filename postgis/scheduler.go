package postgis

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gridd/gridd/geo"
)

// clockStates are the states in which a case's time limit runs, as the
// database spells them.
func clockStates() []string {
	s := make([]string, len(geo.ClockStates))
	for i, st := range geo.ClockStates {
		s[i] = string(st)
	}
	return s
}

// markSQL flags the cases whose clock passed a mark ($3: warn_at or
// deadline_at, chosen from the two constants below) and records an event
// for each. Rows another transaction holds are skipped, to be seen next
// pass. $1 the pass's time, $2 the clock states.
const (
	markApproachingSQL = `
WITH due AS (
    SELECT id FROM incidents
    WHERE state = ANY ($2) AND alert = '' AND warn_at <= $1 AND deadline_at > $1
    ORDER BY warn_at LIMIT 1000 FOR UPDATE SKIP LOCKED
), upd AS (
    UPDATE incidents i SET alert = 'approaching', updated_at = $1 FROM due WHERE i.id = due.id
    RETURNING i.id, i.state, i.version
), ev AS (
    INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at)
    SELECT id, 'approaching', state, state, version, 'scheduler', 'system', '80% of the time limit has passed', $1 FROM upd
)
SELECT count(*) FROM upd`
	markOverdueSQL = `
WITH due AS (
    SELECT id FROM incidents
    WHERE state = ANY ($2) AND alert <> 'overdue' AND deadline_at <= $1
    ORDER BY deadline_at LIMIT 1000 FOR UPDATE SKIP LOCKED
), upd AS (
    UPDATE incidents i SET alert = 'overdue', updated_at = $1 FROM due WHERE i.id = due.id
    RETURNING i.id, i.state, i.version
), ev AS (
    INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at)
    SELECT id, 'overdue', state, state, version, 'scheduler', 'system', 'the deadline has passed', $1 FROM upd
)
SELECT count(*) FROM upd`
)

// escalationDueSQL finds overdue cases not yet escalated for their
// current deadline, locking them (skipping those locked elsewhere).
const escalationDueSQL = `
SELECT i.id, i.chain, i.assignee_level, i.deadline_at, i.state, i.version
FROM incidents i
WHERE i.state = ANY ($2) AND i.deadline_at <= $1
  AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.incident_id = i.id AND e.deadline_at = i.deadline_at)
ORDER BY i.deadline_at LIMIT 200
FOR UPDATE OF i SKIP LOCKED`

// SchedulerTick runs one pass of the deadline scheduler as of at (zero:
// the database's clock), in one transaction: cases past 80 % of their
// time limit are flagged approaching, cases past their deadline overdue,
// and each overdue case is escalated to the next level's supervisor
// (超时督办) once per deadline. The escalation is recorded under the key
// (case, deadline) in the same transaction that flags the case, so a
// crash, a restart or another replica running the same pass cannot
// escalate twice; summons (吹哨报到) are flagged and escalated in the same
// pass (summonsTick); FOR UPDATE SKIP LOCKED lets replicas share the work
// instead of queueing on each other's rows.
func (db *DB) SchedulerTick(ctx context.Context, at time.Time) (geo.SchedulerReport, error) {
	var rep geo.SchedulerReport
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	if at.IsZero() {
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&at); err != nil {
			return rep, geo.WrapError(geo.EUNAVAILABLE, err, "scheduler")
		}
	}
	states := clockStates()
	if err := tx.QueryRow(ctx, markApproachingSQL, at, states).Scan(&rep.Approaching); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "flag approaching cases")
	}
	if err := tx.QueryRow(ctx, markOverdueSQL, at, states).Scan(&rep.Overdue); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "flag overdue cases")
	}

	type due struct {
		id       int64
		chain    geo.Chain
		level    string
		deadline time.Time
		state    string
		version  int
	}
	rows, err := tx.Query(ctx, escalationDueSQL, at, states)
	if err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "find cases to escalate")
	}
	var dues []due
	codes := map[string]bool{}
	for rows.Next() {
		var d due
		var chain []byte
		if err := rows.Scan(&d.id, &chain, &d.level, &d.deadline, &d.state, &d.version); err != nil {
			rows.Close()
			return rep, err
		}
		if err := json.Unmarshal(chain, &d.chain); err != nil {
			rows.Close()
			return rep, err
		}
		for _, c := range d.chain.Codes() {
			codes[c] = true
		}
		dues = append(dues, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "find cases to escalate")
	}
	if err := summonsTick(ctx, tx, at, &rep); err != nil {
		return rep, err
	}
	if len(dues) == 0 {
		return rep, commit(ctx, tx, "scheduler")
	}
	var codeList []string
	for c := range codes {
		codeList = append(codeList, c)
	}
	crows, err := tx.Query(ctx, candidatesByRolesSQL, codeList,
		[]string{string(geo.RoleCommunitySupervisor), string(geo.RoleStreetSupervisor), string(geo.RoleDistrictSupervisor)})
	if err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "find supervisors")
	}
	cands, err := scanCandidates(crows)
	if err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "find supervisors")
	}
	for _, d := range dues {
		sup, reason := geo.ChooseSupervisor(d.chain, geo.Level(d.level), cands)
		var sID *int64
		var sLevel, sCode string
		if sup != nil {
			sID, sLevel, sCode = &sup.ID, string(sup.Level), sup.Code
		}
		tag, err := tx.Exec(ctx, `INSERT INTO escalations (incident_id, deadline_at, level, area_code, supervisor_id, reason, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, d.id, d.deadline, sLevel, sCode, sID, reason, at)
		if err != nil {
			return rep, geo.WrapError(geo.EUNAVAILABLE, err, "record escalation of incident %d", d.id)
		}
		if tag.RowsAffected() == 0 {
			continue // escalated already
		}
		if _, err := tx.Exec(ctx, `UPDATE incidents SET supervisor_id = $2, supervisor_level = $3, supervisor_code = $4,
			escalations = escalations + 1, updated_at = $5 WHERE id = $1`, d.id, sID, sLevel, sCode, at); err != nil {
			return rep, geo.WrapError(geo.EUNAVAILABLE, err, "escalate incident %d", d.id)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at)
			VALUES ($1, 'escalate', $2, $2, $3, 'scheduler', 'system', $4, $5)`, d.id, d.state, d.version, reason, at); err != nil {
			return rep, geo.WrapError(geo.EUNAVAILABLE, err, "record escalation of incident %d", d.id)
		}
		rep.Escalated++
	}
	return rep, commit(ctx, tx, "scheduler")
}

// commit commits tx with an error that says what was being done.
func commit(ctx context.Context, tx interface{ Commit(context.Context) error }, what string) error {
	if err := tx.Commit(ctx); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "%s: commit", what)
	}
	return nil
}
