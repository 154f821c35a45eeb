// Command mkimage assembles a test image from real files, deterministically.
//
//	mkimage -plan plan.json
//	mkimage -root ROOTFS -layers 3 -oci OUT/ [-docker-archive OUT.tar] [-tag latest]
//	mkimage -convert IMAGE.tar -oci OUT/   (a docker-archive rewritten as an OCI layout)
//
// The plan format is imagebuild.Plan (JSON). With -root it splits one root
// filesystem into -layers layers. It prints the manifest digest.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/seshat-dev/seshat/internal/imagebuild"
)

// convertArchive writes the image of a docker-archive as an OCI layout. The
// manifest is go-containerregistry's, and uncompressed layers are gzipped.
func convertArchive(file, oci, tag string) error {
	if oci == "" {
		return fmt.Errorf("-convert needs -oci")
	}
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	if err := imagebuild.WriteOCI(oci, img, tag); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Println(d)
	return nil
}

func main() {
	var (
		planFile = flag.String("plan", "", "JSON plan (imagebuild.Plan)")
		root     = flag.String("root", "", "root filesystem to split (without -plan)")
		n        = flag.Int("layers", 1, "number of layers to split -root into")
		oci      = flag.String("oci", "", "OCI layout directory to write")
		archive  = flag.String("docker-archive", "", "docker-archive file to write")
		tag      = flag.String("tag", "latest", "tag in the OCI layout")
		ref      = flag.String("ref", "", "repository:tag in the docker-archive")
		comp     = flag.String("compression", "gzip", "gzip, zstd or none")
		tmp      = flag.String("tmp", "", "directory to stage layer blobs in (default: beside the output)")
		convert  = flag.String("convert", "", "docker-archive to rewrite as the -oci layout, layers unchanged")
	)
	flag.Parse()
	if *convert != "" {
		if err := convertArchive(*convert, *oci, *tag); err != nil {
			fmt.Fprintln(os.Stderr, "mkimage:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*planFile, *root, *n, *oci, *archive, *tag, *ref, *comp, *tmp); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(planFile, root string, n int, oci, archive, tag, ref, comp, tmp string) error {
	var p *imagebuild.Plan
	switch {
	case planFile != "":
		var err error
		if p, err = imagebuild.ReadPlan(planFile); err != nil {
			return err
		}
	case root != "":
		p = &imagebuild.Plan{Layers: []imagebuild.LayerPlan{{Root: root, Split: n, Comment: "rootfs " + root}}}
	default:
		return fmt.Errorf("give -plan FILE or -root DIR")
	}
	if oci != "" {
		p.OCI = oci
	}
	if archive != "" {
		p.DockerArchive = archive
	}
	if p.Tag == "" {
		p.Tag = tag
	}
	if ref != "" {
		p.Ref = ref
	}
	if p.Compression == "" {
		p.Compression = imagebuild.Compression(comp)
	}
	if p.OCI == "" && p.DockerArchive == "" {
		return fmt.Errorf("nothing to write: give -oci or -docker-archive (or set them in the plan)")
	}
	if tmp == "" {
		out := p.OCI
		if out == "" {
			out = p.DockerArchive
		}
		tmp = out + ".blobs"
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	img, err := p.Run(tmp)
	if err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Println(d)
	return nil
}
