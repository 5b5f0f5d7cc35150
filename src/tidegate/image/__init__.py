"""Getting an image's bytes, and verifying every one: references, transports, manifests, blobs, layers."""
