package postgis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
)

// TestAuthStore: accounts, sessions, tokens and the audit log against a
// real database.
func TestAuthStore(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	cli := geo.AuditEntry{ActorKind: "cli", ActorName: "cli:test"}

	if created, err := db.CreateFirstAdmin(ctx, "first-password-1"); err != nil || !created {
		t.Fatalf("first admin: %v %v", created, err)
	}
	if created, err := db.CreateFirstAdmin(ctx, "first-password-2"); err != nil || created {
		t.Fatalf("second first admin: %v %v", created, err)
	}
	for _, tt := range []struct {
		u    geo.User
		pw   string
		code string
	}{
		{geo.User{Login: "wang", Role: "dispatcher", Scope: "330212001"}, "correct horse", ""},
		{geo.User{Login: "wang", Role: "viewer"}, "correct horse", geo.ECONFLICT},
		{geo.User{Login: "x' OR '1'='1", Role: "viewer"}, "correct horse", geo.EINVALID},
		{geo.User{Login: "li", Role: "root"}, "correct horse", geo.EINVALID},
		{geo.User{Login: "li", Role: "viewer", Scope: "3302"}, "correct horse", geo.EINVALID},
		{geo.User{Login: "li", Role: "viewer"}, "short", geo.EINVALID},
		{geo.User{Login: "li", Role: "worker", PersonID: 999}, "correct horse", geo.EINVALID},
	} {
		_, err := db.CreateUser(ctx, tt.u, tt.pw, cli)
		if geo.ErrorCode(err) != tt.code && !(tt.code == "" && err == nil) {
			t.Errorf("CreateUser(%+v): %v, want %q", tt.u, err, tt.code)
		}
	}

	if _, _, err := db.Login(ctx, "wang", "wrong horse", time.Hour, "127.0.0.1"); geo.ErrorCode(err) != geo.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := db.Login(ctx, "nobody", "correct horse", time.Hour, "127.0.0.1"); geo.ErrorCode(err) != geo.EUNAUTHORIZED {
		t.Fatalf("unknown login: %v", err)
	}
	sid, p, err := db.Login(ctx, "wang", "correct horse", time.Hour, "127.0.0.1")
	if err != nil || p.Role != geo.AccessDispatcher || p.Scope != "330212001" || len(sid) < 40 {
		t.Fatalf("login: %+v %v", p, err)
	}
	var stored int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE id_hash = convert_to($1, 'UTF8')`, sid).Scan(&stored)
	if stored != 0 {
		t.Fatal("the session id is stored in clear")
	}
	if got, err := db.SessionPrincipal(ctx, sid); err != nil || got.Name != "wang" {
		t.Fatalf("session: %+v %v", got, err)
	}
	if err := db.SetPassword(ctx, "wang", "another horse", cli); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SessionPrincipal(ctx, sid); geo.ErrorCode(err) != geo.EUNAUTHORIZED {
		t.Fatalf("a session after the password changed: %v", err)
	}
	sid, _, _ = db.Login(ctx, "wang", "another horse", time.Second, "")
	db.Pool.Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 second'`)
	if _, err := db.SessionPrincipal(ctx, sid); geo.ErrorCode(err) != geo.EUNAUTHORIZED {
		t.Fatalf("an expired session: %v", err)
	}

	tok, secret, err := db.CreateToken(ctx, geo.APIToken{Name: "hotline", Role: "reporter", Scope: "330212"}, cli)
	if err != nil || !strings.HasPrefix(secret, "gridd_") {
		t.Fatalf("token: %v %q", err, secret)
	}
	if got, err := db.TokenPrincipal(ctx, secret); err != nil || got.ID != tok.ID || got.Role != geo.AccessReporter || got.Kind != "token" {
		t.Fatalf("token principal: %+v %v", got, err)
	}
	if err := db.RevokeToken(ctx, tok.ID, cli); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TokenPrincipal(ctx, secret); geo.ErrorCode(err) != geo.EUNAUTHORIZED {
		t.Fatalf("revoked token: %v", err)
	}
	if err := db.RevokeToken(ctx, 12345, cli); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Fatalf("revoke unknown: %v", err)
	}

	es, err := db.Audit(ctx, geo.AuditQuery{Actor: "cli:test"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, " "); got != "token.revoke token.create user.passwd user.create" {
		t.Fatalf("audit actions: %s", got)
	}
	if strings.Contains(string(es[3].After), "password") || !strings.Contains(string(es[0].Before), `"revoked_at": null`) {
		t.Fatalf("audit entries: %s / %s", es[3].After, es[0].Before)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM audit_log WHERE id = $1`, es[0].ID); err == nil {
		t.Fatal("deleted an audit entry")
	}
}
