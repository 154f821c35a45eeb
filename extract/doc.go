// Package extract opens container images, walks their layers once as
// streams, and turns the files that its extractors ask for into an Analysis.
//
// It never executes image content and never unpacks an image to disk: the
// walk keeps a path index of every file and the bytes of only those files
// an Extractor declared interest in. Sources (registry, OCI layout,
// docker-archive, root filesystem directory) all meet behind one interface,
// so the walk and the extractors never ask where an image came from.
package extract
