package lock_test

import (
	"os"
	"strings"

	"github.com/seshat-dev/seshat/advise/lock"
)

func ExampleWriteRequirements() {
	l := &lock.Lock{
		Target: "CPython 3.11 on manylinux_2_36_x86_64",
		Packages: []lock.Package{{
			Name: "click", Version: "8.1.7", Via: []string{"flask"},
			Artifacts: []lock.Artifact{{Filename: "click-8.1.7-py3-none-any.whl", SHA256: strings.Repeat("ab", 32), Kind: lock.Wheel}},
		}},
	}
	if err := lock.WriteRequirements(os.Stdout, l, lock.RequirementsOptions{}); err != nil {
		panic(err)
	}
	// Output:
	// #
	// # This file was written by seshat (seshat advise); edit the input and run it again.
	// # Target: CPython 3.11 on manylinux_2_36_x86_64
	// #
	// click==8.1.7 \
	//     --hash=sha256:abababababababababababababababababababababababababababababababab
	//     # via flask
}
