package extract_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"

	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

// srcFiles is one layer's content: path → file bytes.
type srcFiles map[string]string

// srcLayer packs files into a real gzip-compressed tar layer.
func srcLayer(t testing.TB, files srcFiles) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		body := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)),
			ModTime: time.Unix(1700000000, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var srcCreated = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// srcImage builds an image for platform (os/arch[/variant]) from layers,
// with a config a user would recognise.
func srcImage(t testing.TB, platform string, layers ...srcFiles) v1.Image {
	t.Helper()
	var ls []v1.Layer
	for _, f := range layers {
		ls = append(ls, srcLayer(t, f))
	}
	img, err := mutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: srcCreated}
	cf.Config.Env = []string{"PATH=/usr/bin", "PLATFORM=" + platform}
	cf.Config.Labels = map[string]string{"org.opencontainers.image.title": "seshat test"}
	cf.Config.User = "1001"
	cf.Config.WorkingDir = "/opt/app-root/src"
	cf.Config.Entrypoint = []string{"/usr/bin/python3"}
	cf.Config.Cmd = []string{"-m", "http.server"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// srcIndex puts one image per platform into a multi-platform index; each
// image's /etc/platform names its platform.
func srcIndex(t *testing.T, platforms ...string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	idx := v1.ImageIndex(empty.Index)
	imgs := map[string]v1.Image{}
	for _, pl := range platforms {
		img := srcImage(t, pl, srcFiles{"etc/platform": pl})
		p, _ := v1.ParsePlatform(pl)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
		imgs[pl] = img
	}
	return idx, imgs
}

func srcDigest(t testing.TB, img v1.Image) string {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// catExtractor keeps the files it is told about; its Extract records what
// it read in the Analysis' OS section so a test can see that it ran.
type catExtractor struct{ paths []string }

func (c catExtractor) Name() string { return "cat" }
func (c catExtractor) Wants(p string, _ int64) bool {
	for _, q := range c.paths {
		if p == q {
			return true
		}
	}
	return false
}
func (c catExtractor) Extract(_ context.Context, ix *extract.FileIndex, a *extract.Analysis) error {
	for _, p := range c.paths {
		b, err := ix.ReadFile(p)
		if err != nil {
			continue
		}
		if a.OS == nil {
			a.OS = &extract.OSRelease{}
		}
		a.OS.IDLike = append(a.OS.IDLike, strings.TrimSpace(string(b)))
	}
	return nil
}

// srcRead walks src and returns the kept bytes of p.
func srcRead(t *testing.T, src extract.Source, p string) string {
	t.Helper()
	ix, _, err := src.Walk(context.Background(), []extract.Extractor{catExtractor{paths: []string{p}}}, extract.WalkOptions{})
	if err != nil {
		t.Fatalf("walking %s: %v", src.Reference(), err)
	}
	b, err := ix.ReadFile(p)
	if err != nil {
		t.Fatalf("%s in %s: %v", p, src.Reference(), err)
	}
	return string(b)
}

// srcWantErr checks that err is one line, names ref, and wraps kind.
func srcWantErr(t *testing.T, err error, kind error, ref string, mentions ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("opening %s succeeded, want %v", ref, kind)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.Contains(msg, ref) {
		t.Errorf("error %q does not name the reference %s", msg, ref)
	}
	for _, m := range mentions {
		if !strings.Contains(msg, m) {
			t.Errorf("error %q does not mention %q", msg, m)
		}
	}
}

func TestOCILayout(t *testing.T) {
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	one := srcImage(t, "linux/amd64", srcFiles{"etc/which": "one"})
	two := srcImage(t, "linux/amd64", srcFiles{"etc/which": "two"})
	idx, imgs := srcIndex(t, "linux/amd64", "linux/arm64/v8")
	for tag, img := range map[string]v1.Image{"one": one, "docker.io/library/two:latest": two} {
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "multi"})); err != nil {
		t.Fatal(err)
	}

	// A path may hold ':' itself; the existing directory wins over a tag.
	single := filepath.Join(t.TempDir(), "app:1.0")
	sp, err := layout.Write(single, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.AppendImage(one, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "one"})); err != nil {
		t.Fatal(err)
	}

	ok := []struct {
		name, ref string
		opts      []extract.Option
		want      v1.Image
		file      string
	}{
		{"by tag", "oci:" + dir + ":one", nil, one, "one"},
		{"by the tag of a full name", "oci:" + dir + ":latest", nil, two, "two"},
		{"by digest", "oci:" + dir + "@" + srcDigest(t, two), nil, two, "two"},
		{"single image without a tag, ':' in the path", "oci:" + single, nil, one, "one"},
		{"single image, ':' in the path, and a tag", "oci:" + single + ":one", nil, one, "one"},
		{"index, default platform", "oci:" + dir + ":multi", nil, imgs["linux/amd64"], ""},
		{"index, chosen platform", "oci:" + dir + ":multi", []extract.Option{extract.WithPlatform("linux/arm64")}, imgs["linux/arm64/v8"], ""},
		{"image inside an index by digest", "oci:" + dir + "@" + srcDigest(t, imgs["linux/arm64/v8"]), nil, imgs["linux/arm64/v8"], ""},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			src, err := extract.Open(context.Background(), tc.ref, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := src.Digest(), srcDigest(t, tc.want); got != want {
				t.Errorf("Digest() = %s, want %s", got, want)
			}
			if src.Reference() != tc.ref {
				t.Errorf("Reference() = %q, want %q", src.Reference(), tc.ref)
			}
			info, err := src.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			srcCheckInfo(t, info, tc.want)
			if tc.file != "" {
				if got := srcRead(t, src, "/etc/which"); got != tc.file {
					t.Errorf("/etc/which = %q, want %q", got, tc.file)
				}
			}
		})
	}

	bad := []struct {
		name, ref string
		kind      error
		mentions  []string
	}{
		{"two images and no tag", "oci:" + dir, extract.ErrBadReference, []string{"one", "multi"}},
		{"unknown tag", "oci:" + dir + ":nope", extract.ErrImageNotFound, []string{"nope", "one"}},
		{"unknown digest", "oci:" + dir + "@sha256:" + strings.Repeat("0", 64), extract.ErrImageNotFound, nil},
		{"malformed digest", "oci:" + dir + "@sha256:xyz", extract.ErrBadReference, nil},
		{"missing directory", "oci:" + filepath.Join(dir, "missing"), extract.ErrImageNotFound, nil},
		{"not a layout", "oci:" + t.TempDir(), extract.ErrImageNotFound, []string{"index.json"}},
		{"platform the index lacks", "oci:" + dir + ":multi", extract.ErrPlatformNotFound, []string{"linux/amd64, linux/arm64/v8"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			var opts []extract.Option
			if tc.kind == extract.ErrPlatformNotFound {
				opts = append(opts, extract.WithPlatform("linux/s390x"))
			}
			_, err := extract.Open(context.Background(), tc.ref, opts...)
			srcWantErr(t, err, tc.kind, tc.ref, tc.mentions...)
		})
	}
}

