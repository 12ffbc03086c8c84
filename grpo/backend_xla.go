//go:build !noxla

package grpo

// The XLA backend (PJRT plugins: xla:cpu, xla:cuda) is linked in unless
// built with -tags noxla; it is used only when EngineConfig.Backend or
// $GOMLX_BACKEND names it and a plugin is installed (GOMLX_NO_AUTO_INSTALL=1
// keeps GoMLX from downloading one).
import _ "github.com/gomlx/gomlx/backends/xla"
