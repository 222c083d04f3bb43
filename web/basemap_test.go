package web

import (
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
)

func TestParseBasemap(t *testing.T) {
	const tdt = "http://t0.tianditu.example.gov.cn/vec_w/{z}/{x}/{y}.png"
	for _, tt := range []struct {
		name               string
		url, datum, attrib string
		want               *Basemap
		errHas             string // "" = no error
	}{
		{name: "none", want: nil},
		{name: "blank url", url: "  ", want: nil},
		{name: "wgs84 default", url: tdt, want: &Basemap{URL: tdt, Datum: geo.DatumWGS84}},
		{name: "cgcs2000 is wgs84", url: tdt, datum: "CGCS2000", attrib: " 天地图 ", want: &Basemap{URL: tdt, Datum: geo.DatumWGS84, Attribution: "天地图"}},
		{name: "gcj02", url: "https://wprd01.example.com/appmaptile?x={x}&y={y}&z={z}", datum: "gcj-02", attrib: "© 高德",
			want: &Basemap{URL: "https://wprd01.example.com/appmaptile?x={x}&y={y}&z={z}", Datum: geo.DatumGCJ02, Attribution: "© 高德"}},
		{name: "path on this site", url: "/basemap/{z}/{x}/{y}.png", want: &Basemap{URL: "/basemap/{z}/{x}/{y}.png", Datum: geo.DatumWGS84}},
		{name: "datum without url", datum: "gcj02", errHas: "need --basemap-url"},
		{name: "attribution without url", attrib: "x", errHas: "need --basemap-url"},
		{name: "no scheme", url: "tiles.example.com/{z}/{x}/{y}.png", errHas: "not an http(s) URL"},
		{name: "ftp", url: "ftp://tiles.example.com/{z}/{x}/{y}.png", errHas: "not an http(s) URL"},
		{name: "no host", url: "http:///{z}/{x}/{y}.png", errHas: "not an http(s) URL"},
		{name: "no z", url: "http://tiles.example.com/{x}/{y}.png", errHas: "has no {z}"},
		{name: "no y", url: "http://tiles.example.com/{z}/{x}/{-y}.png", errHas: "has no {y}"},
		{name: "bd09", url: tdt, datum: "bd09", errHas: "bd09 tiles are not supported"},
		{name: "unknown datum", url: tdt, datum: "mars", errHas: "--basemap-datum \"mars\""},
		{name: "markup in attribution", url: tdt, attrib: "<b>x</b>", errHas: "plain text"},
		{name: "long attribution", url: tdt, attrib: strings.Repeat("图", maxAttribution+1), errHas: "keep it under"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBasemap(tt.url, tt.datum, tt.attrib)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || geo.ErrorCode(err) != geo.EINVALID {
					t.Fatalf("err %v, want an invalid error containing %q", err, tt.errHas)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStyleDatum(t *testing.T) {
	for q, want := range map[string]string{"": "wgs84", "?gen=2": "wgs84", "?datum=gcj02": "gcj02", "?datum=gcj02&gen=3": "gcj02"} {
		if got := styleDatum(q); got != want {
			t.Errorf("styleDatum(%q) = %s, want %s", q, got, want)
		}
	}
}
