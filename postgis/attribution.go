package postgis

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gridd/gridd/geo"
)

// maxAttribution bounds a layer's attribution (as the column's check does):
// it is shown in a map's corner, not a licence text.
const maxAttribution = 300

// recordAttributionSQL stores a generation's attribution: the distinct
// attributions of the layers ($2) it was merged from, in a stable order.
const recordAttributionSQL = `
UPDATE generations SET attribution = coalesce((
    SELECT array_agg(DISTINCT attribution ORDER BY attribution)
    FROM source_layers WHERE id = ANY($2) AND attribution <> ''), '{}')
WHERE id = $1`

// CleanAttribution trims an attribution and checks that it fits a map's
// attribution line: one line of plain text of at most 300 characters.
func CleanAttribution(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", geo.Errorf(geo.EINVALID, "attribution is not valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(s); n > maxAttribution {
		return "", geo.Errorf(geo.EINVALID, "attribution has %d characters: shorten it to at most %d (it is one line in the map's corner)", n, maxAttribution)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", geo.Errorf(geo.EINVALID, "attribution has a line break or control character: write it on one line")
	}
	// Maps render attributions as HTML: markup would run in every browser.
	if strings.ContainsAny(s, "<>") {
		return "", geo.Errorf(geo.EINVALID, "attribution %q contains < or >: give plain text", s)
	}
	return s, nil
}
