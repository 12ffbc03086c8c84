package serve

import (
	"context"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/medbench/medbench/runners"
)

func TestPixelBounds(t *testing.T) {
	got := PixelBounds(runners.Info{Settings: map[string]any{"min_pixels": 3136, "max_pixels": "x", "threads": 2}})
	if !reflect.DeepEqual(got, map[string]int{"min_pixels": 3136}) {
		t.Errorf("PixelBounds = %v", got)
	}
}

func TestListenAndServeBadAddr(t *testing.T) {
	s := &Server{}
	called := false
	err := s.ListenAndServe(context.Background(), "127.0.0.1:-1", time.Second, func(net.Addr) { called = true })
	if err == nil || called {
		t.Errorf("err %v, started called %v", err, called)
	}
}
