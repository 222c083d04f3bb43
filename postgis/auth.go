package postgis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"
)

// bcryptCost is the work factor of password hashes: about 50–100 ms on
// this class of machine, slow for guessing, fine for a login.
const bcryptCost = 11

// TokenPrefix starts every API token, so secret scanners and people can
// tell one when they see it.
const TokenPrefix = "gridd_"

// touchEvery is how stale last_seen / last_used may get: they are written
// at most once a minute per session or token, not on every request.
const touchEvery = time.Minute

// dummyHash (of a password nobody has, at bcryptCost) is compared against
// when a login does not exist, so an unknown login costs as much time as a
// wrong password.
const dummyHash = "$2a$11$YKsKdMnPtGz93hRN.WQQEOef0tYuH1PBWpLX.ZQhXKDOJq.cT5rTG"

// randomSecret returns 32 random bytes, base64url-encoded.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", geo.WrapError(geo.EINTERNAL, err, "read random bytes")
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// RandomPassword returns a password of 20 random base64url characters
// (120 bits), for generated one-time passwords.
func RandomPassword() (string, error) {
	s, err := randomSecret()
	if err != nil {
		return "", err
	}
	return s[:20], nil
}

func secretHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// checkPassword refuses passwords too short to resist guessing and those
// too long for bcrypt (72 bytes).
func checkPassword(pw string) error {
	if len(pw) < 10 {
		return geo.Errorf(geo.EINVALID, "the password has %d characters: use at least 10", len(pw))
	}
	if len(pw) > 72 {
		return geo.Errorf(geo.EINVALID, "the password is longer than 72 bytes (bcrypt's limit): use a shorter one")
	}
	return nil
}

// execer is what pgx pools and transactions share.
type execer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const auditInsert = `INSERT INTO audit_log (actor_kind, actor_id, actor_name, credential, action, target, before, after, remote, status)
VALUES ($1, nullif($2, 0), $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, at`

func writeAudit(ctx context.Context, q execer, e *geo.AuditEntry) error {
	kind := e.ActorKind
	if kind == "" {
		kind = "system"
	}
	if err := q.QueryRow(ctx, auditInsert, kind, e.ActorID, e.ActorName, e.Credential, e.Action, e.Target,
		jsonOrNil(e.Before), jsonOrNil(e.After), e.Remote, e.Status).Scan(&e.ID, &e.At); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "write the audit log")
	}
	return nil
}

func jsonOrNil(b json.RawMessage) any {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	return string(b)
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// AppendAudit records one change in the audit log.
func (db *DB) AppendAudit(ctx context.Context, e geo.AuditEntry) error {
	return writeAudit(ctx, db.Pool, &e)
}

// Audit lists audit entries, newest first.
func (db *DB) Audit(ctx context.Context, q geo.AuditQuery) ([]geo.AuditEntry, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	var from, to any
	if !q.From.IsZero() {
		from = q.From
	}
	if !q.To.IsZero() {
		to = q.To
	}
	rows, err := db.Pool.Query(ctx, `SELECT id, at, actor_kind, coalesce(actor_id, 0), actor_name, credential, action, target,
		coalesce(before::text, ''), coalesce(after::text, ''), remote, status
		FROM audit_log
		WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
		  AND ($3 = '' OR actor_name = $3) AND ($4 = '' OR starts_with(action, $4))
		ORDER BY id DESC LIMIT $5`, from, to, q.Actor, q.Action, q.Limit)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "read the audit log")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.AuditEntry, error) {
		var e geo.AuditEntry
		var before, after string
		err := r.Scan(&e.ID, &e.At, &e.ActorKind, &e.ActorID, &e.ActorName, &e.Credential, &e.Action, &e.Target, &before, &after, &e.Remote, &e.Status)
		if before != "" {
			e.Before = json.RawMessage(before)
		}
		if after != "" {
			e.After = json.RawMessage(after)
		}
		return e, err
	})
}

// CountUsers returns how many accounts exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "count accounts")
	}
	return n, nil
}

const userColumns = `id, login, name, role, scope, coalesce(person_id, 0), disabled, created_at`

func scanUser(r pgx.Row) (geo.User, error) {
	var u geo.User
	err := r.Scan(&u.ID, &u.Login, &u.Name, &u.Role, &u.Scope, &u.PersonID, &u.Disabled, &u.CreatedAt)
	return u, err
}

