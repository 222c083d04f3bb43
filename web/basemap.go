package web

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gridd/gridd/geo"
)

// Basemap is an optional raster basemap the style puts under the grids.
// gridd serves none of its own: users run in closed networks, so the
// default is no basemap at all, and a site that has one (天地图 on its
// intranet, a tile server of its own, Amap where the internet is allowed)
// names it with serve --basemap-url.
type Basemap struct {
	URL         string    // XYZ template with {z}, {x}, {y}; absolute, or a path on this site
	Datum       geo.Datum // the basemap's datum: wgs84 (cgcs2000 too) or gcj02
	Attribution string    // shown in the map's corner; the tile provider's terms usually require it
}

// maxAttribution bounds the attribution text, which is shown on every map.
const maxAttribution = 300

// ParseBasemap reads the --basemap-* flags. An empty rawURL means no
// basemap; then a datum or attribution alone is a mistake worth saying.
// The datum says where the basemap's imagery sits: with gcj02 (Amap,
// Tencent) the grid tiles are shifted to GCJ-02 so they line up with it.
func ParseBasemap(rawURL, datum, attribution string) (*Basemap, error) {
	rawURL = strings.TrimSpace(rawURL)
	datum = strings.TrimSpace(datum)
	if rawURL == "" {
		if datum != "" || strings.TrimSpace(attribution) != "" {
			return nil, geo.Errorf(geo.EINVALID, "--basemap-datum and --basemap-attribution need --basemap-url: give the basemap's tile URL too")
		}
		return nil, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || !(u.Scheme == "http" || u.Scheme == "https") || u.Host == "" {
		if !(err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(rawURL, "/")) {
			return nil, geo.Errorf(geo.EINVALID, "--basemap-url %q is not an http(s) URL or a path on this site: give e.g. http://tiles.example.gov.cn/{z}/{x}/{y}.png", rawURL)
		}
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(rawURL, p) {
			return nil, geo.Errorf(geo.EINVALID, "--basemap-url %q has no %s: the tile URL needs {z}, {x} and {y}, e.g. http://tiles.example.gov.cn/{z}/{x}/{y}.png", rawURL, p)
		}
	}
	b := &Basemap{URL: rawURL, Datum: geo.DatumWGS84, Attribution: strings.TrimSpace(attribution)}
	if datum != "" {
		d, err := geo.ParseDatum(datum)
		if err != nil || (d != geo.DatumWGS84 && d != geo.DatumGCJ02) {
			return nil, geo.Errorf(geo.EINVALID, "--basemap-datum %q: use wgs84, cgcs2000 (天地图) or gcj02 (高德, 腾讯); Baidu's bd09 tiles are not supported", datum)
		}
		b.Datum = d
	}
	if n := len([]rune(b.Attribution)); n > maxAttribution {
		return nil, geo.Errorf(geo.EINVALID, "--basemap-attribution is %d characters long: keep it under %d", n, maxAttribution)
	}
	if strings.ContainsAny(b.Attribution, "<>") {
		return nil, geo.Errorf(geo.EINVALID, "--basemap-attribution %q contains < or >: give plain text", b.Attribution)
	}
	return b, nil
}

// String describes the basemap for the startup log.
func (b *Basemap) String() string {
	if b == nil {
		return "none"
	}
	return fmt.Sprintf("%s (%s)", b.URL, b.Datum)
}

// styleSource is the basemap's raster source in the style.
func (b *Basemap) styleSource() map[string]any {
	src := map[string]any{"type": "raster", "tiles": []string{b.URL}, "tileSize": 256, "maxzoom": 18}
	if b.Attribution != "" {
		src["attribution"] = b.Attribution
	}
	return src
}
