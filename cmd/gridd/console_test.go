package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridd/gridd/internal/pgtest"
)

// TestConsoleInChromium loads the console of a demo city in a real headless
// Chromium (Debian's, driven by playwright-core) and checks that grid tiles
// render and a click shows the right code chain. The screenshot is kept in
// var/screenshots/.
func TestConsoleInChromium(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	mustGridd(t, "demo", "--db", dbURL)
	base := serve(t, dbURL)

	shots, err := filepath.Abs("../../var/screenshots")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(shots, "console-map.png")
	// The console logs in through its form as an operator.
	pw := shownOnce.FindStringSubmatch(mustGridd(t, "user", "add", "--db", dbURL, "--login", "smoke", "--role", "viewer"))
	if pw == nil {
		t.Fatal("gridd user add printed no password")
	}
	cmd := exec.Command("node", "test/smoke.mjs", base, shot)
	cmd.Dir = "../../web/console"
	cmd.Env = append(os.Environ(), "GRIDD_LOGIN=smoke", "GRIDD_PASSWORD="+pw[1])
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("console smoke test failed (%v): %s\n(run 'make test', which installs chromium and the npm packages)", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var res struct {
		RenderedGrids int      `json:"renderedGrids"`
		Chain         []string `json:"chain"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("smoke test output %q: %v", out, err)
	}
	if res.RenderedGrids == 0 || len(res.Chain) != 4 {
		t.Fatalf("smoke test result %+v", res)
	}
	t.Logf("rendered %d grid features; clicked grid %s; screenshot %s", res.RenderedGrids, res.Chain[3], shot)
}
