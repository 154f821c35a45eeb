package lock

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seshat-dev/seshat/advise/pep508"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestMain sets the variable the "full" Pipfile's source URL names, once,
// so that tests reading it can run in parallel (t.Setenv forbids that).
// The Pipfile hash must not depend on its value.
func TestMain(m *testing.M) {
	os.Setenv("SESHAT_INDEX_HOST", "127.0.0.1:8080")
	os.Exit(m.Run())
}

func mustMarker(s string) pep508.Marker {
	m, err := pep508.ParseMarker(s)
	if err != nil {
		panic(err)
	}
	return m
}

func sha(c byte) string { return strings.Repeat(string(c), 64) }

// sampleLock is a small Flask resolution for CPython 3.11 on x86_64 glibc,
// with one marker kept, one package from a second index, one develop-only
// package, an extra and an sdist.
func sampleLock() *Lock {
	up := time.Date(2023, 9, 30, 14, 36, 12, 345678000, time.UTC)
	const pypi = "https://pypi.org/simple"
	return &Lock{
		Target:         "CPython 3.11 on manylinux_2_36_x86_64",
		RequiresPython: "==3.11.*",
		Environments:   []pep508.Marker{mustMarker(`python_version == "3.11" and sys_platform == "linux" and platform_machine == "x86_64"`)},
		Indexes:        []Index{{Name: "pypi", URL: pypi, VerifySSL: true}, {Name: "local", URL: "http://127.0.0.1:8080/simple"}},
		Packages: []Package{
			{
				Name: "werkzeug", Version: "3.0.1", Index: "pypi", IndexURL: pypi, Via: []string{"flask"},
				Artifacts: []Artifact{{Filename: "werkzeug-3.0.1-py3-none-any.whl", URL: "https://files.example/werkzeug-3.0.1-py3-none-any.whl", SHA256: sha('b'), Size: 226669, UploadTime: up, Kind: Wheel}},
			},
			{
				Name: "flask", Version: "3.0.0", Index: "pypi", IndexURL: pypi, Via: []string{"Pipfile"}, RequiresPython: ">=3.8",
				Artifacts: []Artifact{
					{Filename: "flask-3.0.0.tar.gz", URL: "https://files.example/flask-3.0.0.tar.gz", SHA256: sha('d'), Size: 674220, UploadTime: up, Kind: Sdist},
					{Filename: "flask-3.0.0-py3-none-any.whl", URL: "https://files.example/flask-3.0.0-py3-none-any.whl", SHA256: sha('c'), Size: 99724, UploadTime: up, Kind: Wheel},
				},
				Justification: "flask 3.0.0 is the highest version allowed by flask>=2.0",
			},
			{
				Name: "markupsafe", Version: "2.1.3", Index: "pypi", IndexURL: pypi, Via: []string{"werkzeug", "jinja2"},
				Artifacts: []Artifact{
					{Filename: "MarkupSafe-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", URL: "https://files.example/MarkupSafe-2.1.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", SHA256: sha('e'), Size: 28007, Kind: Wheel},
					{Filename: "MarkupSafe-2.1.3-cp311-cp311-musllinux_1_1_x86_64.whl", URL: "https://files.example/MarkupSafe-2.1.3-cp311-cp311-musllinux_1_1_x86_64.whl", SHA256: sha('1'), Kind: Wheel},
				},
			},
			{
				Name: "requests", Version: "2.31.0", Index: "local", IndexURL: "http://127.0.0.1:8080/simple", Extras: []string{"socks", "Security"}, Via: []string{"Pipfile"},
				Marker:    mustMarker(`python_version >= "3.8"`),
				Artifacts: []Artifact{{Filename: "requests-2.31.0-py3-none-any.whl", URL: "http://127.0.0.1:8080/files/requests-2.31.0-py3-none-any.whl", SHA256: sha('f'), Size: 62574, Kind: Wheel}},
			},
			{
				Name: "pytest", Version: "7.4.3", Index: "pypi", IndexURL: pypi, Develop: true, Via: []string{"Pipfile"},
				Artifacts: []Artifact{{Filename: "pytest-7.4.3-py3-none-any.whl", URL: "https://files.example/pytest-7.4.3-py3-none-any.whl", SHA256: sha('2'), Size: 325287, Kind: Wheel}},
			},
			{
				Name: "click", Version: "8.1.7", Index: "pypi", IndexURL: pypi, Default: true, Develop: true, Via: []string{"flask"},
				Artifacts: []Artifact{{Filename: "click-8.1.7-py3-none-any.whl", URL: "https://files.example/click-8.1.7-py3-none-any.whl", SHA256: sha('3'), Size: 97941, Kind: Wheel}},
			},
		},
	}
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./advise/lock -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (go test ./advise/lock -update, then review the diff):\n%s", name, got)
	}
}

