package abi

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/seshat-dev/seshat/internal/fixtures"
)

// readelfFacts is what binutils' readelf reports for a file.
type readelfFacts struct {
	soname  string
	needed  []string
	defs    []string
	needs   map[string][]string
	interp  string
	machine string
}

var (
	reSoname = regexp.MustCompile(`\(SONAME\)\s+Library soname: \[(.*)\]`)
	reNeeded = regexp.MustCompile(`\(NEEDED\)\s+Shared library: \[(.*)\]`)
	reInterp = regexp.MustCompile(`\[Requesting program interpreter: (.*)\]`)
	reDef    = regexp.MustCompile(`^\s*0x[0-9a-f]+: Rev: \d+\s+Flags: (\S+)\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)`)
	reFile   = regexp.MustCompile(`^\s*0x[0-9a-f]+: Version: \d+\s+File: (\S+)\s+Cnt: \d+`)
	reNeedNm = regexp.MustCompile(`^\s*0x[0-9a-f]+:\s+Name: (\S+)\s+Flags:`)
)

func runReadelf(t *testing.T, path string) readelfFacts {
	t.Helper()
	if _, err := exec.LookPath("readelf"); err != nil {
		t.Fatalf("readelf (binutils) not installed: run `make deps`")
	}
	out, err := exec.Command("readelf", "-d", "-V", "-l", "-h", "--wide", path).Output()
	if err != nil {
		t.Fatalf("readelf %s: %v", path, err)
	}
	f := readelfFacts{needs: map[string][]string{}}
	section := ""
	file := ""
	// readelf's own spelling of the first verdef line differs ("000000:"),
	// so normalize it to the 0x form the regexps expect.
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.Replace(sc.Text(), "  000000:", "  0x0000:", 1)
		switch {
		case strings.HasPrefix(line, "Version definition section"):
			section = "d"
		case strings.HasPrefix(line, "Version needs section"):
			section = "r"
		case strings.HasPrefix(line, "Version symbols section"):
			section = "s"
		case strings.Contains(line, "Machine:"):
			f.machine = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
		}
		if m := reSoname.FindStringSubmatch(line); m != nil {
			f.soname = m[1]
		}
		if m := reNeeded.FindStringSubmatch(line); m != nil {
			f.needed = append(f.needed, m[1])
		}
		if m := reInterp.FindStringSubmatch(line); m != nil {
			f.interp = m[1]
		}
		switch section {
		case "d":
			if m := reDef.FindStringSubmatch(line); m != nil && !strings.Contains(m[1], "BASE") {
				f.defs = append(f.defs, m[2])
			}
		case "r":
			if m := reFile.FindStringSubmatch(line); m != nil {
				file = m[1]
				f.needs[file] = f.needs[file]
			} else if m := reNeedNm.FindStringSubmatch(line); m != nil {
				f.needs[file] = append(f.needs[file], m[1])
			}
		}
	}
	return f
}

// realELF lists real ELF files: the host's system libraries, Go's own
// debug/elf test data, and the libc files of the fixture images.
func realELF(t *testing.T) []string {
	goroot := runtime.GOROOT()
	files := []string{
		"/lib/x86_64-linux-gnu/libc.so.6",
		"/lib/x86_64-linux-gnu/libstdc++.so.6",
		"/lib64/ld-linux-x86-64.so.2",
		"/usr/bin/python3.11",
		filepath.Join(goroot, "src/debug/elf/testdata/gcc-amd64-linux-exec"),
		filepath.Join(goroot, "src/debug/elf/testdata/gcc-riscv64-linux-exec"),
		filepath.Join(goroot, "src/debug/elf/testdata/gcc-386-freebsd-exec"),
		filepath.Join(goroot, "src/debug/elf/testdata/libtiffxx.so_"),
		filepath.Join(goroot, "src/debug/elf/testdata/compressed-64.obj"),
		filepath.Join(goroot, "src/debug/elf/testdata/go-relocation-test-gcc482-ppc64le.obj"),
		fixtures.Path(t, "elf/debian9/libc-2.24.so"),
		fixtures.Path(t, "elf/debian9/ld-2.24.so"),
		fixtures.Path(t, "elf/alpine310/ld-musl-x86_64.so.1"),
		fixtures.Path(t, "elf/alpine311/ld-musl-x86_64.so.1"),
		fixtures.Path(t, "elf/debian12-musl/libc.so"),
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("real ELF input %s missing: %v", f, err)
		}
	}
	return files
}

func readStream(t *testing.T, path string, opts ...Option) (*Object, error) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	// HalfReader returns short reads, as a tar stream may: plans must not
	// depend on chunk boundaries.
	return ReadELF(iotest.HalfReader(fh), st.Size(), opts...)
}

