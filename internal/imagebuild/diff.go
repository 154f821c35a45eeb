package imagebuild

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Change is what a layer must carry to turn the tree lower into upper, as a
// container build records a RUN step: paths to add or replace (from upper),
// paths deleted (whiteouts), and directories whose lower contents are all
// hidden (opaque; their upper contents are in Adds).
type Change struct {
	Adds      []string
	Whiteouts []string
	Opaque    []string
}

// Diff compares two root filesystems. Paths under exclude are ignored;
// directories in opaque are emitted as opaque with their whole upper
// subtree instead of per-file whiteouts.
func Diff(lower, upper string, exclude, opaque []string) (*Change, error) {
	skip := map[string]bool{}
	for _, e := range exclude {
		c, err := clean(e)
		if err != nil {
			return nil, err
		}
		skip[c] = true
	}
	opq := map[string]bool{}
	for _, e := range opaque {
		c, err := clean(e)
		if err != nil {
			return nil, err
		}
		opq[c] = true
	}
	under := func(rel string, set map[string]bool) bool {
		for p := rel; p != "."; p = path.Dir(p) {
			if set[p] {
				return true
			}
		}
		return false
	}
	ch := &Change{}
	for o := range opq {
		if fi, err := os.Lstat(filepath.Join(upper, o)); err == nil && fi.IsDir() {
			ch.Opaque = append(ch.Opaque, o)
		}
	}
	// Upper side: new or changed entries, and all of an opaque dir.
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if skip[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if under(rel, opq) && !opq[rel] {
			ch.Adds = append(ch.Adds, rel)
			return nil
		}
		same, err := sameEntry(filepath.Join(lower, rel), p)
		if err != nil {
			return err
		}
		if !same {
			ch.Adds = append(ch.Adds, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", upper, err)
	}
	// Lower side: entries gone from upper become whiteouts (a gone
	// directory is one whiteout).
	err = filepath.WalkDir(lower, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(lower, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if skip[rel] || (under(rel, opq) && !opq[rel]) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		ufi, err := os.Lstat(filepath.Join(upper, rel))
		if os.IsNotExist(err) || (err == nil && ufi.IsDir() != d.IsDir()) {
			if os.IsNotExist(err) {
				ch.Whiteouts = append(ch.Whiteouts, rel)
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("walking %s: %w", lower, err)
	}
	return ch, nil
}

// sameEntry reports whether a (in lower) and b (in upper) are the same
// entry: kind, mode, owner, link target and content.
func sameEntry(a, b string) (bool, error) {
	afi, err := os.Lstat(a)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	bfi, err := os.Lstat(b)
	if err != nil {
		return false, err
	}
	if afi.Mode() != bfi.Mode() {
		return false, nil
	}
	switch {
	case afi.IsDir():
		return true, nil
	case afi.Mode()&fs.ModeSymlink != 0:
		at, err1 := os.Readlink(a)
		bt, err2 := os.Readlink(b)
		return err1 == nil && err2 == nil && at == bt, nil
	case afi.Mode().IsRegular():
		if afi.Size() != bfi.Size() {
			return false, nil
		}
		return sameContent(a, b)
	}
	return true, nil
}

func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea != nil || eb != nil {
			return (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF), nil
		}
	}
}

// WriteChange writes ch into w: whiteouts, then opaque markers, then the
// added entries from upper.
func WriteChange(w *LayerWriter, upper string, ch *Change) error {
	w.SetRoot(upper)
	for _, wh := range ch.Whiteouts {
		if err := w.Whiteout(wh); err != nil {
			return err
		}
	}
	for _, o := range ch.Opaque {
		if err := w.Opaque(upper, o); err != nil {
			return err
		}
	}
	return WriteFromDisk(w, upper, ch.Adds)
}

// String lists the change for logs.
func (ch *Change) String() string {
	return fmt.Sprintf("%d added or replaced, %d whiteouts, opaque: %s", len(ch.Adds), len(ch.Whiteouts), strings.Join(ch.Opaque, " "))
}
