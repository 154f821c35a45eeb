package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/extract/report"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

func intp(i int) *int { return &i }

// sample is an analysis with every section filled, values as the
// extractors would write them.
func sample() *extract.Analysis {
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return &extract.Analysis{
		Schema: extract.SchemaV1,
		Image: extract.ImageInfo{
			Reference: "registry.example:5000/team/app:1.0",
			Digest:    "sha256:b4a8d35101c6e8aa0cdd257fa9c6d2708bdd9b78e9e9f6575da51b0023a0fd6a",
			MediaType: "application/vnd.oci.image.manifest.v1+json",
			Platform:  extract.Platform{OS: "linux", Architecture: "amd64"},
			Created:   &created,
			Config: extract.ImageConfig{Env: []string{"PATH=/usr/bin"}, Labels: map[string]string{"name": "app"},
				Cmd: []string{"python3"}},
			Layers: []extract.Layer{
				{Digest: "sha256:c7f0584f27108a0087246258b3dbc83e41aaf302d76b3aba881c05d8e5f94f45", Size: 1000, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"},
				{Digest: "sha256:36b85abd392adf1108f6a2da1a4c594ba9d13728ced1370352018006479e588d", Size: 2000, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"},
			},
			Size: 3000,
		},
		OS: &extract.OSRelease{ID: "rhel", VersionID: "9.4", Name: "Red Hat Enterprise Linux", PrettyName: "Red Hat Enterprise Linux 9.4 (Plow)", IDLike: []string{"fedora"}},
		Packages: []extract.Package{
			{Type: "deb", Name: "bash", Version: "5.2.15", Release: "2+b2", Arch: "amd64", Source: "bash"},
			{Type: "deb", Name: "passwd", Version: "4.13", Release: "3", Epoch: intp(1), Arch: "amd64", Source: "shadow"},
			{Type: "rpm", Name: "glibc", Version: "2.34", Release: "100.el9", Epoch: nil, Arch: "x86_64", Source: "glibc-2.34-100.el9.src.rpm"},
			{Type: "rpm", Name: "openssl-libs", Version: "3.0.7", Release: "27.el9", Epoch: intp(1), Arch: "x86_64", Source: "openssl-3.0.7-27.el9.src.rpm"},
			{Type: "rpm", Name: "tar", Version: "1.34", Release: "6.el9", Epoch: intp(2), Arch: "x86_64"},
		},
		Python: &extract.Python{
			Interpreters: []extract.Interpreter{{Path: "/usr/bin/python3.11", Links: []string{"/usr/bin/python3"}, Version: "3.11.2",
				Implementation: "cpython", SOABI: "cpython-311-x86_64-linux-gnu", Prefix: "/usr"}},
			Environments: []extract.Environment{{Path: "/usr/lib/python3/dist-packages", Interpreter: "/usr/bin/python3.11",
				Distributions: []extract.Distribution{{Name: "requests", Version: "2.28.1", Location: "/usr/lib/python3/dist-packages"}}}},
		},
		ABI: &abi.Report{
			Libc: &abi.Libc{Family: "glibc", Version: "2.34", Path: "/usr/lib64/libc.so.6"},
			Libraries: []abi.Library{{Path: "/usr/lib64/libc.so.6", Soname: "libc.so.6", VersionDefinitions: []string{"GLIBC_2.2.5", "GLIBC_2.34"}},
				{Path: "/usr/lib64/libz.so.1", Soname: "libz.so.1"}},
			Symbols:      map[string][]string{"GLIBC": {"GLIBC_2.2.5", "GLIBC_2.34"}},
			PlatformTags: []string{"manylinux_2_34_x86_64", "manylinux_2_33_x86_64", "linux_x86_64"},
		},
		CUDA:     &extract.CUDA{Version: "12.4.0", Source: "/usr/local/cuda-12.4/version.json", CuDNNVersion: "9.1.0", CuDNNSource: "/usr/include/cudnn_version.h"},
		Warnings: []extract.Warning{{Path: "/usr/lib/libbroken.so", Message: "not an ELF file"}},
	}
}

func TestJSONRoundTrips(t *testing.T) {
	a := sample()
	var buf bytes.Buffer
	if err := report.Write(&buf, "json", a); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasSuffix(out, "}\n") || !strings.HasPrefix(out, "{\n  \"schema\": \"seshat.analysis/v1\"") {
		t.Errorf("not indented JSON with a trailing newline:\n%.200s", out)
	}
	var back extract.Analysis
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, a) {
		t.Errorf("round trip changed the analysis:\n%+v\n%+v", &back, a)
	}
	// camelCase keys of the contract, and null where a section is unknown.
	for _, key := range []string{`"versionId"`, `"prettyName"`, `"idLike"`, `"mediaType"`, `"workingDir"`, `"abiFlags"`, `"platformTags"`, `"cudnnVersion"`} {
		if !strings.Contains(out, key) {
			t.Errorf("key %s missing", key)
		}
	}
	buf.Reset()
	if err := report.JSON(&buf, &extract.Analysis{Schema: extract.SchemaV1, Packages: []extract.Package{}, Warnings: []extract.Warning{}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"os": null`, `"cuda": null`, `"packages": []`, `"warnings": []`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("empty analysis lacks %s:\n%s", want, buf.String())
		}
	}
}

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Table(&buf, sample(), report.WithMaxRows(3)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Image:     registry.example:5000/team/app:1.0",
		"Platform:  linux/amd64",
		"OS:        Red Hat Enterprise Linux 9.4 (Plow) (id rhel, version 9.4, like fedora)",
		"Packages: 5 (2 deb, 3 rpm)",
		"deb   passwd  1:4.13-3",
		"… and 2 more packages",
		"/usr/bin/python3.11  3.11.2",
		"/usr/lib/python3/dist-packages  /usr/bin/python3.11  1",
		"glibc 2.34 (/usr/lib64/libc.so.6)",
		"manylinux_2_34_x86_64",
		"CUDA: 12.4.0 (from /usr/local/cuda-12.4/version.json); cuDNN 9.1.0",
		"Warnings: 1",
		"/usr/lib/libbroken.so: not an ELF file",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "openssl-libs") {
		t.Errorf("table shows more than 3 package rows:\n%s", out)
	}
	buf.Reset()
	_ = report.Table(&buf, &extract.Analysis{Image: extract.ImageInfo{Reference: "dir:/"}})
	if !strings.Contains(buf.String(), "OS:        unknown") || !strings.Contains(buf.String(), "Packages: none found") {
		t.Errorf("empty analysis table:\n%s", buf.String())
	}
}

func TestPackageExtract(t *testing.T) {
	var buf bytes.Buffer
	if err := report.Write(&buf, "package-extract", sample(), report.WithTool("seshat", "1.2.3")); err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["metadata"]["analyzer"] != "seshat" || doc["metadata"]["analyzer_version"] != "1.2.3" {
		t.Errorf("metadata %v", doc["metadata"])
	}
	r := doc["result"]
	for _, key := range []string{"operating-system", "rpm", "deb", "skopeo-inspect", "layers", "image_size",
		"python-interpreters", "python-packages", "system-symbols", "cuda-version"} {
		if _, ok := r[key]; !ok {
			t.Errorf("result lacks %q", key)
		}
	}
	got := func(key string) string { b, _ := json.Marshal(r[key]); return string(b) }
	for key, want := range map[string]string{
		"operating-system":    `{"id":"rhel","id_like":"fedora","name":"Red Hat Enterprise Linux","pretty_name":"Red Hat Enterprise Linux 9.4 (Plow)","version_id":"9.4"}`,
		"rpm":                 `["glibc-2.34-100.el9.x86_64","openssl-libs-1:3.0.7-27.el9.x86_64","tar-2:1.34-6.el9.x86_64"]`,
		"deb":                 `[{"arch":"amd64","name":"bash","version":"5.2.15-2+b2"},{"arch":"amd64","name":"passwd","version":"1:4.13-3"}]`,
		"layers":              `["c7f0584f27108a0087246258b3dbc83e41aaf302d76b3aba881c05d8e5f94f45","36b85abd392adf1108f6a2da1a4c594ba9d13728ced1370352018006479e588d"]`,
		"image_size":          `3000`,
		"python-interpreters": `[{"link":"/usr/bin/python3.11","path":"/usr/bin/python3","version":"Python 3.11.2"},{"link":"/usr/bin/python3.11","path":"/usr/bin/python3.11","version":"Python 3.11.2"}]`,
		"python-packages":     `[{"location":"/usr/lib/python3/dist-packages","package_name":"requests","package_version":"2.28.1"}]`,
		"system-symbols":      `{"/usr/lib64/libc.so.6":["GLIBC_2.2.5","GLIBC_2.34"]}`,
		"cuda-version":        `{"/usr/local/cuda-12.4/version.json":"12.4.0"}`,
	} {
		if g := got(key); g != want {
			t.Errorf("%s = %s\nwant %s", key, g, want)
		}
	}
	si := r["skopeo-inspect"].(map[string]any)
	if si["Name"] != "registry.example:5000/team/app" || si["Digest"] != sample().Image.Digest || si["Architecture"] != "amd64" ||
		si["Os"] != "linux" || len(si["Layers"].([]any)) != 2 || si["Created"] != "2024-05-01T12:00:00Z" {
		t.Errorf("skopeo-inspect %v", si)
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := report.Write(&bytes.Buffer{}, "yaml", sample()); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("err = %v", err)
	}
}

// TestSBOM encodes syft's own result for SLE 15's real ndb rpmdb in each
// format and checks every package is in the document.
func TestSBOM(t *testing.T) {
	db, err := os.ReadFile(fixtures.Path(t, "rpmdb/sle15-bci/Packages.db"))
	if err != nil {
		t.Fatal(err)
	}
	osr := []byte("NAME=\"SLES\"\nVERSION_ID=\"15.3\"\nID=\"sles\"\nID_LIKE=\"suse\"\n")
	ix := extract.NewFileIndex()
	ix.Add(extract.FileMeta{Path: "/usr/lib/sysimage/rpm/Packages.db", Type: extract.TypeRegular, Size: int64(len(db))}, db)
	ix.Add(extract.FileMeta{Path: "/etc/os-release", Type: extract.TypeRegular, Size: int64(len(osr))}, osr)
	pk := extract.NewPackagesExtractor()
	a := sample()
	a.Packages = nil
	if err := pk.Extract(context.Background(), ix, a); err != nil {
		t.Fatal(err)
	}
	if len(a.Packages) != 35 {
		t.Fatalf("%d packages, want SLE's 35", len(a.Packages))
	}
	for _, format := range report.SBOMFormats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.SBOM(&buf, format, a, pk.SBOM(), report.WithTool("seshat", "1.2.3")); err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			out := buf.String()
			for _, p := range a.Packages {
				if !strings.Contains(out, "pkg:rpm/") || !strings.Contains(out, `"`+p.Name+`"`) {
					t.Errorf("%s missing from the %s SBOM", p.Name, format)
				}
			}
			if !strings.Contains(out, "distro=sles-15.3") {
				t.Errorf("purls do not name the distribution")
			}
			if !strings.Contains(out, "registry.example:5000/team/app") {
				t.Errorf("the image is not described")
			}
		})
	}
	if err := report.SBOM(&bytes.Buffer{}, "xml", a, pk.SBOM()); err == nil {
		t.Error("unknown SBOM format accepted")
	}
}
