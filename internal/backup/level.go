package backup

import (
	"errors"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// Level is a zstd compression level (what Options.Level takes), named so commands need not import zstd.
type Level = zstd.EncoderLevel

// ErrBadLevel is returned for a compression level name ParseLevel does not know.
var ErrBadLevel = errors.New("want fastest, default or better")

// ParseLevel maps a compression level name (the --compression flag) to the zstd level: fastest (~zstd -1),
// default or "" (~zstd -3), better.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "fastest":
		return zstd.SpeedFastest, nil
	case "default", "":
		return zstd.SpeedDefault, nil
	case "better":
		return zstd.SpeedBetterCompression, nil
	}
	return 0, fmt.Errorf("compression level %q: %w", s, ErrBadLevel)
}
