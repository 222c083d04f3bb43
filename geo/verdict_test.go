package geo

import (
	"strings"
	"testing"
	"time"
)

func TestVerdictLink(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Unix(1_800_000_000, 0)
	good := SignVerdictLink(key, 42, now.Add(time.Hour))
	id, exp, err := ParseVerdictLink(key, good, now)
	if err != nil || id != 42 || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("parse %q: %d %s %v", good, id, exp, err)
	}
	parts := strings.Split(good, ".")
	for _, tt := range []struct {
		name, link string
		at         time.Time
		code       string
	}{
		{"expired", good, now.Add(time.Hour), EEXPIRED},
		{"another key", SignVerdictLink([]byte(strings.Repeat("x", 32)), 42, now.Add(time.Hour)), now, EINVALID},
		{"another case", "43." + parts[1] + "." + parts[2], now, EINVALID},
		{"a later expiry", parts[0] + ".1900000000." + parts[2], now, EINVALID},
		{"no mac", parts[0] + "." + parts[1], now, EINVALID},
		{"empty", "", now, EINVALID},
		{"negative case", "-1." + parts[1] + "." + parts[2], now, EINVALID},
		{"too long", good + strings.Repeat("a", 100), now, EINVALID},
	} {
		if _, _, err := ParseVerdictLink(key, tt.link, tt.at); ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
}

func TestVerdictRequestValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		req  VerdictRequest
		ok   bool
	}{
		{"token, satisfied", VerdictRequest{Token: "t", Satisfied: true}, true},
		{"link, not satisfied with a comment", VerdictRequest{Link: "l", Comment: " 没修好 "}, true},
		{"not satisfied without a comment", VerdictRequest{Token: "t", Comment: "  "}, false},
		{"neither", VerdictRequest{Satisfied: true}, false},
		{"both", VerdictRequest{Token: "t", Link: "l", Satisfied: true}, false},
		{"comment too long", VerdictRequest{Token: "t", Satisfied: true, Comment: strings.Repeat("长", 501)}, false},
		{"not text", VerdictRequest{Token: "t", Satisfied: true, Comment: "\xff"}, false},
	} {
		if err := tt.req.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if !CitizenSource("hotline") || CitizenSource("grid_worker") || CitizenSource("camera") {
		t.Error("citizen sources")
	}
}
