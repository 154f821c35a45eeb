package pep508_test

import (
	"fmt"

	"github.com/seshat-dev/seshat/advise/pep508"
)

func ExampleParseRequirement() {
	r, err := pep508.ParseRequirement(`Requests[socks] >= 2.8 ; python_version >= "3.8" and extra == "net"`)
	if err != nil {
		panic(err)
	}
	env := pep508.Environment{PythonVersion: "3.11", SysPlatform: "linux"}
	fmt.Println(r.Canonical(), r.Extras, r.Specifier)
	fmt.Println(r.Marker.Evaluate(env, "net"), r.Marker.Evaluate(env, ""))
	fmt.Println(r.Marker.WithoutExtras())

	_, err = pep508.ParseRequirement("requests >= 2.0 <3")
	fmt.Println(err)
	// Output:
	// requests [socks] >=2.8
	// true false
	// python_version >= "3.8"
	// "requests >= 2.0 <3": expected ',' and another version specifier, or ';' at column 17
}
