package main

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// newLogin makes an account with the CLI and returns its login and the
// password printed once, for a browser to sign in with.
func newLogin(t *testing.T, dbURL, login, role, scope string) []string {
	t.Helper()
	m := shownOnce.FindStringSubmatch(mustGridd(t, "user", "add", "--db", dbURL, "--login", login, "--role", role, "--scope", scope))
	if m == nil {
		t.Fatalf("user add %s printed no password", login)
	}
	key := strings.ToUpper(strings.TrimPrefix(login, "c"))
	return []string{"GRIDD_" + key + "_LOGIN=" + login, "GRIDD_" + key + "_PASSWORD=" + m[1]}
}

// TestConsoleRegister drives the area panel's buildings and register in
// headless Chromium (web/console/test/register.mjs) on the demo city and a
// second one, and checks what the browser saw against the database: the
// counts' source, the grid's buildings in the panel and on the map, masked
// rows and no reveal for a viewer (and no name or ID number of the
// register anywhere on their page), the reveal refused without a reason
// and granted with one (audited, the record the one in the register), the
// export requested and approved by the admin above. Screenshots:
// var/screenshots/console-register-*.png.
func TestConsoleRegister(t *testing.T) {
	for _, c := range []struct {
		name  string
		dbURL func(*testing.T) string
	}{{"demo", demoDatabaseURL}, {"second city", secondCityDatabaseURL}} {
		t.Run(c.name, func(t *testing.T) { testConsoleRegister(t, c.dbURL(t), strings.ReplaceAll(c.name, " ", "-")) })
	}
}

