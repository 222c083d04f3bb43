package postgis_test

import (
	"strings"
	"testing"

	"github.com/gridd/gridd/postgis"
)

func TestCleanAttribution(t *testing.T) {
	for _, tt := range []struct {
		in, want, errHas string
	}{
		{in: "  网格: 北仑区综治中心 2024 ", want: "网格: 北仑区综治中心 2024"},
		{in: "", want: ""},
		{in: strings.Repeat("图", 300), want: strings.Repeat("图", 300)},
		{in: strings.Repeat("图", 301), errHas: "at most 300"},
		{in: "line one\nline two", errHas: "one line"},
		{in: "tab\there", errHas: "one line"},
		{in: `<img src=x onerror="alert(1)">`, errHas: "plain text"},
		{in: "\xff\xfe", errHas: "UTF-8"},
	} {
		got, err := postgis.CleanAttribution(tt.in)
		switch {
		case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)):
			t.Errorf("CleanAttribution(%q): %v, want an error saying %q", tt.in, err, tt.errHas)
		case tt.errHas == "" && (err != nil || got != tt.want):
			t.Errorf("CleanAttribution(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
