package prescription

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// MetadataFile names a prescription directory: its `prescription.name`
// namespaces the units below it, as in Thoth's repository layout.
const MetadataFile = "_prescription_metadata.yaml"

// defaultName is Thoth's namespace when no metadata file is found.
const defaultName = "UNKNOWN"

// Load reads every *.yaml and *.yml file under each directory (or a file
// given directly) into a Set. Hidden files and directories are skipped. Any
// problem in any file makes Load fail with a *ProblemsError listing them;
// units of kinds this engine does not implement load with a Warning.
func Load(paths ...string) (*Set, error) {
	return LoadCached("", paths...)
}

// LoadCached is Load keeping, under cacheDir, what each file of a directory
// yielded (see cache.go): a file unchanged since an earlier load is not read
// again. An empty cacheDir is Load. The cache is best effort: one that
// cannot be read or written makes a load slower, never wrong.
func LoadCached(cacheDir string, paths ...string) (*Set, error) {
	set, problems := load(paths, cacheDir)
	if len(problems) > 0 {
		return set, &ProblemsError{Problems: problems}
	}
	return set, nil
}

// Validate reports every problem in the prescriptions under the paths, in
// file order; none means they load.
func Validate(paths ...string) []Problem {
	_, problems := load(paths, "")
	return problems
}

// result is what one file yields.
type result struct {
	units    []lazyUnit
	problems []Problem
	blob     []byte // units and problems encoded; the units' bodies point into it
	// cache is the file's entry for the next load's cache, nil when it is
	// not to be cached; rel names it there.
	cache *cachedFile
	rel   string
	hit   bool // the units came from the cache
}

// dirLoad is one directory's share of a load, filled in by whichever worker
// walks it. The tree of them keeps the order of a sorted depth-first walk
// however the work was scheduled.
type dirLoad struct {
	path     string // as given for a root, joined below it
	rootLen  int    // how much of the paths below is the root's: the rest names a file in the cache
	cache    *treeCache
	fd       dirFD // open until walked
	meta     *Meta // the nearest metadata file's, or the default
	found    *Meta // the metadata file read here, if any
	problems []Problem
	entries  []entry // in name order
}

// entry is a subdirectory or a file's result.
type entry struct {
	dir  *dirLoad
	file result
}

// loader hands directories to idle workers. A worker that finds a
// subdirectory gives it to one blocked on idle, or walks it itself when
// none is: the two cores stay busy without a queue of every directory, and
// a file's directory stays open for opening it by name.
type loader struct {
	idle chan *dirLoad
	wg   sync.WaitGroup
}

func load(paths []string, cacheDir string) (*Set, []Problem) {
	start := time.Now()
	l := &loader{idle: make(chan *dirLoad)}
	for w := 1; w < runtime.GOMAXPROCS(0); w++ {
		go func() {
			r := newReader()
			defer r.close()
			for d := range l.idle {
				r.walk(l, d)
				l.wg.Done()
			}
		}()
	}
	r := newReader()
	defer r.close()
	roots := make([]entry, 0, len(paths))
	for _, p := range paths {
		meta := &Meta{Name: defaultName, Release: defaultName, Dir: p}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			roots = append(roots, entry{dir: &dirLoad{path: p, problems: []Problem{{File: p, Message: fmt.Sprintf("cannot read prescriptions: %v", errors.Unwrap(err))}}}})
		case !fi.IsDir():
			if isYAML(p) {
				data, err := r.read(p)
				roots = append(roots, entry{file: r.loadFile(p, meta, data, err)})
			}
		default:
			d := &dirLoad{path: p, meta: meta, cache: openCache(cacheDir, p, start), rootLen: len(joinName(filepath.Clean(p), ""))}
			if d.fd, err = openDir(p); err != nil {
				d.problems = []Problem{{File: p, Message: fmt.Sprintf("cannot list prescriptions: %v", err)}}
				d.cache = nil // an unreadable directory leaves its cache as it was
				roots = append(roots, entry{dir: d})
				continue
			}
			roots = append(roots, entry{dir: d})
			l.wg.Add(1)
			r.walk(l, d)
			l.wg.Done()
		}
	}
	l.wg.Wait()
	close(l.idle)

	// Problems listing directories and in metadata files come first, then
	// each file's in walk order, as when the walk preceded the reading.
	set := &Set{}
	var problems []Problem
	var files []*result
	var flatten func(es []entry)
	flatten = func(es []entry) {
		for i := range es {
			d := es[i].dir
			if d == nil {
				files = append(files, &es[i].file)
				continue
			}
			problems = append(problems, d.problems...)
			if d.found != nil {
				set.Prescriptions = append(set.Prescriptions, *d.found)
			}
			flatten(d.entries)
		}
	}
	flatten(roots)
	set.Files = len(files)
	for _, root := range roots {
		if root.dir != nil && root.dir.cache != nil {
			root.dir.saveCache()
		}
	}

	warn := map[Kind]int{}
	for _, r := range files {
		if r.hit {
			set.Cached++
		}
		problems = append(problems, r.problems...)
		for i := range r.units {
			u := &r.units[i]
			if implemented, known := kindImplemented[u.Kind]; known && !implemented {
				i, seen := warn[u.Kind]
				if !seen {
					i = len(set.Warnings)
					warn[u.Kind] = i
					set.Warnings = append(set.Warnings, Warning{Kind: u.Kind, File: u.File, Line: u.Line})
				}
				set.Warnings[i].Count++
				continue
			}
			u.ord = len(set.units)
			set.units = append(set.units, u)
		}
	}
	problems = append(problems, duplicates(set.units)...)
	return set, problems
}

