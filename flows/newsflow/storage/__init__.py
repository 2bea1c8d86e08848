"""Where data lives and how it is read and written: the Delta tables, their files, releases, staging, the lock."""
