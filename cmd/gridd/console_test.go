package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConsoleInChromium loads the console of a demo city in a real headless
// Chromium (Debian's, driven by playwright-core) and checks that grid tiles
// render and a click shows the right code chain. The screenshot is kept in
// var/screenshots/.
func TestConsoleInChromium(t *testing.T) {
	dbURL := demoDatabaseURL(t)
	base := serve(t, dbURL)

	shot := screenshotPath(t, "console-map.png")
	// The console logs in through its form as an operator.
	pw := shownOnce.FindStringSubmatch(mustGridd(t, "user", "add", "--db", dbURL, "--login", "smoke", "--role", "viewer"))
	if pw == nil {
		t.Fatal("gridd user add printed no password")
	}
	out := runConsoleScript(t, "smoke.mjs", base, shot, "GRIDD_LOGIN=smoke", "GRIDD_PASSWORD="+pw[1])
	var res struct {
		RenderedGrids int      `json:"renderedGrids"`
		Chain         []string `json:"chain"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("smoke test output %q: %v", out, err)
	}
	if res.RenderedGrids == 0 || len(res.Chain) != 4 {
		t.Fatalf("smoke test result %+v", res)
	}
	t.Logf("rendered %d grid features; clicked grid %s; screenshot %s", res.RenderedGrids, res.Chain[3], shot)
}

// runConsoleScript runs the browser test web/console/test/SCRIPT with
// node, giving it the server's base URL and a screenshot path (in
// var/screenshots/) as arguments and env added to the environment, and
// returns the last line it printed (its JSON result).
func runConsoleScript(t *testing.T, script, base, shot string, env ...string) []byte {
	t.Helper()
	cmd := exec.Command("node", "test/"+script, base, shot)
	cmd.Dir = "../../web/console"
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser test %s failed (%v): %s\n(run 'make test', which installs chromium and the npm packages)", script, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return []byte(lines[len(lines)-1])
}

// screenshotPath returns var/screenshots/NAME, making the directory.
func screenshotPath(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs("../../var/screenshots")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}
