package prescription_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/seshat-dev/seshat/advise/prescription"
)

// How a resolver drives the engine: load once, bind to the image's
// environment, then ask about candidates, states and the final lock.
func Example() {
	set, err := prescription.Load("testdata/prescriptions")
	if err != nil {
		log.Fatal(err) // *ProblemsError: file:line for each problem
	}
	for _, w := range set.Warnings {
		fmt.Println("warning:", w.Kind, w.Count)
	}
	engine := set.For(prescription.Context{
		RecommendationType: "stable",
		PythonVersion:      "3.11",
		RPMPackages:        []prescription.RPM{{Name: "bash"}},
		PythonPackages:     []prescription.InstalledPackage{{Name: "setuptools", Version: "68.1.2", Location: "/usr/lib/python3/dist-packages"}},
	})

	if _, err := engine.Boot([]string{"flask-openid", "gitpython"}); err != nil {
		var stop *prescription.StopError
		if errors.As(err, &stop) {
			log.Fatal(stop)
		}
	}
	c := prescription.Candidate{Name: "flask-openid", Version: "1.2.5", IndexURL: "https://pypi.org/simple"}
	if keep, _ := engine.Sieve(c); keep {
		r := engine.Step(c, prescription.State{})
		fmt.Println("flask-openid 1.2.5 acceptable:", !r.NotAcceptable, "-", r.Fired[0].Message)
	}
	// A step.Group refuses a combination: click 8.1.0 once black is resolved.
	withBlack := prescription.State{Resolved: map[string]prescription.Candidate{"black": {Name: "black", Version: "24.4.2"}}}
	if r := engine.Step(prescription.Candidate{Name: "click", Version: "8.1.0"}, withBlack); r.NotAcceptable {
		fmt.Println("click 8.1.0 next to black:", r.Fired[0].Message)
	}
	lock := prescription.State{Resolved: map[string]prescription.Candidate{
		"flask-openid": {Name: "flask-openid", Version: "1.3.1"},
		"gitpython":    {Name: "gitpython", Version: "3.1.43"},
		"click":        {Name: "click", Version: "8.1.7"},
	}}
	for _, f := range engine.Wrap(lock) {
		fmt.Printf("%s %s: %s\n", f.Type, f.Unit, f.Message)
	}
	// Output:
	// flask-openid 1.2.5 acceptable: false - flask-openid<1.3.0 cannot be installed next to setuptools>=58.0.0 (no 2to3)
	// click 8.1.0 next to black: black does not work with click 8.1.0
	// INFO seshat-test.EveryLockWrap: Resolved with seshat test prescriptions
	// WARNING seshat-test.GitPythonNeedsGitWrap: GitPython calls the git binary, which this image does not have; install the git RPM
	// INFO seshat-test.ClickReleaseNotesWrap: Release notes for package click 8.1.7
}
