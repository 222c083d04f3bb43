package postgis_test

import (
	"testing"

	"github.com/gridd/gridd/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
