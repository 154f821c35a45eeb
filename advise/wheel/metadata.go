package wheel

import (
	"archive/zip"
	"fmt"
	"io"
	"strings"
)

// MaxMetadataSize bounds a METADATA file; real ones are tens of kilobytes.
const MaxMetadataSize = 16 << 20

// Metadata reads the core metadata (the top-level *.dist-info/METADATA) of the
// wheel in r, which is size bytes long. Over an io.ReaderAt only the zip's
// central directory and that one entry are read, which is what lets a remote
// wheel be inspected with a few HTTP range requests.
//
// project, when not empty, picks the .dist-info directory whose name
// normalizes to it (a wheel should hold exactly one, but some vendor others).
func Metadata(r io.ReaderAt, size int64, project string) ([]byte, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("reading wheel zip directory: %w", err)
	}
	f, err := metadataEntry(zr, project)
	if err != nil {
		return nil, err
	}
	if f.UncompressedSize64 > MaxMetadataSize {
		return nil, fmt.Errorf("%s is %d bytes, larger than the %d allowed", f.Name, f.UncompressedSize64, MaxMetadataSize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("opening %s in wheel: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s in wheel: %w", f.Name, err)
	}
	return b, nil
}

func metadataEntry(zr *zip.Reader, project string) (*zip.File, error) {
	var found []*zip.File
	for _, f := range zr.File {
		dir, base, ok := strings.Cut(f.Name, "/")
		if !ok || base != "METADATA" || !strings.HasSuffix(dir, ".dist-info") {
			continue
		}
		found = append(found, f)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("wheel has no *.dist-info/METADATA: not a valid wheel")
	}
	if project == "" {
		if len(found) > 1 {
			return nil, fmt.Errorf("wheel has %d .dist-info directories; name the project to pick one", len(found))
		}
		return found[0], nil
	}
	want := Normalize(project)
	for _, f := range found {
		dir := strings.TrimSuffix(strings.SplitN(f.Name, "/", 2)[0], ".dist-info")
		// The directory is {name}-{version}.dist-info; the name never holds a dash
		// once escaped, so the last dash splits it.
		if i := strings.LastIndex(dir, "-"); i > 0 && Normalize(dir[:i]) == want {
			return f, nil
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return nil, fmt.Errorf("wheel has no .dist-info directory for %s", project)
}
