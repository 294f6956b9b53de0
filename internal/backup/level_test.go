package backup

import (
	"errors"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]zstd.EncoderLevel{"fastest": zstd.SpeedFastest, "": zstd.SpeedDefault,
		"default": zstd.SpeedDefault, "better": zstd.SpeedBetterCompression} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("max"); !errors.Is(err, ErrBadLevel) {
		t.Errorf("ParseLevel(max): %v", err)
	}
}