// CreateUser adds an account with a bcrypt hash of password, and records
// it in the audit log (who is in by; action, target and after are set
// here).
func (db *DB) CreateUser(ctx context.Context, u geo.User, password string, by geo.AuditEntry) (geo.User, error) {
	if err := u.Validate(); err != nil {
		return u, err
	}
	if err := checkPassword(password); err != nil {
		return u, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return u, geo.WrapError(geo.EINTERNAL, err, "hash the password")
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return u, geo.WrapError(geo.EUNAVAILABLE, err, "create account")
	}
	defer tx.Rollback(ctx)
	out, err := scanUser(tx.QueryRow(ctx, `INSERT INTO users (login, name, password_hash, role, scope, person_id)
		VALUES ($1, $2, $3, $4, $5, nullif($6, 0)) RETURNING `+userColumns, u.Login, u.Name, string(hash), u.Role, u.Scope, u.PersonID))
	if err != nil {
		return u, constraintError(err, "account "+u.Login)
	}
	by.Action, by.Target, by.After = "user.create", "user:"+out.Login, mustJSON(out)
	if err := writeAudit(ctx, tx, &by); err != nil {
		return u, err
	}
	if err := tx.Commit(ctx); err != nil {
		return u, geo.WrapError(geo.EUNAVAILABLE, err, "create account")
	}
	return out, nil
}

// CreateFirstAdmin creates the account "admin" (role admin, unlimited
// scope) with password if, and only if, no account exists; it reports
// whether it did. Concurrent first starts create one admin: the table is
// locked while counting.
func (db *DB) CreateFirstAdmin(ctx context.Context, password string) (bool, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return false, geo.WrapError(geo.EINTERNAL, err, "hash the password")
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return false, geo.WrapError(geo.EUNAVAILABLE, err, "create the first admin")
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return false, geo.WrapError(geo.EUNAVAILABLE, err, "create the first admin")
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return false, geo.WrapError(geo.EUNAVAILABLE, err, "create the first admin")
	}
	if n > 0 {
		return false, nil
	}
	u, err := scanUser(tx.QueryRow(ctx, `INSERT INTO users (login, name, password_hash, role, scope)
		VALUES ('admin', '管理员', $1, 'admin', '') RETURNING `+userColumns, string(hash)))
	if err != nil {
		return false, geo.WrapError(geo.EUNAVAILABLE, err, "create the first admin")
	}
	e := geo.AuditEntry{ActorKind: "system", ActorName: "gridd serve", Action: "user.create", Target: "user:admin", After: mustJSON(u)}
	if err := writeAudit(ctx, tx, &e); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// SetPassword replaces an account's password and ends its sessions.
func (db *DB) SetPassword(ctx context.Context, login, password string, by geo.AuditEntry) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return geo.WrapError(geo.EINTERNAL, err, "hash the password")
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "set password")
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE login = $1 RETURNING id`, login, string(hash)).Scan(&id); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "no account %q: 'gridd user list' shows them", login)
		}
		return geo.WrapError(geo.EUNAVAILABLE, err, "set password")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "set password")
	}
	by.Action, by.Target = "user.passwd", "user:"+login
	if err := writeAudit(ctx, tx, &by); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Users lists the accounts.
func (db *DB) Users(ctx context.Context) ([]geo.User, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list accounts")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.User, error) { return scanUser(r) })
}

// Login checks a login and password and opens a session of ttl. It
// returns the session id (to be sent as a cookie; only its hash is
// stored) and the principal. A wrong login or password is EUNAUTHORIZED
// after the same bcrypt work either way.
func (db *DB) Login(ctx context.Context, login, password string, ttl time.Duration, remote string) (string, geo.Principal, error) {
	var p geo.Principal
	var hash string
	var disabled bool
	err := db.Pool.QueryRow(ctx, `SELECT id, login, name, role, scope, coalesce(person_id, 0), password_hash, disabled FROM users WHERE login = $1`, login).
		Scan(&p.ID, &p.Name, &p.Display, &p.Role, &p.Scope, &p.PersonID, &hash, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return "", p, geo.Errorf(geo.EUNAUTHORIZED, "wrong login or password")
	}
	if err != nil {
		return "", p, geo.WrapError(geo.EUNAVAILABLE, err, "log in")
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || disabled {
		return "", p, geo.Errorf(geo.EUNAUTHORIZED, "wrong login or password")
	}
	sid, err := randomSecret()
	if err != nil {
		return "", p, err
	}
	h := secretHash(sid)
	if _, err := db.Pool.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, expires_at, remote) VALUES ($1, $2, now() + $3::interval, $4)`,
		h, p.ID, fmt.Sprintf("%d seconds", int64(ttl/time.Second)), remote); err != nil {
		return "", p, geo.WrapError(geo.EUNAVAILABLE, err, "open a session")
	}
	p.Kind, p.Credential = "user", fmt.Sprintf("session:%x", h[:4])
	return sid, p, nil
}

// SessionPrincipal returns the account of a live session.
func (db *DB) SessionPrincipal(ctx context.Context, sid string) (geo.Principal, error) {
	p := geo.Principal{Kind: "user"}
	h := secretHash(sid)
	var lastSeen time.Time
	err := db.Pool.QueryRow(ctx, `SELECT u.id, u.login, u.name, u.role, u.scope, coalesce(u.person_id, 0), s.last_seen
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1 AND s.expires_at > now() AND NOT u.disabled`, h).
		Scan(&p.ID, &p.Name, &p.Display, &p.Role, &p.Scope, &p.PersonID, &lastSeen)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, geo.Errorf(geo.EUNAUTHORIZED, "the session has expired or ended: log in again")
	}
	if err != nil {
		return p, geo.WrapError(geo.EUNAVAILABLE, err, "check the session")
	}
	if time.Since(lastSeen) > touchEvery {
		db.Pool.Exec(ctx, `UPDATE sessions SET last_seen = now() WHERE id_hash = $1`, h)
	}
	p.Credential = fmt.Sprintf("session:%x", h[:4])
	return p, nil
}

