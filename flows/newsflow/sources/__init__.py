"""Where articles come from: the files of a source folder, read into text."""
