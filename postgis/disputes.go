package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// recordDisputesSQL turns the merge's overlap and gap decisions between
// admin areas that had more than one candidate area into disputes. A
// dispute lying in a standing decision that names one of its areas
// carries that decision: the merge followed it (or, for a transfer whose
// day is still to come, will), so it does not open again.
const recordDisputesSQL = `
INSERT INTO merge_disputes (generation, level, kind, parent, areas, given_to, rule, area_m2, geom, decision_id)
SELECT current_setting('gridd.gen')::int, d.level, d.kind, coalesce(d.parent, ''), d.areas, d.code, d.rule, d.area, d.geom,
       coalesce(d.ruling, (SELECT max(b.id) FROM border_decisions b
                           WHERE b.superseded_by IS NULL AND b.level = d.level AND b.to_code = ANY(d.areas)
                             AND ST_Intersects(b.geom, ST_PointOnSurface(d.geom))))
FROM (
    SELECT level, kind, code, parent, area, rule, ruling, ARRAY[code] || string_to_array(rivals, ',') AS areas,
           ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3)) AS geom
    FROM mg_decision
    WHERE level IN ('district', 'street', 'community') AND kind IN ('overlap', 'gap')
      AND coalesce(rivals, '') <> '' AND area >= current_setting('gridd.dispute_area')::float8
      AND geom IS NOT NULL AND NOT ST_IsEmpty(geom)
) d
WHERE NOT ST_IsEmpty(d.geom)`

// disputeColumns reads a dispute with its decision (scanDispute scans
// it); disputeGeometry adds its piece as GeoJSON, for one dispute's read.
const (
	disputeColumns  = `SELECT ` + disputeFields + ` FROM merge_disputes d LEFT JOIN border_decisions b ON b.id = d.decision_id`
	disputeGeometry = `SELECT ` + disputeFields + `, ST_AsGeoJSON(d.geom, 7) FROM merge_disputes d LEFT JOIN border_decisions b ON b.id = d.decision_id`
)

const disputeFields = `d.id, d.generation, d.level, d.kind, d.parent, d.areas, d.given_to, d.rule, d.area_m2,
       ARRAY[ST_XMin(d.geom), ST_YMin(d.geom), ST_XMax(d.geom), ST_YMax(d.geom)],
       current_date::text,
       b.id, coalesce(b.level, ''), coalesce(b.action, ''), coalesce(b.to_code, ''), coalesce(b.from_code, ''),
       coalesce(b.effective_on::text, ''), coalesce(b.note, ''), coalesce(b.decided_by, ''), b.decided_at, coalesce(b.generation, 0)`

// scanDispute scans disputeColumns, and with extra the columns after them.
func scanDispute(row pgx.Row, extra ...any) (geo.Dispute, error) {
	var d geo.Dispute
	var today string
	var decID *int64
	var dec geo.BorderDecision
	var decidedAt *time.Time
	dest := append([]any{&d.ID, &d.Generation, &d.Level, &d.Kind, &d.Parent, &d.Areas, &d.GivenTo, &d.Rule, &d.AreaM2, &d.BBox,
		&today, &decID, &dec.Level, &dec.Action, &dec.To, &dec.From, &dec.EffectiveOn, &dec.Note, &dec.DecidedBy, &decidedAt, &dec.Generation}, extra...)
	if err := row.Scan(dest...); err != nil {
		return d, err
	}
	if decID != nil {
		dec.ID = *decID
		if decidedAt != nil {
			dec.DecidedAt = *decidedAt
		}
		d.Decision = &dec
	}
	d.State, d.Applied = geo.DisputeState(d.GivenTo, d.Decision, today)
	return d, nil
}

// Disputes lists a generation's disputes, the largest first per level.
func (db *DB) Disputes(ctx context.Context, f geo.DisputeFilter) ([]geo.Dispute, error) {
	gen, err := db.resolveGeneration(ctx, f.Generation)
	if err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, disputeColumns+`
		WHERE d.generation = $1 AND ($2 = '' OR d.level = $2)
		ORDER BY array_position(ARRAY['district', 'street', 'community'], d.level), d.area_m2 DESC, d.id`, gen, f.Level)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list the disputes of generation %d", gen)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Dispute, error) { return scanDispute(r) })
	if err != nil {
		return nil, err
	}
	out := []geo.Dispute{}
	for _, d := range all {
		if f.State == "" || d.State == f.State || (f.State == "unresolved" && d.Unresolved()) {
			out = append(out, d)
		}
	}
	return out, nil
}

// Dispute reads one dispute with its piece as GeoJSON.
func (db *DB) Dispute(ctx context.Context, id int64) (geo.Dispute, error) {
	var geom []byte
	d, err := scanDispute(db.Pool.QueryRow(ctx, disputeGeometry+` WHERE d.id = $1`, id), &geom)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, geo.Errorf(geo.ENOTFOUND, "no dispute %d: 'gridd disputes' lists them", id)
	}
	if err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "read dispute %d", id)
	}
	d.Geometry = geom
	return d, nil
}

