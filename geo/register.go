package geo

import (
	"strings"
	"time"
	"unicode/utf8"
)

// The register of households and residents (实有人口, issue 13 §4) holds
// personal data: this file has the rules that do not need the store — the
// citizen ID number's form (GB 11643-1999) and the masks shown by default.

// idCheck maps the weighted sum mod 11 of the first 17 digits to the
// check character (GB 11643-1999); digit i (from 0) weighs 2^(17-i) mod 11.
const idCheck = "10X98765432"

// IDCheckChar returns the check character of the first 17 digits of an
// ID number, or 0 when they are not 17 digits.
func IDCheckChar(first17 string) byte {
	if len(first17) != 17 {
		return 0
	}
	sum, weight := 0, 1
	for i := 16; i >= 0; i-- { // from the last digit, whose weight is 2
		weight = weight * 2 % 11
		c := first17[i]
		if c < '0' || c > '9' {
			return 0
		}
		sum += int(c-'0') * weight
	}
	return idCheck[sum%11]
}

// NormalizeIDNumber trims an ID number and upper-cases its check 'x'.
func NormalizeIDNumber(s string) string {
	return strings.ToUpper(strings.TrimSpace(s))
}

// ValidateIDNumber checks an 18-character citizen ID number: 17 digits, a
// birth date that exists and is not in the future (relative to today), and
// the check character. The error says what is wrong, never the number.
func ValidateIDNumber(s string, today time.Time) error {
	s = NormalizeIDNumber(s)
	if len(s) != 18 {
		return Errorf(EINVALID, "an ID number has 18 characters, this one %d", utf8.RuneCountInString(s))
	}
	want := IDCheckChar(s[:17])
	if want == 0 {
		return Errorf(EINVALID, "the first 17 characters of an ID number are digits")
	}
	if s[0] == '0' || s[:2] < "11" {
		return Errorf(EINVALID, "an ID number starts with a province code (11–82)")
	}
	born, err := time.Parse("20060102", s[6:14])
	if err != nil {
		return Errorf(EINVALID, "characters 7–14 of an ID number are a birth date (YYYYMMDD) that exists")
	}
	if born.Year() < 1900 || born.After(today) {
		return Errorf(EINVALID, "the birth date in the ID number is before 1900 or in the future")
	}
	if s[17] != want {
		return Errorf(EINVALID, "the check character of the ID number is wrong (GB 11643): look for a mistyped digit")
	}
	return nil
}

// MaskIDNumber keeps the region code and the last four characters:
// 330203********1234. Anything shorter than 10 characters is masked whole.
func MaskIDNumber(s string) string {
	rs := []rune(strings.TrimSpace(s))
	n := len(rs)
	if n == 0 {
		return ""
	}
	if n < 10 {
		return strings.Repeat("*", n)
	}
	return string(rs[:6]) + strings.Repeat("*", n-10) + string(rs[n-4:])
}

// MaskResidentName keeps a resident's first and last characters: 王小明 →
// 王*明, 欧阳小明 → 欧**明; a two-character name keeps the first: 王明 → 王*.
func MaskResidentName(s string) string {
	rs := []rune(strings.TrimSpace(s))
	switch n := len(rs); {
	case n == 0:
		return ""
	case n <= 2:
		return string(rs[0]) + "*"
	default:
		return string(rs[0]) + strings.Repeat("*", n-2) + string(rs[n-1])
	}
}

// DefaultResidentTags is the catalogue of tags a register row may carry
// (the care and attention categories grid workers visit by); a city
// replaces it with its own.
func DefaultResidentTags() []string {
	return []string{"独居老人", "空巢老人", "残疾人", "低保户", "特困人员", "流动人口", "留守儿童", "退役军人", "重点关注"}
}