func TestReadELFMatchesReadelf(t *testing.T) {
	for _, path := range realELF(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := runReadelf(t, path)
			obj, err := readStream(t, path)
			if err != nil {
				t.Fatalf("ReadELF(%s): %v", path, err)
			}
			if obj.Soname != want.soname {
				t.Errorf("soname = %q, readelf says %q", obj.Soname, want.soname)
			}
			if !slices.Equal(obj.Needed, want.needed) {
				t.Errorf("needed = %q, readelf says %q", obj.Needed, want.needed)
			}
			if !slices.Equal(obj.VersionDefinitions, want.defs) {
				t.Errorf("version definitions = %q,\nreadelf says %q", obj.VersionDefinitions, want.defs)
			}
			if len(obj.VersionNeeds) != len(want.needs) {
				t.Errorf("version needs = %q, readelf says %q", obj.VersionNeeds, want.needs)
			}
			for lib, vs := range want.needs {
				if !slices.Equal(obj.VersionNeeds[lib], vs) {
					t.Errorf("version needs of %s = %q, readelf says %q", lib, obj.VersionNeeds[lib], vs)
				}
			}
			if obj.Interp != want.interp {
				t.Errorf("interp = %q, readelf says %q", obj.Interp, want.interp)
			}
			// debug/elf on the whole file must agree on the header facts.
			full, err := elf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			if obj.Machine != full.Machine || obj.Class != full.Class || obj.Type != full.Type {
				t.Errorf("header = %v %v %v, debug/elf on the whole file says %v %v %v",
					obj.Machine, obj.Class, obj.Type, full.Machine, full.Class, full.Type)
			}
		})
	}
}

func TestGlibcVersion(t *testing.T) {
	hostGlibc := upstream(t, dpkgVersion(t, "libc6"))
	tests := []struct {
		path, want string
	}{
		{"/lib/x86_64-linux-gnu/libc.so.6", hostGlibc},
		{fixtures.Path(t, "elf/debian9/libc-2.24.so"), "2.24"},
	}
	for _, tc := range tests {
		obj, err := readStream(t, tc.path)
		if err != nil {
			t.Fatalf("ReadELF(%s): %v", tc.path, err)
		}
		if got := GlibcVersion(obj); got != tc.want {
			t.Errorf("GlibcVersion(%s) = %q, want %q", tc.path, got, tc.want)
		}
		// Every GLIBC_ definition readelf lists must be in the report.
		var readelfGlibc []string
		for _, d := range runReadelf(t, tc.path).defs {
			if strings.HasPrefix(d, "GLIBC_") {
				readelfGlibc = append(readelfGlibc, d)
			}
		}
		got := Symbols(obj.VersionDefinitions)["GLIBC"]
		if len(got) != len(readelfGlibc) {
			t.Errorf("%s: %d GLIBC definitions, readelf lists %d", tc.path, len(got), len(readelfGlibc))
		}
		for _, d := range readelfGlibc {
			if !slices.Contains(got, d) {
				t.Errorf("%s: GLIBC definition %s missing", tc.path, d)
			}
		}
		if i := slices.Index(got, "GLIBC_"+tc.want); i < 0 || (i+1 < len(got) && !strings.Contains(got[i+1], "_PRIVATE") && !strings.Contains(got[i+1], "_ABI_")) {
			t.Errorf("%s: GLIBC family %q should have GLIBC_%s as its newest numbered version", tc.path, got, tc.want)
		}
	}
}

func dpkgVersion(t *testing.T, pkg string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		t.Fatalf("dpkg-query %s: %v", pkg, err)
	}
	return string(out)
}

// upstream strips a Debian version's epoch and revision.
func upstream(t *testing.T, v string) string {
	t.Helper()
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	return v
}