// srcCheckInfo compares Info with the image's own manifest and config.
func srcCheckInfo(t *testing.T, info extract.ImageInfo, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if info.Digest != srcDigest(t, img) {
		t.Errorf("info.Digest = %s, want %s", info.Digest, srcDigest(t, img))
	}
	if info.MediaType != string(m.MediaType) {
		t.Errorf("info.MediaType = %s, want %s", info.MediaType, m.MediaType)
	}
	want := extract.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	if info.Platform != want {
		t.Errorf("info.Platform = %+v, want %+v", info.Platform, want)
	}
	if info.Created == nil || !info.Created.Equal(srcCreated) {
		t.Errorf("info.Created = %v, want %v", info.Created, srcCreated)
	}
	c := info.Config
	if strings.Join(c.Env, ",") != strings.Join(cf.Config.Env, ",") || c.User != "1001" ||
		c.WorkingDir != "/opt/app-root/src" || strings.Join(c.Entrypoint, " ") != "/usr/bin/python3" ||
		strings.Join(c.Cmd, " ") != "-m http.server" || c.Labels["org.opencontainers.image.title"] != "seshat test" {
		t.Errorf("info.Config = %+v, want the image's config %+v", c, cf.Config)
	}
	if len(info.Layers) != len(m.Layers) {
		t.Fatalf("info has %d layers, the manifest %d", len(info.Layers), len(m.Layers))
	}
	var size int64
	for i, l := range m.Layers {
		got := info.Layers[i]
		if got.Digest != l.Digest.String() || got.Size != l.Size || got.MediaType != string(l.MediaType) {
			t.Errorf("layer %d = %+v, want %s %d %s", i, got, l.Digest, l.Size, l.MediaType)
		}
		size += l.Size
	}
	if info.Size != size {
		t.Errorf("info.Size = %d, want the sum of layer sizes %d", info.Size, size)
	}
}

