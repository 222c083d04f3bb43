package geo

import "fmt"

// Level is one of the four levels of the unified coverage.
type Level string

const (
	District  Level = "district"  // 区/县, 6-digit GB/T 2260 code
	Street    Level = "street"    // 街道/镇/乡, 9 digits
	Community Level = "community" // 社区/村, 12 digits (statistical division code)
	Grid      Level = "grid"      // 网格, 15 digits: community + 3-digit sequence
)

// Levels lists the levels from the top down.
var Levels = [...]Level{District, Street, Community, Grid}

// ParseLevel accepts a level name as written on the command line or in a URL.
func ParseLevel(s string) (Level, error) {
	switch Level(s) {
	case District, Street, Community, Grid:
		return Level(s), nil
	}
	return "", Errorf(EINVALID, "unknown level %q: use district, street, community or grid", s)
}

// CodeLen is the number of digits of a code at this level.
func (l Level) CodeLen() int {
	switch l {
	case District:
		return 6
	case Street:
		return 9
	case Community:
		return 12
	case Grid:
		return 15
	}
	return 0
}

// Parent returns the level above, or "" for District.
func (l Level) Parent() Level {
	switch l {
	case Street:
		return District
	case Community:
		return Street
	case Grid:
		return Community
	}
	return ""
}

// Child returns the level below, or "" for Grid.
func (l Level) Child() Level {
	switch l {
	case District:
		return Street
	case Street:
		return Community
	case Community:
		return Grid
	}
	return ""
}

// Plural is the name of the level's tile layer and collection.
func (l Level) Plural() string {
	switch l {
	case District:
		return "districts"
	case Street:
		return "streets"
	case Community:
		return "communities"
	case Grid:
		return "grids"
	}
	return ""
}

// LevelOfCode tells the level of a well-formed code from its length.
func LevelOfCode(code string) (Level, error) {
	if err := checkDigits(code); err != nil {
		return "", err
	}
	for _, l := range Levels {
		if len(code) == l.CodeLen() {
			return l, nil
		}
	}
	return "", Errorf(EINVALID, "code %q has %d digits: district codes have 6, street 9, community 12, grid 15", code, len(code))
}

// ValidateCode checks that code is a well-formed code of level l and, when
// parent is not empty, that it lies under parent.
func ValidateCode(l Level, code, parent string) error {
	if err := checkDigits(code); err != nil {
		return err
	}
	if len(code) != l.CodeLen() {
		return Errorf(EINVALID, "%s code %q has %d digits, want %d", l, code, len(code), l.CodeLen())
	}
	if l == District && code[4:] == "00" {
		return Errorf(EINVALID, "district code %q ends in 00, which GB/T 2260 uses for a city, not a district", code)
	}
	if l != District && code[len(code)-3:] == "000" {
		return Errorf(EINVALID, "%s code %q ends in 000, which is not a valid sequence", l, code)
	}
	if parent != "" && ParentCode(code) != parent {
		return Errorf(EINVALID, "%s code %q is not under %s %q", l, code, l.Parent(), parent)
	}
	return nil
}

// ParentCode returns the code of the parent area, "" for a district code.
func ParentCode(code string) string {
	switch len(code) {
	case 9:
		return code[:6]
	case 12:
		return code[:9]
	case 15:
		return code[:12]
	}
	return ""
}

// GridCode builds the 15-digit grid code of the seq-th grid of community.
func GridCode(community string, seq int) (string, error) {
	if len(community) != 12 {
		return "", Errorf(EINVALID, "community code %q has %d digits, want 12", community, len(community))
	}
	if seq < 1 || seq > 999 {
		return "", Errorf(EINVALID, "grid sequence %d out of range 1..999 in community %s", seq, community)
	}
	return fmt.Sprintf("%s%03d", community, seq), nil
}

func checkDigits(code string) error {
	if code == "" {
		return Errorf(EINVALID, "empty code")
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return Errorf(EINVALID, "code %q has a non-digit %q at position %d", code, code[i], i+1)
		}
	}
	return nil
}
