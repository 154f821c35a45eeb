package extract

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the FuzzWalk seed corpus in testdata/fuzz/FuzzWalk")

// fuzzBase is a fixed lower layer the fuzzed layer sits on, so that
// whiteouts, opaque markers and replaced parents have something to hide.
func fuzzBase(t testing.TB) v1.Layer {
	return static.NewLayer(gzipBytes(t, tarBytes(t,
		dir("etc/"), reg("etc/os-release", "ID=base\n"), reg("usr/lib/libc.so.6", "ELF"),
		symlink("lib", "usr/lib"), reg("opt/app/a", "a"), hardlink("opt/app/b", "opt/app/a"),
	)), types.OCILayer)
}

// FuzzWalk feeds arbitrary bytes as the top layer of a two-layer image.
// The walk must end in an index or an ErrCorruptLayer, never a panic,
// and whatever it indexes must stay inside the root.
func FuzzWalk(f *testing.F) {
	base := fuzzBase(f)
	opt := WalkOptions{MaxKeptFileSize: 1 << 20, MaxTotalKept: 4 << 20, MaxLayerBytes: 32 << 20, MaxEntries: 5000}
	head := &streamEx{name: "head", pattern: "/usr/lib/*", limit: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		layers := []v1.Layer{base, static.NewLayer(data, types.OCILayer)}
		ix, warns, err := WalkLayers(context.Background(), layers, []Extractor{keepAll, head}, opt)
		if err != nil {
			if !errors.Is(err, ErrCorruptLayer) {
				t.Fatalf("error is not ErrCorruptLayer: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is more than one line: %q", err)
			}
			return
		}
		if len(warns) > maxWarnings+1 {
			t.Fatalf("%d warnings, more than the cap", len(warns))
		}
		for _, p := range ix.Paths() {
			if p != path.Clean(p) || !strings.HasPrefix(p, "/") || strings.Contains(p, "/../") {
				t.Fatalf("indexed path %q escapes or is not clean", p)
			}
			if strings.HasPrefix(path.Base(p), whiteoutPrefix) {
				t.Fatalf("whiteout %q indexed", p)
			}
			m, _ := ix.Lookup(p)
			b, err := ix.ReadFile(p)
			if err == nil && m.Type == TypeRegular && int64(len(b)) != m.Size {
				t.Fatalf("%s: kept %d bytes of %d", p, len(b), m.Size)
			}
		}
	})
}

// TestFuzzWalkSeeds writes the seed corpus when run with -update-seeds:
// layers in every compression, with the entries the walk treats specially.
func TestFuzzWalkSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz/FuzzWalk")
	}
	special := tarBytes(t,
		dir("etc/"), reg("etc/os-release", "ID=top\n"), whiteout("opt/app/a"), opaqueMarker("usr"),
		reg("usr/lib/libz.so.1", "\x7fELF"), reg("lib", "not a dir"), reg("../../escape", "e"),
		symlink("abs", "/etc/passwd"), hardlink("hl", "../../etc/shadow"), symlink("l1", "l2"), symlink("l2", "l1"),
		reg("r", "first"), reg("r", "second"), reg(".wh..wh.plnk/1", ""), reg("x/.wh.", ""),
	)
	plain := tarBytes(t, reg("usr/lib/libm.so.6", strings.Repeat("m", 3000)), hardlink("usr/lib/libm2", "usr/lib/libm.so.6"))
	gz := gzipBytes(t, special)
	var zs bytes.Buffer
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(special)
	zw.Close()
	seeds := map[string][]byte{
		"gzip-special":    gz,
		"plain":           plain,
		"zstd-special":    zs.Bytes(),
		"gzip-truncated":  gz[:len(gz)/2],
		"empty":           {},
		"not-a-tar":       []byte(strings.Repeat("hello ", 200)),
		"gzip-two-member": append(gzipBytes(t, plain[:512]), gzipBytes(t, plain[512:])...),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzWalk")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
