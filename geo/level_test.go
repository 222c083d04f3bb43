package geo

import "testing"

func TestValidateCode(t *testing.T) {
	tests := []struct {
		level        Level
		code, parent string
		ok           bool
	}{
		{District, "330212", "", true},
		{District, "330200", "", false}, // a city, not a district
		{District, "33021", "", false},
		{Street, "330212001", "330212", true},
		{Street, "330212001", "330203", false},
		{Street, "330212000", "", false},
		{Community, "330212001001", "330212001", true},
		{Community, "33021200100a", "", false},
		{Grid, "330212001001007", "330212001001", true},
		{Grid, "330212001001000", "", false},
		{Grid, "330212001001", "", false},
		{Grid, "", "", false},
	}
	for _, tt := range tests {
		err := ValidateCode(tt.level, tt.code, tt.parent)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateCode(%s, %q, %q) = %v, want ok=%v", tt.level, tt.code, tt.parent, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("ValidateCode(%s, %q): code %s", tt.level, tt.code, ErrorCode(err))
		}
	}
}

func TestLevels(t *testing.T) {
	for i, l := range Levels {
		got, err := ParseLevel(string(l))
		if err != nil || got != l {
			t.Errorf("ParseLevel(%q) = %q, %v", l, got, err)
		}
		if l.CodeLen() != 6+3*i {
			t.Errorf("%s.CodeLen() = %d", l, l.CodeLen())
		}
		if i > 0 && (l.Parent() != Levels[i-1] || Levels[i-1].Child() != l) {
			t.Errorf("%s parent/child links broken", l)
		}
		code := "330212001001007"[:l.CodeLen()]
		if lv, err := LevelOfCode(code); err != nil || lv != l {
			t.Errorf("LevelOfCode(%q) = %s, %v", code, lv, err)
		}
		if i > 0 && ParentCode(code) != code[:Levels[i-1].CodeLen()] {
			t.Errorf("ParentCode(%q) = %q", code, ParentCode(code))
		}
	}
	if _, err := ParseLevel("block"); ErrorCode(err) != EINVALID {
		t.Errorf("ParseLevel(block): %v", err)
	}
	if c, err := GridCode("330212001001", 7); err != nil || c != "330212001001007" {
		t.Errorf("GridCode = %q, %v", c, err)
	}
	for _, seq := range []int{0, 1000} {
		if _, err := GridCode("330212001001", seq); err == nil {
			t.Errorf("GridCode(seq %d) accepted", seq)
		}
	}
}

func TestErrorOneLine(t *testing.T) {
	err := WrapError(EUNAVAILABLE, errorString("dial a: refused\n\tdial b: refused\n\tdial b: refused"), "cannot reach the database")
	want := "cannot reach the database: dial a: refused dial b: refused"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	if ErrorMessage(err) != "cannot reach the database" || ErrorCode(err) != EUNAVAILABLE {
		t.Errorf("message %q code %q", ErrorMessage(err), ErrorCode(err))
	}
	if ErrorCode(errorString("x")) != EINTERNAL || ErrorMessage(errorString("secret")) != "internal error" {
		t.Error("a plain error must be internal and keep its text from API callers")
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
