package pep440

import "testing"

var benchVersions = []string{"1.0", "2.31.0", "1!2.0rc1.post2.dev3+local.7", "3.0.0a1", "2024.10.1", "v1.0-1"}

func BenchmarkParse(b *testing.B) {
	for _, v := range benchVersions {
		b.Run(v, func(b *testing.B) {
			for b.Loop() {
				if _, err := Parse(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkContains(b *testing.B) {
	ss, err := ParseSpecifiers(">=1.0,!=1.3.*,<2,~=1.4")
	if err != nil {
		b.Fatal(err)
	}
	v := MustParse("1.4.7")
	for b.Loop() {
		ss.Contains(v, false)
	}
}

func BenchmarkCompare(b *testing.B) {
	x, y := MustParse("1.0.0rc1"), MustParse("1.0.0.post1")
	for b.Loop() {
		Compare(x, y)
	}
}