func TestDockerArchive(t *testing.T) {
	dir := t.TempDir()
	img := srcImage(t, "linux/amd64",
		srcFiles{"etc/os-release": "ID=base\n", "usr/share/doc/a": "a"},
		srcFiles{"etc/os-release": "ID=top\n"})
	other := srcImage(t, "linux/arm64/v8", srcFiles{"etc/os-release": "ID=other\n"})
	tag, _ := name.NewTag("quay.io/seshat/app:1.0")
	otherTag, _ := name.NewTag("quay.io/seshat/other:2.0")

	plain := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(plain, tag, img); err != nil {
		t.Fatal(err)
	}
	gz := filepath.Join(dir, "app.tar.gz")
	srcGzip(t, plain, gz)
	multi := filepath.Join(dir, "multi.tar")
	if err := tarball.MultiWriteToFile(multi, map[name.Tag]v1.Image{tag: img, otherTag: other}); err != nil {
		t.Fatal(err)
	}
	multiGz := filepath.Join(dir, "multi.tar.gz")
	srcGzip(t, multi, multiGz)

	var digest string
	ok := []struct {
		name, ref, wantOS string
	}{
		{"plain", "docker-archive:" + plain, "ID=top"},
		{"gzip-compressed", "docker-archive:" + gz, "ID=top"},
		{"by tag", "docker-archive:" + plain + ":quay.io/seshat/app:1.0", "ID=top"},
		{"second image by tag", "docker-archive:" + multi + ":quay.io/seshat/other:2.0", "ID=other"},
		{"second image by tag, gzipped", "docker-archive:" + multiGz + ":quay.io/seshat/other:2.0", "ID=other"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			src, err := extract.Open(context.Background(), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if got := srcRead(t, src, "/etc/os-release"); strings.TrimSpace(got) != tc.wantOS {
				t.Errorf("/etc/os-release = %q, want %q", got, tc.wantOS)
			}
			info, err := src.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(src.Digest(), "sha256:") || info.Digest != src.Digest() {
				t.Errorf("Digest() = %q, info.Digest = %q: want the same sha256 digest", src.Digest(), info.Digest)
			}
			if info.Reference != tc.ref || info.Config.User != "1001" || info.Created == nil {
				t.Errorf("info = %+v: want the reference and the image's config", info)
			}
			// go-containerregistry's tarball.Write stores compressed
			// layers, so the manifest is the image's own.
			want := img
			if tc.wantOS == "ID=other" {
				want = other
			}
			srcCheckInfo(t, info, want)
			if tc.wantOS == "ID=top" {
				// The same image, plain or gzipped, has the same digest.
				if digest == "" {
					digest = src.Digest()
				} else if digest != src.Digest() {
					t.Errorf("Digest() = %s, the plain archive gave %s", src.Digest(), digest)
				}
			}
		})
	}

	notTar := filepath.Join(dir, "notes.txt")
	os.WriteFile(notTar, []byte("hello"), 0o644)
	noManifest := srcTar(t, dir, "no-manifest.tar", map[string]string{"repositories": "{}"})
	missingLayer := srcTar(t, dir, "missing-layer.tar", map[string]string{
		"manifest.json": `[{"Config":"c.json","RepoTags":["a:1"],"Layers":["l/layer.tar"]}]`, "c.json": "{}"})
	truncated := filepath.Join(dir, "truncated.tar.gz")
	if b, err := os.ReadFile(gz); err == nil {
		os.WriteFile(truncated, b[:len(b)/2], 0o644)
	}
	bad := []struct {
		name, ref string
		kind      error
		mentions  []string
	}{
		{"missing file", "docker-archive:" + filepath.Join(dir, "missing.tar"), extract.ErrImageNotFound, nil},
		{"unknown tag", "docker-archive:" + multi + ":quay.io/seshat/nope:1", extract.ErrImageNotFound, []string{"quay.io/seshat/app:1.0"}},
		{"a digest", "docker-archive:" + plain + "@sha256:" + strings.Repeat("0", 64), extract.ErrBadReference, nil},
		{"not an archive", "docker-archive:" + notTar, nil, []string{"not a docker save archive"}},
		{"no manifest.json", "docker-archive:" + noManifest, nil, []string{"manifest.json not found"}},
		{"a layer missing", "docker-archive:" + missingLayer, nil, []string{"l/layer.tar not found"}},
		{"truncated gzip", "docker-archive:" + truncated, nil, []string{"unexpected EOF"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extract.Open(context.Background(), tc.ref)
			if tc.kind == nil {
				t.Logf("error: %v", err)
				if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.mentions[0]) {
					t.Fatalf("Open(%s) = %v, want one line mentioning %q", tc.ref, err, tc.mentions[0])
				}
				return
			}
			srcWantErr(t, err, tc.kind, tc.ref, tc.mentions...)
		})
	}
}

