package postgis_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gridd/gridd/demo"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
)

// swellCommunity makes one community of the community layer spill about
// 40 m into its neighbours, as a department's careless drawing would, so
// that the merge has overlaps between communities to give away. It
// returns the community's code.
func swellCommunity(t *testing.T, db *postgis.DB) string {
	t.Helper()
	var code string
	err := db.Pool.QueryRow(context.Background(), `
		WITH c AS (
		    SELECT f1.id, f1.code FROM source_layers l
		    JOIN source_features f1 ON f1.layer_id = l.id
		    JOIN source_features f2 ON f2.layer_id = l.id AND f2.id <> f1.id
		         AND left(f2.code, 9) = left(f1.code, 9) AND ST_DWithin(f1.geom, f2.geom, 0.0001)
		    WHERE l.level = 'community' AND l.dept_code IS NULL
		    GROUP BY f1.id, f1.code ORDER BY count(*) DESC, f1.code LIMIT 1)
		UPDATE source_features f SET geom = ST_Multi(ST_Buffer(f.geom, 0.0004, 'join=mitre'))
		FROM c WHERE f.id = c.id RETURNING c.code`).Scan(&code)
	if err != nil {
		t.Fatalf("swell a community: %v", err)
	}
	return code
}

// disputeAt finds generation gen's dispute whose piece holds the point
// on the surface of dispute d's piece.
func disputeAt(t *testing.T, db *postgis.DB, gen int, d geo.Dispute) geo.Dispute {
	t.Helper()
	var id int64
	err := db.Pool.QueryRow(context.Background(), `
		SELECT n.id FROM merge_disputes n, merge_disputes o
		WHERE o.id = $2 AND n.generation = $1 AND n.level = o.level AND ST_Intersects(n.geom, ST_PointOnSurface(o.geom))
		ORDER BY n.area_m2 DESC LIMIT 1`, gen, d.ID).Scan(&id)
	if err != nil {
		t.Fatalf("generation %d has no dispute where dispute %d was: %v", gen, d.ID, err)
	}
	n, err := db.Dispute(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// holder is the area of level that holds dispute d's point in gen.
func holder(t *testing.T, db *postgis.DB, gen int, d geo.Dispute) string {
	t.Helper()
	var code string
	err := db.Pool.QueryRow(context.Background(), `
		SELECT a.code FROM areas a, merge_disputes d
		WHERE d.id = $2 AND a.generation = $1 AND a.level = d.level AND ST_Covers(a.geom, ST_PointOnSurface(d.geom))`, gen, d.ID).Scan(&code)
	if err != nil {
		t.Fatalf("no %s of generation %d holds dispute %d: %v", d.Level, gen, d.ID, err)
	}
	return code
}

func countDecisions(t *testing.T, db *postgis.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM border_decisions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDisputesKeepDecisions: a merge records disputes between
// communities; a confirmed one and a reassigned one are kept by the next
// merge (the reassigned piece changes hands), a transfer waits for its
// day, and a draft that does not follow a decision cannot be activated.
func TestDisputesKeepDecisions(t *testing.T) {
	ctx := context.Background()
	for _, city := range []struct {
		district string
		seed     int
	}{{demo.DefaultDistrict, 5}, {"330205", 4}} {
		t.Run(city.district, func(t *testing.T) {
			db := pgtest.NewDB(t)
			loadCity(t, db, city.district, city.seed)
			swollen := swellCommunity(t, db)
			rep := merge(t, db, geo.MergeParams{})
			if rep.Disputes == nil || rep.Disputes.Open < 3 || rep.Disputes.Kept != 0 {
				t.Fatalf("the first merge's disputes are %+v: want at least 3 open around %s, none kept", rep.Disputes, swollen)
			}
			inReview := 0
			for _, it := range rep.Review {
				if it.Kind == "dispute" {
					inReview++
				}
			}
			if inReview != rep.Disputes.Open {
				t.Errorf("the report lists %d open disputes in review, its summary %d", inReview, rep.Disputes.Open)
			}
			ds, err := db.Disputes(ctx, geo.DisputeFilter{Generation: rep.Generation, Level: "community"})
			if err != nil {
				t.Fatal(err)
			}
			var mine []geo.Dispute
			for _, d := range ds {
				if d.State != geo.DisputeOpen || len(d.Areas) < 2 || d.Areas[0] != d.GivenTo || geo.DisputeRules[d.Rule] == "" {
					t.Errorf("dispute %+v: want open, given to its first area, by a known rule", d)
				}
				if d.Kind == "overlap" && (d.Areas[0] == swollen || d.Areas[1] == swollen) {
					mine = append(mine, d)
				}
			}
			if len(mine) < 3 {
				t.Fatalf("want 3 overlap disputes with %s, have %d of %d", swollen, len(mine), len(ds))
			}
			unresolved, err := db.Disputes(ctx, geo.DisputeFilter{Generation: rep.Generation, State: "unresolved"})
			if err != nil || len(unresolved) != rep.Disputes.Open {
				t.Fatalf("unresolved disputes: %d (%v), want %d", len(unresolved), err, rep.Disputes.Open)
			}

			keep, move, hand := mine[0], mine[1], mine[2]
			other := func(d geo.Dispute) string { return d.Areas[1] }

			// Bad resolutions are refused and record nothing.
			before := countDecisions(t, db)
			for _, bad := range []geo.DisputeResolution{
				{Action: "reassign", To: "999999999999"},
				{Action: "reassign"},
				{Action: "transfer", To: other(hand)},
				{Action: "transfer", To: other(hand), EffectiveOn: "2027-13-01"},
				{Action: "confirm", To: other(keep)},
				{Action: "bury"},
			} {
				if _, err := db.ResolveDispute(ctx, hand.ID, bad, "gis1"); geo.ErrorCode(err) != geo.EINVALID {
					t.Errorf("resolution %+v: error %v, want EINVALID", bad, err)
				}
			}
			if n := countDecisions(t, db); n != before {
				t.Fatalf("refused resolutions recorded %d decisions", n-before)
			}

			got, err := db.ResolveDispute(ctx, keep.ID, geo.DisputeResolution{Action: "confirm", Note: "村界以此为准"}, "gis1")
			if err != nil || got.State != geo.DisputeConfirmed || !got.Applied || got.Decision.To != keep.GivenTo || got.Decision.DecidedBy != "gis1" {
				t.Fatalf("confirm: %+v %v", got, err)
			}
			got, err = db.ResolveDispute(ctx, move.ID, geo.DisputeResolution{Action: "reassign", To: other(move)}, "gis1")
			if err != nil || got.State != geo.DisputeReassigned || got.Applied || !got.Unresolved() {
				t.Fatalf("reassign: %+v %v", got, err)
			}
			got, err = db.ResolveDispute(ctx, hand.ID, geo.DisputeResolution{Action: "transfer", To: other(hand), EffectiveOn: "2099-01-01"}, "gis1")
			if err != nil || got.State != geo.DisputeTransferPending || got.Unresolved() {
				t.Fatalf("transfer: %+v %v", got, err)
			}

			// The draft does not follow the reassignment: no activation.
			if err := db.Activate(ctx, rep.Generation); geo.ErrorCode(err) != geo.ECONFLICT {
				t.Fatalf("activating a draft that ignores a reassignment: %v, want ECONFLICT", err)
			}
			var state string
			db.Pool.QueryRow(ctx, `SELECT state FROM generations WHERE id = $1`, rep.Generation).Scan(&state)
			if state != geo.GenerationDraft {
				t.Fatalf("the refused draft is %s", state)
			}

			rep2 := merge(t, db, geo.MergeParams{})
			checkCoverage(t, db, rep2.Generation)
			if rep2.Disputes == nil || rep2.Disputes.Kept < 3 || rep2.Disputes.Open != rep.Disputes.Open-3 {
				t.Errorf("the second merge's disputes are %+v, want 3 kept and %d open", rep2.Disputes, rep.Disputes.Open-3)
			}
			k := disputeAt(t, db, rep2.Generation, keep)
			if k.State != geo.DisputeConfirmed || !k.Applied || k.GivenTo != keep.GivenTo || k.Decision.ID != getDecision(t, db, keep.ID) {
				t.Errorf("the confirmed dispute in the next merge: %+v, want confirmed, still %s", k, keep.GivenTo)
			}
			m := disputeAt(t, db, rep2.Generation, move)
			if m.State != geo.DisputeReassigned || !m.Applied || m.GivenTo != other(move) || m.Rule != "decision" {
				t.Errorf("the reassigned dispute in the next merge: %+v, want given to %s by decision", m, other(move))
			}
			if h := holder(t, db, rep2.Generation, move); h != other(move) {
				t.Errorf("the reassigned piece lies in %s in the next merge, want %s", h, other(move))
			}
			if h := holder(t, db, rep2.Generation, keep); h != keep.GivenTo {
				t.Errorf("the confirmed piece lies in %s in the next merge, want %s", h, keep.GivenTo)
			}
			p := disputeAt(t, db, rep2.Generation, hand)
			if p.State != geo.DisputeTransferPending || p.GivenTo != hand.GivenTo {
				t.Errorf("the pending transfer in the next merge: %+v, want still with %s", p, hand.GivenTo)
			}
			if err := db.Activate(ctx, rep2.Generation); err != nil {
				t.Fatalf("activate the draft that follows every decision: %v", err)
			}

			// A transfer whose day has come changes hands at the next merge.
			got, err = db.ResolveDispute(ctx, p.ID, geo.DisputeResolution{Action: "transfer", To: other(hand), EffectiveOn: "2020-01-01", Note: "属地移交"}, "gis2")
			if err != nil || got.State != geo.DisputeTransferred || got.Applied {
				t.Fatalf("a due transfer: %+v %v", got, err)
			}
			rep3 := merge(t, db, geo.MergeParams{})
			checkCoverage(t, db, rep3.Generation)
			if h := holder(t, db, rep3.Generation, hand); h != other(hand) {
				t.Errorf("the transferred piece lies in %s, want %s", h, other(hand))
			}
			if n := disputeAt(t, db, rep3.Generation, hand); n.State != geo.DisputeTransferred || !n.Applied {
				t.Errorf("the transferred dispute in the next merge: %+v", n)
			}
			if err := db.Activate(ctx, rep3.Generation); err != nil {
				t.Fatalf("activate the third draft: %v", err)
			}
			if _, err := db.ResolveDispute(ctx, k.ID, geo.DisputeResolution{Action: "confirm"}, "gis1"); geo.ErrorCode(err) != geo.ECONFLICT {
				t.Errorf("settling a dispute of a retired generation: %v, want ECONFLICT", err)
			}
		})
	}
}

func getDecision(t *testing.T, db *postgis.DB, dispute int64) int64 {
	t.Helper()
	d, err := db.Dispute(context.Background(), dispute)
	if err != nil || d.Decision == nil {
		t.Fatal(errors.Join(err, fmt.Errorf("dispute %d has no decision", dispute)))
	}
	return d.Decision.ID
}