// kindGroup and kindImplemented invert groupKinds, which is looked up once
// per unit of the 65,000 files.
var kindGroup, kindImplemented = func() (map[Kind]string, map[Kind]bool) {
	group, impl := map[Kind]string{}, map[Kind]bool{}
	for g, kinds := range groupKinds {
		for k, ok := range kinds {
			group[k], impl[k] = g, ok
		}
	}
	return group, impl
}()

func groupOf(k Kind) string { return kindGroup[k] }

// walk lists d the way Thoth's loader does — its metadata file names
// everything below the directory, so it is read before the entries — and
// loads its YAML files. Hidden files and directories are skipped.
func (r *reader) walk(l *loader, d *dirLoad) {
	defer d.fd.close()
	base := filepath.Clean(d.path)
	ents, err := r.list(d.fd, base)
	if err != nil {
		d.problems = []Problem{{File: d.path, Message: fmt.Sprintf("cannot list prescriptions: %v", err)}}
		return
	}
	meta := d.meta
	for _, e := range ents {
		if e.name == MetadataFile && !e.isDir {
			m, p := readMetadata(e.path)
			if m != nil {
				m.Dir = d.path
				meta, d.found = m, m
			}
			d.problems = p
			break
		}
	}
	d.entries = make([]entry, 0, len(ents))
	// Files are loaded in batches, which a reader with an io_uring opens,
	// reads and closes in one system call (read_linux.go).
	batch := r.batchBuffer()
	defer r.releaseBatch(batch)
	for _, e := range ents {
		if strings.HasPrefix(e.name, ".") || e.name == MetadataFile {
			continue
		}
		if e.isDir {
			sub := &dirLoad{path: e.path, rootLen: d.rootLen, cache: d.cache, meta: meta}
			d.entries = append(d.entries, entry{dir: sub})
			if sub.fd, err = openSubdir(d.fd, e.name, e.path); err != nil {
				sub.problems = []Problem{{File: e.path, Message: fmt.Sprintf("cannot list prescriptions: %v", err)}}
				continue
			}
			l.wg.Add(1)
			select {
			case l.idle <- sub:
			default:
				r.walk(l, sub)
				l.wg.Done()
			}
			continue
		}
		if e.isFile && isYAML(e.name) {
			batch = append(batch, pendingFile{dirent: e, at: len(d.entries)})
			d.entries = append(d.entries, entry{})
			if len(batch) == fileBatch {
				r.loadFiles(d, batch, meta)
				batch = batch[:0]
			}
		}
	}
	r.loadFiles(d, batch, meta)
}

// fileBatch is how many files of a directory are loaded together.
const fileBatch = 64

// batchBuffer returns room for a batch of files; each directory the walk
// is in the middle of holds one.
func (r *reader) batchBuffer() []pendingFile {
	if n := len(r.spare); n > 0 {
		b := r.spare[n-1]
		r.spare = r.spare[:n-1]
		return b
	}
	return make([]pendingFile, 0, fileBatch)
}

func (r *reader) releaseBatch(b []pendingFile) { r.spare = append(r.spare, b[:0]) }

// pendingFile is a file of a directory waiting for its batch, and where its
// result goes in the directory's entries.
type pendingFile struct {
	dirent
	at  int
	key fileKey // its identity for the cache, when known
	ok  bool
}

