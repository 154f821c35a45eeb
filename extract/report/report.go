// Package report renders an extract.Analysis for people and tools: the JSON
// contract (docs/analysis.md), a table for the terminal, the key names of
// Thoth's package-extract, and SBOMs through syft's encoders.
//
// It only formats: it reads no image and changes no Analysis.
package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/seshat-dev/seshat/extract"
)

// Formats are the values --format accepts, the default first.
var Formats = []string{"json", "table", "package-extract"}

// Option configures a writer.
type Option func(*options)

type options struct {
	maxRows int    // table: rows per long list
	tool    string // package-extract: analyzer name and version
	version string
}

// WithMaxRows bounds the rows of each long list in the table (packages,
// libraries, distributions); the rest are counted. Default 20.
func WithMaxRows(n int) Option { return func(o *options) { o.maxRows = n } }

// WithTool names the program and version in package-extract's metadata.
func WithTool(name, version string) Option {
	return func(o *options) { o.tool, o.version = name, version }
}

func newOptions(opts []Option) options {
	o := options{maxRows: 20, tool: "seshat", version: "dev"}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Write renders a in the named format (one of Formats).
func Write(w io.Writer, format string, a *extract.Analysis, opts ...Option) error {
	switch format {
	case "json", "":
		return JSON(w, a)
	case "table":
		return Table(w, a, opts...)
	case "package-extract":
		return PackageExtract(w, a, opts...)
	}
	return fmt.Errorf("unknown format %q (want one of %v)", format, Formats)
}

// JSON writes the Analysis indented, with a trailing newline.
func JSON(w io.Writer, a *extract.Analysis) error {
	return writeJSON(w, a)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
