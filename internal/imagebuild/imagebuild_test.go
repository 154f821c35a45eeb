package imagebuild

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// flatten reads the image's merged filesystem the way a runtime would
// (go-containerregistry's mutate.Extract) and returns path -> content.
func flatten(t *testing.T, rc io.ReadCloser) map[string]string {
	t.Helper()
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		case tar.TypeSymlink:
			out[h.Name] = "-> " + h.Linkname
		case tar.TypeLink:
			out[h.Name] = "=> " + h.Linkname
		}
	}
}

func TestPlanLayersWhiteoutsOpaque(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "etc/os-release"), "ID=test\n")
	write(t, filepath.Join(root, "etc/keep/a"), "a\n")
	write(t, filepath.Join(root, "etc/keep/b"), "b\n")
	write(t, filepath.Join(root, "usr/share/doc/x/copyright"), "c\n")
	write(t, filepath.Join(root, "usr/bin/tool"), "tool\n")
	write(t, filepath.Join(root, "opt/venv/pyvenv.cfg"), "home = /usr/bin\n")
	if err := os.Link(filepath.Join(root, "usr/bin/tool"), filepath.Join(root, "usr/bin/tool2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("tool", filepath.Join(root, "usr/bin/t")); err != nil {
		t.Fatal(err)
	}
	replacement := filepath.Join(t.TempDir(), "os-release")
	write(t, replacement, "ID=replaced\n")

	out := t.TempDir()
	plan := func(oci, archive string) *Plan {
		return &Plan{
			Mtime: "2024-01-02T03:04:05Z",
			Layers: []LayerPlan{
				{Root: root, Split: 3, Exclude: []string{"opt/venv"}, Comment: "base"},
				{Root: root, Entries: []EntryPlan{
					{Whiteout: "usr/share/doc/x"},
					{Opaque: "etc/keep"},
					{Path: "etc/keep/new", Text: "new\n"},
					{Path: "etc/os-release", From: replacement},
				}},
				{Root: root, Paths: []string{"opt/venv"}, Compression: Zstd},
			},
			OCI: oci, DockerArchive: archive, Tag: "t1", Ref: "seshat.test/x:t1",
		}
	}
	img, err := plan(filepath.Join(out, "oci"), filepath.Join(out, "img.tar")).Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 5 {
		t.Fatalf("layers = %d, %v; want 5", len(layers), err)
	}
	got := flatten(t, mutate.Extract(img))
	want := map[string]string{
		"etc/os-release":      "ID=replaced\n",
		"etc/keep/new":        "new\n",
		"usr/bin/tool":        "tool\n",
		"usr/bin/t":           "-> tool",
		"opt/venv/pyvenv.cfg": "home = /usr/bin\n",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, gone := range []string{"etc/keep/a", "etc/keep/b", "usr/share/doc/x/copyright"} {
		if _, ok := got[gone]; ok {
			t.Errorf("%s survived its whiteout", gone)
		}
	}
	if got["usr/bin/tool2"] != "tool\n" && got["usr/bin/tool2"] != "=> usr/bin/tool" {
		t.Errorf("hardlink tool2 = %q", got["usr/bin/tool2"])
	}

	// Both outputs read back, with the same manifest digest each build.
	ii, err := layout.ImageIndexFromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := ii.IndexManifest()
	d1, _ := img.Digest()
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != d1 {
		t.Fatalf("index = %+v, want one manifest %s", im.Manifests, d1)
	}
	if _, err := tarball.ImageFromPath(filepath.Join(out, "img.tar"), nil); err != nil {
		t.Fatal(err)
	}
	img2, err := plan(filepath.Join(out, "oci2"), "").Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := img2.Digest(); d1 != d2 {
		t.Errorf("not deterministic: %s then %s", d1, d2)
	}
}

func TestSplitCoversTree(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{"a/1", "a/2", "b/3", "c/d/4", "e"} {
		write(t, filepath.Join(root, p), p)
	}
	parts, err := Split(root, 2, []string{"c"})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	sort.Strings(all)
	want := []string{"a", "a/1", "a/2", "b", "b/3", "e"}
	if len(all) != len(want) {
		t.Fatalf("split = %v, want %v", all, want)
	}
	for i := range want {
		if all[i] != want[i] {
			t.Fatalf("split = %v, want %v", all, want)
		}
	}
}

func TestDiffLayerTurnsLowerIntoUpper(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	for _, r := range []string{lower, upper} {
		write(t, filepath.Join(r, "same"), "same\n")
		write(t, filepath.Join(r, "doc/a/copyright"), "c\n")
	}
	write(t, filepath.Join(lower, "status"), "old\n")
	write(t, filepath.Join(upper, "status"), "new\n")
	write(t, filepath.Join(lower, "gone/dir/file"), "x\n")
	write(t, filepath.Join(lower, "gonefile"), "x\n")
	write(t, filepath.Join(lower, "doc/a/changelog"), "x\n")
	write(t, filepath.Join(upper, "added"), "added\n")

	img, err := (&Plan{Layers: []LayerPlan{
		{Root: lower, Split: 2},
		{Root: upper, Lower: lower, Opaque: []string{"doc"}},
	}}).Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got := flatten(t, mutate.Extract(img))
	want := map[string]string{"same": "same\n", "status": "new\n", "added": "added\n", "doc/a/copyright": "c\n"}
	if len(got) != len(want) {
		t.Errorf("merged tree = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	ch, err := Diff(lower, upper, nil, []string{"doc"})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ch.Whiteouts)
	if len(ch.Whiteouts) != 2 || ch.Whiteouts[0] != "gone" || ch.Whiteouts[1] != "gonefile" {
		t.Errorf("whiteouts = %v, want [gone gonefile]", ch.Whiteouts)
	}
}