// loadFiles loads the files batch of d, those whose identity is the one in
// d's cache from the cache.
func (r *reader) loadFiles(d *dirLoad, batch []pendingFile, meta *Meta) {
	if len(batch) == 0 {
		return
	}
	misses := batch
	if d.cache != nil {
		// The identity is taken before the read: a change during the read
		// leaves a newer identity on the file, so the next load reads it
		// again.
		r.identify(d.fd, batch)
		misses = batch[:0] // in place: a miss is written at or before where it was read
		for _, f := range batch {
			if f.ok {
				rel := f.path[d.rootLen:]
				if res, hit := d.cache.lookup(rel, f.path, f.key, meta.Name); hit {
					res.rel, res.hit = rel, true
					d.entries[f.at].file = res
					continue
				}
			}
			misses = append(misses, f)
		}
	}
	r.readFiles(d.fd, misses, func(f *pendingFile, data []byte, err error) {
		res := r.loadFile(f.path, meta, data, err)
		if d.cache != nil && f.ok && err == nil {
			d.cache.keep(&res, f.key, meta.Name)
			res.rel = f.path[d.rootLen:]
		}
		d.entries[f.at].file = res
	})
}

// saveCache writes the cache of the root directory d with what this load
// found in its files.
func (d *dirLoad) saveCache() {
	var files []*result
	hits := 0
	var collect func(d *dirLoad)
	collect = func(d *dirLoad) {
		for i := range d.entries {
			if sub := d.entries[i].dir; sub != nil {
				collect(sub)
				continue
			}
			if f := &d.entries[i].file; f.cache != nil {
				files = append(files, f)
				if f.hit {
					hits++
				}
			}
		}
	}
	collect(d)
	// Every file served from the cache and none gone: nothing to write.
	if hits == len(files) && hits == len(d.cache.files) {
		return
	}
	d.cache.save(files)
}

// dirent is a directory entry as the walk needs it.
type dirent struct {
	path, name string // name is path's last element
	isDir      bool
	isFile     bool // a regular file, or a symbolic link (read through)
}

