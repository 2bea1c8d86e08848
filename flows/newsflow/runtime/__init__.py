"""Process plumbing: worker pools, memory settings, progress reports."""
