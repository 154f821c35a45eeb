package extract

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

// debian12Expected is the part of images/debian12.expected.json (written
// by testdata/fixtures.d/11-debian.sh from the real root) these tests read.
type debian12Expected struct {
	Libc   abi.Libc `json:"libc"`
	Python struct {
		Interpreter  Interpreter `json:"interpreter"`
		Environments []struct {
			Path          string `json:"path"`
			Interpreter   string `json:"interpreter"`
			Distributions []struct {
				Name, Version, Installer string
			} `json:"distributions"`
		} `json:"environments"`
		RemovedDistributions []string `json:"removedDistributions"`
	} `json:"python"`
}

// The Debian 12 image made by mmdebstrap: python3.11 and its dist-packages
// in the base layers, a venv at /opt/app-root in its own layer, and
// python3-flask purged by an upper layer — read through the OCI layout.
func TestPythonAndABIOnDebian12Image(t *testing.T) {
	var want debian12Expected
	b, err := os.ReadFile(fixtures.Path(t, "images/debian12.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := Open(ctx, "oci:"+fixtures.Path(t, "images/debian12"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(ctx, src, []Extractor{NewPythonExtractor(), NewABIExtractor(), NewCUDAExtractor()}, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range a.Warnings {
		t.Errorf("warning: %+v", w)
	}
	if a.Python == nil || len(a.Python.Interpreters) != 1 {
		t.Fatalf("python = %+v", a.Python)
	}
	in, wi := a.Python.Interpreters[0], want.Python.Interpreter
	if in.Path != wi.Path || in.Version != wi.Version || in.Implementation != wi.Implementation || in.SOABI != wi.SOABI || in.ABIFlags != wi.ABIFlags || in.Prefix != wi.Prefix {
		t.Errorf("interpreter =\n%+v\nwant\n%+v", in, wi)
	}
	for _, l := range append(wi.Links, "/opt/app-root/bin/python", "/opt/app-root/bin/python3") {
		if !slices.Contains(in.Links, l) {
			t.Errorf("links %q lack %s", in.Links, l)
		}
	}
	got := map[string]Environment{}
	for _, e := range a.Python.Environments {
		got[e.Path] = e
	}
	for _, we := range want.Python.Environments {
		e, ok := got[we.Path]
		if !ok {
			t.Errorf("environment %s missing", we.Path)
			continue
		}
		if e.Interpreter != we.Interpreter {
			t.Errorf("%s: interpreter %q, want %q", we.Path, e.Interpreter, we.Interpreter)
		}
		var gd, wd []string
		for _, d := range e.Distributions {
			gd = append(gd, d.Name+" "+d.Version+" "+d.Installer)
		}
		for _, d := range we.Distributions {
			wd = append(wd, d.Name+" "+d.Version+" "+d.Installer)
		}
		slices.Sort(gd)
		slices.Sort(wd)
		if !slices.Equal(gd, wd) {
			t.Errorf("%s: distributions\n%q\nwant\n%q", we.Path, gd, wd)
		}
		for _, d := range e.Distributions {
			for _, r := range want.Python.RemovedDistributions {
				if strings.EqualFold(d.Name, r) {
					t.Errorf("%s: purged %s still listed", we.Path, d.Name)
				}
			}
		}
	}
	if a.ABI == nil || a.ABI.Libc == nil || *a.ABI.Libc != want.Libc {
		t.Fatalf("libc = %+v, want %+v", a.ABI, want.Libc)
	}
	// Every GLIBC_ definition readelf reports for the image's libc.
	libc := fixtures.Path(t, "rootfs/debian12-slim"+want.Libc.Path)
	for _, d := range readelfDefs(t, libc) {
		if strings.HasPrefix(d, "GLIBC_") && !slices.Contains(a.ABI.Symbols["GLIBC"], d) {
			t.Errorf("symbols[GLIBC] lacks %s", d)
		}
	}
	if tags := a.ABI.PlatformTags; len(tags) == 0 || tags[0] != "manylinux_2_36_x86_64" {
		t.Errorf("platform tags start %q", tags)
	}
	if a.CUDA != nil {
		t.Errorf("cuda = %+v, want null", a.CUDA)
	}
}
