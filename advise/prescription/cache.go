package prescription

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Reading 65,000 files costs three system calls each, and in the VMs seshat
// runs in a system call costs microseconds: half of a load of Thoth's
// repository, before any parsing. A load with a cache directory keeps, per
// prescription directory, what each file yielded together with the file's
// identity — device, inode, size, modification and change times, as git's
// index does — and the next load reads a file only when its identity has
// changed: one stat instead of open, read and close, and no parsing.
//
// A file changed within racyWindow of a load is not kept: a second change in
// the same timestamp tick, with the same size, would otherwise go unseen.
// The cache also names the seshat executable (path, size, modification
// time), so a different build — whose schema or checks may differ — starts
// afresh.

// cacheMagic starts a cache file; a CRC-32C of the rest follows it, so a
// damaged file is an empty cache, never units that decode oddly later.
const cacheMagic = "seshat prescription cache 2\n"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var racyWindow = time.Second

// fileKey is a file's identity as stat reports it.
type fileKey struct {
	dev, ino, size uint64
	mtime, ctime   int64 // nanoseconds since the epoch
}

// cachedFile is one file's entry: its identity when it was read, the
// namespace its units were named in, and its encoded result.
type cachedFile struct {
	key  fileKey
	ns   string
	blob []byte
}

// treeCache is one prescription directory's cache file, read at the start
// of a load; the walk's workers only read it.
type treeCache struct {
	path string // of the cache file
	root string // the prescription directory, absolute
	// entries are the cache file's entries after the header; files
	// holds where each starts, by the file's path relative to the
	// directory: a map of whole entries was twice the memory.
	entries []byte
	files   map[string]uint32
	src     *mapped // the blobs are in it; nil: in Go memory
	start   time.Time
}

// mapped stands for a mapped cache file. Units decoded from it point at it
// (lazyUnit.src), which keeps the mapping alive while any of their bodies is
// still to decode; what they decode is copied out.
type mapped struct{ data []byte }

var executableID = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
})

// openCache reads the cache of the prescription directory root under dir.
// A missing, unreadable or outdated cache is an empty one; nil means the
// directory cannot be cached at all.
func openCache(dir, root string, start time.Time) *treeCache {
	exe := executableID()
	abs, err := filepath.Abs(root)
	if dir == "" || exe == "" || err != nil {
		return nil
	}
	sum := sha256.Sum256([]byte(abs))
	c := &treeCache{path: filepath.Join(dir, hex.EncodeToString(sum[:16])+".bin"), root: abs, start: start}
	data, src, err := mapFile(c.path)
	if err != nil || !bytes.HasPrefix(data, []byte(cacheMagic)) || len(data) < len(cacheMagic)+4 {
		return c
	}
	data = data[len(cacheMagic):]
	if binary.LittleEndian.Uint32(data) != crc32.Checksum(data[4:], castagnoli) {
		return c
	}
	// The index is read without copying: its names and blobs are used
	// during this load only, while c holds the mapping.
	d := &decoder{b: data[4:]}
	if d.str() != exe || d.str() != abs {
		return c
	}
	n := d.length()
	entries := d.b
	files := make(map[string]uint32, n)
	for range n {
		rel := d.view()
		files[rel] = uint32(len(entries) - len(d.b))
		d.entry()
	}
	if d.err == nil && len(d.b) == 0 {
		c.entries, c.files, c.src = entries, files, src
	}
	return c
}

// entry reads a cache file's entry for one file, after its path.
func (d *decoder) entry() cachedFile {
	f := cachedFile{ns: d.view()}
	f.key = fileKey{dev: d.uint(), ino: d.uint(), size: d.uint(), mtime: d.int(), ctime: d.int()}
	f.blob = d.bytes()
	return f
}

// lookup returns the result cached for the file rel with identity key,
// named by path, if the cache holds it for that identity and namespace.
func (c *treeCache) lookup(rel, path string, key fileKey, ns string) (result, bool) {
	at, ok := c.files[rel]
	if !ok {
		return result{}, false
	}
	f := (&decoder{b: c.entries[at:]}).entry()
	if f.key != key || f.ns != ns {
		return result{}, false
	}
	r, err := (&decoder{b: f.blob, src: c.src}).result(path)
	if err != nil {
		return result{}, false
	}
	r.cache = &f
	return r, true
}

// keep records in r what the cache is to hold for it, unless its file
// changed too recently to be trusted.
func (c *treeCache) keep(r *result, key fileKey, ns string) {
	limit := c.start.Add(-racyWindow).UnixNano()
	if key.mtime >= limit || key.ctime >= limit {
		return
	}
	r.cache = &cachedFile{key: key, ns: ns, blob: r.blob}
}

// save writes the cache for the files of a load, when it differs from what
// was read. It is best effort: a cache that cannot be written only makes the
// next load slower.
func (c *treeCache) save(files []*result) {
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".prescriptions-*")
	if err != nil {
		return
	}
	// Streamed rather than built in memory: a 30 MB buffer is 0.15 s of
	// page faults here, on the first load of a tree, which waits for it.
	w := bufio.NewWriterSize(tmp, 1<<20)
	w.WriteString(cacheMagic)
	w.Write(make([]byte, 4)) // the checksum, written last
	sum := crc32.New(castagnoli)
	body := io.MultiWriter(w, sum)
	var e encoder
	e.str(executableID())
	e.str(c.root)
	e.uint(uint64(len(files)))
	// In walk order: the same tree writes the same file.
	for _, r := range files {
		f := r.cache
		e.str(r.rel)
		e.str(f.ns)
		e.uint(f.key.dev)
		e.uint(f.key.ino)
		e.uint(f.key.size)
		e.int(f.key.mtime)
		e.int(f.key.ctime)
		e.uint(uint64(len(f.blob)))
		body.Write(e.b)
		body.Write(f.blob)
		e.b = e.b[:0]
	}
	werr := w.Flush()
	if werr == nil {
		_, werr = tmp.WriteAt(binary.LittleEndian.AppendUint32(nil, sum.Sum32()), int64(len(cacheMagic)))
	}
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), c.path) != nil {
		os.Remove(tmp.Name())
	}
}
