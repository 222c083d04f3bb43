package routing_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/routing"
	"github.com/paulmach/orb"
)

// squareCity is a district of n×n square grids of 0.01°, one street and
// one community, with names that need CSV quoting in one grid.
func squareCity(t *testing.T, n int) *routing.Snapshot {
	t.Helper()
	x0, y0 := 120.0, 30.0
	box := func(x1, y1, x2, y2 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x1, y1}, {x2, y1}, {x2, y2}, {x1, y2}, {x1, y1}}}}
	}
	all := box(x0, y0, x0+0.01*float64(n), y0+0.01*float64(n))
	areas := []geo.Area{
		{Level: geo.District, Code: "339901", Name: "测试区", Geometry: all},
		{Level: geo.Street, Code: "339901001", Name: "一街道", ParentCode: "339901", Geometry: all},
		{Level: geo.Community, Code: "339901001001", Name: "一社区", ParentCode: "339901001", Geometry: all},
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			k := i*n + j
			name := fmt.Sprintf("第%d网格", k+1)
			if k == 0 {
				name = `网格 "一", 东` // needs quoting in the output
			}
			x, y := x0+0.01*float64(i), y0+0.01*float64(j)
			areas = append(areas, geo.Area{Level: geo.Grid, Code: fmt.Sprintf("339901001001%03d", k+1), Name: name,
				ParentCode: "339901001001", Geometry: box(x, y, x+0.01, y+0.01)})
		}
	}
	s, err := routing.Build(7, areas)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func batchOptions(name string) routing.BatchOptions {
	return routing.BatchOptions{
		Columns: func(h []string) (int, int, error) {
			lon, lat := -1, -1
			for i, c := range h {
				switch strings.TrimSpace(c) {
				case "lon":
					lon = i
				case "lat":
					lat = i
				}
			}
			if lon < 0 || lat < 0 {
				return 0, 0, geo.Errorf(geo.EINVALID, "%s: no lon/lat column", name)
			}
			return lon, lat, nil
		},
		Datum: geo.DatumWGS84, ToleranceM: 100, DistrictM: 5000, Name: name,
	}
}

