package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/internal/fixtures"
)

func TestMergeRequires(t *testing.T) {
	pkgInfo := "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nProvides-Extra: socks\n\nLong description.\n"
	requires := `charset_normalizer<3,>=2
idna<4,>=2.5

[:python_version < "3.8"]
importlib-metadata

[socks]
PySocks!=1.5.7,>=1.5.6

[use_chardet_on_py3:sys_platform == "win32"]
chardet<6,>=3.0.2
`
	got := string(mergeRequires([]byte(pkgInfo), []byte(requires)))
	want := `Metadata-Version: 2.1
Name: requests
Version: 2.28.1
Provides-Extra: socks
Requires-Dist: charset_normalizer<3,>=2
Requires-Dist: idna<4,>=2.5
Requires-Dist: importlib-metadata; python_version < "3.8"
Requires-Dist: PySocks!=1.5.7,>=1.5.6; extra == "socks"
Provides-Extra: use_chardet_on_py3
Requires-Dist: chardet<6,>=3.0.2; (sys_platform == "win32") and extra == "use_chardet_on_py3"

Long description.
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	// PKG-INFO that already lists requirements is left alone.
	withReqs := "Name: x\nRequires-Dist: y\n\n"
	if got := string(mergeRequires([]byte(withReqs), []byte("z\n"))); got != withReqs {
		t.Fatalf("rewrote PKG-INFO that had Requires-Dist:\n%s", got)
	}
}

// The manylinux level in the tag must be what the .so really imports, as
// binutils' objdump sees it.
func TestGlibcNeedMatchesObjdump(t *testing.T) {
	objdump, err := exec.LookPath("objdump")
	if err != nil {
		t.Fatal("objdump not found: install binutils (testdata/deps.sh)")
	}
	whl := filepath.Join(fixtures.Path(t, "wheels"), "pydantic_core-2.27.2-cp313-cp313-manylinux_2_38_x86_64.whl")
	zr, err := zip.OpenReader(whl)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	so := filepath.Join(t.TempDir(), "ext.so")
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".so") {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			os.WriteFile(so, b, 0o644)
		}
	}
	minor, arch, err := glibcNeed(so)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(objdump, "-p", so).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, m := range regexp.MustCompile(`GLIBC_2\.(\d+)`).FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		want = max(want, n)
	}
	if minor != want || arch != "x86_64" || want == 0 {
		t.Fatalf("glibcNeed = 2.%d %s, objdump says 2.%d", minor, arch, want)
	}
}

// Repacking the same tree twice gives the same bytes.
func TestRepackDeterministic(t *testing.T) {
	root := t.TempDir()
	sp := filepath.Join(root, "usr/lib/python3/dist-packages")
	os.MkdirAll(filepath.Join(sp, "demo/__pycache__"), 0o755)
	os.MkdirAll(filepath.Join(sp, "Demo-1.0.egg-info"), 0o755)
	os.WriteFile(filepath.Join(sp, "demo/__init__.py"), []byte("x = 1\n"), 0o644)
	os.WriteFile(filepath.Join(sp, "demo/__pycache__/__init__.cpython-311.pyc"), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(sp, "Demo-1.0.egg-info/PKG-INFO"), []byte("Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\n\n"), 0o644)
	os.WriteFile(filepath.Join(sp, "Demo-1.0.egg-info/requires.txt"), []byte("six\n"), 0o644)
	var outs [][]byte
	for range 2 {
		dir := t.TempDir()
		name, err := repack(root, "cp311", dir)
		if err != nil {
			t.Fatal(err)
		}
		if name != "demo-1.0-py3-none-any.whl" {
			t.Fatalf("name %s", name)
		}
		b, _ := os.ReadFile(filepath.Join(dir, name))
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two repacks differ")
	}
	zr, _ := zip.NewReader(bytes.NewReader(outs[0]), int64(len(outs[0])))
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	want := "demo/__init__.py demo-1.0.dist-info/METADATA demo-1.0.dist-info/WHEEL demo-1.0.dist-info/RECORD"
	if strings.Join(names, " ") != want {
		t.Fatalf("entries %v", names)
	}
}
