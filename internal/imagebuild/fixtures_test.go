package imagebuild

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/seshat-dev/seshat/internal/fixtures"
)

// TestDebian12Fixture checks the image built by fixtures.d/11-debian.sh: its
// merged view, as go-containerregistry computes it, is exactly the
// debian12-slim root (whiteouts and the opaque dir included), and the
// docker-archive holds the same image.
func TestDebian12Fixture(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a 300 MB image")
	}
	var want struct {
		Image struct{ Digest string }
	}
	b, err := os.ReadFile(fixtures.Path(t, "images/debian12.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	ii, err := layout.ImageIndexFromPath(fixtures.Path(t, "images/debian12"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := ii.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != want.Image.Digest {
		t.Errorf("OCI digest %s, expected.json says %s", d, want.Image.Digest)
	}
	arch, err := tarball.ImageFromPath(fixtures.Path(t, "images/debian12.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A docker-archive keeps no manifest (its digest is recomputed with
	// Docker media types), so compare what it does keep.
	ca, err1 := img.ConfigName()
	cb, err2 := arch.ConfigName()
	if err1 != nil || err2 != nil || ca != cb {
		t.Errorf("docker-archive config %s (%v), OCI config %s (%v)", cb, err2, ca, err1)
	}
	la, _ := img.Layers()
	lb, _ := arch.Layers()
	if len(la) != len(lb) {
		t.Fatalf("docker-archive has %d layers, OCI %d", len(lb), len(la))
	}
	for i := range la {
		da, _ := la[i].DiffID()
		db, _ := lb[i].DiffID()
		if da != db {
			t.Errorf("layer %d: docker-archive diffID %s, OCI %s", i, db, da)
		}
	}

	merged := map[string]byte{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		merged[strings.TrimSuffix(h.Name, "/")] = h.Typeflag
	}
	slim := fixtures.Path(t, "rootfs/debian12-slim")
	onDisk := map[string]bool{}
	err = filepath.WalkDir(slim, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(slim, p)
		if rel == "." || !(d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0) {
			return nil
		}
		onDisk[rel] = true
		if _, ok := merged[rel]; !ok {
			t.Errorf("%s is in debian12-slim but not in the image", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, typ := range merged {
		if (typ == tar.TypeReg || typ == tar.TypeSymlink || typ == tar.TypeLink) && !onDisk[p] {
			t.Errorf("%s is in the image but not in debian12-slim", p)
		}
	}
	for _, gone := range []string{"usr/lib/python3/dist-packages/Flask-2.2.2.egg-info/PKG-INFO", "usr/share/doc/dpkg/changelog.gz"} {
		if _, ok := merged[gone]; ok {
			t.Errorf("%s survived the whiteout layer", gone)
		}
	}
}