// TestLocateCSV: the parallel fast path, the encoding/csv path and one
// Locate per point give the same rows, in input order.
func TestLocateCSV(t *testing.T) {
	s := squareCity(t, 6)
	rng := rand.New(rand.NewPCG(1, 2))
	var pts []orb.Point
	var in bytes.Buffer
	in.WriteString("id,lon,lat,note\n")
	for i := 0; i < 60000; i++ {
		// Inside, on borders, near outside, far outside.
		p := orb.Point{119.99 + rng.Float64()*0.08, 29.99 + rng.Float64()*0.08}
		switch i % 7 {
		case 0:
			p[0] = 120 + 0.01*float64(rng.IntN(7))
		case 1:
			p = orb.Point{125, 35}
		}
		lon, lat := strconv.FormatFloat(p[0], 'f', -1, 64), strconv.FormatFloat(p[1], 'f', 7, 64)
		p[1], _ = strconv.ParseFloat(lat, 64)
		pts = append(pts, p)
		fmt.Fprintf(&in, "%d,%s,%s,n%d\n", i, lon, lat, i)
	}
	fast := &bytes.Buffer{}
	st, err := s.LocateCSV(bytes.NewReader(in.Bytes()), fast, batchOptions("pts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// The same with one quoted field: the whole file takes encoding/csv.
	quoted := bytes.Replace(in.Bytes(), []byte(",n5\n"), []byte(",\"n5\"\n"), 1)
	slow := &bytes.Buffer{}
	st2, err := s.LocateCSV(bytes.NewReader(quoted), slow, batchOptions("pts.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Points != len(pts) || st2.Points != len(pts) || st.Matches[geo.MatchInside] != st2.Matches[geo.MatchInside] {
		t.Fatalf("stats %+v %+v for %d points", st, st2, len(pts))
	}
	for name, out := range map[string][]byte{"fast": fast.Bytes(), "slow": slow.Bytes()} {
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("%s: output is not CSV: %v", name, err)
		}
		if len(recs) != len(pts)+1 || strings.Join(recs[0], ",") != "id,lon,lat,note,generation,match,distance_m,district_code,district_name,street_code,street_name,community_code,community_name,grid_code,grid_name" {
			t.Fatalf("%s: %d rows, header %v", name, len(recs), recs[0])
		}
		matches := map[string]int{}
		for i, r := range recs[1:] {
			want := s.Locate(pts[i], 100, 5000)
			matches[want.Match]++
			code, gname := "", ""
			if want.Grid != nil {
				code, gname = want.Grid.Code, want.Grid.Name
			}
			if r[0] != strconv.Itoa(i) || r[3] != "n"+strconv.Itoa(i) || r[4] != "7" || r[5] != want.Match || r[13] != code || r[14] != gname ||
				r[6] != strconv.FormatFloat(want.DistanceM, 'f', 1, 64) {
				t.Fatalf("%s row %d: %v, want %s %s %q at %.1f m", name, i, r, want.Match, code, gname, want.DistanceM)
			}
		}
		for _, m := range []string{geo.MatchInside, geo.MatchNearest, geo.MatchDistrict, geo.MatchNone} {
			if matches[m] == 0 && m != geo.MatchNone {
				t.Errorf("the sample has no %s point: the test does not cover it", m)
			}
		}
	}
}

// TestLocateCSVErrors: the first bad row is named by its line in both
// paths, and odd but valid files are read.
func TestLocateCSVErrors(t *testing.T) {
	s := squareCity(t, 2)
	many := "lon,lat\n" + strings.Repeat("120.005,30.005\n", 30000)
	for _, tt := range []struct {
		name, in string
		want     string // error substring; "" = success
		rows     int
	}{
		{"bad latitude", "lon,lat\n120.005,30.005\n120.005,north\n", `line 3: "120.005", "north" is not a lon, lat`, 0},
		{"bad late in a big file", many + "120.005,95\n", fmt.Sprintf("line %d:", 30002), 0},
		{"bad in a quoted file", "lon,lat,\"n\"\n120.005,30.005,x\n1e999,30,x\n", `line 3: "1e999", "30"`, 0},
		{"too few columns", "id,lon,lat\n1,120.005,30.005\n2,120.005\n", "line 3 has 2 columns, fewer than the header", 0},
		{"NaN", "lon,lat\nNaN,30\n", "line 2", 0},
		{"no header", "", "has no header row", 0},
		{"no lon column", "x,y\n1,2\n", "no lon/lat column", 0},
		{"CRLF, BOM and blank lines", "\ufefflon,lat\r\n120.005,30.005\r\n\r\n 120.015 , 30.015\r\n", "", 2},
		{"exponent and sign", "lon,lat\n+1.20005e2,30.005\n", "", 1},
		{"no final newline", "lon,lat\n120.005,30.005", "", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := s.LocateCSV(strings.NewReader(tt.in), &out, batchOptions("pts.csv"))
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) || geo.ErrorCode(err) != geo.EINVALID {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			recs, err := csv.NewReader(&out).ReadAll()
			if err != nil || st.Points != tt.rows || len(recs) != tt.rows+1 || st.Matches[geo.MatchInside] != tt.rows {
				t.Fatalf("%d points, %d rows, %v: %q", st.Points, len(recs), err, out.String())
			}
			if recs[1][len(recs[1])-2] != "339901001001001" {
				t.Fatalf("first point in grid %q", recs[1][len(recs[1])-2])
			}
		})
	}
}

// TestParseCoordMatchesStrconv: the fast decimal parser gives exactly
// strconv's float64 for every shape of coordinate.
func TestParseCoordMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		v := (rng.Float64()*2 - 1) * 180
		var s string
		switch i % 5 {
		case 0:
			s = strconv.FormatFloat(v, 'f', -1, 64) // up to 17 digits: strconv's path
		case 1:
			s = strconv.FormatFloat(v, 'f', rng.IntN(12), 64)
		case 2:
			s = strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', 6, 64)
		case 3:
			s = "00" + strconv.FormatFloat(math.Abs(v)/1000, 'f', 9, 64)
		default:
			s = " " + strconv.FormatFloat(v, 'f', 14, 64) + " "
		}
		want, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if got, ok := routing.ParseCoordForTest([]byte(s)); !ok || got != want {
			t.Fatalf("parseCoord(%q) = %v %v, strconv says %v", s, got, ok, want)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "12a", "--1", "NaN", "0x1p3"} {
		if v, ok := routing.ParseCoordForTest([]byte(bad)); ok && bad != "0x1p3" {
			t.Errorf("parseCoord(%q) = %v, want refused", bad, v)
		}
	}
}
