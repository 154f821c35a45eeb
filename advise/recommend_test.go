package advise_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

func TestAdvisoryRanges(t *testing.T) {
	dir := t.TempDir()
	// Unquoted YAML numbers (2.0) are versions too; last_affected is inclusive.
	yaml := `id: PYSEC-TEST-1
affected:
- package: {name: Demo_Pkg, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: 1.0
    - fixed: 2.0
    - introduced: 3.0
    - last_affected: 3.2
`
	if err := os.WriteFile(filepath.Join(dir, "PYSEC-TEST-1.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	as, err := advise.LoadAdvisories(dir)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{"0.9": false, "1.0": true, "1.9.9": true, "2.0": false, "2.5": false, "3.0": true, "3.2": true, "3.2.1": false} {
		if got := len(as.Affecting("demo-pkg", pep440.MustParse(v))) > 0; got != want {
			t.Errorf("%s affected: %v, want %v", v, got, want)
		}
	}
}

// --recommendation-type security with advisories in both layouts (OSV
// JSON, PyPA advisory-database YAML), copied from the real advisories.
func TestSecurityRecommendation(t *testing.T) {
	as, err := advise.LoadAdvisories("testdata/image/advisories")
	if err != nil {
		t.Fatal(err)
	}
	if as.Files != 2 {
		t.Fatalf("read %d advisories, want 2", as.Files)
	}
	srv := corpus(t)
	sec := advise.ImageSettings{Recommendation: advise.RecommendSecurity, Advisories: as}

	// The Debian 12 root has requests 2.28.1, which GHSA-9wx4-h78v-vm56
	// affects: keep would leave it, security replaces it and says so.
	root, err := advise.NewImageEnvironment(analyze(t, "dir:"+fixtures.Path(t, "rootfs/debian12")), "")
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := resolveImage(t, srv, root, "requests\n", advise.ImageSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["requests"] != "" {
		t.Errorf("latest, keep: lock %v, want requests kept out (installed)", got)
	}
	res, rep, err := resolveImage(t, srv, root, "requests\n", sec)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["requests"] != "2.32.3" {
		t.Errorf("security: lock %v, want requests 2.32.3", got)
	}
	if len(rep.Changed) != 1 || rep.Changed[0].Name != "requests" {
		t.Errorf("security: changed %+v, want requests", rep.Changed)
	}
	if !strings.Contains(explainText(rep), "GHSA-9wx4-h78v-vm56") {
		t.Errorf("--explain does not name the advisory:\n%s", explainText(rep))
	}

	// Every flask<3 in the index is affected: the error names the advisory.
	img, err := advise.NewImageEnvironment(analyze(t, "oci:"+fixtures.Path(t, "images/debian12")), "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = resolveImage(t, srv, img, "flask<3\n", sec)
	var nse *advise.NoSolutionError
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "PYSEC-2023-62") {
		t.Errorf("flask<3 under security: %v, want a NoSolutionError naming PYSEC-2023-62", err)
	}
	res, _, err = resolveImage(t, srv, img, "flask\n", sec)
	if err != nil {
		t.Fatal(err)
	}
	if got := pins(res.Lock); got["flask"] != "3.1.1" {
		t.Errorf("flask under security: %v, want 3.1.1 (not affected)", got)
	}
}
