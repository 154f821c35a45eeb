package extract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/seshat-dev/seshat/extract"
)

// failingExtractor fails, or panics, in Extract: Analyze must carry on.
type failingExtractor struct{ panics bool }

func (f failingExtractor) Name() string             { return "failing" }
func (f failingExtractor) Wants(string, int64) bool { return false }
func (f failingExtractor) Extract(context.Context, *extract.FileIndex, *extract.Analysis) error {
	if f.panics {
		var m map[string]int
		m["boom"]++ // a nil-map write, as a buggy extractor might do
	}
	return errors.New("cannot parse the thing")
}

// anaLayout writes img into a fresh OCI layout and returns "oci:DIR".
func anaLayout(t testing.TB, img v1.Image) (string, layout.Path) {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir, p
}

func TestAnalyze(t *testing.T) {
	img := srcImage(t, "linux/amd64",
		srcFiles{"etc/os-release": "ID=lower\n"},
		srcFiles{"etc/os-release": "ID=upper\n"})
	ref, _ := anaLayout(t, img)
	cat := catExtractor{paths: []string{"/etc/os-release"}}

	for _, tc := range []struct {
		name         string
		exs          []extract.Extractor
		wantWarnings []string
	}{
		{"one extractor", []extract.Extractor{cat}, nil},
		{"a failing extractor", []extract.Extractor{failingExtractor{}, cat}, []string{"failing extractor: cannot parse the thing"}},
		{"a panicking extractor", []extract.Extractor{cat, failingExtractor{panics: true}}, []string{"failing extractor: failed on this image"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := extract.Open(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			a, err := extract.Analyze(context.Background(), src, tc.exs, extract.WalkOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Schema != extract.SchemaV1 || a.Image.Digest != srcDigest(t, img) || a.Image.Reference != ref {
				t.Errorf("schema %q image %+v: want %s and the image's digest and reference", a.Schema, a.Image, extract.SchemaV1)
			}
			if a.OS == nil || strings.Join(a.OS.IDLike, ",") != "ID=upper" {
				t.Errorf("the extractor saw %+v, want the upper layer's os-release", a.OS)
			}
			if len(a.Warnings) != len(tc.wantWarnings) {
				t.Fatalf("warnings %+v, want %d", a.Warnings, len(tc.wantWarnings))
			}
			for i, w := range tc.wantWarnings {
				if !strings.Contains(a.Warnings[i].Message, w) {
					t.Errorf("warning %q does not say %q", a.Warnings[i].Message, w)
				}
			}
			b, err := json.Marshal(a)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.wantWarnings) == 0 && !bytes.Contains(b, []byte(`"warnings":[]`)) {
				t.Errorf("JSON has no empty warnings list: %s", b)
			}
			if !bytes.Contains(b, []byte(`"packages":[]`)) {
				t.Errorf("JSON has no empty packages list: %s", b)
			}
		})
	}
}

// TestAnalyzeCorruptLayer: a damaged blob in a layout ends the walk with an
// error that names the reference and is ErrCorruptLayer.
func TestAnalyzeCorruptLayer(t *testing.T) {
	img := srcImage(t, "linux/amd64", srcFiles{"etc/os-release": strings.Repeat("ID=x\n", 100)})
	ref, p := anaLayout(t, img)
	ls, _ := img.Layers()
	d, _ := ls[0].Digest()
	blob := filepath.Join(string(p), "blobs", d.Algorithm, d.Hex)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := extract.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	_, err = extract.Analyze(context.Background(), src, []extract.Extractor{catExtractor{}}, extract.WalkOptions{})
	if !errors.Is(err, extract.ErrCorruptLayer) || !strings.Contains(err.Error(), ref) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Analyze of a truncated layer = %v, want one line naming %s that is ErrCorruptLayer", err, ref)
	}
}

func TestProgressBar(t *testing.T) {
	img := srcImage(t, "linux/amd64", srcFiles{"a": "a"}, srcFiles{"b": strings.Repeat("b", 1<<20)})
	ref, _ := anaLayout(t, img)
	var out bytes.Buffer
	src, err := extract.Open(context.Background(), ref, extract.WithProgress(&out))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	opt := extract.WalkOptions{Progress: func(int, int64, int64) { calls++ }}
	if _, _, err := src.Walk(context.Background(), nil, opt); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "layer 1/2") || !strings.Contains(s, "layer 2/2") || !strings.Contains(s, "100%") {
		t.Errorf("progress output %q does not show both layers finishing", s)
	}
	if !strings.HasSuffix(s, "\r") {
		t.Errorf("progress output %q does not end by clearing its line", s)
	}
	if calls == 0 {
		t.Errorf("the caller's own Progress callback was not called")
	}

}