type writer func(*bytes.Buffer, *Lock) error

var writers = map[string]writer{
	"Pipfile.lock": func(b *bytes.Buffer, l *Lock) error {
		_, in := loadPipfileNoT(pipfiles["full"])
		return WritePipfileLock(b, l, in)
	},
	"Pipfile.lock.nopipfile": func(b *bytes.Buffer, l *Lock) error { return WritePipfileLock(b, l, nil) },
	"requirements.txt":       func(b *bytes.Buffer, l *Lock) error { return WriteRequirements(b, l, RequirementsOptions{}) },
	"requirements-dev.txt": func(b *bytes.Buffer, l *Lock) error {
		return WriteRequirements(b, l, RequirementsOptions{Develop: true, IndexURLs: true})
	},
	"pylock.toml": func(b *bytes.Buffer, l *Lock) error { return WritePylock(b, l) },
}

func TestWritersGoldenAndDeterministic(t *testing.T) {
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			var first bytes.Buffer
			if err := write(&first, sampleLock()); err != nil {
				t.Fatal(err)
			}
			golden(t, name, first.Bytes())
			// Package and artifact order must not matter.
			for i := range 5 {
				l := sampleLock()
				r := rand.New(rand.NewPCG(uint64(i), 7))
				r.Shuffle(len(l.Packages), func(a, b int) { l.Packages[a], l.Packages[b] = l.Packages[b], l.Packages[a] })
				for _, p := range l.Packages {
					r.Shuffle(len(p.Artifacts), func(a, b int) { p.Artifacts[a], p.Artifacts[b] = p.Artifacts[b], p.Artifacts[a] })
				}
				var again bytes.Buffer
				if err := write(&again, l); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first.Bytes(), again.Bytes()) {
					t.Fatalf("output depends on input order:\n%s\nvs\n%s", first.Bytes(), again.Bytes())
				}
			}
		})
	}
}

func TestWritersRefuseBadLocks(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Lock)
		want string
	}{
		{"not canonical", func(l *Lock) { l.Packages[0].Name = "Werkzeug" }, `package name "Werkzeug" is not canonical`},
		{"pinned twice", func(l *Lock) { l.Packages[1].Name = "werkzeug" }, "werkzeug is pinned twice"},
		{"bad hash", func(l *Lock) { l.Packages[0].Artifacts[0].SHA256 = "md5:abc" }, "has no sha256"},
		{"no version", func(l *Lock) { l.Packages[0].Version = "" }, "no name or version"},
		{"injected version", func(l *Lock) { l.Packages[0].Version = "1.0\n--index-url https://evil" }, "not valid under PEP 440"},
		{"injected name", func(l *Lock) { l.Packages[0].Name = "x\n-e ." }, "not a valid package name"},
		{"injected extra", func(l *Lock) { l.Packages[0].Extras = []string{"a]==1\nb"} }, "not a valid extra name"},
	}
	for _, tt := range tests {
		for name, write := range writers {
			l := sampleLock()
			tt.edit(l)
			var b bytes.Buffer
			if err := write(&b, l); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s / %s: err = %v, want %q", tt.name, name, err, tt.want)
			}
		}
	}
	l := sampleLock()
	l.Packages[0].Artifacts = nil
	var b bytes.Buffer
	if err := WriteRequirements(&b, l, RequirementsOptions{}); err == nil || !strings.Contains(err.Error(), "no artifact") {
		t.Errorf("requirements without artifacts: %v", err)
	}
}
