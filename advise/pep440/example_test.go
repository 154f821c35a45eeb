package pep440_test

import (
	"fmt"

	"github.com/seshat-dev/seshat/advise/pep440"
)

func ExampleParseSpecifiers() {
	spec, err := pep440.ParseSpecifiers(">=1.0, !=1.3.*, <2")
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"1.2", "1.3.4", "2.0", "1.9rc1"} {
		fmt.Println(s, spec.Contains(pep440.MustParse(s), false))
	}
	// Output:
	// 1.2 true
	// 1.3.4 false
	// 2.0 false
	// 1.9rc1 false
}

func ExampleParse() {
	v, _ := pep440.Parse("V1.0-RC-1_Post2+Ubuntu-1")
	fmt.Println(v, v.IsPrerelease(), v.Public(), v.Local())
	// Output: 1.0rc1.post2+ubuntu.1 true 1.0rc1.post2 ubuntu.1
}
