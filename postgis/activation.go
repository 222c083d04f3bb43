package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// Approval of activations that move many households (分级审批): the request
// records the moves against the generation active at the time, an admin
// above the requester decides, and ActivateAs uses one approval.

const activationColumns = `id, generation, moving_buildings, moving_households, reason, state, requested_by, requester_scope, requested_at,
	coalesce(decided_by, ''), decided_at, note, expires_at, used_at`

func scanActivation(row pgx.Row) (geo.ActivationRequest, error) {
	var a geo.ActivationRequest
	err := row.Scan(&a.ID, &a.Generation, &a.MovingBuildings, &a.MovingHouseholds, &a.Reason, &a.State, &a.RequestedBy, &a.RequesterScope,
		&a.RequestedAt, &a.DecidedBy, &a.DecidedAt, &a.Note, &a.ExpiresAt, &a.UsedAt)
	return a, err
}

func auditActivation(ctx context.Context, tx pgx.Tx, audit *geo.AuditEntry, action string, a geo.ActivationRequest, extra map[string]any) error {
	if audit == nil {
		return nil
	}
	audit.Action, audit.Target = action, "activation_request:"+strconv.FormatInt(a.ID, 10)
	after := map[string]any{"generation": a.Generation, "state": a.State, "requested_by": a.RequestedBy, "moving_households": a.MovingHouseholds}
	for k, v := range extra {
		after[k] = v
	}
	audit.After, _ = json.Marshal(after)
	return writeAudit(ctx, tx, audit)
}

// moves counts the buildings (and their households) that generation gen
// puts in another grid than the active generation does.
func moves(ctx context.Context, q pgx.Tx, gen int) (geo.BuildingMoves, error) {
	var m geo.BuildingMoves
	err := q.QueryRow(ctx, movesSQL, gen).Scan(&m.Moving, &m.MovingHouseholds)
	if err != nil {
		return m, geo.WrapError(geo.EUNAVAILABLE, err, "count the households generation %d moves", gen)
	}
	return m, nil
}

