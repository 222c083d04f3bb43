package postgis

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// The demo city's register is synthetic: every household of every demo
// building gets members with made-up names, ID numbers that pass the
// GB 11643 check (in the district's region code, so that they look right
// and belong to nobody: the sequence numbers come from a counter, not from
// any person), made-up phone numbers and tags at plausible rates. It is
// generated in Go from the buildings PostGIS generated, with one random
// stream per building seeded from the demo's seed, and loaded through the
// same path as a register file.

var (
	demoSurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方白邹孟熊秦邱江尹薛段雷侯龙史黎贺顾毛郝龚邵万钱严武戴莫孔汤")
	demoGiven    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯鹏飞俊峰波琳晨欣怡佳雨轩子涵思梓博睿嘉")
)

// demoRegisterBuildingsSQL lists the buildings with households, with the district
// their grid lies in (for the ID numbers' region).
const demoRegisterBuildingsSQL = `
SELECT b.id, b.households, left(coalesce(bg.grid_code, ''), 6)
FROM buildings b LEFT JOIN building_grid bg ON bg.building_id = b.id AND bg.generation = $1
WHERE b.households > 0 ORDER BY b.id`

type demoBuilding struct {
	id, district string
	households   int
}

// demoRegister generates the rows of the demo register, building by
// building.
type demoRegister struct {
	seed      uint64
	today     time.Time
	buildings []demoBuilding
	b, h      int // the building and its household being generated
	pending   []geo.RegisterRow
	perDay    map[string]int // ID numbers handed out per region and birth day
	rnd       *rand.Rand
	line      int
}

func (d *demoRegister) Errors() ([]geo.RowError, int) { return nil, 0 }
func (d *demoRegister) Column(f string) string        { return f }

func (d *demoRegister) Next() (geo.RegisterRow, error) {
	for len(d.pending) == 0 {
		if d.b == len(d.buildings) {
			return geo.RegisterRow{}, io.EOF
		}
		b := d.buildings[d.b]
		if d.h == 0 {
			f := fnv.New64a()
			f.Write([]byte(b.id))
			d.rnd = rand.New(rand.NewPCG(d.seed, f.Sum64()))
		}
		d.pending = d.household(b, d.h)
		if d.h++; d.h == b.households {
			d.b, d.h = d.b+1, 0
		}
	}
	r := d.pending[0]
	d.pending = d.pending[1:]
	d.line++
	r.Line = d.line
	return r, nil
}

// household makes the members of household h of building b: sizes from
// one to five, a family name shared, ages by role, tags at rates near the
// national figures (about one in six households has someone over 65).
func (d *demoRegister) household(b demoBuilding, h int) []geo.RegisterRow {
	rnd := d.rnd
	size := []int{1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6}[rnd.IntN(20)]
	perFloor := 2 + rnd.IntN(3)
	unit, room := fmt.Sprint(1+h/(perFloor*12)), fmt.Sprintf("%d%02d", 1+(h/perFloor)%12, 1+h%perFloor)
	hid := fmt.Sprintf("%s-%04d", b.id, h+1)
	surname := string(demoSurnames[rnd.IntN(len(demoSurnames))])
	elderly := rnd.IntN(6) == 0
	migrant := rnd.IntN(12) == 0
	poor := rnd.IntN(40) == 0
	var rows []geo.RegisterRow
	for m := 0; m < size; m++ {
		var age int
		switch {
		case elderly && m < 2:
			age = 65 + rnd.IntN(28)
		case m < 2:
			age = 22 + rnd.IntN(40)
		case size >= 5 && m == size-1:
			age = 60 + rnd.IntN(25) // a grandparent
		default:
			age = rnd.IntN(18)
		}
		name := surname
		if m == 1 && rnd.IntN(2) == 0 { // a spouse with another family name
			name = string(demoSurnames[rnd.IntN(len(demoSurnames))])
		}
		for n := 1 + rnd.IntN(2); n > 0; n-- {
			name += string(demoGiven[rnd.IntN(len(demoGiven))])
		}
		born := d.today.AddDate(-age, 0, -1-rnd.IntN(364))
		var tags []string
		switch {
		case age >= 65 && size == 1:
			tags = append(tags, "独居老人")
		case age >= 60 && size == 2 && elderly:
			tags = append(tags, "空巢老人")
		}
		if rnd.IntN(60) == 0 {
			tags = append(tags, "残疾人")
		}
		if poor {
			tags = append(tags, "低保户")
		}
		if migrant && age >= 18 {
			tags = append(tags, "流动人口")
		}
		if age < 16 && migrant && rnd.IntN(3) == 0 {
			tags = append(tags, "留守儿童")
		}
		phone := ""
		if age >= 16 {
			phone = fmt.Sprintf("1%d%d%08d", 3+rnd.IntN(6), rnd.IntN(10), rnd.IntN(100000000))
		}
		rows = append(rows, geo.RegisterRow{HouseholdID: hid, BuildingID: b.id, Unit: unit, Room: room, Name: name,
			IDNumber: d.idNumber(b.district, born), Phone: phone, BirthDate: born.Format("2006-01-02"), Tags: tags})
	}
	return rows
}

// idNumber hands out the next sequence number of a region and day.
func (d *demoRegister) idNumber(region string, born time.Time) string {
	if len(region) != 6 {
		region = "330200" // a building outside every grid: the city's code
	}
	day := region + born.Format("20060102")
	n := d.perDay[day]
	d.perDay[day] = n + 1
	s := fmt.Sprintf("%s%03d", day, n%1000)
	return s + string(geo.IDCheckChar(s))
}

// DemoRegister loads the demo city's synthetic register, sealed with key:
// a household for every household of the buildings of generation gen.
func (db *DB) DemoRegister(ctx context.Context, key *geo.RegisterKey, gen int, seed int) (geo.RegisterReport, error) {
	rows, err := db.Pool.Query(ctx, demoRegisterBuildingsSQL, gen)
	if err != nil {
		return geo.RegisterReport{}, geo.WrapError(geo.EUNAVAILABLE, err, "read the demo buildings")
	}
	bs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (demoBuilding, error) {
		var b demoBuilding
		err := r.Scan(&b.id, &b.households, &b.district)
		return b, err
	})
	if err != nil {
		return geo.RegisterReport{}, geo.WrapError(geo.EUNAVAILABLE, err, "read the demo buildings")
	}
	// A fixed "today" keeps the register the same whenever it is made.
	today := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src := &demoRegister{seed: uint64(seed), today: today, buildings: bs, perDay: map[string]int{}}
	meta := geo.RegisterMeta{FileName: "demo register (synthetic)", FileHash: fmt.Sprintf("demo:%d:%d", seed, len(bs)),
		Tags: geo.DefaultResidentTags(), By: "demo"}
	return db.LoadRegister(ctx, key, meta, src, &geo.AuditEntry{ActorKind: "system", ActorName: "demo"})
}
