package extract

import (
	"context"
	"fmt"
)

// Analyze reads src's metadata, walks its layers once, and runs every
// extractor over the resulting index. An extractor that fails (or panics on
// hostile input) costs only its own section: its error becomes a Warning
// naming it. Warnings is never nil, so the JSON shows [].
func Analyze(ctx context.Context, src Source, exs []Extractor, opt WalkOptions) (*Analysis, error) {
	info, err := src.Info(ctx)
	if err != nil {
		return nil, err
	}
	ix, warns, err := src.Walk(ctx, exs, opt)
	if err != nil {
		return nil, err
	}
	a := &Analysis{Schema: SchemaV1, Image: info, Packages: []Package{}, Warnings: []Warning{}}
	a.Warnings = append(a.Warnings, warns...)
	for _, ex := range exs {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("analyzing %s: %w", src.Reference(), err)
		}
		if err := runExtractor(ctx, ex, ix, a); err != nil {
			a.Warnings = append(a.Warnings, Warning{Message: fmt.Sprintf("%s extractor: %v", ex.Name(), err)})
		}
	}
	return a, nil
}

func runExtractor(ctx context.Context, ex Extractor, ix *FileIndex, a *Analysis) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("failed on this image (a bug in seshat, please report it): %v", r)
		}
	}()
	return ex.Extract(ctx, ix, a)
}
