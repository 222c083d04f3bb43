package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

type disputeJSON struct {
	ID       int64
	Level    string
	Areas    []string
	GivenTo  string `json:"given_to"`
	State    string
	Applied  bool
	Geometry json.RawMessage
	Decision *struct {
		Action, To string
		DecidedBy  string `json:"decided_by"`
	}
}

// TestDisputesOverCLIAndHTTP: the demo's merge leaves gaps between
// communities to one of their neighbours; 'check --require-resolved'
// fails until GIS staff settle every one (over the API and the CLI), and
// the next merge keeps the settlement.
func TestDisputesOverCLIAndHTTP(t *testing.T) {
	dbURL := demoDatabaseURL(t)
	out, err := gridd(t, "check", "--db", dbURL, "--require-resolved")
	if err == nil || !strings.Contains(out, "\topen") {
		t.Fatalf("check --require-resolved on a fresh demo: %v\n%s", err, out)
	}
	base := serve(t, dbURL)
	var list struct{ Disputes []disputeJSON }
	getJSON(t, base+"/api/v1/generations/active/disputes?state=open", http.StatusOK, &list)
	if len(list.Disputes) == 0 {
		t.Fatal("the demo has no open dispute")
	}
	first := list.Disputes[0]
	var one disputeJSON
	getJSON(t, base+"/api/v1/disputes/"+strconv.FormatInt(first.ID, 10), http.StatusOK, &one)
	if !strings.Contains(string(one.Geometry), "MultiPolygon") || len(one.Areas) < 2 {
		t.Fatalf("dispute %d: %+v", first.ID, one)
	}
	var bad apiError
	getJSON(t, base+"/api/v1/generations/active/disputes?state=sleeping", http.StatusBadRequest, &bad)

	post := func(id int64, body string, want int, v any) {
		t.Helper()
		resp, err := http.Post(base+"/api/v1/disputes/"+strconv.FormatInt(id, 10)+"/resolution", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("resolve %d with %s: status %d, want %d", id, body, resp.StatusCode, want)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	post(first.ID, `{"action": "reassign", "to": "123"}`, http.StatusBadRequest, &bad)
	if !strings.Contains(bad.Error.Message, "not one of the areas") {
		t.Errorf("a reassignment to a stranger says %q", bad.Error.Message)
	}
	var got disputeJSON
	post(first.ID, `{"action": "confirm", "note": "以现状为准"}`, http.StatusOK, &got)
	if got.State != "confirmed" || !got.Applied || got.Decision == nil || got.Decision.To != first.GivenTo {
		t.Fatalf("confirmed over HTTP: %+v", got)
	}

	// The rest are settled through the CLI: the second reassigned, the
	// others confirmed.
	moved := ""
	for i, d := range list.Disputes[1:] {
		id := strconv.FormatInt(d.ID, 10)
		if i == 0 {
			moved = d.Areas[1]
			mustGridd(t, "disputes", "resolve", "--db", dbURL, "--to", moved, "--note", "划归邻村", id, "reassign")
			continue
		}
		mustGridd(t, "disputes", "resolve", "--db", dbURL, id, "confirm")
	}
	out, err = gridd(t, "check", "--db", dbURL, "--require-resolved")
	if len(list.Disputes) > 1 {
		// The reassignment is not in the active generation yet.
		if err == nil || !strings.Contains(out, "merge again") {
			t.Fatalf("check after a reassignment: %v\n%s", err, out)
		}
	}
	out = mustGridd(t, "merge", "--db", dbURL, "--note", "after the disputes")
	gen := ""
	if i := strings.Index(out, "generation "); i >= 0 {
		gen = strings.Fields(out[i+len("generation "):])[0]
	}
	gen = strings.Trim(gen, ":,")
	out = mustGridd(t, "check", "--db", dbURL, "--gen", gen, "--require-resolved")
	if !strings.Contains(out, "every dispute between areas is settled") {
		t.Errorf("check of the next merge:\n%s", out)
	}
	out = mustGridd(t, "disputes", "--db", dbURL, "--gen", gen, "--state", "reassigned")
	if len(list.Disputes) > 1 && !strings.Contains(out, "\t"+moved+"\t") {
		t.Errorf("the next merge does not give the reassigned piece to %s:\n%s", moved, out)
	}
	var check struct {
		OK         bool
		Unresolved []disputeJSON `json:"unresolved_disputes"`
	}
	getJSON(t, base+"/api/v1/generations/"+gen+"/check?require_resolved=true", http.StatusOK, &check)
	if !check.OK || len(check.Unresolved) != 0 {
		t.Errorf("the API's check of generation %s: %+v", gen, check)
	}
}
