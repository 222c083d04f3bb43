package postgis_test

import (
	"context"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
)

// activateWithApproval activates draft gen, which moves households between
// grids, under a gate that needs approval for it, walking the rule of
// 分级审批 on the way: no activation without an approved request of the
// activating user's own, requests and decisions only by whom the rule
// names, an expired approval useless, a used one spent, every step in the
// audit log.
func activateWithApproval(t *testing.T, db *postgis.DB, gen int, moving geo.BuildingMoves) {
	t.Helper()
	ctx := context.Background()
	gis := geo.Principal{Kind: "user", Name: "gis1", Role: geo.AccessGIS}
	other := geo.Principal{Kind: "user", Name: "gis2", Role: geo.AccessGIS}
	boss := geo.Principal{Kind: "user", Name: "boss", Role: geo.AccessAdmin}
	var street string
	if err := db.Pool.QueryRow(ctx, `SELECT code FROM areas WHERE generation = $1 AND level = 'street' LIMIT 1`, gen).Scan(&street); err != nil {
		t.Fatal(err)
	}
	streetAdmin := geo.Principal{Kind: "user", Name: "streetadmin", Role: geo.AccessAdmin, Scope: street}

	var prev int
	db.Pool.QueryRow(ctx, `SELECT id FROM generations WHERE state = 'active'`).Scan(&prev)
	state := func() string {
		var s string
		db.Pool.QueryRow(ctx, `SELECT state FROM generations WHERE id = $1`, gen).Scan(&s)
		return s
	}
	free := geo.ActivationResult{MovingHouseholds: moving.MovingHouseholds, MovingBuildings: moving.Moving}
	if free.MovingHouseholds == 0 {
		t.Fatalf("generation %d moves no households; the test needs some", gen)
	}
	gate := geo.ActivationGate{Principal: gis, MaxHouseholds: free.MovingHouseholds - 1}
	if _, err := db.ActivateAs(ctx, gen, gate); geo.ErrorCode(err) != geo.EFORBIDDEN || state() != geo.GenerationDraft {
		t.Fatalf("activation of %d households over a limit of %d without approval: %v, generation %s", free.MovingHouseholds, gate.MaxHouseholds, err, state())
	}
	// Within the limit it needs nothing, and says what it moved; then back
	// to the generation before, so that gen is retired and a rollback to
	// it is what needs the approval.
	if res, err := db.ActivateAs(ctx, gen, geo.ActivationGate{Principal: gis, MaxHouseholds: free.MovingHouseholds}); err != nil ||
		res.MovingHouseholds != free.MovingHouseholds || res.MovingBuildings != free.MovingBuildings {
		t.Fatalf("activation within the limit: %+v, %v; the merge report said %+v", res, err, moving)
	}
	if err := db.Activate(ctx, prev); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		who    geo.Principal
		reason string
		want   string
	}{
		{gis, "", geo.EINVALID},
		{geo.Principal{Name: "d", Role: geo.AccessDispatcher}, "新网格划分", geo.EFORBIDDEN},
	} {
		if _, err := db.RequestActivation(ctx, gen, c.who, c.reason, nil); geo.ErrorCode(err) != c.want {
			t.Errorf("request by %s with reason %q: %v, want %s", c.who.Name, c.reason, err, c.want)
		}
	}
	audit := func() *geo.AuditEntry { return &geo.AuditEntry{ActorKind: "user", ActorName: "test"} }
	first, err := db.RequestActivation(ctx, gen, gis, "按新网格划分方案调整", audit())
	if err != nil || first.State != geo.ActivationPending || first.MovingHouseholds != free.MovingHouseholds || first.MovingBuildings != free.MovingBuildings {
		t.Fatalf("request: %+v, %v; want pending, %d households", first, err, free.MovingHouseholds)
	}
	for _, who := range []geo.Principal{gis, streetAdmin} {
		if _, err := db.DecideActivation(ctx, first.ID, who, true, "", time.Hour, nil); geo.ErrorCode(err) != geo.EFORBIDDEN {
			t.Errorf("%s decides request %d: %v, want forbidden", who.Name, first.ID, err)
		}
	}
	if mine, err := db.ActivationRequests(ctx, gis); err != nil || len(mine) != 1 {
		t.Errorf("the requester lists %+v, %v", mine, err)
	}
	if theirs, err := db.ActivationRequests(ctx, other); err != nil || len(theirs) != 0 {
		t.Errorf("another gis user lists %+v, %v", theirs, err)
	}
	// An approval that has run out is no use.
	if a, err := db.DecideActivation(ctx, first.ID, boss, true, "同意", time.Millisecond, nil); err != nil || a.State != geo.ActivationApproved {
		t.Fatalf("approve: %+v, %v", a, err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := db.ActivateAs(ctx, gen, gate); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Fatalf("activation on an expired approval: %v", err)
	}
	second, err := db.RequestActivation(ctx, gen, gis, "再次申请", audit())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.DecideActivation(ctx, second.ID, boss, true, "同意", time.Hour, audit()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ActivateAs(ctx, gen, geo.ActivationGate{Principal: other, MaxHouseholds: gate.MaxHouseholds}); geo.ErrorCode(err) != geo.EFORBIDDEN {
		t.Errorf("activation by someone else on gis1's approval: %v", err)
	}
	res, err := db.ActivateAs(ctx, gen, gate)
	if err != nil || res.Approval != second.ID || state() != geo.GenerationActive {
		t.Fatalf("activation on the approval: %+v, %v; generation %s", res, err, state())
	}
	if _, err := db.DecideActivation(ctx, second.ID, boss, false, "", time.Hour, nil); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("deciding a used request: %v", err)
	}
	got, _ := db.ActivationRequests(ctx, boss)
	states := map[int64]string{}
	for _, a := range got {
		states[a.ID] = a.State
	}
	if states[first.ID] != geo.ActivationExpired || states[second.ID] != geo.ActivationUsed {
		t.Errorf("the approver lists %v; want %d expired and %d used", states, first.ID, second.ID)
	}
	var entries int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE target IN ($1, $2) AND action LIKE 'generation.activation_%'`,
		"activation_request:"+itoa(first.ID), "activation_request:"+itoa(second.ID)).Scan(&entries)
	if entries != 3 {
		t.Errorf("%d audit entries for two requests and one audited approval; want 3", entries)
	}
}