// Logout ends a session.
func (db *DB) Logout(ctx context.Context, sid string) error {
	if _, err := db.Pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1 OR expires_at < now() - interval '1 day'`, secretHash(sid)); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "log out")
	}
	return nil
}

const tokenColumns = `id, name, role, scope, coalesce(person_id, 0), created_by, created_at, last_used, revoked_at`

func scanToken(r pgx.Row) (geo.APIToken, error) {
	var t geo.APIToken
	err := r.Scan(&t.ID, &t.Name, &t.Role, &t.Scope, &t.PersonID, &t.CreatedBy, &t.CreatedAt, &t.LastUsed, &t.RevokedAt)
	return t, err
}

// CreateToken makes an API token and returns it with its secret, which
// is not stored (only its SHA-256) and cannot be shown again.
func (db *DB) CreateToken(ctx context.Context, t geo.APIToken, by geo.AuditEntry) (geo.APIToken, string, error) {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > 100 {
		return t, "", geo.Errorf(geo.EINVALID, "give the token a name of 1 to 100 characters (--name), saying who uses it")
	}
	if _, err := geo.ParseAccessRole(string(t.Role)); err != nil {
		return t, "", err
	}
	scope, err := geo.ParseScope(t.Scope)
	if err != nil {
		return t, "", err
	}
	s, err := randomSecret()
	if err != nil {
		return t, "", err
	}
	secret := TokenPrefix + s
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return t, "", geo.WrapError(geo.EUNAVAILABLE, err, "create token")
	}
	defer tx.Rollback(ctx)
	out, err := scanToken(tx.QueryRow(ctx, `INSERT INTO api_tokens (name, token_hash, role, scope, person_id, created_by)
		VALUES ($1, $2, $3, $4, nullif($5, 0), $6) RETURNING `+tokenColumns, t.Name, secretHash(secret), t.Role, scope, t.PersonID, by.ActorName))
	if err != nil {
		return t, "", constraintError(err, "token "+t.Name)
	}
	by.Action, by.Target, by.After = "token.create", fmt.Sprintf("token:%d", out.ID), mustJSON(out)
	if err := writeAudit(ctx, tx, &by); err != nil {
		return t, "", err
	}
	if err := tx.Commit(ctx); err != nil {
		return t, "", geo.WrapError(geo.EUNAVAILABLE, err, "create token")
	}
	return out, secret, nil
}

// RevokeToken revokes a token for good.
func (db *DB) RevokeToken(ctx context.Context, id int64, by geo.AuditEntry) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "revoke token")
	}
	defer tx.Rollback(ctx)
	before, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.Errorf(geo.ENOTFOUND, "no token %d: 'gridd token list' shows them", id)
	}
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "revoke token")
	}
	if before.RevokedAt != nil {
		return nil
	}
	after, err := scanToken(tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 RETURNING `+tokenColumns, id))
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "revoke token")
	}
	by.Action, by.Target, by.Before, by.After = "token.revoke", fmt.Sprintf("token:%d", id), mustJSON(before), mustJSON(after)
	if err := writeAudit(ctx, tx, &by); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Tokens lists the API tokens, revoked ones included.
func (db *DB) Tokens(ctx context.Context) ([]geo.APIToken, error) {
	rows, err := db.Pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list tokens")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.APIToken, error) { return scanToken(r) })
}

// TokenPrincipal returns the principal of a live API token.
func (db *DB) TokenPrincipal(ctx context.Context, secret string) (geo.Principal, error) {
	p := geo.Principal{Kind: "token"}
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 100 {
		return p, geo.Errorf(geo.EUNAUTHORIZED, "not a gridd API token: tokens start with %q ('gridd token create' makes one)", TokenPrefix)
	}
	var lastUsed *time.Time
	err := db.Pool.QueryRow(ctx, `SELECT id, name, role, scope, coalesce(person_id, 0), last_used FROM api_tokens
		WHERE token_hash = $1 AND revoked_at IS NULL`, secretHash(secret)).
		Scan(&p.ID, &p.Name, &p.Role, &p.Scope, &p.PersonID, &lastUsed)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, geo.Errorf(geo.EUNAUTHORIZED, "unknown or revoked API token: ask an admin for a new one")
	}
	if err != nil {
		return p, geo.WrapError(geo.EUNAVAILABLE, err, "check the token")
	}
	if lastUsed == nil || time.Since(*lastUsed) > touchEvery {
		db.Pool.Exec(ctx, `UPDATE api_tokens SET last_used = now() WHERE id = $1`, p.ID)
	}
	p.Credential = fmt.Sprintf("token:%d", p.ID)
	return p, nil
}