// ResolveDispute records GIS staff's decision on a dispute, superseding
// any standing decision on the same piece, in one transaction. The
// decision applies to every later merge; a reassignment or a due transfer
// leaves this generation as merged, so it cannot be activated until a new
// merge follows it.
func (db *DB) ResolveDispute(ctx context.Context, id int64, res geo.DisputeResolution, by string) (geo.Dispute, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.Dispute{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	d, err := scanDispute(tx.QueryRow(ctx, disputeColumns+` WHERE d.id = $1 FOR UPDATE OF d`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return d, geo.Errorf(geo.ENOTFOUND, "no dispute %d: 'gridd disputes' lists them", id)
	}
	if err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "read dispute %d", id)
	}
	var state string
	if err := tx.QueryRow(ctx, `SELECT state FROM generations WHERE id = $1`, d.Generation).Scan(&state); err != nil {
		return d, err
	}
	if state == geo.GenerationRetired {
		return d, geo.Errorf(geo.ECONFLICT, "generation %d is retired: settle the dispute in the active generation or a newer draft", d.Generation)
	}
	res, err = res.Validate(d)
	if err != nil {
		return d, err
	}
	if strings.TrimSpace(by) == "" {
		by = "unknown"
	}
	var eff *string
	if res.Action == geo.DecisionTransfer {
		eff = &res.EffectiveOn
	}
	var decID int64
	if err := tx.QueryRow(ctx, `
		INSERT INTO border_decisions (level, action, to_code, from_code, effective_on, note, decided_by, generation, geom)
		SELECT level, $2, $3, given_to, $4::date, $5, $6, generation, geom FROM merge_disputes WHERE id = $1
		RETURNING id`, id, res.Action, res.To, eff, res.Note, by).Scan(&decID); err != nil {
		return d, fmt.Errorf("record the decision on dispute %d: %w", id, err)
	}
	// The new decision replaces every standing one on this piece.
	if _, err := tx.Exec(ctx, `
		UPDATE border_decisions b SET superseded_by = $2
		FROM merge_disputes d
		WHERE d.id = $1 AND b.id <> $2 AND b.superseded_by IS NULL AND b.level = d.level
		  AND ST_Intersects(b.geom, ST_PointOnSurface(d.geom))`, id, decID); err != nil {
		return d, err
	}
	if _, err := tx.Exec(ctx, `UPDATE merge_disputes SET decision_id = $2 WHERE id = $1`, id, decID); err != nil {
		return d, err
	}
	if err := tx.Commit(ctx); err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "commit")
	}
	return db.Dispute(ctx, id)
}

// checkDecisionsApplied refuses to activate a generation that does not
// follow a decision taken on it after its merge (a reassignment, or a
// transfer whose day has come: geo.Dispute.Unresolved).
func checkDecisionsApplied(ctx context.Context, tx pgx.Tx, gen int) error {
	rows, err := tx.Query(ctx, disputeColumns+` WHERE d.generation = $1 AND d.decision_id IS NOT NULL ORDER BY d.id`, gen)
	if err != nil {
		return err
	}
	decided, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Dispute, error) { return scanDispute(r) })
	if err != nil {
		return err
	}
	for _, d := range decided {
		if d.Unresolved() {
			return geo.Errorf(geo.ECONFLICT, "dispute %d was %s to %s after generation %d gave it to %s: merge again (the new draft follows the decision) and activate that draft",
				d.ID, d.State, d.Decision.To, gen, d.GivenTo)
		}
	}
	return nil
}

// disputeSummary counts generation gen's disputes for its report and
// returns the open ones as review items.
func disputeSummary(ctx context.Context, tx pgx.Tx, gen int) (*geo.DisputeSummary, []geo.ReviewItem, error) {
	var s geo.DisputeSummary
	if err := tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE decision_id IS NULL), count(*) FILTER (WHERE decision_id IS NOT NULL)
		FROM merge_disputes WHERE generation = $1`, gen).Scan(&s.Total, &s.Open, &s.Kept); err != nil {
		return nil, nil, err
	}
	if s.Total == 0 {
		return nil, nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, level, given_to, array_to_string(areas[2:], ','), parent, area_m2, rule
		FROM merge_disputes WHERE generation = $1 AND decision_id IS NULL ORDER BY area_m2 DESC, id LIMIT 200`, gen)
	if err != nil {
		return nil, nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.ReviewItem, error) {
		it := geo.ReviewItem{Kind: "dispute"}
		var id int64
		var rule string
		err := r.Scan(&id, &it.Level, &it.Code, &it.Other, &it.Parent, &it.AreaM2, &rule)
		it.Note = fmt.Sprintf("dispute %d, given by rule %s: confirm, reassign or transfer it", id, rule)
		return it, err
	})
	return &s, items, err
}
