package extract

import "fmt"

// Defaults for WalkOptions; a zero field means its default.
const (
	DefaultMaxKeptFileSize int64 = 64 << 20
	DefaultMaxEntries            = 1_000_000
	DefaultMaxLayerBytes   int64 = 64 << 30
	DefaultMaxTotalKept    int64 = 512 << 20

	// maxWarnings bounds the warnings one walk records, so that a hostile
	// layer of a million bad names cannot grow them without end.
	maxWarnings = 1000
	// maxPathLen is Linux's PATH_MAX: a longer entry name or link target
	// cannot exist on a real root filesystem, so it is skipped.
	maxPathLen = 4096
	// zstdMaxWindow bounds the memory a zstd frame may ask for. Layers are
	// compressed without --long in practice (windows of 8 MiB or less).
	zstdMaxWindow = 64 << 20
)

// WalkOptions bounds and observes a walk. Zero values mean the documented defaults.
type WalkOptions struct {
	MaxKeptFileSize int64                              // largest file whose bytes are kept for an extractor (default 64 MiB); larger → Warning, not kept
	MaxEntries      int                                // tar entries across all layers (default 1,000,000)
	MaxLayerBytes   int64                              // uncompressed bytes per layer before it is refused as a decompression bomb (default 64 GiB)
	MaxTotalKept    int64                              // total kept bytes (default 512 MiB)
	Progress        func(layer int, done, total int64) // compressed bytes read of layer (index from top, i.e. order read), may be nil
}

func (o WalkOptions) withDefaults() WalkOptions {
	if o.MaxKeptFileSize <= 0 {
		o.MaxKeptFileSize = DefaultMaxKeptFileSize
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxLayerBytes <= 0 {
		o.MaxLayerBytes = DefaultMaxLayerBytes
	}
	if o.MaxTotalKept <= 0 {
		o.MaxTotalKept = DefaultMaxTotalKept
	}
	return o
}

// warnings collects at most maxWarnings, then counts the rest.
type warnings struct {
	list    []Warning
	dropped int
}

func (w *warnings) add(path, format string, args ...any) {
	if len(w.list) >= maxWarnings {
		w.dropped++
		return
	}
	w.list = append(w.list, Warning{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (w *warnings) result() []Warning {
	if w.dropped > 0 {
		w.list = append(w.list, Warning{Message: fmt.Sprintf("%d more warnings not shown", w.dropped)})
		w.dropped = 0
	}
	return w.list
}

// keeper decides whether a wanted file's bytes fit the walk's budgets.
type keeper struct {
	maxFile, maxTotal, total int64
}

// admit reports whether size bytes may be kept, and if not, why.
func (k *keeper) admit(size int64) (bool, string) {
	if size > k.maxFile {
		return false, fmt.Sprintf("contents not kept: %d bytes is more than the %d-byte limit for one file", size, k.maxFile)
	}
	if k.total+size > k.maxTotal {
		return false, fmt.Sprintf("contents not kept: the %d-byte limit for all kept files is reached", k.maxTotal)
	}
	return true, ""
}