// srcTar writes a tar of files (name → content) into dir.
func srcTar(t *testing.T, dir, name string, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		io.WriteString(tw, body)
	}
	tw.Close()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func srcGzip(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDirSource(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("ID=debian\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "dir:" + root
	src, err := extract.Open(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if src.Digest() != "" || src.Reference() != ref {
		t.Errorf("Digest() = %q, Reference() = %q; want \"\" and %q", src.Digest(), src.Reference(), ref)
	}
	info, err := src.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Platform.OS != runtime.GOOS || info.Platform.Architecture != runtime.GOARCH {
		t.Errorf("platform = %+v, want this machine's %s/%s", info.Platform, runtime.GOOS, runtime.GOARCH)
	}
	if info.Config.Env == nil || info.Config.Labels == nil || info.Layers == nil || info.Size != 0 {
		t.Errorf("info = %+v, want an empty (not null) config and no layers", info)
	}
	if got := srcRead(t, src, "/etc/os-release"); got != "ID=debian\n" {
		t.Errorf("/etc/os-release = %q", got)
	}

	file := filepath.Join(root, "etc", "os-release")
	for _, tc := range []struct{ name, ref string }{
		{"missing directory", "dir:" + filepath.Join(root, "missing")},
		{"a file", "dir:" + file},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extract.Open(context.Background(), tc.ref)
			srcWantErr(t, err, extract.ErrImageNotFound, tc.ref)
		})
	}
}

func TestOpenBadReference(t *testing.T) {
	for _, ref := range []string{
		"",
		"Quay.io/UPPER/Case::tag",
		"registry.example/img@sha256:short",
		"oci-archive:/tmp/x.tar",
		"containers-storage:img",
		"dir:",
	} {
		t.Run(ref, func(t *testing.T) {
			_, err := extract.Open(context.Background(), ref)
			srcWantErr(t, err, extract.ErrBadReference, ref)
		})
	}
	_, err := extract.Open(context.Background(), "dir:/", extract.WithPlatform("linux"))
	if !errors.Is(err, extract.ErrBadReference) {
		t.Errorf("WithPlatform(\"linux\") error = %v, want ErrBadReference", err)
	}
}

// TestRealArchives opens images saved by Docker itself (fetched by
// `make fixtures` from trivy's and go-containerregistry's test data), whose
// layers are stored as plain tars.
func TestRealArchives(t *testing.T) {
	alpine := fixtures.Path(t, "images/alpine-3.10.tar")
	alpineGz := fixtures.Path(t, "images/alpine-3.10.tar.gz")
	hello := fixtures.Path(t, "images/hello-world.tar")
	cases := []struct {
		name, ref, file, contains, arch string
	}{
		{"alpine 3.10", "docker-archive:" + alpine, "/etc/os-release", "Alpine Linux v3.10", "amd64"},
		{"alpine 3.10 gzipped", "docker-archive:" + alpineGz, "/etc/os-release", "Alpine Linux v3.10", "amd64"},
		{"alpine 3.10 by tag", "docker-archive:" + alpine + ":alpine:3.10", "/etc/os-release", "Alpine Linux v3.10", "amd64"},
		// Docker 25's format: manifest.json beside an OCI layout.
		{"hello-world saved by Docker 25", "docker-archive:" + hello, "/hello", "", "arm64"},
	}
	var alpineDigest string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := extract.Open(context.Background(), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			info, err := src.Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(info.Layers) != 1 || info.Size <= 0 || info.Platform.Architecture != tc.arch {
				t.Errorf("info = %+v, want one layer, a size and %s", info, tc.arch)
			}
			got := srcRead(t, src, tc.file)
			if !strings.Contains(got, tc.contains) {
				t.Errorf("%s does not contain %q", tc.file, tc.contains)
			}
			if tc.arch != "amd64" {
				return
			}
			// The same archive, plain or gzipped, is the same image.
			if alpineDigest == "" {
				alpineDigest = src.Digest()
			} else if src.Digest() != alpineDigest {
				t.Errorf("digest %s, the plain archive gave %s", src.Digest(), alpineDigest)
			}
			// Its one layer is named by the diffID of the stored tar.
			if l := info.Layers[0]; l.Size != 5818880 || l.MediaType != "application/vnd.docker.image.rootfs.diff.tar" ||
				l.Digest != "sha256:531743b7098cb2aaf615641007a129173f63ed86ca32fe7b5a246a1c47286028" {
				t.Errorf("alpine layer = %+v, want the stored tar's diffID and size", l)
			}
		})
	}
}
