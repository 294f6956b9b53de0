package lbtest_test

import (
	"testing"

	"github.com/plinth-dev/plinth/internal/inventory"
	"github.com/plinth-dev/plinth/internal/lb/lbtest"
)

func TestMemoryConformance(t *testing.T) {
	lbtest.DrainerSuite(t, func(t *testing.T) lbtest.Fixture {
		m := &lbtest.Memory{}
		return lbtest.Fixture{Drainer: m, Tier: "app",
			Hosts:     [2]inventory.Host{{Name: "app-1"}, {Name: "app-2"}},
			InService: func(_ *testing.T, h inventory.Host) bool { return m.InService("app", h) }}
	})
}
