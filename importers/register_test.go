package importers

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/xuri/excelize/v2"
)

// idNumber makes a valid ID number from a region, a birth date and a
// sequence (three digits).
func idNumber(region, born, seq string) string {
	s := region + born + seq
	return s + string(geo.IDCheckChar(s))
}

func readRegister(t *testing.T, path string) ([]geo.RegisterRow, []geo.RowError, int, *RegisterReader) {
	t.Helper()
	tb, err := OpenTable(path, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	r, err := NewRegisterReader(tb, filepath.Base(path), RegisterOptions{Tags: geo.DefaultResidentTags(), Today: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var rows []geo.RegisterRow
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	errs, n := r.Errors()
	return rows, errs, n, r
}

func TestRegisterRows(t *testing.T) {
	good1, good2 := idNumber("330203", "19450307", "123"), idNumber("330212", "20150101", "045")
	bad := good1[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good1[17])+1)%11])
	csvText := "户号,楼栋编号,单元,房号,姓名,身份证号,联系电话,出生日期,标签\n" +
		"H1,B1,1,101,王小明," + good1 + ",139 0000 0000,1945-03-07,独居老人\n" +
		"H1,B1,1,101,王小红," + good2 + ",,,留守儿童、低保户\n" +
		"H2,B1,1,102,李四," + bad + ",,,\n" + // line 4: check character
		"H3,B2,,,张三," + good1 + ",,,\n" + // line 5: duplicate ID
		"H1,B2,1,101,赵五," + idNumber("330203", "19800101", "001") + ",,,\n" + // line 6: household elsewhere
		"H4,B3,,,钱六," + idNumber("330203", "19800101", "002") + ",,1980-01-02,\n" + // line 7: birth date
		"H5,B3,,,孙七," + idNumber("330203", "19800101", "003") + ",12ab,,\n" + // line 8: phone
		"H6,B3,,,周八," + idNumber("330203", "19800101", "004") + ",,,外星人\n" + // line 9: tag
		"H7,B3,,,," + idNumber("330203", "19800101", "005") + ",,,\n" + // line 10: no name
		"H8,B3,,,吴九,3.30203E+17,,,\n" // line 11: Excel number
	p := filepath.Join(t.TempDir(), "register.csv")
	os.WriteFile(p, []byte(csvText), 0o644)
	rows, errs, n, r := readRegister(t, p)
	if len(rows) != 2 || rows[0].Phone != "13900000000" || rows[0].BirthDate != "1945-03-07" || strings.Join(rows[1].Tags, ",") != "留守儿童,低保户" {
		t.Fatalf("rows %+v", rows)
	}
	want := []string{
		"line 4, column 6 (身份证号): the check character",
		"line 5, column 6 (身份证号): the same ID number as line 2",
		"line 6, column 2 (楼栋编号): household H1 is in building B1",
		"line 7, column 8 (出生日期): the birth date 1980-01-02 is not the one in the ID number (1980-01-01)",
		"line 8, column 7 (联系电话): a phone number has 5 to 15 digits",
		"line 9, column 9 (标签): tag \"外星人\" is not in the catalogue",
		"line 10, column 5 (姓名): empty",
		"line 11, column 6 (身份证号): the ID number was stored as a number",
	}
	if n != len(want) || len(errs) != n {
		t.Fatalf("%d errors: %v", n, errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].String(), w) {
			t.Errorf("error %d: %q, want %q…", i, errs[i].String(), w)
		}
		if strings.Contains(errs[i].String(), bad) || strings.Contains(errs[i].String(), good1) {
			t.Errorf("error %d repeats an ID number: %s", i, errs[i])
		}
	}
	if m := r.Mapping(); m["id_number"] != "身份证号" || m["household_id"] != "户号" {
		t.Fatalf("mapping %v", m)
	}
}

// TestRegisterWorkbook: the same rows from an .xlsx, with columns named by
// letter and a blank row skipped but counted.
func TestRegisterWorkbook(t *testing.T) {
	f := excelize.NewFile()
	sh := f.GetSheetList()[0]
	f.SetSheetRow(sh, "A1", &[]any{"household_id", "building_id", "name", "id_number", "tags"})
	f.SetSheetRow(sh, "A2", &[]any{"H1", "B1", "王小明", idNumber("330203", "19450307", "123"), "独居老人"})
	f.SetSheetRow(sh, "A4", &[]any{"H2", "B1", "李四", "330203194503071230", ""}) // line 4 (line 3 blank)
	p := filepath.Join(t.TempDir(), "register.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	rows, errs, n, _ := readRegister(t, p)
	if len(rows) != 1 || rows[0].Line != 2 || rows[0].Name != "王小明" {
		t.Fatalf("rows %+v", rows)
	}
	if n != 1 || !strings.HasPrefix(errs[0].String(), "line 4, column D (id_number): ") {
		t.Fatalf("errors %v", errs)
	}
}

func TestRegisterMissingColumn(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(p, []byte("户号,姓名,身份证号\nH1,王,x\n"), 0o644)
	tb, err := OpenTable(p, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	_, err = NewRegisterReader(tb, "r.csv", RegisterOptions{Tags: geo.DefaultResidentTags()})
	if err == nil || !strings.Contains(err.Error(), "building id") {
		t.Fatalf("err %v", err)
	}
	for _, name := range []string{"r.xls", "r.pdf"} {
		if _, err := OpenTable(filepath.Join(t.TempDir(), name), ""); err == nil {
			t.Errorf("%s opened", name)
		}
	}
}
