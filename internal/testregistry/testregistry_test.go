package testregistry

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistry(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
	}{
		{"plain HTTP", nil},
		{"TLS and htpasswd", []Option{WithTLSAuth("alice", "s3cret")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Start(t, tc.opts...)
			img, err := random.Image(512, 2)
			if err != nil {
				t.Fatal(err)
			}
			ref := r.Push(t, "org/img:v1", img)
			n, err := name.ParseReference(ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := remote.Image(n, remote.WithTransport(r.Transport()), remote.WithAuth(r.Auth()))
			if err != nil {
				t.Fatalf("pulling back %s: %v", ref, err)
			}
			want, _ := img.Digest()
			if d, _ := got.Digest(); d != want {
				t.Errorf("pulled digest %s, pushed %s", d, want)
			}
			if r.CACert() == nil {
				return
			}
			// Without credentials the registry must refuse.
			resp, err := (&http.Client{Transport: r.Transport()}).Get(r.URL() + "/v2/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous GET /v2/ = %d, want 401", resp.StatusCode)
			}
		})
	}
}
