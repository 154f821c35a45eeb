package imagebuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Plan describes an image: its layers bottom first, its configuration and
// where to write it. mkimage reads it as JSON.
type Plan struct {
	// Mtime is the time stamped on every entry and on the image (RFC 3339);
	// empty means $SOURCE_DATE_EPOCH, else 2023-11-14T22:13:20Z.
	Mtime string `json:"mtime,omitempty"`
	// Compression of every layer unless a layer says otherwise.
	Compression Compression `json:"compression,omitempty"`
	Config      Config      `json:"config"`
	Layers      []LayerPlan `json:"layers"`
	// OCI is the OCI layout directory to write, DockerArchive the
	// docker-archive file; either or both. Tag names the image in each.
	OCI           string `json:"oci,omitempty"`
	DockerArchive string `json:"dockerArchive,omitempty"`
	Tag           string `json:"tag,omitempty"`
	// Ref is the repository:tag recorded in the docker-archive.
	Ref string `json:"ref,omitempty"`
	// Report, when set, is a JSON file written with what each layer holds.
	Report string `json:"report,omitempty"`
}

// Report tells what was built, for tests' expected facts.
type Report struct {
	Digest string        `json:"digest"`
	Layers []LayerReport `json:"layers"`
}

// LayerReport is one layer of a Report.
type LayerReport struct {
	Comment   string   `json:"comment"`
	Digest    string   `json:"digest"`
	DiffID    string   `json:"diffID"`
	Size      int64    `json:"size"`
	MediaType string   `json:"mediaType"`
	Whiteouts []string `json:"whiteouts,omitempty"`
	Opaque    []string `json:"opaque,omitempty"`
	Replaced  []string `json:"replaced,omitempty"` // existed below, outside opaque dirs
	Added     int      `json:"added,omitempty"`
}

