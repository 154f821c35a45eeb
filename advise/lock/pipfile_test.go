package lock

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise/reqfile"
)

func TestSynthesizePipfile(t *testing.T) {
	t.Parallel() // waits on Python tools
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	if err := os.WriteFile(req, []byte(`--index-url http://127.0.0.1:8080/simple
--extra-index-url https://mirror.example/simple
Flask>=2.0,<4
requests[socks] ; python_version >= "3.8"
zope.interface
`), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := reqfile.ParseRequirementsFile(req)
	if err != nil {
		t.Fatal(err)
	}
	in.RequiresPython = "==3.11.*"
	data, err := SynthesizePipfile(in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "Pipfile.synthesized", data)

	// It must read back to the same requirements and satisfy pipenv's hash.
	pfDir := t.TempDir()
	path := filepath.Join(pfDir, "Pipfile")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := reqfile.ParsePipfile(path)
	if err != nil {
		t.Fatalf("synthesized Pipfile does not parse: %v\n%s", err, data)
	}
	var got []string
	for _, r := range back.Default {
		got = append(got, r.String())
	}
	if want := `Flask>=2.0,<4|requests[socks]; python_version >= "3.8"|zope.interface`; strings.Join(got, "|") != want {
		t.Errorf("read back %q", got)
	}
	if err := MicropipenvCompatible(back.Pipfile); err != nil {
		t.Error(err)
	}
	ours, err := PipfileHash(back.Pipfile)
	if err != nil {
		t.Fatal(err)
	}
	if want := plette(t, []string{path})[path]; ours != want {
		t.Errorf("hash %s, pipenv says %s", ours, want)
	}
	var lockBuf bytes.Buffer
	if err := WritePipfileLock(&lockBuf, sampleLock(), back.Pipfile); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(lockBuf.Bytes(), []byte(`"python_version": "3.11"`)) {
		t.Errorf("requires not carried into the lock:\n%s", lockBuf.Bytes())
	}
}

func TestMicropipenvCompatible(t *testing.T) {
	for content, want := range map[string]string{
		"[packages]\nx = \"*\"\n": "names no [[source]]",
		"[[source]]\nurl = \"https://pypi.org/simple\"\nverify_ssl = true\nname = \"pypi\"\n[docs]\nsphinx = \"*\"\n":                      "custom package categories [docs]",
		"[[source]]\nurl = \"https://pypi.org/simple\"\nverify_ssl = true\nname = \"pypi\"\n[packages]\nx = \"*\"\n[scripts]\na = \"b\"\n": "",
	} {
		_, pf := loadPipfileNoT(content)
		err := MicropipenvCompatible(pf)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}

func TestSynthesizePipfileRefuses(t *testing.T) {
	for content, want := range map[string]string{
		"a==1\nA>=0.5\n":                  "A is required twice",
		"x @ https://example.org/x.whl\n": "direct URL reference",
	} {
		in, err := reqfile.ParseRequirements("requirements.txt", []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := SynthesizePipfile(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}
