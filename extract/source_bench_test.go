package extract_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/internal/testregistry"
)

// BenchmarkSourceWalk opens and walks the same 3-layer, ~6 MB image from
// each kind of source, to compare their overhead (the registry is Debian's
// real docker-registry on loopback).
//
//	go test ./extract -run '^$' -bench SourceWalk -benchtime 10x
func BenchmarkSourceWalk(b *testing.B) {
	var layers []srcFiles
	for i := range 3 {
		noise := make([]byte, 2<<20)
		rand.Read(noise)
		layers = append(layers, srcFiles{fmt.Sprintf("data/%d.bin", i): string(noise), "etc/os-release": fmt.Sprintf("ID=%d\n", i)})
	}
	img := srcImage(b, "linux/amd64", layers...)
	info, err := img.Manifest()
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, l := range info.Layers {
		size += l.Size
	}

	ociRef, _ := anaLayout(b, img)
	archive := filepath.Join(b.TempDir(), "img.tar")
	tag, _ := name.NewTag("seshat/bench:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		b.Fatal(err)
	}
	reg := testregistry.Start(b)
	regRef := reg.Push(b, "seshat/bench:1", img)

	for _, tc := range []struct{ name, ref string }{
		{"oci", ociRef},
		{"docker-archive", "docker-archive:" + archive},
		{"registry", regRef},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			exs := []extract.Extractor{catExtractor{paths: []string{"/etc/os-release"}}}
			for b.Loop() {
				src, err := extract.Open(context.Background(), tc.ref)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := src.Walk(context.Background(), exs, extract.WalkOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
