package advise

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/advise/target"
)

// RecommendationType says what a lock optimizes for.
type RecommendationType string

const (
	// RecommendLatest takes the newest versions that install (the default).
	RecommendLatest RecommendationType = "latest"
	// RecommendStable avoids versions that prescriptions flag.
	RecommendStable RecommendationType = "stable"
	// RecommendSecurity refuses every version an advisory says is affected.
	RecommendSecurity RecommendationType = "security"
	// RecommendPerformance takes builds matched to the image's hardware,
	// such as the CUDA variant of a package.
	RecommendPerformance RecommendationType = "performance"
)

// RecommendationTypes lists the valid types, for usage messages.
var RecommendationTypes = []RecommendationType{RecommendLatest, RecommendStable, RecommendSecurity, RecommendPerformance}

// ParseRecommendationType checks a --recommendation-type value.
func ParseRecommendationType(s string) (RecommendationType, error) {
	for _, r := range RecommendationTypes {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, len(RecommendationTypes))
	for i, r := range RecommendationTypes {
		names[i] = string(r)
	}
	return "", fmt.Errorf("--recommendation-type %q: want one of %s", s, strings.Join(names, ", "))
}

// ImageSettings say how a resolution uses what the image holds.
type ImageSettings struct {
	// Installed is what to do with installed distributions (default keep).
	Installed InstalledMode
	// Recommendation is the recommendation type (default latest).
	Recommendation RecommendationType
	// Advisories are required for RecommendSecurity.
	Advisories *Advisories
	// ABI, when set, reads the shared objects of compiled wheels and refuses
	// those needing symbol versions the image lacks.
	ABI *ABIChecker
	// Prescriptions, when set, steer the resolution (see prescribe).
	Prescriptions *prescription.Set
}

// ResolveImage resolves in for the image env describes, on target t (the
// image's, with whatever the user's flags override), steered by s: what is
// installed, the image's CUDA, the symbol versions its libraries define,
// and the recommendation type. It returns the result and the report of the
// decisions.
func ResolveImage(ctx context.Context, in *reqfile.Input, env *ImageEnvironment, t target.Target, src Source, s ImageSettings, opts ...Option) (*Result, *Report, error) {
	if s.Installed == "" {
		s.Installed = InstalledKeep
	}
	if s.Recommendation == "" {
		s.Recommendation = RecommendLatest
	}
	h := &hooks{preferred: map[string]pep440.Version{}, keep: map[string]pep440.Version{}, kept: map[string]string{}, rejected: map[string][]string{}}
	if s.Installed != InstalledIgnore {
		for name, d := range env.Installed {
			v, err := pep440.Parse(d.Version)
			if err != nil {
				continue // not a PEP 440 version: nothing can pin it anyway
			}
			h.preferred[name] = v
			if s.Installed == InstalledKeep {
				h.keep[name] = v
			}
		}
		if s.Installed == InstalledKeep {
			src = &installedSource{Source: src, dists: env.Installed}
		}
	}
	// CUDA variants are matched whatever the type: an image without CUDA
	// never gets a CUDA build, and one with CUDA gets its own.
	h.excludes = append(h.excludes, cudaExclude(env.CUDA))
	switch s.Recommendation {
	case RecommendSecurity:
		if s.Advisories == nil {
			return nil, nil, fmt.Errorf("--recommendation-type security needs --advisories DIR (an OSV or PyPA advisory-database checkout)")
		}
		h.excludes = append(h.excludes, s.Advisories.exclude)
	}
	var pr *prescribed
	if s.Prescriptions != nil {
		var err error
		if pr, err = prescribe(env, t, s, in, h); err != nil {
			return nil, nil, err
		}
	}
	if s.ABI != nil {
		h.check = s.ABI.check(env)
	}
	var res *Result
	var booted []prescription.Fired
	if pr != nil {
		booted = slices.Clone(pr.fired)
	}
	for round := 1; ; round++ {
		var err error
		res, err = Resolve(ctx, in, t, src, append(opts, func(c *config) { c.hooks = h })...)
		if err != nil {
			return nil, nil, err
		}
		if pr == nil {
			break
		}
		learned, err := pr.final(res, h)
		if err != nil {
			return nil, nil, err
		}
		if !learned {
			break
		}
		if round == maxPrescriptionRounds {
			return nil, nil, fmt.Errorf("prescriptions: step.SkipPackage and step.AddPackage units with state conditions still change the resolution after %d rounds; check them with seshat prescriptions validate and --explain", round)
		}
		// Each round starts from the same image and boots; what the
		// resolution recorded is recorded again.
		h.kept, h.skipped, h.rejected = map[string]string{}, map[string]string{}, map[string][]string{}
		pr.fired = slices.Clone(booted)
	}
	rep := newReport(env, t, s, res, h)
	if pr != nil {
		rep.Prescriptions = prescription.Unique(pr.fired)
		for _, w := range s.Prescriptions.Warnings {
			rep.Warnings = append(rep.Warnings, "prescriptions: "+w.String())
		}
	}
	return res, rep, nil
}
