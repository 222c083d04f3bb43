package importers

import (
	"fmt"
	"testing"

	"github.com/gridd/gridd/geo"
)

// esriGK writes a CGCS2000 Gauss-Krüger .prj the way ArcGIS does.
func esriGK(name string, cm, fe float64) string {
	return fmt.Sprintf(`PROJCS["%s",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",%.1f],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",%.1f],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`, name, fe, cm)
}

// ogcGK writes one the way GDAL and epsg.io do, without the authority.
func ogcGK(name string, cm, fe float64) string {
	return fmt.Sprintf(`PROJCS["%s",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",%g],PARAMETER["scale_factor",1],PARAMETER["false_easting",%g],PARAMETER["false_northing",0],UNIT["metre",1]]`, name, cm, fe)
}

func TestSRSFromWKT(t *testing.T) {
	for _, tt := range []struct {
		name, wkt, want string
	}{
		{"ESRI CGCS2000", prjCGCS2000, "EPSG:4490"},
		{"OGC CGCS2000", `GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]`, "EPSG:4490"},
		{"WKT2 CGCS2000", `GEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],CS[ellipsoidal,2],AXIS["geodetic latitude (Lat)",north,ORDER[1]],AXIS["geodetic longitude (Lon)",east,ORDER[2]]]`, "EPSG:4490"},
		{"CGCS2000 by short name", `GEOGCS["CGCS2000",DATUM["CGCS2000",SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]`, "EPSG:4490"},
		{"ESRI WGS84", `GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`, "EPSG:4326"},
		{"OGC WGS84 with authority", `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]]`, "EPSG:4326"},
		{"authority wins", `GEOGCS["Whatever",DATUM["D",SPHEROID["S",1,1]],AUTHORITY["EPSG","4610"]]`, "EPSG:4610"},
		{"round brackets", `GEOGCS("GCS_WGS_1984",DATUM("D_WGS_1984",SPHEROID("WGS_1984",6378137.0,298.257223563)),PRIMEM("Greenwich",0.0),UNIT("Degree",0.0174532925199433))`, "EPSG:4326"},
		{"ESRI Web Mercator", `PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Mercator_Auxiliary_Sphere"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",0.0],PARAMETER["Standard_Parallel_1",0.0],PARAMETER["Auxiliary_Sphere_Type",0.0],UNIT["Meter",1.0]]`, "EPSG:3857"},
		{"OGC Pseudo-Mercator", `PROJCS["WGS 84 / Pseudo-Mercator",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]]],PROJECTION["Mercator_1SP"],PARAMETER["central_meridian",0],PARAMETER["scale_factor",1],PARAMETER["false_easting",0],PARAMETER["false_northing",0],UNIT["metre",1]]`, "EPSG:3857"},
		{"Popular Visualisation", `PROJCS["Popular Visualisation CRS / Mercator",GEOGCS["Popular Visualisation CRS",DATUM["Popular_Visualisation_Datum",SPHEROID["Popular Visualisation Sphere",6378137,0]]],PROJECTION["Mercator_1SP"],UNIT["metre",1]]`, "EPSG:3857"},
		{"ESRI 3-degree CM 120E", prjGK120E, "EPSG:4549"},
		{"ESRI 3-degree zone 40", prjGKZone40, "EPSG:4528"},
		{"OGC 3-degree CM 120E", ogcGK("CGCS2000 / 3-degree Gauss-Kruger CM 120E", 120, 500000), "EPSG:4549"},
		{"OGC 3-degree zone 42", ogcGK("CGCS2000 / 3-degree Gauss-Kruger zone 42", 126, 42500000), "EPSG:4530"},
		{"OGC 3-degree zone 34", ogcGK("CGCS2000 / 3-degree Gauss-Kruger zone 34", 102, 34500000), "EPSG:4522"},
		{"6-degree zone 20", ogcGK("CGCS2000 / Gauss-Kruger zone 20", 117, 20500000), "EPSG:4498"},
		{"6-degree zone 14", ogcGK("CGCS2000 / Gauss-Kruger zone 14", 81, 14500000), "EPSG:4492"},
		{"6-degree CM 123E", ogcGK("CGCS2000 / Gauss-Kruger CM 123E", 123, 500000), "EPSG:4510"},
		{"6-degree CM 75E", esriGK("CGCS2000_GK_CM_75E", 75, 500000), "EPSG:4502"},
		{"3-degree CM 75E", esriGK("CGCS2000_3_Degree_GK_CM_75E", 75, 500000), "EPSG:4534"},
		{"3-degree CM 114E (not a 6-degree meridian)", esriGK("my grid", 114, 500000), "EPSG:4547"},
		{"3-degree CM 135E", esriGK("CGCS2000_3_Degree_GK_CM_135E", 135, 500000), "EPSG:4554"},
		{"3-degree zone 25", esriGK("CGCS2000_3_Degree_GK_Zone_25", 75, 25500000), "EPSG:4513"},
		{"3-degree zone 45", esriGK("CGCS2000_3_Degree_GK_Zone_45", 135, 45500000), "EPSG:4533"},
		{"6-degree zone 13", esriGK("CGCS2000_GK_Zone_13", 75, 13500000), "EPSG:4491"},
		{"6-degree zone 23", esriGK("CGCS2000_GK_Zone_23", 135, 23500000), "EPSG:4501"},
		{"WKT2 with its ID", `PROJCRS["CGCS2000 / 3-degree Gauss-Kruger CM 114E",BASEGEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],ID["EPSG",4490]],CONVERSION["3-degree Gauss-Kruger CM 114E",METHOD["Transverse Mercator",ID["EPSG",9807]],PARAMETER["False easting",500000,LENGTHUNIT["metre",1],ID["EPSG",8806]]],CS[Cartesian,2],ID["EPSG",4547]]`, "EPSG:4547"},
		{"WKT2 without ID", `PROJCRS["x",BASEGEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101]]],CONVERSION["x",METHOD["Transverse Mercator"],PARAMETER["Latitude of natural origin",0],PARAMETER["Longitude of natural origin",120],PARAMETER["Scale factor at natural origin",1],PARAMETER["False easting",40500000],PARAMETER["False northing",0]],CS[Cartesian,2]]`, "EPSG:4528"},
		{"UTM 51N", `PROJCS["WGS_1984_UTM_Zone_51N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",123.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`, "EPSG:32651"},
		{"BOM and spaces", "\ufeff  " + prjCGCS2000 + "\r\n", "EPSG:4490"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SRSFromWKT(tt.wkt)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// TestGaussKrugerSeries checks the whole of the four CGCS2000 series
// against their definition: zone and meridian in step, codes contiguous.
func TestGaussKrugerSeries(t *testing.T) {
	for zone := 25; zone <= 45; zone++ {
		cm := float64(3 * zone)
		if got, _ := SRSFromWKT(esriGK("z", cm, float64(zone)*1e6+500000)); got != fmt.Sprintf("EPSG:%d", 4513+zone-25) {
			t.Errorf("3-degree zone %d: %s", zone, got)
		}
		if got, _ := SRSFromWKT(esriGK("CGCS2000_3_Degree_GK_CM", cm, 500000)); got != fmt.Sprintf("EPSG:%d", 4534+zone-25) {
			t.Errorf("3-degree CM %gE: %s", cm, got)
		}
	}
	for zone := 13; zone <= 23; zone++ {
		cm := float64(6*zone - 3)
		if got, _ := SRSFromWKT(esriGK("z", cm, float64(zone)*1e6+500000)); got != fmt.Sprintf("EPSG:%d", 4491+zone-13) {
			t.Errorf("6-degree zone %d: %s", zone, got)
		}
		if got, _ := SRSFromWKT(esriGK("CGCS2000_GK_CM", cm, 500000)); got != fmt.Sprintf("EPSG:%d", 4502+zone-13) {
			t.Errorf("6-degree CM %gE: %s", cm, got)
		}
	}
}

func TestSRSFromWKTErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		wkt  string
		want []string
	}{
		{"Xian 1980", prjXian80, []string{`"Xian_1980_3_Degree_GK_CM_120E"`, "Beijing 1954 or Xian 1980", "--srs EPSG:nnnn"}},
		{"Beijing 1954 geographic", `GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`, []string{`"GCS_Beijing_1954"`, "--srs"}},
		{"local city grid", esriGK("Ningbo_Local", 121.5, 500000), []string{`"Ningbo_Local"`, "central meridian 121.5", "local city grid", "--srs EPSG:nnnn"}},
		{"zone and meridian disagree", esriGK("bad zone", 117, 40500000), []string{`"bad zone"`, "not one of the standard"}},
		{"scale 0.9996 on CGCS2000", `PROJCS["CGCS2000 UTM",GEOGCS["CGCS2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]]],PROJECTION["Transverse_Mercator"],PARAMETER["central_meridian",123],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],UNIT["metre",1]]`, []string{"scale 0.9996"}},
		{"feet", `PROJCS["gk feet",GEOGCS["CGCS2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]]],PROJECTION["Transverse_Mercator"],PARAMETER["central_meridian",120],PARAMETER["false_easting",500000],UNIT["foot",0.3048]]`, []string{"units of 0.3048 m"}},
		{"Lambert", `PROJCS["Asia_Lambert",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]],PROJECTION["Lambert_Conformal_Conic"],UNIT["Meter",1.0]]`, []string{`"Asia_Lambert"`, "not one gridd recognises"}},
		{"garbage", `this is not WKT`, []string{"not valid WKT", "--srs"}},
		{"unclosed", `GEOGCS["a",DATUM["b"`, []string{"not valid WKT"}},
		{"empty", "  ", []string{"empty", "--srs"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SRSFromWKT(tt.wkt)
			if got != "" {
				t.Errorf("got %q, want an error", got)
			}
			checkErr(t, err, geo.EINVALID, tt.want...)
		})
	}
}