// RequestActivation asks for approval to activate draft generation gen.
func (db *DB) RequestActivation(ctx context.Context, gen int, p geo.Principal, reason string, audit *geo.AuditEntry) (geo.ActivationRequest, error) {
	if err := geo.MayRequestActivation(p); err != nil {
		return geo.ActivationRequest{}, err
	}
	reason, err := geo.CheckReason(reason)
	if err != nil {
		return geo.ActivationRequest{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.ActivationRequest{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	var state string
	if err := tx.QueryRow(ctx, `SELECT state FROM generations WHERE id = $1`, gen).Scan(&state); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return geo.ActivationRequest{}, geo.Errorf(geo.ENOTFOUND, "no generation %d: 'gridd generations' lists them", gen)
		}
		return geo.ActivationRequest{}, geo.WrapError(geo.EUNAVAILABLE, err, "look up generation %d", gen)
	}
	if state == geo.GenerationActive {
		return geo.ActivationRequest{}, geo.Errorf(geo.ECONFLICT, "generation %d is already active", gen)
	}
	m, err := moves(ctx, tx, gen)
	if err != nil {
		return geo.ActivationRequest{}, err
	}
	a, err := scanActivation(tx.QueryRow(ctx, `INSERT INTO activation_requests (generation, moving_buildings, moving_households, reason, requested_by, requester_scope)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+activationColumns, gen, m.Moving, m.MovingHouseholds, reason, p.Actor(), p.Scope))
	if err != nil {
		return a, geo.WrapError(geo.EUNAVAILABLE, err, "record the activation request")
	}
	if err := auditActivation(ctx, tx, audit, "generation.activation_request", a, map[string]any{"reason": reason}); err != nil {
		return a, err
	}
	return a, commit(ctx, tx, "activation request")
}

// ActivationRequests lists the requests a principal made or may decide,
// newest first.
func (db *DB) ActivationRequests(ctx context.Context, p geo.Principal) ([]geo.ActivationRequest, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+activationColumns+` FROM activation_requests ORDER BY id DESC LIMIT 500`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list activation requests")
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.ActivationRequest, error) { return scanActivation(r) })
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list activation requests")
	}
	now := time.Now()
	out := []geo.ActivationRequest{}
	for _, a := range all {
		if a.RequestedBy == p.Actor() || geo.MayApproveActivation(p, a) == nil {
			a.State = a.StateAt(now)
			out = append(out, a)
		}
	}
	return out, nil
}

// DecideActivation approves (for ttl) or refuses a pending request.
func (db *DB) DecideActivation(ctx context.Context, id int64, p geo.Principal, approve bool, note string, ttl time.Duration, audit *geo.AuditEntry) (geo.ActivationRequest, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.ActivationRequest{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	a, err := scanActivation(tx.QueryRow(ctx, `SELECT `+activationColumns+` FROM activation_requests WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return a, geo.Errorf(geo.ENOTFOUND, "no activation request %d", id)
		}
		return a, geo.WrapError(geo.EUNAVAILABLE, err, "read activation request %d", id)
	}
	if err := geo.MayApproveActivation(p, a); err != nil {
		return a, err
	}
	if s := a.StateAt(time.Now()); s != geo.ActivationPending {
		return a, geo.Errorf(geo.ECONFLICT, "activation request %d is %s, not pending", id, s)
	}
	state, action := geo.ActivationRefused, "generation.activation_refuse"
	var expires *time.Time
	if approve {
		t := time.Now().Add(ttl)
		state, action, expires = geo.ActivationApproved, "generation.activation_approve", &t
	}
	a, err = scanActivation(tx.QueryRow(ctx, `UPDATE activation_requests SET state = $2, decided_by = $3, decided_at = now(), note = $4, expires_at = $5
		WHERE id = $1 RETURNING `+activationColumns, id, state, p.Actor(), strings.TrimSpace(note), expires))
	if err != nil {
		return a, geo.WrapError(geo.EUNAVAILABLE, err, "decide activation request %d", id)
	}
	if err := auditActivation(ctx, tx, audit, action, a, map[string]any{"note": a.Note}); err != nil {
		return a, err
	}
	return a, commit(ctx, tx, "decision")
}

// ActivateAs activates gen for a principal: when it moves more households
// between grids than the gate allows, only with an approved, unexpired
// request of theirs for gen, which the activation uses up in the same
// transaction.
func (db *DB) ActivateAs(ctx context.Context, gen int, gate geo.ActivationGate) (geo.ActivationResult, error) {
	res := geo.ActivationResult{Generation: gen, State: geo.GenerationActive}
	err := db.activate(ctx, gen, func(tx pgx.Tx) error {
		m, err := moves(ctx, tx, gen)
		if err != nil {
			return err
		}
		res.MovingBuildings, res.MovingHouseholds = m.Moving, m.MovingHouseholds
		if !gate.NeedsApproval(m.MovingHouseholds) {
			return nil
		}
		err = tx.QueryRow(ctx, `UPDATE activation_requests SET state = 'used', used_at = now()
			WHERE id = (SELECT id FROM activation_requests
			            WHERE generation = $1 AND requested_by = $2 AND state = 'approved' AND expires_at > now()
			            ORDER BY id DESC LIMIT 1 FOR UPDATE)
			RETURNING id`, gen, gate.Principal.Actor()).Scan(&res.Approval)
		if errors.Is(err, pgx.ErrNoRows) {
			return geo.Errorf(geo.EFORBIDDEN, "generation %d moves %d households (%d buildings) to other grids, more than the %d an activation may move without approval (分级审批): ask for approval (POST /api/v1/generations/%d/activation-requests with a reason, or the GIS workspace) and have an admin above you approve it",
				gen, m.MovingHouseholds, m.Moving, gate.MaxHouseholds, gen)
		}
		if err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "use the approval of generation %d", gen)
		}
		return nil
	})
	return res, err
}
