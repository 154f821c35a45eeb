package frontend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/gateway/client"
	gwpb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// fakeClient is a FAKE gateway client, standing in for buildkitd in unit
// tests: it implements only what Build and dockerui call — BuildOpts,
// Inputs, ResolveImageConfig, Solve of a definition whose source is an
// image or a local directory, and Solve of the dockerfile.v0 frontend,
// which it records instead of running. Everything else fails. It exists so
// that the frontend's reading of an image (through Reference.ReadDir,
// StatFile and ReadFile) and its hand-off can be tested where no buildkitd
// runs; the real daemon is exercised by TestBuildkitd.
//
// Its references read real directories: the image one is a root
// filesystem fixture (the merged view of the image whose config
// ResolveImageConfig returns), the local ones the test's build context.
type fakeClient struct {
	opts      map[string]string
	images    map[string]fakeImage // by repository name, e.g. "seshat.test/debian12"
	localDirs map[string]string    // local source name ("context", "dockerfile") → directory

	mu      sync.Mutex
	handed  *client.SolveRequest
	solved  []string // source identifiers solved, in order
	readOps int      // gateway file requests answered
}

type fakeImage struct {
	digest digest.Digest
	config []byte
	root   string
}

var errFake = errors.New("not implemented by the fake gateway client")

func (c *fakeClient) BuildOpts() client.BuildOpts {
	return client.BuildOpts{
		Opts:      c.opts,
		SessionID: "fake-session",
		Workers:   []client.WorkerInfo{{ID: "fake", Platforms: []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}}}},
		Product:   "fake",
		LLBCaps:   pb.Caps.CapSet(pb.Caps.All()),
		Caps:      gwpb.Caps.CapSet(gwpb.Caps.All()),
	}
}

func (c *fakeClient) Inputs(context.Context) (map[string]llb.State, error) {
	return map[string]llb.State{}, nil
}

func (c *fakeClient) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	name, _, _ := strings.Cut(ref, ":")
	img, ok := c.images[name]
	if !ok {
		return "", "", nil, fmt.Errorf("fake: no image %s", ref)
	}
	if opt.ImageOpt == nil || opt.ImageOpt.Platform == nil || opt.ImageOpt.Platform.Architecture != "amd64" {
		return "", "", nil, fmt.Errorf("fake: %s resolved without the build's platform", ref)
	}
	return ref, img.digest, img.config, nil
}

func (c *fakeClient) ResolveSourceMetadata(context.Context, *pb.SourceOp, sourceresolver.Opt) (*sourceresolver.MetaResponse, error) {
	return nil, errFake
}

func (c *fakeClient) NewContainer(context.Context, client.NewContainerRequest) (client.Container, error) {
	return nil, errFake
}

func (c *fakeClient) Warn(context.Context, digest.Digest, string, client.WarnOpts) error {
	return errFake
}

func (c *fakeClient) Solve(_ context.Context, req client.SolveRequest) (*client.Result, error) {
	if req.Frontend != "" {
		if req.Frontend != "dockerfile.v0" {
			return nil, fmt.Errorf("fake: frontend %q", req.Frontend)
		}
		c.mu.Lock()
		c.handed = &req
		c.mu.Unlock()
		return client.NewResult(), nil
	}
	src, err := sourceOf(req.Definition)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.solved = append(c.solved, src.Identifier)
	c.mu.Unlock()
	var dir string
	switch {
	case strings.HasPrefix(src.Identifier, "docker-image://"):
		name, _, _ := strings.Cut(strings.TrimPrefix(src.Identifier, "docker-image://"), "@")
		img, ok := c.images[name]
		if !ok || !strings.HasSuffix(src.Identifier, "@"+img.digest.String()) {
			return nil, fmt.Errorf("fake: no image %s", src.Identifier)
		}
		dir = img.root
	case strings.HasPrefix(src.Identifier, "local://"):
		if src.Attrs[pb.AttrLocalSessionID] != "fake-session" {
			return nil, fmt.Errorf("fake: %s read outside the build's session", src.Identifier)
		}
		var ok bool
		if dir, ok = c.localDirs[strings.TrimPrefix(src.Identifier, "local://")]; !ok {
			return nil, fmt.Errorf("fake: no local %s", src.Identifier)
		}
	default:
		return nil, fmt.Errorf("fake: source %s", src.Identifier)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	res := client.NewResult()
	res.SetRef(&fakeRef{c: c, root: root})
	return res, nil
}

// sourceOf returns the one source operation of a definition.
func sourceOf(def *pb.Definition) (*pb.SourceOp, error) {
	if def == nil {
		return nil, errors.New("fake: solve without a definition")
	}
	var found *pb.SourceOp
	for _, b := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(b); err != nil {
			return nil, err
		}
		if s := op.GetSource(); s != nil {
			if found != nil {
				return nil, errors.New("fake: several sources in one definition")
			}
			found = s
		}
	}
	if found == nil {
		return nil, errors.New("fake: no source in the definition")
	}
	return found, nil
}

// mkfiles returns the files a definition of Mkfile operations on scratch
// writes: what the lock context holds.
func mkfiles(def *pb.Definition) (map[string]string, error) {
	files := map[string]string{}
	for _, b := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(b); err != nil {
			return nil, err
		}
		if op.GetSource() != nil || op.GetExec() != nil {
			return nil, errors.New("the lock context reads a source or runs a command")
		}
		if f := op.GetFile(); f != nil {
			for _, a := range f.Actions {
				if m := a.GetMkfile(); m != nil {
					files[m.Path] = string(m.Data)
				}
			}
		}
	}
	return files, nil
}

// fakeRef answers the gateway's file requests from a directory, confined to
// it by os.Root as BuildKit confines them to the reference's root.
type fakeRef struct {
	c    *fakeClient
	root *os.Root
}

func (r *fakeRef) count() {
	r.c.mu.Lock()
	r.c.readOps++
	r.c.mu.Unlock()
}

func rel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

func (r *fakeRef) ToState() (llb.State, error)    { return llb.State{}, errFake }
func (r *fakeRef) Evaluate(context.Context) error { return nil }

func (r *fakeRef) ReadFile(_ context.Context, req client.ReadRequest) ([]byte, error) {
	r.count()
	f, err := r.root.Open(rel(req.Filename))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", req.Filename)
	}
	if req.Range == nil {
		return io.ReadAll(f)
	}
	return io.ReadAll(io.NewSectionReader(f, int64(req.Range.Offset), int64(req.Range.Length)))
}

func (r *fakeRef) StatFile(_ context.Context, req client.StatRequest) (*fstypes.Stat, error) {
	r.count()
	fi, err := r.root.Stat(rel(req.Path))
	if err != nil {
		return nil, err
	}
	return toStat(path.Base(rel(req.Path)), fi, ""), nil
}

func (r *fakeRef) ReadDir(_ context.Context, req client.ReadDirRequest) ([]*fstypes.Stat, error) {
	r.count()
	dir := rel(req.Path)
	ents, err := fs.ReadDir(r.root.FS(), dir)
	if err != nil {
		return nil, err
	}
	var out []*fstypes.Stat
	for _, e := range ents {
		if req.IncludePattern != "" {
			if ok, _ := path.Match(req.IncludePattern, e.Name()); !ok {
				continue
			}
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		var link string
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, _ = r.root.Readlink(path.Join(dir, e.Name()))
		}
		out = append(out, toStat(e.Name(), fi, link))
	}
	return out, nil
}

func toStat(name string, fi fs.FileInfo, link string) *fstypes.Stat {
	return &fstypes.Stat{Path: name, Mode: uint32(fi.Mode()), Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), Linkname: link}
}