func testConsoleRegister(t *testing.T, dbURL, name string) {
	ctx := context.Background()
	f := makeRegisterFixture(t, dbURL)
	mustGridd(t, "register", "load", "--db", dbURL, writeFile(t, "register.csv", registerHeader+"\n"+strings.Join(f.lines, "\n")+"\n"))
	shown, gen, moving := swappedDraft(t, dbURL, f) // the panel shows generation shown; the script activates gen at its end
	base := serve(t, dbURL, "--activation-approval", strconv.Itoa(moving-1))
	conn := connect(t, dbURL)
	// A building found by an address no other building's holds, in a grid
	// other than the one the viewer opened.
	var address, addressGrid, addressBuilding string
	if err := conn.QueryRow(ctx, `SELECT b.address, bg.grid_code, b.id FROM buildings b
		JOIN building_grid bg ON bg.building_id = b.id AND bg.generation = $1
		WHERE bg.grid_code IS NOT NULL AND bg.grid_code <> $2
		  AND b.address IN (SELECT address FROM buildings WHERE address <> '' GROUP BY address HAVING count(*) = 1)
		ORDER BY b.id LIMIT 1`, shown, f.gridA).Scan(&address, &addressGrid, &addressBuilding); err != nil {
		t.Fatalf("a building with an address of its own: %v", err)
	}
	env := []string{"GRIDD_GRID=" + f.gridA, "GRIDD_TAG=独居老人", "GRIDD_GEN=" + strconv.Itoa(gen),
		"GRIDD_ADDRESS=" + address, "GRIDD_ADDRESS_GRID=" + addressGrid}
	env = append(env, newLogin(t, dbURL, "cgis", "gis", "")...)
	env = append(env, newLogin(t, dbURL, "ctop", "admin", "")...)
	env = append(env, newLogin(t, dbURL, "cviewer", "viewer", "")...)
	env = append(env, newLogin(t, dbURL, "cdisp", "dispatcher", f.street)...)
	env = append(env, newLogin(t, dbURL, "cboss", "admin", f.gridA[:6])...)
	out := runConsoleScript(t, "register.mjs", base, screenshotPath(t, "console-register-"+name), env...)
	var res struct {
		Source, Households, Buildings string
		BuildingList, OnMap           []string
		ViewerNames                   []string
		ViewerReveal                  int
		ViewerText                    string
		TagMatched                    string
		Resident                      int64
		MaskedName, NoReason          string
		Revealed                      struct{ Name, ID string }
		Export                        int64
		Approved                      string
		Refusal                       string
		ActivationRequest             int64
		AddressHits                   []string
		AddressPanel                  string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("register.mjs printed %q: %v", out, err)
	}
	if !slices.Equal(res.AddressHits, []string{addressBuilding}) || !strings.Contains(res.AddressPanel, addressGrid) {
		t.Errorf("search for %q found buildings %v and opened %q; want %s in grid %s", address, res.AddressHits, res.AddressPanel, addressBuilding, addressGrid)
	}
	var households, buildings int
	if err := conn.QueryRow(ctx, `SELECT households, buildings FROM area_counts WHERE generation = $2 AND code = $1`,
		f.gridA, shown).Scan(&households, &buildings); err != nil {
		t.Fatal(err)
	}
	num := func(s string) string { return strings.NewReplacer(",", "", " ", "").Replace(s) }
	if res.Source != "data" || !strings.HasPrefix(num(res.Households), strconv.Itoa(households)) || num(res.Buildings) != strconv.Itoa(buildings) {
		t.Errorf("the panel says %q households (%s), %q buildings; the database %d, %d from data", res.Households, res.Source, res.Buildings, households, buildings)
	}
	var inGrid []string
	rows, _ := conn.Query(ctx, `SELECT building_id FROM building_grid WHERE generation = $2 AND grid_code = $1`, f.gridA, shown)
	for rows.Next() {
		var id string
		rows.Scan(&id)
		inGrid = append(inGrid, id)
	}
	for _, id := range res.BuildingList {
		if !slices.Contains(inGrid, id) {
			t.Errorf("the panel lists building %s, not in grid %s", id, f.gridA)
		}
	}
	if len(res.BuildingList) == 0 || len(res.OnMap) == 0 {
		t.Errorf("buildings in the panel %v, on the map %v", res.BuildingList, res.OnMap)
	}

	// The viewer: masked, nothing to reveal, no datum of the register.
	if len(res.ViewerNames) == 0 || res.ViewerReveal != 0 {
		t.Errorf("the viewer sees names %v and %d reveal buttons", res.ViewerNames, res.ViewerReveal)
	}
	for _, n := range res.ViewerNames {
		if !strings.Contains(n, "*") {
			t.Errorf("the viewer sees the name %q unmasked", n)
		}
	}
	for i := range f.names {
		if strings.Contains(res.ViewerText, f.names[i]) || strings.Contains(res.ViewerText, f.ids[i]) {
			t.Errorf("the viewer's page holds resident %d's name or ID number", i)
		}
	}

	// The dispatcher's reveal: refused without a reason, then the record
	// in the register, audited with the reason.
	if !strings.Contains(res.TagMatched, "1") || res.NoReason == "" || !strings.Contains(res.MaskedName, "*") {
		t.Errorf("tag filter %q, reveal without a reason %q, masked %q", res.TagMatched, res.NoReason, res.MaskedName)
	}
	if i := slices.Index(f.names, res.Revealed.Name); i < 0 || f.ids[i] != res.Revealed.ID {
		t.Errorf("revealed %+v: not a record of the register", res.Revealed)
	}
	var reveals int
	conn.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'resident.reveal' AND actor_name = 'cdisp' AND target = $1 AND after::text LIKE '%走访核实独居老人情况%'`,
		"resident:"+strconv.FormatInt(res.Resident, 10)).Scan(&reveals)
	if reveals != 1 {
		t.Errorf("%d audit entries for the reveal of resident %d with its reason", reveals, res.Resident)
	}
	var state, decidedBy string
	if err := conn.QueryRow(ctx, `SELECT state, coalesce(decided_by, '') FROM register_exports WHERE id = $1 AND area = $2 AND requested_by = 'cdisp'`, res.Export, f.gridA).
		Scan(&state, &decidedBy); err != nil || state != "approved" || decidedBy != "cboss" {
		t.Errorf("export %d: %s by %q (%v); want approved by cboss (the panel said %q)", res.Export, state, decidedBy, err, res.Approved)
	}

	// The activation: refused with the households it moves, asked for,
	// approved by the top admin, used by the second try.
	var aState, aBy, gState string
	if err := conn.QueryRow(ctx, `SELECT a.state, coalesce(a.decided_by, ''), g.state FROM activation_requests a JOIN generations g ON g.id = a.generation
		WHERE a.id = $1 AND a.generation = $2 AND a.requested_by = 'cgis'`, res.ActivationRequest, gen).Scan(&aState, &aBy, &gState); err != nil ||
		aState != "used" || aBy != "ctop" || gState != "active" || !strings.Contains(res.Refusal, strconv.Itoa(moving)) {
		t.Errorf("activation request %d: %s, decided by %q, generation %d %s (%v); the refusal said %q", res.ActivationRequest, aState, aBy, gen, gState, err, res.Refusal)
	}
}
