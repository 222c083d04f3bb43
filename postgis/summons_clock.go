package postgis

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// decodeChain reads a case's stored chain.
func decodeChain(b []byte) (geo.Chain, error) {
	var c geo.Chain
	if err := json.Unmarshal(b, &c); err != nil {
		return c, geo.WrapError(geo.EINTERNAL, err, "read a case's chain")
	}
	return c, nil
}

// summonsMarkSQL flags the summons whose clock passed a mark and records
// an event for each in the case's history: $1 the pass's time, $2 the
// clock states. The two forms differ in the mark and the alert.
const (
	summonsApproachingSQL = `
WITH due AS (
    SELECT id FROM summons
    WHERE state = ANY ($2) AND alert = '' AND warn_at <= $1 AND deadline_at > $1
    ORDER BY warn_at LIMIT 1000 FOR UPDATE SKIP LOCKED
), upd AS (
    UPDATE summons s SET alert = 'approaching', updated_at = $1 FROM due WHERE s.id = due.id
    RETURNING s.id, s.incident_id, s.state
), ev AS (
    INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at, summons_id, summons_state)
    SELECT i.id, 'summons_approaching', i.state, i.state, i.version, 'scheduler', 'system', '80% of the summons'' time limit has passed',
           $1, upd.id, upd.state
    FROM upd JOIN incidents i ON i.id = upd.incident_id
)
SELECT count(*) FROM upd`
	summonsOverdueSQL = `
WITH due AS (
    SELECT id FROM summons
    WHERE state = ANY ($2) AND alert <> 'overdue' AND deadline_at <= $1
    ORDER BY deadline_at LIMIT 1000 FOR UPDATE SKIP LOCKED
), upd AS (
    UPDATE summons s SET alert = 'overdue', updated_at = $1 FROM due WHERE s.id = due.id
    RETURNING s.id, s.incident_id, s.state
), ev AS (
    INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at, summons_id, summons_state)
    SELECT i.id, 'summons_overdue', i.state, i.state, i.version, 'scheduler', 'system', 'the summons'' deadline has passed',
           $1, upd.id, upd.state
    FROM upd JOIN incidents i ON i.id = upd.incident_id
)
SELECT count(*) FROM upd`
)

// summonsEscalationDueSQL finds overdue summons never escalated.
const summonsEscalationDueSQL = `
SELECT s.id, s.dept_code, d.name, i.chain
FROM summons s JOIN incidents i ON i.id = s.incident_id JOIN departments d ON d.code = s.dept_code
WHERE s.state = ANY ($2) AND s.deadline_at <= $1
  AND NOT EXISTS (SELECT 1 FROM summons_escalations e WHERE e.summons_id = s.id)
ORDER BY s.deadline_at LIMIT 200
FOR UPDATE OF s SKIP LOCKED`

// summonsTick is the summons' part of a scheduler pass, in its
// transaction: approaching and overdue flags, and each overdue summons
// escalated once (its id is the key of summons_escalations: not again
// after an extension, a restart, or on another replica) to a supervisor of
// its department at the case's street, else its district.
func summonsTick(ctx context.Context, tx pgx.Tx, at time.Time, rep *geo.SchedulerReport) error {
	states := make([]string, len(geo.SummonsClockStates))
	for i, s := range geo.SummonsClockStates {
		states[i] = string(s)
	}
	if err := tx.QueryRow(ctx, summonsApproachingSQL, at, states).Scan(&rep.SummonsApproaching); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "flag approaching summons")
	}
	if err := tx.QueryRow(ctx, summonsOverdueSQL, at, states).Scan(&rep.SummonsOverdue); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "flag overdue summons")
	}
	type due struct {
		id         int64
		dept, name string
		chain      geo.Chain
	}
	rows, err := tx.Query(ctx, summonsEscalationDueSQL, at, states)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "find summons to escalate")
	}
	var dues []due
	for rows.Next() {
		var d due
		var chain []byte
		if err := rows.Scan(&d.id, &d.dept, &d.name, &chain); err != nil {
			rows.Close()
			return geo.WrapError(geo.EUNAVAILABLE, err, "find summons to escalate")
		}
		if d.chain, err = decodeChain(chain); err != nil {
			rows.Close()
			return err
		}
		dues = append(dues, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "find summons to escalate")
	}
	for _, d := range dues {
		crows, err := tx.Query(ctx, deptCandidatesSQL, d.chain.Codes(), string(geo.RoleDeptSupervisor), d.dept)
		if err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "find %s's supervisors", d.dept)
		}
		cands, err := scanCandidates(crows)
		if err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "find %s's supervisors", d.dept)
		}
		sup, reason := geo.ChooseDeptSupervisor(d.chain, d.name, cands)
		var sID *int64
		var sLevel, sCode string
		if sup != nil {
			sID, sLevel, sCode = &sup.ID, string(sup.Level), sup.Code
		}
		tag, err := tx.Exec(ctx, `INSERT INTO summons_escalations (summons_id, level, area_code, supervisor_id, reason, at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, d.id, sLevel, sCode, sID, reason, at)
		if err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "record escalation of summons %d", d.id)
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		var incID int64
		var state string
		if err := tx.QueryRow(ctx, `UPDATE summons SET supervisor_id = $2, supervisor_level = $3, supervisor_code = $4,
			escalations = escalations + 1, updated_at = $5 WHERE id = $1 RETURNING incident_id, state`, d.id, sID, sLevel, sCode, at).
			Scan(&incID, &state); err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "escalate summons %d", d.id)
		}
		if _, err := tx.Exec(ctx, insertSummonsEventSQL, incID, string(geo.ActSummonsEscalate), "scheduler", string(geo.RoleSystem),
			d.name+": "+reason, at, d.id, state); err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "record escalation of summons %d", d.id)
		}
		rep.SummonsEscalated++
	}
	return nil
}