// joinName is filepath.Join(dir, name) for a clean dir and a name from a
// directory listing, without Join's cleaning pass.
func joinName(dir, name string) string {
	if strings.HasSuffix(dir, string(filepath.Separator)) {
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

func isYAML(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

func readMetadata(path string) (*Meta, []Problem) {
	c := &checker{file: path}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []Problem{{File: path, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	n, err := parseYAML(data)
	if err != nil {
		return nil, []Problem{syntaxProblem(path, err)}
	}
	m := &Meta{}
	c.fields("metadata file", n, []string{"prescription"}, []string{"prescription"}, func(_ string, v *node) {
		c.fields("prescription", v, []string{"name", "release"}, []string{"name", "release"}, func(k string, v *node) {
			if k == "name" {
				m.Name = c.str("prescription.name", v)
			} else {
				m.Release = c.scalarString("prescription.release", v)
			}
		})
	})
	return m, c.problems
}

// scalarString accepts any scalar: a release such as 2021.06.15 parses as
// a number but means its text.
func (c *checker) scalarString(where string, n *node) string {
	if n.kind != scalarNode || n.tag == tagNull {
		c.fail(n, "%s must be a string, got %s", where, n.typeName())
		return ""
	}
	return n.value
}

func syntaxProblem(path string, err error) Problem {
	var se *syntaxError
	if errors.As(err, &se) {
		return Problem{File: path, Line: se.line, Message: "YAML syntax: " + se.msg}
	}
	return Problem{File: path, Message: err.Error()}
}

// reader is one worker's reusable state.
type reader struct {
	buf   []byte // the file being parsed
	name  []byte // scratch for a file name passed to the kernel
	p     fastParser
	enc   encoder   // scratch for a file's result…
	blobs blobArena // …which is kept here
	spare [][]pendingFile
	units []Unit // the units of the file being checked, dead once encoded
	files        // what the system's way of reading files keeps (read_*.go)
}

func newReader() *reader { return &reader{buf: make([]byte, 64<<10)} }

// loadFile parses and checks a file read into data (a read error is the
// file's problem) and encodes what it yields, which copies the units out of
// data: their strings point into it until then.
func (r *reader) loadFile(path string, meta *Meta, data []byte, err error) result {
	units, problems := r.check(path, meta, data, err)
	r.enc.b = r.blobs.free()
	r.enc.result(units, problems)
	blob := r.blobs.keep(r.enc.b)
	res, err := (&decoder{b: blob}).result(path)
	if err != nil {
		panic("prescription: a result does not decode as encoded: " + err.Error())
	}
	res.blob = blob
	return res
}

// blobArena packs encoded results into large chunks: one allocation per
// megabyte rather than one per file, of memory the garbage collector does
// not scan. A chunk is never written again once a blob is in it.
type blobArena struct{ chunk []byte }

const blobChunk = 1 << 20

// free returns the unused end of the current chunk, to encode a result
// into in place.
func (a *blobArena) free() []byte { return a.chunk[len(a.chunk):] }

// keep keeps b, encoded into what free returned: in place when it fitted,
// else copied.
func (a *blobArena) keep(b []byte) []byte {
	if at := len(a.chunk); len(b) > 0 && len(b) <= cap(a.chunk)-at && &b[0] == &a.chunk[:at+1][at] {
		a.chunk = a.chunk[:at+len(b)]
		return a.chunk[at:len(a.chunk):len(a.chunk)]
	}
	return a.store(b)
}

func (a *blobArena) store(b []byte) []byte {
	if len(b) > blobChunk/4 {
		return append([]byte(nil), b...)
	}
	if len(b) > cap(a.chunk)-len(a.chunk) {
		a.chunk = make([]byte, 0, blobChunk)
	}
	at := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[at:len(a.chunk):len(a.chunk)]
}

// check parses and checks a file read into data.
func (r *reader) check(path string, meta *Meta, data []byte, err error) ([]*Unit, []Problem) {
	if err != nil {
		return nil, []Problem{{File: path, Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	n, ok := r.p.parse(data)
	if !ok {
		if n, err = slowParse(data); err != nil {
			return nil, []Problem{syntaxProblem(path, err)}
		}
	}
	c := &checker{file: path, slab: r.units[:0]}
	defer func() { r.units = c.slab }()
	var units []*Unit
	ns := meta.Name
	switch {
	case n.kind == scalarNode && n.tag == tagNull:
		c.fail(n, "file is empty; a prescription file holds `units:`")
	case n.get("apiVersion") != nil:
		// The single-file form of early Thoth prescriptions:
		// apiVersion/kind/spec{name, release, units}.
		c.fields("prescription file", n, []string{"apiVersion", "kind", "spec", "metadata"}, []string{"apiVersion", "kind", "spec"}, func(k string, v *node) {
			switch k {
			case "apiVersion":
				if s := c.str("apiVersion", v); s != "" && s != "thoth-station.ninja/v1" {
					c.fail(v, "apiVersion %q is not supported; use thoth-station.ninja/v1", s)
				}
			case "kind":
				if s := c.str("kind", v); s != "" && s != "prescription" {
					c.fail(v, "kind %q is not supported; use prescription", s)
				}
			case "spec":
				c.fields("spec", v, []string{"name", "release", "units"}, []string{"name", "units"}, func(k string, v *node) {
					switch k {
					case "name":
						ns = c.str("spec.name", v)
					case "release":
						c.scalarString("spec.release", v)
					case "units":
						units = c.units(v)
					}
				})
			}
		})
	default:
		c.fields("prescription file", n, []string{"units", "metadata"}, []string{"units"}, func(k string, v *node) {
			if k == "units" {
				units = c.units(v)
			} else if v.kind != mappingNode {
				c.fail(v, "file metadata must be a mapping, got %s", v.typeName())
			}
		})
	}
	for _, u := range units {
		u.Name = ns + "." + u.Name
	}
	return units, c.problems
}

// duplicates finds units of one group and namespace defined in two files.
func duplicates(units []*lazyUnit) []Problem {
	// One map per group, sized up front: growing a single map of
	// (group, name) keys was most of the time here, after the workers.
	count := map[string]int{}
	for _, u := range units {
		count[groupOf(u.Kind)]++
	}
	first := make(map[string]map[string]*lazyUnit, len(count))
	for g, n := range count {
		first[g] = make(map[string]*lazyUnit, n)
	}
	var problems []Problem
	for _, u := range units {
		names := first[groupOf(u.Kind)]
		if f, dup := names[u.Name]; dup {
			if f.File != u.File {
				problems = append(problems, Problem{File: u.File, Line: u.Line, Message: fmt.Sprintf("unit %q is already defined at %s:%d", u.Name, f.File, f.Line)})
			}
			continue
		}
		names[u.Name] = u
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].File < problems[j].File })
	return problems
}