// LayerPlan is one layer, or with Split a run of layers. Its parts are
// written in this order: Split or Paths from Root, then Entries.
type LayerPlan struct {
	Comment     string      `json:"comment,omitempty"`
	Compression Compression `json:"compression,omitempty"`
	// Root is a root filesystem on disk that Split and Paths read from.
	Root string `json:"root,omitempty"`
	// Split cuts Root (less Exclude) into this many layers.
	Split   int      `json:"split,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// ExcludeNames leaves out, with Split, every entry with one of these
	// base names anywhere in Root (e.g. "__pycache__").
	ExcludeNames []string `json:"excludeNames,omitempty"`
	// Paths are subtrees of Root to put in this layer.
	Paths []string `json:"paths,omitempty"`
	// Lower, with Root as the upper tree, makes this layer the difference
	// between the two (as a build step records it): added and replaced
	// files, whiteouts for deleted ones, and the Opaque directories whole.
	Lower  string   `json:"lower,omitempty"`
	Opaque []string `json:"opaque,omitempty"`
	// Entries are single changes: whiteouts, opaque dirs, replacements.
	Entries []EntryPlan `json:"entries,omitempty"`
}

// EntryPlan is one change in a layer; exactly one of Whiteout, Opaque or
// Path is set. With Path: From copies a file or tree from disk, Text writes
// the given content, Symlink makes a link, none of them makes a directory.
type EntryPlan struct {
	Whiteout string `json:"whiteout,omitempty"`
	Opaque   string `json:"opaque,omitempty"`
	Path     string `json:"path,omitempty"`
	From     string `json:"from,omitempty"`
	Text     string `json:"text,omitempty"`
	Mode     int64  `json:"mode,omitempty"`
	Symlink  string `json:"symlink,omitempty"`
}

// ReadPlan reads a JSON plan.
func ReadPlan(file string) (*Plan, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parsing plan %s: %w", file, err)
	}
	return &p, nil
}

// Time is the plan's fixed timestamp.
func (p *Plan) Time() (time.Time, error) {
	if p.Mtime != "" {
		return time.Parse(time.RFC3339, p.Mtime)
	}
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Unix(1700000000, 0).UTC(), nil
}

// Run builds the planned image and writes it. Layer blobs are staged in
// tmpDir and stay there, backing the returned image, until the caller
// removes the directory.
func (p *Plan) Run(tmpDir string) (v1.Image, error) {
	mtime, err := p.Time()
	if err != nil {
		return nil, err
	}
	var layers []v1.Layer
	var comments []string
	var reports []LayerReport
	newLayer := func(lp LayerPlan) (*LayerWriter, error) {
		c := lp.Compression
		if c == "" {
			c = p.Compression
		}
		return NewLayerWriter(tmpDir, c, mtime)
	}
	finish := func(w *LayerWriter, comment string, r LayerReport) error {
		l, err := w.Close()
		if err != nil {
			return err
		}
		layers = append(layers, l)
		comments = append(comments, comment)
		r.Comment, r.Digest, r.DiffID, r.Size, r.MediaType = comment, l.digest.String(), l.diffID.String(), l.size, string(l.mediaType)
		reports = append(reports, r)
		return nil
	}
	for i, lp := range p.Layers {
		if lp.Split > 0 {
			parts, err := SplitNames(lp.Root, lp.Split, lp.Exclude, lp.ExcludeNames)
			if err != nil {
				return nil, err
			}
			for j, rels := range parts {
				w, err := newLayer(lp)
				if err != nil {
					return nil, err
				}
				if err := WriteFromDisk(w, lp.Root, rels); err != nil {
					return nil, fmt.Errorf("layer %d part %d: %w", i, j, err)
				}
				c := fmt.Sprintf("%s (part %d of %d)", lp.Comment, j+1, lp.Split)
				if err := finish(w, c, LayerReport{Added: len(rels)}); err != nil {
					return nil, err
				}
			}
			continue
		}
		w, err := newLayer(lp)
		if err != nil {
			return nil, err
		}
		w.SetRoot(lp.Root)
		var r LayerReport
		if lp.Lower != "" {
			ch, err := Diff(lp.Lower, lp.Root, lp.Exclude, lp.Opaque)
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			if err := WriteChange(w, lp.Root, ch); err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			r.Whiteouts, r.Opaque = ch.Whiteouts, ch.Opaque
			for _, a := range ch.Adds {
				if underAny(a, ch.Opaque) {
					r.Added++
				} else if _, err := os.Lstat(filepath.Join(lp.Lower, a)); err == nil {
					r.Replaced = append(r.Replaced, a)
				} else {
					r.Added++
				}
			}
		}
		for _, sub := range lp.Paths {
			if err := w.AddTree(lp.Root, sub); err != nil {
				return nil, fmt.Errorf("layer %d: adding %s: %w", i, sub, err)
			}
		}
		for _, e := range lp.Entries {
			if err := addEntry(w, lp.Root, e); err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
		}
		for _, e := range lp.Entries {
			switch {
			case e.Whiteout != "":
				r.Whiteouts = append(r.Whiteouts, e.Whiteout)
			case e.Opaque != "":
				r.Opaque = append(r.Opaque, e.Opaque)
			default:
				r.Added++
			}
		}
		if err := finish(w, lp.Comment, r); err != nil {
			return nil, err
		}
	}
	img, err := Build(layers, comments, p.Config, mtime)
	if err != nil {
		return nil, err
	}
	if p.OCI != "" {
		if err := WriteOCI(p.OCI, img, p.Tag); err != nil {
			return nil, err
		}
	}
	if p.Report != "" {
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(Report{Digest: d.String(), Layers: reports}, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(p.Report, append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	if p.DockerArchive != "" {
		if err := WriteDockerArchive(p.DockerArchive, img, p.Ref); err != nil {
			return nil, err
		}
	}
	return img, nil
}

func addEntry(w *LayerWriter, root string, e EntryPlan) error {
	switch {
	case e.Whiteout != "":
		return w.Whiteout(e.Whiteout)
	case e.Opaque != "":
		return w.Opaque(root, e.Opaque)
	case e.Path == "":
		return errors.New("entry without whiteout, opaque or path")
	case e.Symlink != "":
		return w.AddSymlink(e.Path, e.Symlink)
	case e.From != "":
		fi, err := os.Lstat(e.From)
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return w.AddTreeAs(e.From, root, e.Path)
		}
		return w.AddFromDiskAs(e.From, root, e.Path)
	case e.Text != "":
		mode := e.Mode
		if mode == 0 {
			mode = 0o644
		}
		return w.AddBytes(e.Path, []byte(e.Text), mode)
	}
	return w.AddDir(root, filepath.ToSlash(e.Path))
}

// underAny reports whether rel is one of dirs or below one.
func underAny(rel string, dirs []string) bool {
	for _, d := range dirs {
		if rel == d || strings.HasPrefix(rel, d+"/") {
			return true
		}
	}
	return false
}
