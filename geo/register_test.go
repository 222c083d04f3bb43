package geo

import (
	"testing"
	"time"
)

func TestValidateIDNumber(t *testing.T) {
	today := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		id string
		ok bool
	}{
		// The two worked examples of GB 11643-1999.
		{"11010519491231002X", true},
		{"11010519491231002x", true},
		{" 440524188001010014 ", false}, // born 1880: before 1900
		{"110105194912310021", false},   // wrong check character
		{"11010519491231002", false},    // 17 characters
		{"1101051949123100211", false},  // 19
		{"11010519490231002X", false},   // 31 February
		{"11010520991231002X", false},   // born in the future
		{"1101051949123100AX", false},   // a letter among the digits
		{"01010519491231002X", false},   // no province 01
		{"", false},
	} {
		err := ValidateIDNumber(tt.id, today)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateIDNumber(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("ValidateIDNumber(%q): code %s", tt.id, ErrorCode(err))
		}
	}
	// 440524188001010014 is the standard's other example: its check
	// character is right even though the date is too old for a register.
	if c := IDCheckChar("44052418800101001"); c != '4' {
		t.Errorf("check character of the second example: %c, want 4", c)
	}
	if c := IDCheckChar("1101051949123100"); c != 0 {
		t.Errorf("16 digits give check character %q", c)
	}
}

func TestRegisterMasks(t *testing.T) {
	for _, tt := range []struct{ in, name, id string }{
		{"王小明", "王*明", "***"},
		{"欧阳小明", "欧**明", "****"},
		{"王明", "王*", "**"},
		{"", "", ""},
	} {
		if got := MaskResidentName(tt.in); got != tt.name {
			t.Errorf("MaskResidentName(%q) = %q, want %q", tt.in, got, tt.name)
		}
		if got := MaskIDNumber(tt.in); got != tt.id {
			t.Errorf("MaskIDNumber(%q) = %q, want %q", tt.in, got, tt.id)
		}
	}
	if got := MaskIDNumber("330203199001011234"); got != "330203********1234" {
		t.Errorf("MaskIDNumber = %q", got)
	}
	if got := MaskPhone("13900000000"); got != "139****0000" {
		t.Errorf("MaskPhone = %q", got)
	}
	a, b := DefaultResidentTags(), DefaultResidentTags()
	a[0] = "changed"
	if b[0] == "changed" || len(b) == 0 {
		t.Error("the default tag catalogue is shared between callers")
	}
}
