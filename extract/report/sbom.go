package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/anchore/syft/syft/format/cyclonedxjson"
	"github.com/anchore/syft/syft/format/spdxjson"
	"github.com/anchore/syft/syft/format/syftjson"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"

	"github.com/seshat-dev/seshat/extract"
)

// SBOMFormats are the values --sbom accepts.
var SBOMFormats = []string{"cyclonedx-json", "spdx-json", "syft-json"}

// SBOM encodes the packages syft found (s, from
// extract.PackagesExtractor.SBOM) in one of SBOMFormats, describing the
// image with a's metadata. s is not modified.
func SBOM(w io.Writer, format string, a *extract.Analysis, s *sbom.SBOM, opts ...Option) error {
	o := newOptions(opts)
	var (
		enc sbom.FormatEncoder
		err error
	)
	switch format {
	case "cyclonedx-json":
		enc, err = cyclonedxjson.NewFormatEncoderWithConfig(cyclonedxjson.DefaultEncoderConfig())
	case "spdx-json":
		enc, err = spdxjson.NewFormatEncoderWithConfig(spdxjson.DefaultEncoderConfig())
	case "syft-json":
		enc, err = syftjson.NewFormatEncoderWithConfig(syftjson.DefaultEncoderConfig())
	default:
		return fmt.Errorf("unknown SBOM format %q (want one of %s)", format, strings.Join(SBOMFormats, ", "))
	}
	if err != nil {
		return fmt.Errorf("preparing the %s encoder: %w", format, err)
	}
	doc := *s
	doc.Source = sourceDescription(a)
	doc.Descriptor = sbom.Descriptor{Name: o.tool, Version: o.version}
	if err := enc.Encode(w, doc); err != nil {
		return fmt.Errorf("writing the %s SBOM: %w", format, err)
	}
	return nil
}

// sourceDescription describes the analyzed image to syft's encoders.
func sourceDescription(a *extract.Analysis) source.Description {
	im := a.Image
	md := source.ImageMetadata{
		UserInput:      im.Reference,
		ManifestDigest: im.Digest,
		MediaType:      im.MediaType,
		Tags:           []string{},
		Size:           im.Size,
		Architecture:   im.Platform.Architecture,
		Variant:        im.Platform.Variant,
		OS:             im.Platform.OS,
		Labels:         im.Config.Labels,
	}
	for _, l := range im.Layers {
		md.Layers = append(md.Layers, source.LayerMetadata{MediaType: l.MediaType, Digest: l.Digest, Size: l.Size})
	}
	name := repoName(im.Reference)
	version := im.Digest
	id := strings.TrimPrefix(im.Digest, "sha256:")
	if id == "" {
		id = im.Reference
	}
	return source.Description{ID: id, Name: name, Version: version, Metadata: md}
}
