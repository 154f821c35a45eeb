package pep508

import "testing"

func BenchmarkParseRequirement(b *testing.B) {
	for b.Loop() {
		if _, err := ParseRequirement(`pywin32>=226,<307; sys_platform == "win32" and python_version >= "3.8"`); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	m, err := ParseMarker(`python_version >= "3.8" and (sys_platform == "linux" or extra == "test") and platform_python_implementation != "PyPy"`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m.Evaluate(linux311, "test")
	}
}
