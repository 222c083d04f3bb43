package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestActivationApprovalOverHTTP activates, over the API, a generation
// that moves households between grids (two grids of the active one with
// their codes swapped, the buildings assigned anew) on the demo city and
// a second one: refused with a JSON error saying what to do, requested,
// refused to the requester's own decision and to a scoped admin, approved
// by an admin above, used once by the requester, every step in the audit
// log; the CLI activates without asking and says what moved.
func TestActivationApprovalOverHTTP(t *testing.T) {
	for _, c := range []struct {
		name string
		url  func(*testing.T) string
	}{{"demo", demoDatabaseURL}, {"second city", secondCityDatabaseURL}} {
		t.Run(c.name, func(t *testing.T) {
			dbURL := c.url(t)
			f := makeRegisterFixture(t, dbURL) // buildings in two grids (imported where the city has none)
			active, gen, moving := swappedDraft(t, dbURL, f)
			limit := moving - 1
			base := serve(t, dbURL, "--activation-approval", strconv.Itoa(limit))
			gis := addUser(t, dbURL, base, "agis", "gis", "")
			gis2 := addUser(t, dbURL, base, "agis2", "gis", "")
			boss := addUser(t, dbURL, base, "aboss", "admin", "")
			streetAdmin := addUser(t, dbURL, base, "astreet", "admin", f.street)
			activate := fmt.Sprintf("/api/v1/generations/%d/activate", gen)

			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(gis.do(t, "POST", activate, nil, http.StatusForbidden), &e); err != nil ||
				!strings.Contains(e.Error.Message, strconv.Itoa(moving)+" households") || !strings.Contains(e.Error.Message, "activation-requests") {
				t.Errorf("unapproved activation: %+v, %v; want the households moved and how to ask", e, err)
			}
			gis.do(t, "POST", fmt.Sprintf("/api/v1/generations/%d/activation-requests", gen), map[string]string{"reason": " "}, http.StatusBadRequest)
			var req struct {
				ID               int64
				State            string
				MovingHouseholds int `json:"moving_households"`
			}
			b := gis.do(t, "POST", fmt.Sprintf("/api/v1/generations/%d/activation-requests", gen), map[string]string{"reason": "网格调整方案已经街道会审"}, http.StatusCreated)
			if err := json.Unmarshal(b, &req); err != nil || req.State != "pending" || req.MovingHouseholds != moving {
				t.Fatalf("request: %s; want pending, %d households", b, moving)
			}
			decision := fmt.Sprintf("/api/v1/activation-requests/%d/decision", req.ID)
			gis.do(t, "POST", decision, map[string]any{"approve": true}, http.StatusForbidden)         // not an admin, and the requester
			streetAdmin.do(t, "POST", decision, map[string]any{"approve": true}, http.StatusForbidden) // not above an unlimited requester
			boss.do(t, "POST", decision, map[string]any{"note": "?"}, http.StatusBadRequest)
			var listed struct {
				Requests      []struct{ ID int64 }
				MaxHouseholds int `json:"max_households"`
			}
			if err := json.Unmarshal(boss.do(t, "GET", "/api/v1/activation-requests", nil, http.StatusOK), &listed); err != nil ||
				len(listed.Requests) != 1 || listed.MaxHouseholds != limit {
				t.Errorf("the approver lists %+v (%v)", listed, err)
			}
			boss.do(t, "POST", decision, map[string]any{"approve": true, "note": "同意"}, http.StatusOK)
			gis2.do(t, "POST", activate, nil, http.StatusForbidden) // the approval is the requester's
			var res struct {
				Generation       int
				State            string
				MovingHouseholds int `json:"moving_households"`
				Approval         int64
			}
			if err := json.Unmarshal(gis.do(t, "POST", activate, nil, http.StatusOK), &res); err != nil ||
				res.State != "active" || res.Approval != req.ID || res.MovingHouseholds != moving {
				t.Fatalf("approved activation: %+v, %v", res, err)
			}
			// Spent: going back and forth again needs a new approval.
			mustGridd(t, "activate", "--db", dbURL, strconv.Itoa(active))
			gis.do(t, "POST", activate, nil, http.StatusForbidden)
			if out := mustGridd(t, "activate", "--db", dbURL, strconv.Itoa(gen)); !strings.Contains(out, strconv.Itoa(moving)+" households") {
				t.Errorf("the CLI's activation printed %q; want the households moved", out)
			}

			var audit struct {
				Entries []struct {
					Action    string
					ActorName string `json:"actor_name"`
				}
			}
			if err := json.Unmarshal(boss.do(t, "GET", "/api/v1/audit?limit=50", nil, http.StatusOK), &audit); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range audit.Entries {
				if strings.HasPrefix(a.Action, "generation.activat") {
					got = append(got, a.Action+" "+a.ActorName)
				}
			}
			want := []string{"generation.activate agis", "generation.activation_approve aboss", "generation.activation_request agis"}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("audit log (newest first): %v; want %v", got, want)
			}
		})
	}
}

// swappedDraft makes a draft generation that moves households: the active
// one's areas with the codes of the fixture's two grids swapped, and the
// buildings assigned to it. It returns the active generation, the draft
// and the households it moves.
func swappedDraft(t *testing.T, dbURL string, f registerFixture) (active, gen, moving int) {
	t.Helper()
	ctx := context.Background()
	conn := connect(t, dbURL)
	if err := conn.QueryRow(ctx, `SELECT id FROM generations WHERE state = 'active'`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `INSERT INTO generations (note) VALUES ('two grids swapped') RETURNING id`).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
		SELECT $1, level, CASE code WHEN $3 THEN $4 WHEN $4 THEN $3 ELSE code END, name, parent_code, households, population, geom
		FROM areas WHERE generation = $2`, gen, active, f.gridA, f.gridB); err != nil {
		t.Fatal(err)
	}
	// Its report, as the workspace shows a draft by it: the generation's number.
	if _, err := conn.Exec(ctx, `UPDATE generations SET report = jsonb_build_object('generation', id) WHERE id = $1`, gen); err != nil {
		t.Fatal(err)
	}
	mustGridd(t, "buildings", "assign", "--db", dbURL, "--gen", strconv.Itoa(gen))
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(households), 0) FROM building_grid WHERE generation = $1 AND grid_code IN ($2, $3)`,
		active, f.gridA, f.gridB).Scan(&moving); err != nil || moving < 2 {
		t.Fatalf("%d households in grids %s and %s (%v); the test needs at least 2", moving, f.gridA, f.gridB, err)
	}
	return active, gen, moving
}
