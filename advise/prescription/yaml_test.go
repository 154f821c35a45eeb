package prescription

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameTree reports the first difference between two parsed trees.
func sameTree(a, b *node, path string) error {
	if a.kind != b.kind || a.line != b.line || a.col != b.col || len(a.children) != len(b.children) {
		return fmt.Errorf("%s: kind/line/col/len %d/%d/%d/%d vs %d/%d/%d/%d", path, a.kind, a.line, a.col, len(a.children), b.kind, b.line, b.col, len(b.children))
	}
	if a.kind == scalarNode && (a.value != b.value || a.tag != b.tag) {
		return fmt.Errorf("%s (line %d): %q (tag %d) vs %q (tag %d)", path, a.line, a.value, a.tag, b.value, b.tag)
	}
	for i := range a.children {
		if err := sameTree(a.children[i], b.children[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func TestFastParseMatchesYAMLv3(t *testing.T) {
	cases := map[string]string{
		"compact list under key": "units:\n  wraps:\n  - name: A\n    type: wrap\n    run:\n      justification:\n      - type: INFO\n        message: hi there # c\n        link: x\n",
		"folded":                 "a:\n  m: >-\n    one\n    two\n\n    three\n  n: x\n",
		"folded clip":            "a: >\n  one\n  two\nb: 1\n",
		"literal":                "a: |-\n  one\n  # not a comment\n  two\nb: ~\n",
		"quotes":                 "a: 'it''s'\nb: \"x: y\"  # c\nc: \">=58.0.0\"\nd: <1.3.0\n",
		"flow":                   "a: [null]\nb: [1, two , 3.5]\nc: []\nd: {}\n",
		"scalars":                "a: 34\nb: 3.10\nc: true\nd: null\ne: 0x1F\nf: 1_000\ng: v1.2\n",
		"nested seqs":            "a:\n- - x\n  - y\n- z\n",
		"seq of maps deeper":     "m:\n  resolved_dependencies:\n    - name: x\n      version: ==1\n    - name: y\n",
		"comment lines":          "# top\na:\n  # inside\n  b: c\n\n\n",
		"empty":                  "",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			fast, ok := fastParse([]byte(src))
			if !ok {
				t.Fatalf("fast path gave up on:\n%s", src)
			}
			slow, err := slowParse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if err := sameTree(fast, slow, ""); err != nil {
				t.Errorf("%v\n%s", err, src)
			}
		})
	}
}

func TestFastParseGivesUp(t *testing.T) {
	for _, src := range []string{
		"a: &x\n  b: 1\nc: *x\n",
		"a:\n  <<: *x\n",
		"a: \"multi\n  line\"\n",
		"a: plain\n  continued\n",
		"a: !!str 1\n",
		"a: {b: 1}\n",
		"a: 1\na: 2\n",
		"a:\n\tb: 1\n",
		"a: b: c\n",
		"a: >+\n  x\n",
		"a: >\n  x\n    more\n",
		"---\na: 1\n",
	} {
		if _, ok := fastParse([]byte(src)); ok {
			t.Errorf("fast path accepted %q; it must leave it to yaml.v3", src)
		}
	}
}

// realRepo is a checkout of github.com/thoth-station/prescriptions, given by
// SESHAT_PRESCRIPTIONS_REPO (the directory holding prescriptions/).
func realRepo(t testing.TB) string {
	dir := os.Getenv("SESHAT_PRESCRIPTIONS_REPO")
	if dir == "" {
		t.Skip("SESHAT_PRESCRIPTIONS_REPO not set; point it at a checkout of thoth-station/prescriptions")
	}
	return dir
}

// Every file of the public repository must parse to the same tree on the
// fast path as through yaml.v3.
func TestFastParseRealRepository(t *testing.T) {
	dir := realRepo(t)
	var n, fallback int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		slow, serr := slowParse(data)
		fast, ok := fastParse(data)
		if !ok {
			fallback++
			return nil
		}
		if serr != nil {
			t.Errorf("%s: fast path parsed what yaml.v3 rejects: %v", path, serr)
			return nil
		}
		if err := sameTree(fast, slow, ""); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d through yaml.v3", n, fallback)
	if n > 1000 && fallback*20 > n {
		t.Errorf("%d of %d files fell back to yaml.v3; the fast path should cover 95%%", fallback, n)
	}
}

// FuzzFastParse: whatever the fast path accepts, yaml.v3 must parse to the
// same tree.
func FuzzFastParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*/*/*.y*ml")
	more, _ := filepath.Glob("testdata/*/*/*/*/*.y*ml")
	for _, p := range append(seeds, more...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: [null]\nb:\n- - c\n  - 'd''e'\n"))
	// Number-like plain scalars, dotted versions among them.
	f.Add([]byte("a: 1.2.0\nb: 1_0.5\nc: .5.\nd: 1.e5\ne: -1..2\nf: 0b1.1\ng: 1.2\nh: +.5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastParse(data)
		if !ok {
			return
		}
		slow, err := slowParse(data)
		if err != nil {
			t.Fatalf("fast path accepted what yaml.v3 rejects (%v):\n%s", err, data)
		}
		if err := sameTree(fast, slow, ""); err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
	})
}
