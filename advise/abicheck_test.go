package advise_test

import (
	"archive/zip"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// compileSO builds a real shared object from C source with the machine's
// gcc (glibc 2.36), so its version needs are what the linker records.
func compileSO(t *testing.T, src string) []byte {
	t.Helper()
	dir := t.TempDir()
	c := filepath.Join(dir, "x.c")
	so := filepath.Join(dir, "x.so")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-o", so, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	b, err := os.ReadFile(so)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeCompiledWheel writes a wheel holding one extension module.
func writeCompiledWheel(t *testing.T, dir, name, version, tag string, so []byte) string {
	t.Helper()
	stem := name + "-" + version
	path := filepath.Join(dir, stem+"-"+tag+".whl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	info := stem + ".dist-info/"
	files := [][2]string{
		{name + "/_speedups.cpython-311-x86_64-linux-gnu.so", string(so)},
		{name + "/__init__.py", "from ._speedups import *\n"},
		{info + "METADATA", fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n\n", name, version)},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: seshat-test\nRoot-Is-Purelib: false\nTag: " + tag + "\n"},
	}
	writeWheelEntries(t, zw, info, files)
	return path
}

// The distroless Debian 9 base (glibc 2.24) with a Python layer: fastpkg
// 3.0 is tagged manylinux_2_28 (refused by its tag), 2.0 claims
// manylinux_2_17 but its .so needs GLIBC_2.34 (refused by reading it), 1.0
// needs only GLIBC_2.2.5: the lock takes 1.0 and says why.
func TestABICheckOldGlibc(t *testing.T) {
	ref := buildImage(t, imageSpec{base: "images/distroless-debian9.tar", fromRoot: debianPython})
	env, err := advise.NewImageEnvironment(analyze(t, ref), "")
	if err != nil {
		t.Fatal(err)
	}
	if env.Libc != "glibc 2.24" || env.Target.Platforms[0] != "manylinux_2_24_x86_64" {
		t.Fatalf("libc %q, platforms %v: want glibc 2.24, manylinux_2_24_x86_64 first", env.Libc, env.Target.Platforms)
	}

	old := compileSO(t, "#include <string.h>\nunsigned long f(const char *s) { return strlen(s); }\n")
	newer := compileSO(t, "#include <pthread.h>\nvoid *g(void) { return (void *)pthread_create; }\n")
	dir := t.TempDir()
	writeCompiledWheel(t, dir, "fastpkg", "1.0", "cp311-cp311-manylinux_2_17_x86_64", old)
	lying := writeCompiledWheel(t, dir, "fastpkg", "2.0", "cp311-cp311-manylinux_2_17_x86_64", newer)
	writeCompiledWheel(t, dir, "fastpkg", "3.0", "cp311-cp311-manylinux_2_28_x86_64", newer)
	srv := pyindex.Start(t, dir)

	cache := t.TempDir()
	s := advise.ImageSettings{ABI: advise.NewABIChecker(client(t, srv), cache)}
	res, rep, err := resolveImage(t, srv, env, "fastpkg\n", s)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["fastpkg"] != "1.0" {
		t.Fatalf("lock %v, want fastpkg 1.0", got)
	}
	why := explainText(rep)
	t.Logf("--explain:\n%s", why)
	for _, want := range []string{"3.0 skipped: no wheel for", "GLIBC_2.34", "glibc 2.24", "fastpkg-2.0-cp311-cp311-manylinux_2_17_x86_64.whl"} {
		if !strings.Contains(why, want) {
			t.Errorf("--explain does not say %q:\n%s", want, why)
		}
	}
	diffPins(t, "pip install", pipInstall(t, srv, res.Lock, env.Target), pins(res.Lock))

	// What the lying wheel needs is cached by its sha256.
	b, err := os.ReadFile(lying)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	cached, err := os.ReadFile(filepath.Join(cache, "abi-v1", fmt.Sprintf("%x.json", sum)))
	if err != nil || !strings.Contains(string(cached), "GLIBC_2.34") {
		t.Errorf("cache entry of fastpkg 2.0: %q, %v", cached, err)
	}

	// Without the check, the tag is believed.
	res, _, err = resolveImage(t, srv, env, "fastpkg\n", advise.ImageSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["fastpkg"] != "2.0" {
		t.Errorf("without the ABI check: lock %v, want fastpkg 2.0 (its tag fits)", got)
	}
}
