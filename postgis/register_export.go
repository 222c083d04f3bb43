package postgis

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// Exports of the unmasked register (分级审批): a request, a decision by an
// admin above the requester, and one download before the approval
// expires. Each step is an audit entry written in its own transaction.

const registerExportColumns = `id, area, reason, state, requested_by, requester_scope, requested_at, coalesce(decided_by, ''), decided_at, note, expires_at, downloaded_at`

func scanExport(row pgx.Row) (geo.RegisterExport, error) {
	var e geo.RegisterExport
	err := row.Scan(&e.ID, &e.Area, &e.Reason, &e.State, &e.RequestedBy, &e.RequesterScope, &e.RequestedAt, &e.DecidedBy, &e.DecidedAt, &e.Note, &e.ExpiresAt, &e.DownloadedAt)
	return e, err
}

// exportTx begins a transaction holding export id locked.
func (db *DB) exportTx(ctx context.Context, id int64) (pgx.Tx, geo.RegisterExport, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return nil, geo.RegisterExport{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	e, err := scanExport(tx.QueryRow(ctx, `SELECT `+registerExportColumns+` FROM register_exports WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		tx.Rollback(ctx)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, e, geo.Errorf(geo.ENOTFOUND, "no export request %d", id)
		}
		return nil, e, geo.WrapError(geo.EUNAVAILABLE, err, "read export request %d", id)
	}
	e.State = e.StateAt(time.Now())
	return tx, e, nil
}

func auditExport(ctx context.Context, tx pgx.Tx, audit *geo.AuditEntry, action string, e geo.RegisterExport, extra map[string]any) error {
	if audit == nil {
		return nil
	}
	audit.Action, audit.Target = action, "register_export:"+strconv.FormatInt(e.ID, 10)
	after := map[string]any{"area": e.Area, "state": e.State, "requested_by": e.RequestedBy}
	for k, v := range extra {
		after[k] = v
	}
	audit.After, _ = json.Marshal(after)
	return writeAudit(ctx, tx, audit)
}

// RequestExport records a request to export an area's unmasked register.
func (db *DB) RequestExport(ctx context.Context, p geo.Principal, area, reason string, audit *geo.AuditEntry) (geo.RegisterExport, error) {
	if _, err := geo.LevelOfCode(area); err != nil {
		return geo.RegisterExport{}, err
	}
	if err := geo.MayRequestExport(p, area); err != nil {
		return geo.RegisterExport{}, err
	}
	reason, err := geo.CheckReason(reason)
	if err != nil {
		return geo.RegisterExport{}, err
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.RegisterExport{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	e, err := scanExport(tx.QueryRow(ctx, `INSERT INTO register_exports (area, reason, requested_by, requester_scope)
		VALUES ($1, $2, $3, $4) RETURNING `+registerExportColumns, area, reason, p.Actor(), p.Scope))
	if err != nil {
		return e, geo.WrapError(geo.EUNAVAILABLE, err, "record the export request")
	}
	if err := auditExport(ctx, tx, audit, "register.export_request", e, map[string]any{"reason": reason}); err != nil {
		return e, err
	}
	return e, commit(ctx, tx, "export request")
}

// RegisterExports lists the requests a principal made or may decide,
// newest first.
func (db *DB) RegisterExports(ctx context.Context, p geo.Principal) ([]geo.RegisterExport, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+registerExportColumns+` FROM register_exports ORDER BY id DESC LIMIT 500`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list export requests")
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.RegisterExport, error) { return scanExport(r) })
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list export requests")
	}
	now := time.Now()
	out := []geo.RegisterExport{}
	for _, e := range all {
		if e.RequestedBy == p.Actor() || geo.MayApproveExport(p, e) == nil {
			e.State = e.StateAt(now)
			out = append(out, e)
		}
	}
	return out, nil
}

// DecideExport approves (for ttl) or refuses a pending request.
func (db *DB) DecideExport(ctx context.Context, id int64, p geo.Principal, approve bool, note string, ttl time.Duration, audit *geo.AuditEntry) (geo.RegisterExport, error) {
	tx, e, err := db.exportTx(ctx, id)
	if err != nil {
		return e, err
	}
	defer tx.Rollback(ctx)
	if err := geo.MayApproveExport(p, e); err != nil {
		return e, err
	}
	if e.State != geo.ExportPending {
		return e, geo.Errorf(geo.ECONFLICT, "export request %d is %s, not pending", id, e.State)
	}
	state, action := geo.ExportRefused, "register.export_refuse"
	var expires *time.Time
	if approve {
		t := time.Now().Add(ttl)
		state, action, expires = geo.ExportApproved, "register.export_approve", &t
	}
	e, err = scanExport(tx.QueryRow(ctx, `UPDATE register_exports SET state = $2, decided_by = $3, decided_at = now(), note = $4, expires_at = $5
		WHERE id = $1 RETURNING `+registerExportColumns, id, state, p.Actor(), strings.TrimSpace(note), expires))
	if err != nil {
		return e, geo.WrapError(geo.EUNAVAILABLE, err, "decide export request %d", id)
	}
	if err := auditExport(ctx, tx, audit, action, e, map[string]any{"note": e.Note}); err != nil {
		return e, err
	}
	return e, commit(ctx, tx, "decision")
}

// registerExportSQL is the unmasked register of area $2 in generation $1:
// the sealed records, opened in Go.
const registerExportSQL = `
SELECT h.id, h.building_id, coalesce(b.address, ''), h.unit, h.room, bg.grid_code, r.seq, array_to_string(r.tags, '、'), r.id_hash, r.sealed
FROM building_grid bg
JOIN households h ON h.building_id = bg.building_id
JOIN residents r ON r.household_id = h.id
LEFT JOIN buildings b ON b.id = h.building_id
WHERE bg.generation = $1 AND bg.grid_code >= $2 AND bg.grid_code <= $2 || '999999999'
ORDER BY bg.grid_code, h.building_id, h.unit, h.room, h.id, r.seq`

// ExportRegister writes the approved export's unmasked register as CSV
// to w, once: only the requester, only before the approval expires. The
// export is marked downloaded and audited in the transaction that reads
// it, so a failed download can be tried again and a finished one cannot.
func (db *DB) ExportRegister(ctx context.Context, key *geo.RegisterKey, id int64, p geo.Principal, w io.Writer, audit *geo.AuditEntry) (int, error) {
	if key == nil {
		return 0, geo.Errorf(geo.EUNAVAILABLE, "this server has no register key: start it with --register-key or GRIDD_REGISTER_KEY")
	}
	tx, e, err := db.exportTx(ctx, id)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	switch {
	case e.RequestedBy != p.Actor():
		return 0, geo.Errorf(geo.EFORBIDDEN, "export %d was requested by %s: only they may download it", id, e.RequestedBy)
	case e.State == geo.ExportPending:
		return 0, geo.Errorf(geo.EFORBIDDEN, "export %d is not approved yet: an admin above your scope approves it", id)
	case e.State == geo.ExportExpired:
		return 0, geo.Errorf(geo.EEXPIRED, "the approval of export %d expired at %s: request it again", id, e.ExpiresAt.Format(time.RFC3339))
	case e.State != geo.ExportApproved:
		return 0, geo.Errorf(geo.EFORBIDDEN, "export %d is %s", id, e.State)
	}
	var gen int
	if err := tx.QueryRow(ctx, `SELECT id FROM generations WHERE state = 'active'`).Scan(&gen); err != nil {
		return 0, geo.Errorf(geo.ENOTFOUND, "no active generation to export the register by")
	}
	rows, err := tx.Query(ctx, registerExportSQL, gen, e.Area)
	if err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "read the register")
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	cw.Write([]string{"household_id", "building_id", "address", "unit", "room", "grid", "seq", "name", "id_number", "phone", "birth_date", "tags"})
	n := 0
	for rows.Next() {
		var hid, bid, addr, unit, room, grid, tags string
		var seq int
		var hash, sealed []byte
		if err := rows.Scan(&hid, &bid, &addr, &unit, &room, &grid, &seq, &tags, &hash, &sealed); err != nil {
			return n, geo.WrapError(geo.EUNAVAILABLE, err, "read the register")
		}
		plain, err := key.Open(sealed, hash)
		if err != nil {
			return n, err
		}
		var rec geo.ResidentRecord
		if err := json.Unmarshal(plain, &rec); err != nil {
			return n, geo.WrapError(geo.EINTERNAL, err, "household %s", hid)
		}
		cw.Write([]string{hid, bid, addr, unit, room, grid, strconv.Itoa(seq), rec.Name, rec.IDNumber, rec.Phone, rec.BirthDate, tags})
		n++
	}
	if err := rows.Err(); err != nil {
		return n, geo.WrapError(geo.EUNAVAILABLE, err, "read the register")
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, geo.WrapError(geo.EUNAVAILABLE, err, "write the export")
	}
	if _, err := tx.Exec(ctx, `UPDATE register_exports SET state = 'downloaded', downloaded_at = now() WHERE id = $1`, id); err != nil {
		return n, geo.WrapError(geo.EUNAVAILABLE, err, "mark export %d downloaded", id)
	}
	e.State = geo.ExportDownloaded
	if err := auditExport(ctx, tx, audit, "register.export_download", e, map[string]any{"residents": n}); err != nil {
		return n, err
	}
	return n, commit(ctx, tx, "export")
}
