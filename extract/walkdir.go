package extract

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// hostPseudoFS are the kernel's views mounted in a running system's root:
// not files of the image, and some never end when read.
var hostPseudoFS = map[string]bool{"/proc": true, "/sys": true, "/dev": true}

// WalkDir does the same over a root filesystem directory (dir:PATH, including "/"), never following a
// symlink out of root (os.Lstat, no filepath.EvalSymlinks outside), skipping /proc, /sys, /dev when root is "/".
func WalkDir(ctx context.Context, root string, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, nil, fmt.Errorf("opening root filesystem %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("opening root filesystem %s: %w", root, err)
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("opening root filesystem %s: not a directory", root)
	}
	hostRoot := runningRoot(abs)
	// os.Root refuses any path, symlinks included, that leads out of abs:
	// a symlink in the tree is recorded, never followed outside.
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("opening root filesystem %s: %w", root, err)
	}
	defer r.Close()
	// r.FS() is an fs.ReadLinkFS whose Open, ReadDir and ReadLink all stay
	// under abs.
	return walkFS(ctx, r.FS(), root, hostRoot, exs, opt)
}

// walkFS walks the tree of fsys from "." (named root in errors); hostRoot
// says it is a running system's "/", whose kernel pseudo-filesystems are
// skipped. It never follows a symlink: fsys.Open is called only for an
// entry listed as a regular file, and what it opens must still be one.
// Confining Open to the tree is fsys's job (os.Root does it); a name that
// could step out of its directory ("..", "a/b") is refused here.
func walkFS(ctx context.Context, fsys fs.FS, root string, hostRoot bool, exs []Extractor, opt WalkOptions) (*FileIndex, []Warning, error) {
	w := newWalker(ctx, exs, opt)

	top := true // the first call is for "." itself
	err := fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		p := CleanPath(rel)
		if err != nil {
			if rel == "." {
				return err
			}
			w.warns.add(p, "skipped: %v", err)
			return nil // WalkDir skips an unreadable directory by itself
		}
		if !top && (!fs.ValidPath(rel) || path.Base(rel) != d.Name()) {
			// Only a foreign fs.FS can list such a name; walking it could
			// revisit a parent forever or name a path outside the tree.
			w.warns.add(p, "skipped: the directory lists an invalid name %q", d.Name())
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		top = false
		if hostRoot && hostPseudoFS[p] {
			return fs.SkipDir
		}
		w.entries++
		if w.entries > w.opt.MaxEntries {
			return fmt.Errorf("more than %d files; if the tree is genuine, raise the entry limit", w.opt.MaxEntries)
		}
		info, err := d.Info()
		if err != nil {
			w.warns.add(p, "skipped: %v", err)
			return nil
		}
		meta := FileMeta{Path: p, Mode: info.Mode(), Layer: -1}
		switch {
		case info.Mode().IsDir():
			meta.Type = TypeDir
		case info.Mode()&fs.ModeSymlink != 0:
			meta.Type = TypeSymlink
			if meta.Linkname, err = fs.ReadLink(fsys, rel); err != nil {
				w.warns.add(p, "symlink target unreadable: %v", err)
			}
		case info.Mode().IsRegular():
			meta.Type, meta.Size = TypeRegular, info.Size()
		default:
			meta.Type = TypeOther
		}
		if p == "/" && meta.Type != TypeDir {
			return nil
		}
		w.ix.files[p] = &meta
		if meta.Type == TypeRegular {
			w.readFile(fsys, rel, &meta)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, w.warns.result(), fmt.Errorf("walking %s: %w", root, err)
		}
		return nil, w.warns.result(), fmt.Errorf("walking root filesystem %s: %w", root, err)
	}
	return w.ix, w.warns.result(), nil
}

// readFile opens a regular file only when some extractor wants it; any
// failure to read it is a warning, as a live root changes under our feet.
func (w *walker) readFile(fsys fs.FS, rel string, meta *FileMeta) {
	keep, streams := w.wants(meta.Path, meta.Size)
	if !keep && len(streams) == 0 {
		return
	}
	f, err := fsys.Open(rel)
	if err != nil {
		w.warns.add(meta.Path, "contents unreadable: %v", err)
		return
	}
	defer f.Close()
	// The entry may have been swapped since it was listed: read only a
	// regular file, never a fifo or device that could block or never end.
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		w.warns.add(meta.Path, "contents unreadable: no longer a regular file")
		return
	}
	if err := w.give(meta.Path, meta.Size, f, keep, streams); err != nil {
		w.warns.add(meta.Path, "contents unreadable: %v", err)
	}
}
