package wheel_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise/wheel"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

func TestParseFilename(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want wheel.Name
	}{
		// PEP 427's own example.
		{"distribution-1.0-1-py27-none-any.whl", wheel.Name{"distribution", "1.0", "1", []string{"py27"}, []string{"none"}, []string{"any"}}},
		{"six-1.17.0-py2.py3-none-any.whl", wheel.Name{"six", "1.17.0", "", []string{"py2", "py3"}, []string{"none"}, []string{"any"}}},
		{"pydantic_core-2.27.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
			wheel.Name{"pydantic_core", "2.27.2", "", []string{"cp313"}, []string{"cp313"}, []string{"manylinux_2_17_x86_64", "manylinux2014_x86_64"}}},
		{"torch-2.1.0+cu121-cp311-cp311-linux_x86_64.whl", wheel.Name{"torch", "2.1.0+cu121", "", []string{"cp311"}, []string{"cp311"}, []string{"linux_x86_64"}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := wheel.ParseFilename(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"six-1.17.0.tar.gz", "six-py3-none-any.whl", "six-1.0-x1-py3-none-any.whl", "six-1.0-py3..py2-none-any.whl", "a-1-2-3-4-5-6.whl"} {
		if _, err := wheel.ParseFilename(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseFilename(%q) error = %v, want one naming the file", bad, err)
		}
	}
}

func TestTags(t *testing.T) {
	n, _ := wheel.ParseFilename("x-1-py2.py3-none-linux_x86_64.manylinux1_x86_64.whl")
	var got []string
	for _, tag := range n.Tags() {
		got = append(got, tag.String())
	}
	want := "py2-none-linux_x86_64 py2-none-manylinux1_x86_64 py3-none-linux_x86_64 py3-none-manylinux1_x86_64"
	if strings.Join(got, " ") != want {
		t.Fatalf("Tags = %v", got)
	}
	if n.IsPure() {
		t.Error("platform wheel reported pure")
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"Flask": "flask", "typing_extensions": "typing-extensions", "zope.interface": "zope-interface", "A-_.b": "a-b"} {
		if got := wheel.Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every wheel of the real corpus parses and yields METADATA whose Name
// matches its file name.
func TestMetadataRealWheels(t *testing.T) {
	dir := fixtures.Path(t, "wheels")
	files, _ := filepath.Glob(filepath.Join(dir, "*.whl"))
	if len(files) < 40 {
		t.Fatalf("only %d wheels in %s", len(files), dir)
	}
	for _, f := range files {
		n, err := wheel.ParseFilename(filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(f)
		meta, err := wheel.Metadata(bytes.NewReader(b), int64(len(b)), n.Project())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var name, version string
		for _, line := range strings.Split(string(meta), "\n") {
			if v, ok := strings.CutPrefix(line, "Name: "); ok && name == "" {
				name = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "Version: "); ok && version == "" {
				version = strings.TrimSpace(v)
			}
		}
		if wheel.Normalize(name) != n.Project() || version != n.Version {
			t.Errorf("%s: METADATA says %s %s", filepath.Base(f), name, version)
		}
	}
}

func TestMetadataNotAWheel(t *testing.T) {
	b := []byte("this is not a zip file at all")
	if _, err := wheel.Metadata(bytes.NewReader(b), int64(len(b)), "x"); err == nil {
		t.Fatal("no error for a non-zip")
	}
}
