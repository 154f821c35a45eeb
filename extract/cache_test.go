package extract_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/extract"
)

const pkDigest = "sha256:b4a8d35101c6e8aa0cdd257fa9c6d2708bdd9b78e9e9f6575da51b0023a0fd6a"

func pkCachedAnalysis() *extract.Analysis {
	one := 1
	return &extract.Analysis{
		Schema:   extract.SchemaV1,
		Image:    extract.ImageInfo{Reference: "oci:/x", Digest: pkDigest, Layers: []extract.Layer{}},
		OS:       &extract.OSRelease{ID: "debian", VersionID: "12", IDLike: []string{}},
		Packages: []extract.Package{{Type: "deb", Name: "bash", Version: "5.2.15", Release: "2+b2", Epoch: &one, Arch: "amd64", Source: "bash"}},
		Warnings: []extract.Warning{},
	}
}

func TestCacheRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := extract.NewCache(dir, "seshat dev; os,packages")
	if _, ok, err := c.Get(pkDigest); ok || err != nil {
		t.Fatalf("empty cache: hit %v err %v", ok, err)
	}
	want := pkCachedAnalysis()
	if err := c.Put(want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(pkDigest)
	if err != nil || !ok {
		t.Fatalf("after Put: hit %v err %v", ok, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// Another producer (version, extractor set) must not see it.
	if _, ok, _ := extract.NewCache(dir, "seshat 2.0; os,packages,python").Get(pkDigest); ok {
		t.Error("an entry written under another salt was served")
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestCacheCorruptEntryIsAMiss(t *testing.T) {
	dir := t.TempDir()
	c := extract.NewCache(dir, "s")
	if err := c.Put(pkCachedAnalysis()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "sha256-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	if err := os.WriteFile(files[0], []byte(`{"schema": "seshat.analysis/v1", "image": {`), 0o644); err != nil {
		t.Fatal(err)
	}
	a, ok, err := c.Get(pkDigest)
	if ok || a != nil || err == nil || !strings.Contains(err.Error(), files[0]) {
		t.Errorf("corrupt entry: hit %v err %v, want a miss with an error naming the file", ok, err)
	}
}

func TestCacheRefusesHostileDigest(t *testing.T) {
	c := extract.NewCache(t.TempDir(), "s")
	for _, d := range []string{"", "sha256:../../etc/passwd", "sha256:ABC", "md5:0123", "sha256:" + strings.Repeat("a", 63)} {
		if _, _, err := c.Get(d); err == nil {
			t.Errorf("Get(%q) accepted", d)
		}
		a := pkCachedAnalysis()
		a.Image.Digest = d
		if err := c.Put(a); d != "" && err == nil {
			t.Errorf("Put(%q) accepted", d)
		}
	}
}
