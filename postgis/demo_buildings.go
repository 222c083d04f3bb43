package postgis

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"
)

//go:embed sql/demo_buildings.sql
var demoBuildingsSQL string

// generateDemoBuildings adds the demo city's synthetic buildings (楼栋) to
// the transaction generating its layers: it reads the true grids demo.sql
// left in its temporary tables. The merge that follows assigns them to
// the generation's grids like imported buildings.
func generateDemoBuildings(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, demoBuildingsSQL); err != nil {
		return fmt.Errorf("generate demo buildings: %w", err)
	}
	return nil
}
