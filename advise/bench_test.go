package advise_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// Whole-program comparison of `seshat advise` with pip's resolver on the
// same local index over loopback (bench/advise.sh runs these and writes
// BENCHMARKS.md). Each reports requests/op as counted by the index server.
// "cold" starts every run with an empty HTTP cache; "warm" reuses one that
// a first, unmeasured run filled.

func seshatBinary(b *testing.B) string {
	b.Helper()
	if bin := os.Getenv("SESHAT_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(b.TempDir(), "seshat")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/seshat-dev/seshat/cmd/seshat")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type benchSet struct{ name, reqs string }

func benchSets(b *testing.B) []benchSet {
	var out []benchSet
	for _, s := range sets(b) {
		if s.name == "largest graph" {
			continue // needs cp313; below with the cp311 subset
		}
		out = append(out, benchSet{s.name, s.reqs})
	}
	// The largest graph that installs on cp311: every corpus project whose
	// compiled or transitive needs have a cp311 wheel.
	return append(out, benchSet{"largest cp311 graph", "annotated-types\nattrs\nblinker\ncertifi\nchardet\ncharset-normalizer\nclick\nflask\nidna\nitsdangerous\njinja2\nmarkdown-it-py\nmarkupsafe\nmdurl\npackaging\npip\npydantic\npygments\nrequests\nrich\nsetuptools\nsix\ntyping-extensions\nurllib3\nwerkzeug\nwheel\n"})
}

func BenchmarkAdvise(b *testing.B) {
	bin := seshatBinary(b)
	srv := pyindex.Start(b, fixtures.Path(b, "wheels"))
	tg := debian12()
	for _, s := range benchSets(b) {
		req := filepath.Join(b.TempDir(), "requirements.txt")
		if err := os.WriteFile(req, []byte(s.reqs), 0o644); err != nil {
			b.Fatal(err)
		}
		args := []string{"advise", "-r", req, "--python-version", "3.11", "--glibc", "2.36", "--arch", "x86_64",
			"--index-url", srv.URL + "/simple", "--format", "requirements", "-o", filepath.Join(b.TempDir(), "out.txt")}
		run := func(b *testing.B, cache string) {
			cmd := exec.Command(bin, append(args, "--cache-dir", cache)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("seshat: %v\n%s", err, out)
			}
		}
		pipArgs := append([]string{"-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
			"--python-version", tg.PythonVersion, "--only-binary=:all:", "--target", filepath.Join(b.TempDir(), "t"),
			"--index-url", srv.URL + "/simple", "-r", req}, platformArgs(tg)...)
		pip := func(b *testing.B, cache string) {
			a := pipArgs
			env := pipEnv()
			if cache != "" {
				env = slices.DeleteFunc(env, func(kv string) bool { return kv == "PIP_NO_CACHE_DIR=1" })
				a = append(a, "--cache-dir", cache)
			}
			cmd := exec.Command("python3", a...)
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("pip: %v\n%s", err, out)
			}
		}
		for _, tool := range []struct {
			name string
			run  func(*testing.B, string)
			cold func(*testing.B) string
		}{
			{"seshat", run, func(b *testing.B) string { return b.TempDir() }},
			{"pip", pip, func(*testing.B) string { return "" }},
		} {
			b.Run(s.name+"/"+tool.name+"/cold", func(b *testing.B) {
				srv.ResetRequests()
				for b.Loop() {
					tool.run(b, tool.cold(b))
				}
				b.ReportMetric(float64(srv.RequestCount())/float64(b.N), "requests/op")
			})
			b.Run(s.name+"/"+tool.name+"/warm", func(b *testing.B) {
				cache := b.TempDir()
				tool.run(b, cache)
				srv.ResetRequests()
				b.ResetTimer()
				for b.Loop() {
					tool.run(b, cache)
				}
				b.ReportMetric(float64(srv.RequestCount())/float64(b.N), "requests/op")
			})
		}
	}
}

// BenchmarkResolve measures the library alone (no process start, no lock
// writing) on the largest cp311 graph with a warm cache.
func BenchmarkResolve(b *testing.B) {
	srv := pyindex.Start(b, fixtures.Path(b, "wheels"))
	sets := benchSets(b)
	in, err := reqfile.ParseRequirements("requirements.txt", []byte(sets[len(sets)-1].reqs))
	if err != nil {
		b.Fatal(err)
	}
	cache := b.TempDir()
	resolve := func() {
		c, err := index.New([]index.IndexURL{{Name: "local", URL: srv.URL + "/simple"}}, index.WithCacheDir(cache), index.WithNetrc(""))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := advise.Resolve(context.Background(), in, debian12(), c, advise.WithIndexes(lock.Index{Name: "local", URL: srv.URL + "/simple"})); err != nil {
			b.Fatal(err)
		}
	}
	resolve()
	srv.ResetRequests()
	for b.Loop() {
		resolve()
	}
	b.ReportMetric(float64(srv.RequestCount())/float64(b.N), "requests/op")
}