func TestMuslVersion(t *testing.T) {
	deb, err := os.ReadFile(fixtures.Path(t, "elf/debian12-musl/VERSION"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		// Alpine 3.10 shipped musl 1.1.22, 3.11 musl 1.1.24 (apk's
		// installed database in the same images says so).
		{fixtures.Path(t, "elf/alpine310/ld-musl-x86_64.so.1"), "1.1.22"},
		{fixtures.Path(t, "elf/alpine311/ld-musl-x86_64.so.1"), "1.1.24"},
		{fixtures.Path(t, "elf/debian12-musl/libc.so"), upstream(t, strings.TrimSpace(string(deb)))},
		{"/lib/x86_64-linux-gnu/libc.so.6", ""},
	}
	for _, tc := range tests {
		fh, err := os.Open(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		// OneByteReader splits the version string across writes.
		got, err := MuslVersion(iotest.OneByteReader(bufio.NewReader(fh)))
		fh.Close()
		if err != nil {
			t.Fatalf("MuslVersion(%s): %v", tc.path, err)
		}
		if got != tc.want {
			t.Errorf("MuslVersion(%s) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

func TestMuslLoaderArch(t *testing.T) {
	tests := []struct {
		name, arch string
		ok         bool
	}{
		{"ld-musl-x86_64.so.1", "x86_64", true},
		{"ld-musl-aarch64.so.1", "aarch64", true},
		{"ld-musl-armhf.so.1", "armv7l", true},
		{"ld-linux-x86-64.so.2", "", false},
		{"ld-musl-.so.1", "", false},
	}
	for _, tc := range tests {
		arch, ok := MuslLoaderArch(tc.name)
		if arch != tc.arch || ok != tc.ok {
			t.Errorf("MuslLoaderArch(%q) = %q, %v; want %q, %v", tc.name, arch, ok, tc.arch, tc.ok)
		}
	}
}

func TestReadELFBadInput(t *testing.T) {
	libc, err := os.ReadFile("/lib/x86_64-linux-gnu/libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		notELF  bool
		errLike string
	}{
		{"text named like a library", []byte("/* GNU ld script */\nGROUP ( /lib/libc.so.6 )\n"), true, ""},
		{"empty", nil, true, ""},
		{"three bytes", []byte("\x7fEL"), true, ""},
		{"magic only", []byte("\x7fELF"), false, "truncated"},
		{"header only", libc[:64], false, "truncated"},
		{"cut in the middle", libc[:len(libc)/2], false, "truncated"},
		{"bad class", append([]byte("\x7fELF\x09"), libc[5:4096]...), false, "unknown ELF class"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadELF(bytes.NewReader(tc.data), int64(len(tc.data)))
			if tc.notELF {
				if !errors.Is(err, ErrNotELF) {
					t.Fatalf("err = %v, want ErrNotELF", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errLike) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.errLike)
			}
		})
	}
}

// A head bound too small for libstdc++'s version sections must fail with
// an error that tells the user which knob to turn, not report nothing.
func TestReadELFHeadBound(t *testing.T) {
	_, err := readStream(t, "/lib/x86_64-linux-gnu/libstdc++.so.6", WithHeadBounds(64<<10, 64<<10))
	if err == nil || !strings.Contains(err.Error(), "WithHeadBounds") {
		t.Fatalf("err = %v, want one naming WithHeadBounds", err)
	}
}

// ReadELF keeps a bounded part of the file, not all of it.
func TestReadELFKeepsLittle(t *testing.T) {
	const path = "/lib/x86_64-linux-gnu/libc.so.6"
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	st, _ := fh.Stat()
	s := &streamer{r: fh, size: st.Size(), opt: options{headMin: defaultHeadMin, headMax: defaultHeadMax}, sp: sparse{length: -1}}
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, sp := range s.sp.spans {
		kept += len(sp.b)
	}
	if int64(kept) >= st.Size()*3/4 {
		t.Errorf("kept %d of %d bytes (%s); want well under the whole file", kept, st.Size(), &s.sp)
	}
	t.Logf("kept %d of %d bytes: %s", kept, st.Size(), &s.sp)
}

func BenchmarkReadELF(b *testing.B) {
	data, err := os.ReadFile("/lib/x86_64-linux-gnu/libc.so.6")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadELF(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzReadELF(f *testing.F) {
	// Seeds are in testdata/fuzz/FuzzReadELF: heads and truncations of
	// real ELF files from Go's debug/elf test data.
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, err := ReadELF(bytes.NewReader(data), int64(len(data)), WithHeadBounds(1<<16, 1<<20))
		if err == nil && obj == nil {
			t.Fatal("nil object without error")
		}
	})
}

// Found by FuzzReadELF: a zero program or section header entry size made
// the planner loop forever.
func TestReadELFZeroEntrySize(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src/debug/elf/testdata/libtiffxx.so_"))
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{54, 58} { // e_phentsize, e_shentsize of ELF64
		c := slices.Clone(b)
		c[off], c[off+1] = 0, 0
		if _, err := ReadELF(bytes.NewReader(c), int64(len(c))); err == nil {
			t.Errorf("zeroed entry size at %d: no error", off)
		}
	}
}

// Offsets near the top of int64 must not overflow into a slice panic.
func TestReadELFHugeOffsets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src/debug/elf/testdata/libtiffxx.so_"))
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{32, 40} { // e_phoff, e_shoff of ELF64
		c := slices.Clone(b)
		for i := 0; i < 8; i++ {
			c[off+i] = 0xff
		}
		c[off+7] = 0x7f
		if _, err := ReadELF(bytes.NewReader(c), int64(len(c))); err == nil {
			t.Errorf("offset field at %d set to ~2^63: no error", off)
		}
	}
}
