package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// Duplicates: the flags are written by a trigger on incidents (migration
// 0013) in the statement that stores a case; here they are read, the
// rule is set, and a merge is made.

// SetDuplicatePolicy sets how near and how recent an open case must be
// for a new report to be flagged as its possible duplicate, for every
// gridd on the database (gridd serve writes its flags at start).
func (db *DB) SetDuplicatePolicy(ctx context.Context, p geo.DuplicatePolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE duplicate_settings SET within_m = $1, days = $2`, p.WithinM, p.Days); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "store the duplicate rule")
	}
	return nil
}

// DuplicatePolicy returns the rule in force.
func (db *DB) DuplicatePolicy(ctx context.Context) (geo.DuplicatePolicy, error) {
	var p geo.DuplicatePolicy
	if err := db.Pool.QueryRow(ctx, `SELECT within_m, days FROM duplicate_settings`).Scan(&p.WithinM, &p.Days); err != nil {
		return p, geo.WrapError(geo.EUNAVAILABLE, err, "read the duplicate rule")
	}
	return p, nil
}

// duplicateSQL reads a case's flags both ways, only those still open
// (a candidate closed since is no longer one), nearest first; and its
// merge links. $1 is the case.
const duplicateSQL = `
SELECT 'candidate', o.id, coalesce(nullif(o.grid_code, ''), nullif(o.community_code, ''), nullif(o.street_code, ''), o.district_code), o.category_code, c.name, o.state, o.address, o.description, d.distance_m, o.created_at, d.at
FROM duplicate_candidates d JOIN incidents o ON o.id = d.candidate_id JOIN categories c ON c.code = o.category_code
WHERE d.incident_id = $1 AND o.state NOT IN ('closed', 'cancelled')
UNION ALL
SELECT 'flagged', o.id, coalesce(nullif(o.grid_code, ''), nullif(o.community_code, ''), nullif(o.street_code, ''), o.district_code), o.category_code, c.name, o.state, o.address, o.description, d.distance_m, o.created_at, d.at
FROM duplicate_candidates d JOIN incidents o ON o.id = d.incident_id JOIN categories c ON c.code = o.category_code
WHERE d.candidate_id = $1 AND o.state NOT IN ('closed', 'cancelled')
ORDER BY 1, 9, 2`

// Duplicates returns what a case's drawer shows of its duplicates.
func (db *DB) Duplicates(ctx context.Context, id int64) (geo.Duplicates, error) {
	out := geo.Duplicates{IncidentID: id, Candidates: []geo.DuplicateCandidate{}, FlaggedBy: []geo.DuplicateCandidate{}, Merged: []int64{}}
	var into *int64
	err := db.Pool.QueryRow(ctx, `SELECT i.merged_into, coalesce((SELECT array_agg(m.id ORDER BY m.id) FROM incidents m WHERE m.merged_into = i.id), '{}')
		FROM incidents i WHERE i.id = $1`, id).Scan(&into, &out.Merged)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, geo.Errorf(geo.ENOTFOUND, "no incident %d", id)
	}
	if err != nil {
		return out, geo.WrapError(geo.EUNAVAILABLE, err, "read the duplicates of incident %d", id)
	}
	if into != nil {
		out.MergedInto = *into
	}
	rows, err := db.Pool.Query(ctx, duplicateSQL, id)
	if err != nil {
		return out, geo.WrapError(geo.EUNAVAILABLE, err, "read the duplicates of incident %d", id)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var c geo.DuplicateCandidate
		if err := rows.Scan(&kind, &c.ID, &c.Area, &c.Category, &c.CategoryName, &c.State, &c.Address, &c.Description, &c.DistanceM, &c.CreatedAt, &c.FlaggedAt); err != nil {
			return out, geo.WrapError(geo.EUNAVAILABLE, err, "read the duplicates of incident %d", id)
		}
		if kind == "candidate" {
			out.Candidates = append(out.Candidates, c)
		} else {
			out.FlaggedBy = append(out.FlaggedBy, c)
		}
	}
	if err := rows.Err(); err != nil {
		return out, geo.WrapError(geo.EUNAVAILABLE, err, "read the duplicates of incident %d", id)
	}
	return out, nil
}

// Survivor returns the case a merged case lives on in, following merges
// of merges; a case never merged is its own survivor.
func (db *DB) Survivor(ctx context.Context, id int64) (int64, error) {
	var out int64
	err := db.Pool.QueryRow(ctx, `
		WITH RECURSIVE chain (id, merged_into, depth) AS (
		    SELECT id, merged_into, 0 FROM incidents WHERE id = $1
		    UNION ALL
		    SELECT i.id, i.merged_into, c.depth + 1 FROM chain c JOIN incidents i ON i.id = c.merged_into WHERE c.depth < 100)
		SELECT id FROM chain WHERE merged_into IS NULL OR depth = 100 ORDER BY depth DESC LIMIT 1`, id).Scan(&out)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, geo.Errorf(geo.ENOTFOUND, "no incident %d", id)
	}
	if err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "follow the merges of incident %d", id)
	}
	return out, nil
}

// mergeSourceSQL closes the merged case as a duplicate, linked to the
// survivor; the person_load trigger frees its assignee.
const mergeSourceSQL = `
UPDATE incidents SET state = 'closed', version = version + 1, updated_at = $3, closed_at = $3, alert = '', merged_into = $2
WHERE id = $1 AND version = $4`

// mergeTargetSQL notes the merge on the survivor: its version moves, so a
// drawer open on it reloads what it shows.
const mergeTargetSQL = `UPDATE incidents SET version = version + 1, updated_at = $2 WHERE id = $1`

const mergeEventSQL = `INSERT INTO incident_events (incident_id, action, from_state, to_state, version, actor, role, note, at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

// MergeIncident merges case m.ID into case m.Into in one transaction: the
// merged case is closed with a link to the survivor (its history stays
// and ends with a merge event), the survivor records the merge, and the
// audit entry is written with them. Both must be open; a stale version is
// ECONFLICT. It returns the merged case as it is now.
func (db *DB) MergeIncident(ctx context.Context, m geo.MergeRequest) (geo.Incident, error) {
	if err := m.Validate(); err != nil {
		return geo.Incident{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	// Both rows locked, the smaller id first: two merges of the same pair
	// in opposite directions cannot deadlock, the second sees the first.
	lock := map[int64]*incidentRow{}
	for _, id := range []int64{min(m.ID, m.Into), max(m.ID, m.Into)} {
		r, err := getIncident(ctx, tx, "WHERE i.id = $1 FOR UPDATE OF i", id)
		if err != nil {
			if geo.ErrorCode(err) == geo.ENOTFOUND {
				return geo.Incident{}, geo.Errorf(geo.ENOTFOUND, "no incident %d", id)
			}
			return geo.Incident{}, err
		}
		lock[id] = r
	}
	from, into := lock[m.ID].Incident, lock[m.Into].Incident
	if from.Version != m.Version {
		return geo.Incident{}, geo.Errorf(geo.ECONFLICT, "incident %d is at version %d, not %d: someone changed it; reload it and try again", m.ID, from.Version, m.Version)
	}
	if err := geo.MergeCheck(from, into); err != nil {
		return geo.Incident{}, err
	}
	var now, before = from.UpdatedAt, mustJSON(from)
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	if _, err := tx.Exec(ctx, mergeSourceSQL, m.ID, m.Into, now, m.Version); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "merge incident %d", m.ID)
	}
	if _, err := tx.Exec(ctx, mergeTargetSQL, m.Into, now); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "merge into incident %d", m.Into)
	}
	note := fmt.Sprintf("merged into #%d as a duplicate", m.Into)
	if m.Note != "" {
		note += ": " + m.Note
	}
	if _, err := tx.Exec(ctx, mergeEventSQL, m.ID, string(geo.ActMerge), string(from.State), string(geo.StateClosed), m.Version+1,
		m.Actor, string(m.Role), note, now); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "record the merge")
	}
	absorbed := fmt.Sprintf("#%d merged into this case as a duplicate", m.ID)
	if m.Note != "" {
		absorbed += ": " + m.Note
	}
	if _, err := tx.Exec(ctx, mergeEventSQL, m.Into, string(geo.ActAbsorb), string(into.State), string(into.State), into.Version+1,
		m.Actor, string(m.Role), absorbed, now); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "record the merge")
	}
	out, err := getIncident(ctx, tx, "WHERE i.id = $1", m.ID)
	if err != nil {
		return geo.Incident{}, err
	}
	if m.Audit != nil {
		e := *m.Audit
		e.Target, e.Before = "incident:"+strconv.FormatInt(m.ID, 10), before
		e.After = mustJSON(map[string]any{"incident": out.Incident, "merged_into": m.Into})
		if err := writeAudit(ctx, tx, &e); err != nil {
			return geo.Incident{}, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return geo.Incident{}, geo.WrapError(geo.EUNAVAILABLE, err, "commit the merge")
	}
	return out.Incident, nil
}
