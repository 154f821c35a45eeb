package extract

import (
	"context"
	"io"
)

// Extractor turns files of an image into one section of an Analysis.
// The walk asks every extractor about every visible regular file; only
// files some extractor wants have their bytes kept or streamed.
type Extractor interface {
	// Name identifies the extractor in warnings and timings.
	Name() string
	// Wants reports whether the extractor needs the contents of the file at
	// path (absolute, cleaned) of the given size, to be kept in the index.
	Wants(path string, size int64) bool
	// Extract reads the finished index and fills its section of a.
	Extract(ctx context.Context, ix *FileIndex, a *Analysis) error
}

// StreamExtractor is an Extractor that also looks at file bytes as they
// stream past, for files too large or too many to keep (ELF objects).
type StreamExtractor interface {
	Extractor
	// WantsStream reports whether Stream should see the file's bytes.
	WantsStream(path string, size int64) bool
	// Stream reads the visible file at path; r is valid only during the call
	// and need not be read to the end. An error becomes a warning naming path.
	Stream(path string, size int64, r io.Reader) error
}
