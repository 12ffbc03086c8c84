package serve

import (
	"context"
	"net"
	"time"

	"github.com/medbench/medbench/runners"
)

// PixelBounds returns a runner's image bounds (its info settings
// min_pixels and max_pixels, those it has) for Config.Pixels.
func PixelBounds(info runners.Info) map[string]int {
	pixels := map[string]int{}
	for _, k := range []string{"min_pixels", "max_pixels"} {
		if v, ok := info.Settings[k].(int); ok {
			pixels[k] = v
		}
	}
	return pixels
}

// ListenAndServe listens on the TCP address addr, calls started with the
// bound address, and serves until ctx ends (Serve).
func (s *Server) ListenAndServe(ctx context.Context, addr string, grace time.Duration, started func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	started(ln.Addr())
	return s.Serve(ctx, ln, grace)
}
